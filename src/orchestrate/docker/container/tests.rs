use super::*;

fn setup() -> TrialSetup {
    TrialSetup {
        prefix: s("interop-1-0"),
        nets: NetworkPair {
            subnets: Subnets {
                left: 0,
                right: 100,
            },
            left: s("L"),
            right: s("R"),
        },
        labels: HashMap::new(),
        scenario: s("simple-p2p --delay=15ms --bandwidth=10Mbps --queue=25"),
        server_testcase: s("transfer"),
        client_testcase: s("keyupdate"),
        server_requests: String::new(),
        client_requests: s("https://server4:443/a"),
        server_protocols: String::new(),
        client_protocols: String::new(),
        extra_env: vec![],
        certs: PathBuf::from("/t/certs"),
        server_www: PathBuf::from("/t/sw"),
        client_www: PathBuf::from("/t/cw"),
    }
}

fn env<'a>(spec: &'a ContainerSpec, k: &str) -> Option<&'a str> {
    spec.env
        .iter()
        .find(|(n, _)| n == k)
        .map(|(_, v)| v.as_str())
}

#[test]
fn reference_layout_addresses() {
    let t = setup();
    let sim = t.sim("interop-runner/sim", &[]);
    assert_eq!(sim.networks[0], attach("L", 0, 2, &["sim"]));
    assert_eq!(sim.networks[0].ipv6, "fd00:cafe:cafe:0::2");
    assert_eq!(sim.networks[1].ipv4, "193.167.100.2");
    assert_eq!(sim.extra_hosts, vec![(s("server"), s("193.167.100.100"))]);
    assert_eq!(sim.cap_add, vec!["NET_ADMIN", "NET_RAW", "SYS_NICE"]);
    let server = t.server("img");
    assert_eq!(
        (server.hostname.as_str(), server.networks[0].ipv4.as_str()),
        ("server", "193.167.100.100")
    );
    assert_eq!(server.networks[0].ipv6, "fd00:cafe:cafe:100::100");
    let client = t.client("img");
    assert_eq!(client.networks[0].ipv4, "193.167.0.100");
    assert_eq!(
        client
            .extra_hosts
            .iter()
            .filter(|(h, _)| h == "server46")
            .count(),
        2
    );
    assert!(!server.extra_hosts.iter().any(|(h, _)| h == "server46"));
}

#[test]
fn endpoint_environment_and_mounts() {
    let t = setup();
    let c = t.client("img");
    assert_eq!(env(&c, "ROLE"), Some("client"));
    assert_eq!(env(&c, "TESTCASE"), Some("keyupdate"));
    assert_eq!(env(&c, "REQUESTS"), Some("https://server4:443/a"));
    assert_eq!(env(&c, "SSLKEYLOGFILE"), Some("/logs/keys.log"));
    assert_eq!(env(&c, "QLOGDIR"), Some("/logs/qlog/"));
    assert_eq!(env(&c, "CLIENT_PARAMS"), Some(""));
    let sv = t.server("img");
    assert_eq!(env(&sv, "TESTCASE"), Some("transfer"));
    assert_eq!(env(&sv, "SERVER_PARAMS"), Some(""));
    let body = create_body(&sv);
    let hc = body.host_config.unwrap();
    assert_eq!(
        hc.binds.unwrap(),
        vec!["/t/sw:/www:ro", "/t/certs:/certs:ro"]
    );
    assert_eq!(hc.cap_add.unwrap(), vec!["NET_ADMIN"]);
    assert_eq!(hc.ulimits.unwrap()[0].soft, Some(MEMLOCK));
    assert_eq!(hc.privileged, Some(false));
    assert!(hc.network_mode.is_none(), "never the host network");
    assert_eq!(body.volumes.unwrap(), vec!["/downloads", "/logs"]);
    assert!(hc
        .extra_hosts
        .unwrap()
        .contains(&s("server6:fd00:cafe:cafe:100::100")));
}

#[test]
fn other_subnets_move_every_address() {
    let mut t = setup();
    t.nets.subnets = Subnets { left: 6, right: 7 };
    assert_eq!(t.client("i").networks[0].ipv4, "193.167.6.100");
    assert_eq!(t.server("i").networks[0].ipv6, "fd00:cafe:cafe:7::100");
    assert_eq!(t.sim("i", &[]).extra_hosts[0].1, "193.167.7.100");
    let ip = t.iperf("i", true);
    assert_eq!(ip.networks[0].ipv4, "193.167.7.110");
    assert_eq!(ip.extra_hosts[0], (s("client4"), s("193.167.6.90")));
    let ic = t.iperf("i", false);
    assert_eq!(ic.networks[0].ipv4, "193.167.6.90");
    assert_eq!(env(&ic, "IPERF_CONGESTION"), Some("cubic"));
}

#[test]
fn sigterm_is_taken_when_handled_or_blocked() {
    const TERM: u32 = libc::SIGTERM as u32;
    let python_as_init = "Name:\tpython3\nSigBlk:\t0000000000000000\nSigIgn:\t0000000001001000\nSigCgt:\t0000000100000002\n";
    assert_eq!(takes_signal(python_as_init, TERM), Some(false));
    // Go's runtime handles every signal, SIGTERM (bit 14) among them.
    let go = "SigBlk:\t0000000000000000\nSigCgt:\tfffffffffffc7eff\n";
    assert_eq!(takes_signal(go, TERM), Some(true));
    // The simulator blocks it and reads it from a signalfd.
    let sim = "SigBlk:\t0000000000004003\nSigCgt:\t0000000000000000\n";
    assert_eq!(takes_signal(sim, TERM), Some(true));
    let other = "SigBlk:\t0000000000000000\nSigCgt:\t0000000000002000\n";
    assert_eq!(takes_signal(other, TERM), Some(false));
    assert_eq!(takes_signal("SigCgt:\t0000000000004000\n", TERM), None);
    assert_eq!(takes_signal("SigBlk:\t0\nSigCgt:\tzz\n", TERM), None);
    assert_eq!(takes_signal("SigBlk:\t0\nSigCgt:\t1\n", 65), Some(false));
}

#[test]
fn run_time_comes_from_the_engine_timestamps() {
    assert_eq!(
        ran_for(
            Some("2026-12-04T07:40:01.250000000Z"),
            Some("2026-12-04T07:40:03.000000001Z")
        ),
        Some(Duration::from_nanos(1_750_000_001))
    );
    // A container that never finished has the zero time as its end.
    assert_eq!(
        ran_for(Some("2026-12-04T07:40:01Z"), Some("0001-01-01T00:00:00Z")),
        None
    );
    assert_eq!(ran_for(Some("garbage"), Some("2026-12-04T07:40:01Z")), None);
    assert_eq!(ran_for(None, Some("2026-12-04T07:40:01Z")), None);
}
