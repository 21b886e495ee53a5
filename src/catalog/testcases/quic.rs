//! The QUIC test cases and measurements, in the reference's order.

use std::time::Duration;

use super::{
    CertSpec, ExtraContainer, FileSizes, FileSpec, Kind, NameRule, Protocol, TestCase, UrlHost,
    DEFAULT_SCENARIO, KB, MB,
};
use crate::judge::rules::{self, Rule};

pub(super) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
pub(super) const ONE_KB: FileSizes = FileSizes::List(&[KB]);

pub(super) const fn slugs(sizes: FileSizes) -> FileSpec {
    FileSpec {
        sizes,
        names: NameRule::Slug,
    }
}

pub(super) const fn quic(
    name: &'static str,
    abbr: &'static str,
    desc: &'static str,
    testcase: &'static str,
    files: FileSizes,
    rule: Rule,
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
        needs_keys: false,
        flow: None,
        rule,
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
    quic("handshake", "H", "Handshake completes successfully.", "handshake", ONE_KB, rules::handshake),
    quic(
        "transfer",
        "DC",
        "Stream data is being sent and received correctly. Connection close completes with a zero error code.",
        "transfer",
        FileSizes::List(&[2 * MB, 3 * MB, 5 * MB]),
        rules::transfer,
    ),
    TestCase {
        scenario: "simple-p2p --delay=750ms --bandwidth=10Mbps --queue=25",
        ..quic("longrtt", "LR", "Handshake completes when RTT is long.", "handshake", ONE_KB, rules::longrtt)
    },
    quic("chacha20", "C20", "Handshake completes using ChaCha20.", "chacha20", FileSizes::List(&[3 * MB]), rules::chacha20),
    TestCase {
        needs_keys: true,
        ..quic(
            "multiplexing",
            "M",
            "Thousands of files are transferred over a single connection, and server increased stream limits to accomodate client requests.",
            "transfer",
            FileSizes::Repeat { count: 1999, size: 32 },
            rules::multiplexing,
        )
    },
    quic(
        "retry",
        "S",
        "Server sends a Retry, and a subsequent connection using the Retry token completes successfully.",
        "retry",
        FileSizes::List(&[10 * KB]),
        rules::retry,
    ),
    TestCase {
        needs_keys: true,
        ..quic(
            "resumption",
            "R",
            "Connection is established using TLS Session Resumption.",
            "resumption",
            FileSizes::List(&[5 * KB, 10 * KB]),
            rules::resumption,
        )
    },
    TestCase {
        files: FileSpec {
            sizes: FileSizes::Repeat { count: 40, size: 32 },
            names: NameRule::Letters(250),
        },
        ..quic("zerortt", "Z", "0-RTT data is being sent and acted on.", "zerortt", FileSizes::None, rules::zerortt)
    },
    quic(
        "http3",
        "3",
        "An H3 transaction succeeded.",
        "http3",
        FileSizes::List(&[5 * KB, 10 * KB, 500 * KB]),
        rules::transfer,
    ),
    TestCase {
        scenario: "blackhole --delay=15ms --bandwidth=10Mbps --queue=25 --on=5s --off=2s",
        ..quic(
            "blackhole",
            "B",
            "Transfer succeeds despite underlying network blacking out for a few seconds.",
            "transfer",
            FileSizes::List(&[10 * MB]),
            rules::transfer,
        )
    },
    TestCase {
        needs_keys: true,
        server_testcase: "transfer",
        ..quic(
            "keyupdate",
            "U",
            "One of the two endpoints updates keys and the peer responds correctly.",
            "keyupdate",
            FileSizes::List(&[3 * MB]),
            rules::keyupdate,
        )
    },
    TestCase {
        needs_keys: true,
        ..quic(
            "ecn",
            "E",
            "Explicit Congestion Notification (ECN) is used and the peer reports ECN counts.",
            "ecn",
            FileSizes::List(&[100 * KB]),
            rules::ecn,
        )
    },
    TestCase {
        needs_keys: true,
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
            rules::amplificationlimit,
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
            rules::multiconnect,
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
            rules::transfer,
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
            rules::multiconnect,
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
            rules::transfer,
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
            rules::ipv6,
        )
    },
    quic(
        "v2",
        "V2",
        "Server should select QUIC v2 in compatible version negotiation.",
        "v2",
        ONE_KB,
        rules::v2,
    ),
    TestCase {
        needs_keys: true,
        scenario: REBIND_SCENARIO,
        ..quic(
            "rebind-port",
            "BP",
            "Transfer completes under frequent port rebindings on the client side.",
            "transfer",
            FileSizes::List(&[10 * MB]),
            rules::rebind_port,
        )
    },
    TestCase {
        needs_keys: true,
        scenario: "rebind --delay=15ms --bandwidth=10Mbps --queue=25 --first-rebind=1s --rebind-freq=5s --rebind-addr",
        ..quic(
            "rebind-addr",
            "BA",
            "Transfer completes under frequent IP address and port rebindings on the client side.",
            "transfer",
            FileSizes::List(&[10 * MB]),
            rules::rebind_addr,
        )
    },
    // The server must advertise a preferred address, so it gets the test's
    // name; the client only has to follow it (contract §4, server46 URLs).
    TestCase {
        needs_keys: true,
        client_testcase: "transfer",
        url_host: UrlHost::Server46,
        ..quic(
            "connectionmigration",
            "CM",
            "A transfer succeeded during which the client performed an active migration.",
            "connectionmigration",
            FileSizes::List(&[2 * MB]),
            rules::connectionmigration,
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
            rules::versionnegotiation,
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
            rules::goodput,
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
            rules::goodput,
        )
    },
    // Beyond the reference (whose ns-3 link carries about 220 Mbit/s): the
    // same measurement on faster links, each repetition lasting a few
    // seconds at the link's rate (4.2 s at 100 Mbit/s, 1.7 s at 1 Gbit/s,
    // whose traces are already 0.4 GB per repetition). The queues hold about
    // one bandwidth-delay product, as the 10 Mbit/s link's 25 packets do.
    TestCase {
        kind: Kind::Measurement { repetitions: 5 },
        default: false,
        scenario: "simple-p2p --delay=15ms --bandwidth=100Mbps --queue=250",
        ..quic(
            "goodput-100m",
            "G100",
            "Measures connection goodput over a 100Mbps link.",
            "transfer",
            FileSizes::List(&[50 * MB]),
            rules::goodput,
        )
    },
    TestCase {
        kind: Kind::Measurement { repetitions: 5 },
        default: false,
        scenario: "simple-p2p --delay=15ms --bandwidth=1000Mbps --queue=2500",
        timeout: Duration::from_secs(180),
        ..quic(
            "goodput-1g",
            "G1G",
            "Measures connection goodput over a 1Gbps link.",
            "transfer",
            FileSizes::List(&[200 * MB]),
            rules::goodput,
        )
    },
];
