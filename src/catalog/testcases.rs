//! The catalog of test cases and measurements (contract sections 4 and 5):
//! static data describing what a trial runs; generating its files, running it
//! and judging it happen elsewhere.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The two test suites, each with its own registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    Quic,
    WebTransport,
}

impl Protocol {
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Quic => "quic",
            Protocol::WebTransport => "webtransport",
        }
    }

    pub fn parse(s: &str) -> Option<Protocol> {
        match s {
            "quic" => Some(Protocol::Quic),
            "webtransport" => Some(Protocol::WebTransport),
            _ => None,
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Test,
    /// Runs `repetitions` times; any failed repetition fails it.
    Measurement {
        repetitions: u32,
    },
}

/// The host name the client's URLs use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UrlHost {
    Server4,
    Server6,
    Server46,
}

impl UrlHost {
    pub fn url_prefix(self) -> &'static str {
        match self {
            UrlHost::Server4 => "https://server4:443/",
            UrlHost::Server6 => "https://server6:443/",
            UrlHost::Server46 => "https://server46:443/",
        }
    }
}

/// How a test's file names are made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameRule {
    /// Random readable slugs (`brave-amber-otter-…`), unique within the test.
    Slug,
    /// Random lower-case letters of exactly this length.
    Letters(usize),
}

/// The sizes of the files a test generates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileSizes {
    None,
    List(&'static [u64]),
    Repeat {
        count: usize,
        size: u64,
    },
    /// `count` files of `base + step * i` bytes (WebTransport datagrams).
    Ramp {
        count: usize,
        base: u64,
        step: u64,
    },
}

impl FileSizes {
    pub fn sizes(self) -> Vec<u64> {
        match self {
            FileSizes::None => Vec::new(),
            FileSizes::List(l) => l.to_vec(),
            FileSizes::Repeat { count, size } => vec![size; count],
            FileSizes::Ramp { count, base, step } => {
                (0..count as u64).map(|i| base + step * i).collect()
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileSpec {
    pub sizes: FileSizes,
    pub names: NameRule,
}

/// The certificate chain a test's endpoints get (contract section 7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CertSpec {
    /// Certificates in `cert.pem`: the leaf plus `length - 1` intermediates
    /// (the root is extra, in `ca.pem`).
    pub length: usize,
    /// A leaf with 20 extra 250-character DNS names, to make the server's
    /// first flight large.
    pub inflated_leaf: bool,
}

/// Containers beyond sim, server and client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExtraContainer {
    IperfServer,
    IperfClient,
}

/// WebTransport stream kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WtStream {
    Unidirectional,
    Bidirectional,
    Datagram,
}

/// Which way WebTransport data flows: receive = server to client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WtDirection {
    Receive,
    Send,
}

/// The pass rule of a test; the judge matches on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    Handshake,
    Transfer,
    LongRtt,
    ChaCha20,
    Multiplexing,
    Retry,
    Resumption,
    ZeroRtt,
    Http3,
    Blackhole,
    KeyUpdate,
    Ecn,
    AmplificationLimit,
    /// `handshakeloss` and `handshakecorruption`: one handshake per file.
    MultiConnect,
    /// `transferloss` and `transfercorruption`.
    TransferUnderLoss,
    Ipv6,
    V2,
    RebindPort,
    RebindAddr,
    ConnectionMigration,
    VersionNegotiation,
    Goodput,
    WtHandshake,
    WtTransfer(WtStream, WtDirection),
}

/// One test case or measurement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TestCase {
    pub name: &'static str,
    pub abbr: &'static str,
    pub desc: &'static str,
    pub protocol: Protocol,
    pub kind: Kind,
    /// `TESTCASE` for the server and for the client.
    pub server_testcase: &'static str,
    pub client_testcase: &'static str,
    /// The simulator's `SCENARIO` command line.
    pub scenario: &'static str,
    pub timeout: Duration,
    pub url_host: UrlHost,
    pub files: FileSpec,
    pub certs: CertSpec,
    pub extra_env: &'static [(&'static str, &'static str)],
    pub extra_containers: &'static [ExtraContainer],
    /// In the list run when no tests are named.
    pub default: bool,
    pub check: Check,
}

impl TestCase {
    pub fn is_measurement(&self) -> bool {
        matches!(self.kind, Kind::Measurement { .. })
    }

    pub fn repetitions(&self) -> u32 {
        match self.kind {
            Kind::Test => 1,
            Kind::Measurement { repetitions } => repetitions,
        }
    }

