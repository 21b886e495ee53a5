//! The catalog against the reference's lists and the contract's values.

use super::*;
use std::collections::HashSet;

#[test]
fn quic_default_list_matches_the_reference_order() {
    let names: Vec<&str> = QUIC_TESTS
        .iter()
        .filter(|t| t.default)
        .map(|t| t.name)
        .collect();
    assert_eq!(
        names,
        vec![
            "handshake",
            "transfer",
            "longrtt",
            "chacha20",
            "multiplexing",
            "retry",
            "resumption",
            "zerortt",
            "http3",
            "blackhole",
            "keyupdate",
            "ecn",
            "amplificationlimit",
            "handshakeloss",
            "transferloss",
            "handshakecorruption",
            "transfercorruption",
            "ipv6",
            "v2",
            "rebind-port",
            "rebind-addr",
            "connectionmigration"
        ]
    );
    assert!(!find(Protocol::Quic, "versionnegotiation").unwrap().default);
}

#[test]
fn names_and_abbreviations_are_unique_per_protocol() {
    for p in [Protocol::Quic, Protocol::WebTransport] {
        let all: Vec<&TestCase> = tests(p).iter().chain(measurements(p)).collect();
        let names: HashSet<_> = all.iter().map(|t| t.name).collect();
        let abbrs: HashSet<_> = all.iter().map(|t| t.abbr).collect();
        assert_eq!(names.len(), all.len(), "{p}");
        assert_eq!(abbrs.len(), all.len(), "{p}");
    }
}

#[test]
fn testcase_names_per_role_follow_the_contract() {
    let tc = |n| find(Protocol::Quic, n).unwrap();
    assert_eq!(
        (tc("longrtt").server_testcase, tc("longrtt").client_testcase),
        ("handshake", "handshake")
    );
    assert_eq!(
        (
            tc("keyupdate").server_testcase,
            tc("keyupdate").client_testcase
        ),
        ("transfer", "keyupdate")
    );
    assert_eq!(
        (
            tc("connectionmigration").server_testcase,
            tc("connectionmigration").client_testcase
        ),
        ("connectionmigration", "transfer")
    );
    assert_eq!(tc("multiplexing").client_testcase, "transfer");
    assert_eq!(tc("handshakecorruption").client_testcase, "multiconnect");
    assert_eq!(tc("chacha20").server_testcase, "chacha20");
    let wt = |n| find(Protocol::WebTransport, n).unwrap();
    let r = wt("transfer-datagram-receive");
    assert_eq!(
        (r.server_testcase, r.client_testcase),
        ("transfer", "transfer-datagram-receive")
    );
    let s = wt("transfer-bidirectional-send");
    assert_eq!(
        (s.server_testcase, s.client_testcase),
        ("transfer-bidirectional-send", "transfer")
    );
}

#[test]
fn scenarios_timeouts_and_hosts() {
    let tc = |n| find(Protocol::Quic, n).unwrap();
    assert_eq!(tc("handshake").scenario, DEFAULT_SCENARIO);
    assert!(tc("longrtt").scenario.contains("--delay=750ms"));
    assert!(tc("amplificationlimit")
        .scenario
        .ends_with("--drops_to_server=2,3,4,5,6,7"));
    assert!(tc("rebind-addr").scenario.ends_with("--rebind-addr"));
    assert!(tc("handshakeloss").scenario.contains("--rate_to_server=30"));
    assert!(tc("transfercorruption")
        .scenario
        .starts_with("corrupt-rate "));
    assert_eq!(tc("handshakeloss").timeout, Duration::from_secs(300));
    assert_eq!(tc("crosstraffic").timeout, Duration::from_secs(180));
    assert_eq!(tc("transfer").timeout, Duration::from_secs(60));
    assert_eq!(tc("ipv6").url_host.url_prefix(), "https://server6:443/");
    assert_eq!(
        tc("connectionmigration").url_host.url_prefix(),
        "https://server46:443/"
    );
    assert_eq!(
        tc("amplificationlimit").certs,
        CertSpec {
            length: 9,
            inflated_leaf: true
        }
    );
    assert_eq!(tc("crosstraffic").extra_containers.len(), 2);
    assert_eq!(
        tc("crosstraffic").extra_env,
        &[("IPERF_CONGESTION", "cubic")]
    );
    assert_eq!(tc("goodput").repetitions(), 5);
}

#[test]
fn file_sizes() {
    let tc = |n| find(Protocol::Quic, n).unwrap();
    assert_eq!(tc("transfer").file_sizes(), vec![2 * MB, 3 * MB, 5 * MB]);
    assert_eq!(tc("multiplexing").file_sizes().len(), 1999);
    assert_eq!(tc("zerortt").files.names, NameRule::Letters(250));
    assert_eq!(tc("zerortt").file_sizes(), vec![32; 40]);
    assert_eq!(tc("handshakeloss").file_sizes(), vec![KB; 50]);
    let dr = find(Protocol::WebTransport, "transfer-datagram-send")
        .unwrap()
        .file_sizes();
    assert_eq!((dr.len(), dr[0], dr[199]), (200, 600, 998));
    assert!(find(Protocol::WebTransport, "handshake")
        .unwrap()
        .file_sizes()
        .is_empty());
}

#[test]
fn keys_are_needed_by_the_rules_that_read_encrypted_frames() {
    let keyed: Vec<&str> = QUIC_TESTS
        .iter()
        .chain(QUIC_MEASUREMENTS)
        .chain(WEBTRANSPORT_TESTS)
        .filter(|t| t.needs_keys)
        .map(|t| t.name)
        .collect();
    assert_eq!(
        keyed,
        vec![
            "multiplexing",
            "resumption",
            "keyupdate",
            "ecn",
            "amplificationlimit",
            "rebind-port",
            "rebind-addr",
            "connectionmigration"
        ]
    );
}

#[test]
fn webtransport_flows_follow_the_names() {
    for t in WEBTRANSPORT_TESTS {
        match t.flow {
            None => assert_eq!(t.name, "handshake"),
            Some(WtFlow { direction, .. }) => {
                let suffix = match direction {
                    WtDirection::Receive => "-receive",
                    WtDirection::Send => "-send",
                };
                assert!(t.name.ends_with(suffix), "{}", t.name);
            }
        }
    }
}
