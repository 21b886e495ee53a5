//! Judging a run that ended normally: the pass rules of contract sections 4
//! and 5. The parts that need no packet trace (files, WebTransport
//! protocol files) are decided here; the trace-based parts are listed so
//! the output says what was not checked yet.

use crate::outcome::Outcome;
use crate::testcases::{Check, TestCase};

/// A judge's decision with its reason and what it could not check.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub outcome: Outcome,
    pub reason: String,
    pub notes: Vec<String>,
    /// A measurement's value (goodput in kbps).
    pub value: Option<f64>,
}

impl Verdict {
    pub fn failed(reason: impl Into<String>) -> Verdict {
        Verdict {
            outcome: Outcome::Failed,
            reason: reason.into(),
            notes: Vec::new(),
            value: None,
        }
    }

    pub fn unsupported(reason: impl Into<String>) -> Verdict {
        Verdict {
            outcome: Outcome::Unsupported,
            reason: reason.into(),
            notes: Vec::new(),
            value: None,
        }
    }
}

/// What the orchestrator gathered for the judge.
#[derive(Debug, Clone)]
pub struct Evidence {
    /// The result of comparing downloads with their sources.
    pub files: Result<(), String>,
    /// WebTransport handshake: the protocol each side wrote, if any.
    pub negotiated: Option<Negotiated>,
    /// The run's log directory: `sim/trace_node_{left,right}.pcap`,
    /// `server/keys.log`, `client/keys.log`.
    pub run_dir: std::path::PathBuf,
    /// The server's and the client's addresses in this run (IPv4, IPv6).
    pub server_addrs: Vec<std::net::IpAddr>,
    pub client_addrs: Vec<std::net::IpAddr>,
    /// How many files were served and their total size in bytes.
    pub file_count: usize,
    pub file_bytes: u64,
}

