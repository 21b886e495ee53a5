//! From trial records to what people and CI read: the interop matrix
//! (terminal and Markdown), result.json, shard merging and log-dir rebuilds.
//!
//! Stage 6. Input: [`TrialRecord`]s, fresh from a run or read back from a
//! log directory. Output: the matrix text and result.json, the reference's
//! exact fields.

mod absent;
mod details;
mod error;
pub mod escape;
mod expect;
mod html;
mod junit;
mod logdir;
mod matrix;
mod planned;
mod result_json;
mod shards;

use std::collections::HashMap;

use crate::catalog::testcases::{Protocol, TestCase};
use crate::outcome::{Outcome, TrialRecord};

pub use absent::NotRun;
pub use details::{details, details_path, write_details, Details, TrialDetails};
pub use error::ReportError;
pub use expect::{Against, Expectations};
pub use html::{render_html, write_html};
pub use junit::{junit_report, write_junit};
pub use logdir::{collect_records, read_log_dir, results_from_records, LogDirContents};
pub use matrix::{
    colour_for_stdout, render_all, render_all_at, render_markdown, render_terminal, screen_width,
    DEFAULT_WIDTH, FLAKY_SYMBOL,
};
pub use planned::{results_of_plans, RunSpan};
pub use result_json::{merge_result_files, ResultJson};
pub use shards::merge_shards;

/// Name, abbreviation and description of a column of results.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestInfo {
    pub name: String,
    pub abbr: String,
    pub desc: String,
}

impl From<&TestCase> for TestInfo {
    fn from(t: &TestCase) -> Self {
        TestInfo {
            name: t.name.to_string(),
            abbr: t.abbr.to_string(),
            desc: t.desc.to_string(),
        }
    }
}

/// One cell entry: a test's outcome for a (server, client) pair.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub outcome: Outcome,
    pub reason: String,
    /// Measurement text, `mean (± stdev) unit`.
    pub details: String,
    /// Passed only on a retry.
    pub flaky: bool,
    /// The implementation that could not be used: the trial never ran.
    pub unavailable: Option<String>,
}

impl Entry {
    /// An entry known only by its outcome (read back from result.json).
    pub fn of(outcome: Outcome, details: String) -> Entry {
        Entry {
            outcome,
            reason: String::new(),
            details,
            flaky: false,
            unavailable: None,
        }
    }
}

/// All results of one protocol's run, in the order they are presented.
#[derive(Debug, Clone, PartialEq)]
pub struct Results {
    pub protocol: Protocol,
    pub servers: Vec<String>,
    pub clients: Vec<String>,
    /// (server, client), client-major.
    pub pairs: Vec<(String, String)>,
    pub tests: Vec<TestInfo>,
    pub measurements: Vec<TestInfo>,
    /// Implementation name → project URL.
    pub urls: Vec<(String, String)>,
    pub start_time: f64,
    pub end_time: f64,
    pub log_dir: String,
    /// (server, client, test name) → entry.
    pub entries: HashMap<(String, String, String), Entry>,
}

impl Results {
    pub fn insert(&mut self, rec: &TrialRecord) {
        self.entries.insert(
            (rec.server.clone(), rec.client.clone(), rec.test.clone()),
            Entry {
                outcome: rec.outcome,
                reason: rec.reason.clone(),
                details: rec.details(),
                flaky: rec.is_flaky(),
                unavailable: rec.unavailable.clone(),
            },
        );
    }

    /// Drops pairs, implementations and tests without any result, for a run
    /// that a filter narrowed down.
    pub fn retain_present(&mut self) {
        let entries = &self.entries;
        let has = |s: &str, c: &str, t: Option<&str>| {
            entries.keys().any(|(es, ec, et)| {
                (s.is_empty() || es == s) && (c.is_empty() || ec == c) && t.is_none_or(|t| et == t)
            })
        };
        self.pairs.retain(|(s, c)| has(s, c, None));
        self.servers.retain(|s| has(s, "", None));
        self.clients.retain(|c| has("", c, None));
        self.tests.retain(|t| has("", "", Some(&t.name)));
        self.measurements.retain(|t| has("", "", Some(&t.name)));
        let names: Vec<&String> = self.servers.iter().chain(&self.clients).collect();
        self.urls.retain(|(n, _)| names.contains(&n));
    }