    /// The file sizes, in generation order.
    pub fn file_sizes(&self) -> Vec<u64> {
        self.files.sizes.sizes()
    }
}

pub const KB: u64 = 1024;
pub const MB: u64 = 1024 * 1024;

pub const DEFAULT_SCENARIO: &str = "simple-p2p --delay=15ms --bandwidth=10Mbps --queue=25";
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
const ONE_KB: FileSizes = FileSizes::List(&[KB]);

const fn slugs(sizes: FileSizes) -> FileSpec {
    FileSpec {
        sizes,
        names: NameRule::Slug,
    }
}

const fn quic(
    name: &'static str,
    abbr: &'static str,
    desc: &'static str,
    testcase: &'static str,
    files: FileSizes,
    check: Check,
) -> TestCase {
    TestCase {
        name,
        abbr,
        desc,
        protocol: Protocol::Quic,
        kind: Kind::Test,
        server_testcase: testcase,
        client_testcase: testcase,
        scenario: DEFAULT_SCENARIO,
        timeout: DEFAULT_TIMEOUT,
        url_host: UrlHost::Server4,
        files: slugs(files),
        certs: CertSpec {
            length: 1,
            inflated_leaf: false,
        },
        extra_env: &[],
        extra_containers: &[],
        default: true,
        check,
    }
}

const LOSS_SCENARIO: &str = "drop-rate --delay=15ms --bandwidth=10Mbps --queue=25 --rate_to_server=2 --rate_to_client=2 --burst_to_server=3 --burst_to_client=3";
const HANDSHAKE_LOSS_SCENARIO: &str = "drop-rate --delay=15ms --bandwidth=10Mbps --queue=25 --rate_to_server=30 --rate_to_client=30 --burst_to_server=3 --burst_to_client=3";
const CORRUPT_SCENARIO: &str = "corrupt-rate --delay=15ms --bandwidth=10Mbps --queue=25 --rate_to_server=2 --rate_to_client=2 --burst_to_server=3 --burst_to_client=3";
const HANDSHAKE_CORRUPT_SCENARIO: &str = "corrupt-rate --delay=15ms --bandwidth=10Mbps --queue=25 --rate_to_server=30 --rate_to_client=30 --burst_to_server=3 --burst_to_client=3";
const REBIND_SCENARIO: &str =
    "rebind --delay=15ms --bandwidth=10Mbps --queue=25 --first-rebind=1s --rebind-freq=5s";
const MULTICONNECT_FILES: FileSizes = FileSizes::Repeat {
    count: 50,
    size: KB,
};

