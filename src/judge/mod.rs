//! Judging a run that ended normally: the pass rules of contract sections 4
//! and 5, from the downloads and the two packet traces of the run.
//!
//! Stage 5. Input: the test case, the [`Evidence`] the orchestrator
//! gathered (download check, negotiated protocols, the endpoints'
//! addresses, file sizes) and the [`Analysis`] of the run's traces. Output:
//! a [`Verdict`] (outcome, one-sentence reason, notes, a measurement's
//! value). No I/O: everything it reads is handed in.

mod closes;
mod common;
mod goodput;
mod handshake_rules;
mod paths;
pub mod rules;
mod stop;
mod traces;
mod transport_rules;

use crate::analyse::Analysis;
use crate::catalog::testcases::TestCase;
use crate::outcome::Outcome;

pub use closes::first_error_close;
pub use stop::Stop;
pub use traces::{Side, Traces};

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
#[derive(Debug, Clone, Default)]
pub struct Evidence {
    /// The first way the downloads differ from their sources, if any: a
    /// reason to fail, in one sentence.
    pub download_problem: Option<String>,
    /// WebTransport handshake: the protocol each side wrote, if any.
    pub negotiated: Option<Negotiated>,
    /// The server's and the client's addresses in this run (IPv4, IPv6).
    pub server_addrs: Vec<std::net::IpAddr>,
    pub client_addrs: Vec<std::net::IpAddr>,
    /// How many files were served and their total size in bytes.
    pub file_count: usize,
    pub file_bytes: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Negotiated {
    pub expected: String,
    pub client: Option<String>,
    pub server: Option<String>,
}

/// Decides a run whose client (or server) exited 0, from what the
/// orchestrator gathered and the analysed traces; reads no files.
pub fn judge(test: &TestCase, e: &Evidence, analysis: &Analysis) -> Verdict {
    if let Some(n) = &e.negotiated {
        if let Some(reason) = negotiation_problem(n) {
            return Verdict::failed(reason);
        }
    }
    let traces = Traces::new(analysis, &e.server_addrs);
    let decided = decide(test, e, &traces);
    let mut verdict = match decided {
        Ok(value) => Verdict {
            outcome: Outcome::Succeeded,
            reason: String::new(),
            notes: Vec::new(),
            value,
        },
        Err(Stop::Failed(reason)) => Verdict::failed(reason),
        Err(Stop::Unsupported(reason)) => Verdict::unsupported(reason),
    };
    verdict.notes = traces.warnings();
    if let Some(v) = verdict.value {
        verdict.notes.push(format!("goodput: {v:.0} kbps"));
    }
    verdict
}

/// The checks every rule shares, then the test's own rule.
fn decide(test: &TestCase, e: &Evidence, traces: &Traces) -> rules::Judged {
    if test.needs_keys {
        traces.require_keys()?;
    }
    // A wrong download is the clearest reason to give, so it goes before the
    // rule (the outcome is the same in any order).
    if let Some(problem) = &e.download_problem {
        return Err(Stop::Failed(problem.clone()));
    }
    (test.rule)(&rules::Facts {
        evidence: e,
        traces,
    })
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
mod tests;

#[cfg(test)]
mod analysis_tests;