impl Default for Evidence {
    fn default() -> Self {
        Evidence {
            files: Ok(()),
            negotiated: None,
            run_dir: Default::default(),
            server_addrs: Vec::new(),
            client_addrs: Vec::new(),
            file_count: 0,
            file_bytes: 0,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Negotiated {
    pub expected: String,
    pub client: Option<String>,
    pub server: Option<String>,
}

/// The parts of a rule that need the packet trace.
pub fn trace_parts(check: Check) -> &'static [&'static str] {
    use Check::*;
    match check {
        Handshake => &["QUIC version 1 only", "no Retry", "exactly 1 handshake"],
        Transfer | Http3 | Blackhole | TransferUnderLoss => {
            &["QUIC version 1 only", "exactly 1 handshake"]
        }
        LongRtt => &[
            "QUIC version 1 only",
            "exactly 1 handshake",
            "client sent at least 2 ClientHellos",
        ],
        ChaCha20 => &[
            "QUIC version 1 only",
            "exactly 1 handshake",
            "ClientHellos offer only TLS_CHACHA20_POLY1305_SHA256",
        ],
        Multiplexing => &[
            "QUIC version 1 only",
            "exactly 1 handshake",
            "server initial_max_streams_bidi ≤ 1000",
        ],
        Retry => &[
            "QUIC version 1 only",
            "exactly 1 handshake",
            "a Retry with a token, used by a later client Initial",
        ],
        Resumption => &[
            "QUIC version 1 only",
            "2 handshakes",
            "Certificate only in the first handshake",
        ],
        ZeroRtt => &[
            "QUIC version 1 only",
            "2 handshakes",
            "0-RTT sent",
            "1-RTT payload ≤ half the file bytes",
        ],
        KeyUpdate => &[
            "QUIC version 1 only",
            "exactly 1 handshake",
            "both sides sent key phase 1",
        ],
        Ecn => &[
            "exactly 1 handshake",
            "ECT marks and no CE both ways",
            "ACKs with ECN counts both ways",
        ],
        AmplificationLimit => &[
            "QUIC version 1 only",
            "exactly 1 handshake",
            "server Handshake CRYPTO ≥ 7500 bytes",
            "3× amplification limit",
            "no Version Negotiation",
        ],
        MultiConnect => &["QUIC version 1 only", "one handshake per file"],
        Ipv6 => &[
            "QUIC version 1 only",
            "exactly 1 handshake",
            "no IPv4 QUIC packet from the server",
        ],
        V2 => &[
            "client Initials v1, server Initials v2",
            "all Handshake packets v2",
        ],
        RebindPort => &[
            "exactly 1 handshake",
            "server saw more than one path",
            "PATH_CHALLENGE on each new path, answered",
        ],
        RebindAddr => &[
            "exactly 1 handshake",
            "more than one client address",
            "PATH_CHALLENGE on each new path, answered",
        ],
        ConnectionMigration => &[
            "exactly 1 handshake",
            "PATH_CHALLENGE on each new path, answered",
            "new DCID on each new client path",
        ],
        VersionNegotiation => &["a Version Negotiation packet elicited and acted on"],
        Goodput => &[
            "QUIC version 1 only",
            "exactly 1 handshake",
            "goodput from the client-side trace",
        ],
        WtHandshake | WtTransfer(..) => &["exactly 1 handshake"],
    }
}

/// Decides a run whose client (or server) exited 0.
pub fn judge(test: &TestCase, e: &Evidence) -> Verdict {
    if let Err(reason) = &e.files {
        return Verdict::failed(reason.clone());
    }
    if let Some(n) = &e.negotiated {
        if let Some(reason) = negotiation_problem(n) {
            return Verdict::failed(reason);
        }
    }
    let parts = trace_parts(test.check);
    Verdict {
        outcome: Outcome::Succeeded,
        reason: String::new(),
        notes: vec![format!(
            "not checked yet (needs the packet-trace analysis): {}",
            parts.join("; ")
        )],
        value: None,
    }
}

fn negotiation_problem(n: &Negotiated) -> Option<String> {
    for (side, got) in [("client", &n.client), ("server", &n.server)] {
        match got {
            None => {
                return Some(format!(
                    "the {side} wrote no negotiated_protocol.txt in /downloads"
                ))
            }
            Some(p) if p.trim() != n.expected => {
                return Some(format!(
                    "the {side} negotiated \"{}\", expected \"{}\"",
                    p.trim(),
                    n.expected
                ))
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testcases::{find, Protocol};

    #[test]
    fn file_problems_fail_with_their_reason() {
        let t = find(Protocol::Quic, "transfer").unwrap();
        let v = judge(
            t,
            &Evidence {
                files: Err("file x was not downloaded".into()),
                negotiated: None,
                ..Default::default()
            },
        );
        assert_eq!(v.outcome, Outcome::Failed);
        assert_eq!(v.reason, "file x was not downloaded");
    }

    #[test]
    fn passing_files_say_what_was_not_checked() {
        let t = find(Protocol::Quic, "retry").unwrap();
        let v = judge(
            t,
            &Evidence {
                files: Ok(()),
                negotiated: None,
                ..Default::default()
            },
        );
        assert_eq!(v.outcome, Outcome::Succeeded);
        assert!(v.notes[0].contains("Retry with a token"), "{:?}", v.notes);
    }

    #[test]
    fn webtransport_protocol_negotiation() {
        let t = find(Protocol::WebTransport, "handshake").unwrap();
        let n = |c: Option<&str>, s: Option<&str>| Evidence {
            files: Ok(()),
            negotiated: Some(Negotiated {
                expected: "b".into(),
                client: c.map(Into::into),
                server: s.map(Into::into),
            }),
            ..Default::default()
        };
        assert_eq!(
            judge(t, &n(Some("b\n"), Some("b"))).outcome,
            Outcome::Succeeded
        );
        assert_eq!(
            judge(t, &n(Some("a"), Some("b"))).reason,
            "the client negotiated \"a\", expected \"b\""
        );
        assert_eq!(
            judge(t, &n(Some("b"), None)).reason,
            "the server wrote no negotiated_protocol.txt in /downloads"
        );
    }

    #[test]
    fn every_check_lists_its_trace_parts() {
        for t in crate::testcases::QUIC_TESTS
            .iter()
            .chain(crate::testcases::QUIC_MEASUREMENTS)
        {
            assert!(!trace_parts(t.check).is_empty(), "{}", t.name);
        }
    }
}