/// The QUIC test cases in the reference order, plus `versionnegotiation`,
/// which exists but is not in the default list.
pub static QUIC_TESTS: &[TestCase] = &[
    quic("handshake", "H", "Handshake completes successfully.", "handshake", ONE_KB, Check::Handshake),
    quic(
        "transfer",
        "DC",
        "Stream data is being sent and received correctly. Connection close completes with a zero error code.",
        "transfer",
        FileSizes::List(&[2 * MB, 3 * MB, 5 * MB]),
        Check::Transfer,
    ),
    TestCase {
        scenario: "simple-p2p --delay=750ms --bandwidth=10Mbps --queue=25",
        ..quic("longrtt", "LR", "Handshake completes when RTT is long.", "handshake", ONE_KB, Check::LongRtt)
    },
    quic("chacha20", "C20", "Handshake completes using ChaCha20.", "chacha20", FileSizes::List(&[3 * MB]), Check::ChaCha20),
    quic(
        "multiplexing",
        "M",
        "Thousands of files are transferred over a single connection, and server increased stream limits to accomodate client requests.",
        "transfer",
        FileSizes::Repeat { count: 1999, size: 32 },
        Check::Multiplexing,
    ),
    quic(
        "retry",
        "S",
        "Server sends a Retry, and a subsequent connection using the Retry token completes successfully.",
        "retry",
        FileSizes::List(&[10 * KB]),
        Check::Retry,
    ),
    quic(
        "resumption",
        "R",
        "Connection is established using TLS Session Resumption.",
        "resumption",
        FileSizes::List(&[5 * KB, 10 * KB]),
        Check::Resumption,
    ),
    TestCase {
        files: FileSpec {
            sizes: FileSizes::Repeat { count: 40, size: 32 },
            names: NameRule::Letters(250),
        },
        ..quic("zerortt", "Z", "0-RTT data is being sent and acted on.", "zerortt", FileSizes::None, Check::ZeroRtt)
    },
    quic(
        "http3",
        "3",
        "An H3 transaction succeeded.",
        "http3",
        FileSizes::List(&[5 * KB, 10 * KB, 500 * KB]),
        Check::Http3,
    ),
    TestCase {
        scenario: "blackhole --delay=15ms --bandwidth=10Mbps --queue=25 --on=5s --off=2s",
        ..quic(
            "blackhole",
            "B",
            "Transfer succeeds despite underlying network blacking out for a few seconds.",
            "transfer",
            FileSizes::List(&[10 * MB]),
            Check::Blackhole,
        )
    },
    TestCase {
        server_testcase: "transfer",
        ..quic(
            "keyupdate",
            "U",
            "One of the two endpoints updates keys and the peer responds correctly.",
            "keyupdate",
            FileSizes::List(&[3 * MB]),
            Check::KeyUpdate,
        )
    },
    quic(
        "ecn",
        "E",
        "Explicit Congestion Notification (ECN) is used and the peer reports ECN counts.",
        "ecn",
        FileSizes::List(&[100 * KB]),
        Check::Ecn,
    ),
    TestCase {
        scenario: "droplist --delay=15ms --bandwidth=10Mbps --queue=25 --drops_to_server=2,3,4,5,6,7",
        certs: CertSpec {
            length: 9,
            inflated_leaf: true,
        },
        ..quic(
            "amplificationlimit",
            "A",
            "The server obeys the 3x amplification limit.",
            "transfer",
            FileSizes::List(&[5 * KB]),
            Check::AmplificationLimit,
        )
    },
    TestCase {
        scenario: HANDSHAKE_LOSS_SCENARIO,
        timeout: Duration::from_secs(300),
        ..quic(
            "handshakeloss",
            "L1",
            "Handshake completes under extreme packet loss.",
            "multiconnect",
            MULTICONNECT_FILES,
            Check::MultiConnect,
        )
    },
    TestCase {
        scenario: LOSS_SCENARIO,
        ..quic(
            "transferloss",
            "L2",
            "Transfer completes under moderate packet loss.",
            "transfer",
            FileSizes::List(&[2 * MB]),
            Check::TransferUnderLoss,
        )
    },
    TestCase {
        scenario: HANDSHAKE_CORRUPT_SCENARIO,
        timeout: Duration::from_secs(300),
        ..quic(
            "handshakecorruption",
            "C1",
            "Handshake completes under extreme packet corruption.",
            "multiconnect",
            MULTICONNECT_FILES,
            Check::MultiConnect,
        )
    },
    TestCase {
        scenario: CORRUPT_SCENARIO,
        ..quic(
            "transfercorruption",
            "C2",
            "Transfer completes under moderate packet corruption.",
            "transfer",
            FileSizes::List(&[2 * MB]),
            Check::TransferUnderLoss,
        )
    },
    TestCase {
        url_host: UrlHost::Server6,
        ..quic(
            "ipv6",
            "6",
            "A transfer across an IPv6-only network succeeded.",
            "transfer",
            FileSizes::List(&[5 * KB, 10 * KB]),
            Check::Ipv6,
        )
    },
    quic(
        "v2",
        "V2",
        "Server should select QUIC v2 in compatible version negotiation.",
        "v2",
        ONE_KB,
        Check::V2,
    ),
    TestCase {
        scenario: REBIND_SCENARIO,
        ..quic(
            "rebind-port",
            "BP",
            "Transfer completes under frequent port rebindings on the client side.",
            "transfer",
            FileSizes::List(&[10 * MB]),
            Check::RebindPort,
        )
    },
    TestCase {
        scenario: "rebind --delay=15ms --bandwidth=10Mbps --queue=25 --first-rebind=1s --rebind-freq=5s --rebind-addr",
        ..quic(
            "rebind-addr",
            "BA",
            "Transfer completes under frequent IP address and port rebindings on the client side.",
            "transfer",
            FileSizes::List(&[10 * MB]),
            Check::RebindAddr,
        )
    },
    TestCase {
        server_testcase: "transfer",
        url_host: UrlHost::Server46,
        ..quic(
            "connectionmigration",
            "CM",
            "A transfer succeeded during which the client performed an active migration.",
            "connectionmigration",
            FileSizes::List(&[2 * MB]),
            Check::ConnectionMigration,
        )
    },
    TestCase {
        default: false,
        ..quic(
            "versionnegotiation",
            "V",
            "A version negotiation packet is elicited and acted on.",
            "versionnegotiation",
            FileSizes::None,
            Check::VersionNegotiation,
        )
    },
];