    /// Every (server, client, test) that has an entry, in result.json's
    /// order: clients, then servers, then tests and measurements.
    pub fn trial_keys(&self) -> Vec<(String, String, String)> {
        let mut out = Vec::new();
        for client in &self.clients {
            for server in &self.servers {
                for t in self.tests.iter().chain(&self.measurements) {
                    if self.get(server, client, &t.name).is_some() {
                        out.push((server.clone(), client.clone(), t.name.clone()));
                    }
                }
            }
        }
        out
    }

    pub fn get(&self, server: &str, client: &str, test: &str) -> Option<&Entry> {
        self.entries
            .get(&(server.to_string(), client.to_string(), test.to_string()))
    }

    /// The reference's rule: with more than one server, a test that failed or
    /// was unsupported for a client against every server becomes unsupported
    /// for that client everywhere; likewise for servers. Measurements are not
    /// touched. Returns one line per change.
    pub fn apply_auto_unsupported(&mut self, exempt: &[String]) -> Vec<String> {
        let mut notes = Vec::new();
        let tests: Vec<String> = self.tests.iter().map(|t| t.name.clone()).collect();
        if self.servers.len() > 1 {
            for client in self.clients.clone() {
                if exempt.contains(&client) {
                    continue;
                }
                let cells: Vec<(String, String)> = self
                    .pairs
                    .iter()
                    .filter(|(_, c)| *c == client)
                    .cloned()
                    .collect();
                for t in &tests {
                    if self.mark_if_all_questionable(&cells, t) {
                        notes.push(format!(
                            "client {client} failed or did not support test {t} against all servers, marking it unsupported"
                        ));
                    }
                }
            }
        }
        if self.clients.len() > 1 {
            for server in self.servers.clone() {
                if exempt.contains(&server) {
                    continue;
                }
                let cells: Vec<(String, String)> = self
                    .pairs
                    .iter()
                    .filter(|(s, _)| *s == server)
                    .cloned()
                    .collect();
                for t in &tests {
                    if self.mark_if_all_questionable(&cells, t) {
                        notes.push(format!(
                            "server {server} failed or did not support test {t} against all clients, marking it unsupported"
                        ));
                    }
                }
            }
        }
        notes
    }

