//! The catalog of test cases and measurements (contract sections 4 and 5):
//! static data describing what a trial runs; generating its files, running it
//! and judging it happen elsewhere.
//!
//! One table drives everything: an entry in `quic.rs` or `webtransport.rs`
//! says what a test runs and names its rule (a function of
//! `judge::rules`); plan, materials, the judge, `list`, the matrix and the
//! trial counts all read the table, so adding a test case is one entry and
//! one rule function.

mod quic;
mod webtransport;

pub use quic::{QUIC_MEASUREMENTS, QUIC_TESTS};
pub use webtransport::WEBTRANSPORT_TESTS;

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use crate::judge::rules::Rule;

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

/// A WebTransport transfer: the stream kind and the direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WtFlow {
    pub stream: WtStream,
    pub direction: WtDirection,
}

/// One test case or measurement: one entry of the table in `quic.rs` or
/// `webtransport.rs`.
#[derive(Debug, Clone, Copy)]
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
    /// The rule needs decrypted Handshake/1-RTT packets: without a valid key
    /// log from either side the test is unsupported.
    pub needs_keys: bool,
    /// What WebTransport data flows which way (`None`: the handshake test
    /// and every QUIC test).
    pub flow: Option<WtFlow>,
    /// The pass rule, applied after the files check.
    pub rule: Rule,
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

/// The tests a run covers when none are named, in the reference's order.
pub fn defaults(protocol: Protocol) -> Vec<&'static TestCase> {
    tests(protocol).iter().filter(|t| t.default).collect()
}

/// The measurements a run covers when none are named.
pub fn default_measurements(protocol: Protocol) -> Vec<&'static TestCase> {
    measurements(protocol)
        .iter()
        .filter(|t| t.default)
        .collect()
}

/// How many trials a pair of implementations gets when no tests are named.
pub fn default_count(protocol: Protocol) -> usize {
    defaults(protocol).len() + default_measurements(protocol).len()
}

/// Looks a test or measurement up by name.
pub fn find(protocol: Protocol, name: &str) -> Option<&'static TestCase> {
    tests(protocol)
        .iter()
        .chain(measurements(protocol))
        .find(|t| t.name == name)
}

#[cfg(test)]
mod tests;