/// The QUIC measurements.
pub static QUIC_MEASUREMENTS: &[TestCase] = &[
    TestCase {
        kind: Kind::Measurement { repetitions: 5 },
        ..quic(
            "goodput",
            "G",
            "Measures connection goodput over a 10Mbps link.",
            "transfer",
            FileSizes::List(&[10 * MB]),
            Check::Goodput,
        )
    },
    TestCase {
        kind: Kind::Measurement { repetitions: 5 },
        timeout: Duration::from_secs(180),
        extra_env: &[("IPERF_CONGESTION", "cubic")],
        extra_containers: &[ExtraContainer::IperfServer, ExtraContainer::IperfClient],
        ..quic(
            "crosstraffic",
            "C",
            "Measures goodput over a 10Mbps link when competing with a TCP (cubic) connection.",
            "transfer",
            FileSizes::List(&[25 * MB]),
            Check::Goodput,
        )
    },
];

const WT_STREAM_FILES: FileSizes = FileSizes::List(&[100 * KB, 500 * KB, 250 * KB, MB, 2 * MB]);
const WT_DATAGRAM_FILES: FileSizes = FileSizes::Ramp {
    count: 200,
    base: 600,
    step: 2,
};

const fn wt(
    name: &'static str,
    abbr: &'static str,
    desc: &'static str,
    stream: WtStream,
    direction: WtDirection,
) -> TestCase {
    let files = match stream {
        WtStream::Datagram => WT_DATAGRAM_FILES,
        _ => WT_STREAM_FILES,
    };
    // The side that acts gets the full name, the side that only answers gets
    // "transfer".
    let (server_testcase, client_testcase) = match direction {
        WtDirection::Receive => ("transfer", name),
        WtDirection::Send => (name, "transfer"),
    };
    TestCase {
        protocol: Protocol::WebTransport,
        server_testcase,
        client_testcase,
        ..quic(
            name,
            abbr,
            desc,
            name,
            files,
            Check::WtTransfer(stream, direction),
        )
    }
}

/// The WebTransport test cases.
pub static WEBTRANSPORT_TESTS: &[TestCase] = &[
    TestCase {
        protocol: Protocol::WebTransport,
        ..quic(
            "handshake",
            "H",
            "Handshake completes successfully.",
            "handshake",
            FileSizes::None,
            Check::WtHandshake,
        )
    },
    wt(
        "transfer-unidirectional-receive",
        "UR",
        "Server sends data to client using unidirectional streams",
        WtStream::Unidirectional,
        WtDirection::Receive,
    ),
    wt(
        "transfer-unidirectional-send",
        "US",
        "Client sends data to server using unidirectional streams",
        WtStream::Unidirectional,
        WtDirection::Send,
    ),
    wt(
        "transfer-bidirectional-receive",
        "BR",
        "Server sends data to client using bidirectional streams",
        WtStream::Bidirectional,
        WtDirection::Receive,
    ),
    wt(
        "transfer-bidirectional-send",
        "BS",
        "Client sends data to server using bidirectional streams",
        WtStream::Bidirectional,
        WtDirection::Send,
    ),
    wt(
        "transfer-datagram-receive",
        "DR",
        "Server sends data to client using datagrams",
        WtStream::Datagram,
        WtDirection::Receive,
    ),
    wt(
        "transfer-datagram-send",
        "DS",
        "Client sends data to server using datagrams",
        WtStream::Datagram,
        WtDirection::Send,
    ),
];

/// Tests (not measurements) of a protocol, including those off by default.
pub fn tests(protocol: Protocol) -> &'static [TestCase] {
    match protocol {
        Protocol::Quic => QUIC_TESTS,
        Protocol::WebTransport => WEBTRANSPORT_TESTS,
    }
}

pub fn measurements(protocol: Protocol) -> &'static [TestCase] {
    match protocol {
        Protocol::Quic => QUIC_MEASUREMENTS,
        Protocol::WebTransport => &[],
    }
}

/// Looks a test or measurement up by name.
pub fn find(protocol: Protocol, name: &str) -> Option<&'static TestCase> {
    tests(protocol)
        .iter()
        .chain(measurements(protocol))
        .find(|t| t.name == name)
}

#[cfg(test)]
mod tests {
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
            ("transfer", "connectionmigration")
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
}