    /// Marks `test` unsupported in every pair of `cells` if each of them
    /// failed or was unsupported; a pair with no result blocks the rule.
    fn mark_if_all_questionable(&mut self, cells: &[(String, String)], test: &str) -> bool {
        if cells.is_empty() {
            return false;
        }
        let keys: Vec<(String, String, String)> = cells
            .iter()
            .map(|(s, c)| (s.clone(), c.clone(), test.to_string()))
            .collect();
        let all_questionable = keys.iter().all(|k| {
            self.entries
                .get(k)
                .is_some_and(|e| e.outcome != Outcome::Succeeded)
        });
        if !all_questionable {
            return false;
        }
        let mut changed = false;
        for k in keys {
            if let Some(e) = self.entries.get_mut(&k) {
                if e.outcome == Outcome::Failed {
                    e.reason = format!("auto-unsupported (failed: {})", e.reason);
                    e.outcome = Outcome::Unsupported;
                    changed = true;
                }
            }
        }
        changed
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::catalog::registry::Registry;
    use crate::outcome::run::PlannedRun;
    use crate::plan::{Plan, Selection, TestFilter};

    pub(crate) fn record(s: &str, c: &str, t: &str, o: Outcome) -> TrialRecord {
        let tc = crate::catalog::testcases::find(Protocol::Quic, t).unwrap();
        TrialRecord {
            protocol: Protocol::Quic,
            server: s.into(),
            client: c.into(),
            test: t.into(),
            abbr: tc.abbr.into(),
            outcome: o,
            reason: if o == Outcome::Succeeded {
                String::new()
            } else {
                format!("{t} broke")
            },
            measurement: None,
            start_time: 10.0,
            end_time: 20.0,
            images: Default::default(),
            unavailable: None,
            earlier_failures: Vec::new(),
            log_path: String::new(),
        }
    }

    pub(crate) fn small_results(servers: &[&str], clients: &[&str], tests: &str) -> Results {
        let sel = Selection {
            servers: Some(servers.iter().map(|s| s.to_string()).collect()),
            clients: Some(clients.iter().map(|s| s.to_string()).collect()),
            tests: TestFilter::parse(Some(tests)),
            ..Default::default()
        };
        let plan = Plan::new(Protocol::Quic, Registry::embedded(Protocol::Quic), &sel).unwrap();
        let span = RunSpan {
            log_dir: "logs_x",
            start_time: 10.0,
            end_time: 10.0,
        };
        planned::empty_table(Protocol::Quic, &[&PlannedRun::from(&plan)], span)
    }

    #[test]
    fn client_failing_against_every_server_becomes_unsupported() {
        let mut r = small_results(&["quic-go", "ngtcp2"], &["aioquic"], "handshake,retry");
        use Outcome::*;
        for (s, t, o) in [
            ("quic-go", "handshake", Succeeded),
            ("ngtcp2", "handshake", Failed),
            ("quic-go", "retry", Failed),
            ("ngtcp2", "retry", Unsupported),
        ] {
            r.insert(&record(s, "aioquic", t, o));
        }
        let notes = r.apply_auto_unsupported(&[]);
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(notes[0].contains("client aioquic") && notes[0].contains("retry"));
        assert_eq!(
            r.get("quic-go", "aioquic", "retry").unwrap().outcome,
            Unsupported
        );
        assert!(r
            .get("quic-go", "aioquic", "retry")
            .unwrap()
            .reason
            .starts_with("auto-unsupported"));
        // a test that passed somewhere stays as it was
        assert_eq!(
            r.get("ngtcp2", "aioquic", "handshake").unwrap().outcome,
            Failed
        );
    }

    #[test]
    fn exempt_and_sole_implementations_are_left_alone() {
        let mut r = small_results(&["quic-go", "ngtcp2"], &["aioquic"], "retry");
        r.insert(&record("quic-go", "aioquic", "retry", Outcome::Failed));
        r.insert(&record("ngtcp2", "aioquic", "retry", Outcome::Failed));
        assert!(r
            .apply_auto_unsupported(&["aioquic".to_string()])
            .is_empty());
        assert_eq!(
            r.get("quic-go", "aioquic", "retry").unwrap().outcome,
            Outcome::Failed
        );

        // one server only: the client rule needs more than one server
        let mut r = small_results(&["quic-go"], &["aioquic", "ngtcp2"], "retry");
        r.insert(&record("quic-go", "aioquic", "retry", Outcome::Failed));
        r.insert(&record("quic-go", "ngtcp2", "retry", Outcome::Succeeded));
        assert!(r.apply_auto_unsupported(&[]).is_empty());
    }

    #[test]
    fn server_failing_against_every_client_becomes_unsupported() {
        let mut r = small_results(&["quic-go"], &["aioquic", "ngtcp2"], "retry");
        r.insert(&record("quic-go", "aioquic", "retry", Outcome::Failed));
        r.insert(&record("quic-go", "ngtcp2", "retry", Outcome::Failed));
        let notes = r.apply_auto_unsupported(&[]);
        assert_eq!(notes.len(), 1);
        assert!(notes[0].starts_with("server quic-go"));
        assert_eq!(
            r.get("quic-go", "ngtcp2", "retry").unwrap().outcome,
            Outcome::Unsupported
        );
    }

    #[test]
    fn retain_present_narrows_to_what_ran() {
        let mut r = small_results(
            &["quic-go", "ngtcp2"],
            &["aioquic", "quinn"],
            "handshake,retry,goodput",
        );
        r.insert(&record("ngtcp2", "quinn", "retry", Outcome::Failed));
        r.retain_present();
        assert_eq!(r.servers, vec!["ngtcp2"]);
        assert_eq!(r.clients, vec!["quinn"]);
        assert_eq!(r.pairs, vec![("ngtcp2".to_string(), "quinn".to_string())]);
        assert_eq!(r.tests.len(), 1);
        assert!(r.measurements.is_empty());
        assert_eq!(r.urls.len(), 2);
    }

    #[test]
    fn a_missing_result_blocks_the_rule() {
        let mut r = small_results(&["quic-go", "ngtcp2"], &["aioquic"], "retry");
        r.insert(&record("quic-go", "aioquic", "retry", Outcome::Failed));
        assert!(r.apply_auto_unsupported(&[]).is_empty());
    }
}
