//! Expectations: the outcomes of an earlier run (its result.json), so a
//! run fails only where an outcome got worse than expected and says what
//! got better. Failed and unsupported count the same (neither worked);
//! a trial the expectations do not name must not fail.

use std::collections::HashMap;
use std::path::Path;

use super::{ReportError, ResultJson};
use crate::catalog::testcases::Protocol;
use crate::outcome::{Outcome, TrialRecord};

/// Expected outcomes by cargo trial name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Expectations {
    by_trial: HashMap<String, Outcome>,
}

/// A trial's outcome against its expectation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Against {
    /// Worked as expected, or did not work and was not expected to.
    AsExpected,
    /// Failed, as the expectations said it would: not a failure of this run.
    KnownFailure,
    /// Worked although expected not to.
    Better,
    /// Expected to work and failed.
    Worse,
    /// Failed and the expectations do not name it.
    NewFailure,
}

impl Against {
    /// Whether the run fails because of this trial.
    pub fn fails_the_run(self) -> bool {
        matches!(self, Against::Worse | Against::NewFailure)
    }
}

impl Expectations {
    /// Reads a result.json (QUIC: trial names without prefix) or its
    /// WebTransport sibling, chosen by `protocol`.
    pub fn read(path: &Path, protocol: Protocol) -> Result<Expectations, ReportError> {
        let json = ResultJson::read(path)?;
        let mut by_trial = HashMap::new();
        for (i, (client, server)) in json
            .clients
            .iter()
            .flat_map(|c| json.servers.iter().map(move |s| (c, s)))
            .enumerate()
        {
            let tests = json.results[i]
                .iter()
                .filter_map(|e| Some((e.name.as_str(), e.result.as_deref()?)));
            let measurements = json.measurements[i]
                .iter()
                .map(|m| (m.name.as_str(), m.result.as_str()));
            for (test, result) in tests.chain(measurements) {
                let outcome = Outcome::parse(result).ok_or_else(|| ReportError::UnknownResult {
                    path: path.to_path_buf(),
                    result: result.to_string(),
                    server: server.clone(),
                    client: client.clone(),
                    test: test.to_string(),
                })?;
                let name = crate::plan::trial_name(protocol, server, client, test);
                by_trial.insert(name, outcome);
            }
        }
        Ok(Expectations { by_trial })
    }

    /// Expectations for both protocols: `path` for QUIC and, if it exists,
    /// `<stem>.webtransport.json` beside it (as `-j` writes them).
    pub fn read_all(path: &Path) -> Result<Expectations, ReportError> {
        let mut all = Expectations::read(path, Protocol::Quic)?;
        let wt = path.with_extension(format!("{}.json", Protocol::WebTransport.name()));
        if wt.is_file() {
            all.by_trial
                .extend(Expectations::read(&wt, Protocol::WebTransport)?.by_trial);
        }
        Ok(all)
    }

    pub fn len(&self) -> usize {
        self.by_trial.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_trial.is_empty()
    }

    pub fn expected(&self, trial_name: &str) -> Option<Outcome> {
        self.by_trial.get(trial_name).copied()
    }

    pub fn against(&self, rec: &TrialRecord) -> Against {
        let works = |o: Outcome| o == Outcome::Succeeded;
        match (self.expected(&rec.trial_name()), rec.outcome) {
            (None, Outcome::Failed) => Against::NewFailure,
            (None, _) => Against::AsExpected,
            (Some(e), Outcome::Failed) if works(e) => Against::Worse,
            (Some(_), Outcome::Failed) => Against::KnownFailure,
            (Some(e), o) if works(o) && !works(e) => Against::Better,
            (Some(_), _) => Against::AsExpected,
        }
    }

    /// Lines for the end of a run: what got worse, what got better, how
    /// many known failures there were.
    pub fn summary(&self, records: &[TrialRecord]) -> Vec<String> {
        let mut worse = Vec::new();
        let mut better = Vec::new();
        let mut new = Vec::new();
        let mut known = 0;
        for rec in records {
            match self.against(rec) {
                Against::Worse => worse.push(rec.trial_name()),
                Against::Better => better.push(rec.trial_name()),
                Against::NewFailure => new.push(rec.trial_name()),
                Against::KnownFailure => known += 1,
                Against::AsExpected => {}
            }
        }
        let list = |v: &mut Vec<String>| {
            v.sort();
            v.join(", ")
        };
        let mut out = vec![format!(
            "expectations: {} worse than expected, {} new failure(s), {} better, {known} known failure(s)",
            worse.len(),
            new.len(),
            better.len()
        )];
        if !worse.is_empty() {
            out.push(format!("  worse than expected: {}", list(&mut worse)));
        }
        if !new.is_empty() {
            out.push(format!("  new failures: {}", list(&mut new)));
        }
        if !better.is_empty() {
            out.push(format!("  better than expected: {}", list(&mut better)));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tests::{record, small_results};

    fn expectations() -> (tempfile::TempDir, Expectations) {
        let mut r = small_results(
            &["quic-go", "ngtcp2"],
            &["aioquic"],
            "handshake,retry,goodput",
        );
        for rec in [
            record("quic-go", "aioquic", "handshake", Outcome::Succeeded),
            record("ngtcp2", "aioquic", "handshake", Outcome::Failed),
            record("quic-go", "aioquic", "retry", Outcome::Unsupported),
            record("ngtcp2", "aioquic", "goodput", Outcome::Failed),
        ] {
            r.insert(&rec);
        }
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("expected.json");
        ResultJson::from_results(&r).write(&p).unwrap();
        let e = Expectations::read_all(&p).unwrap();
        (dir, e)
    }

    #[test]
    fn a_known_failure_passes_and_a_new_or_worse_one_fails() {
        let (_d, e) = expectations();
        assert_eq!(e.len(), 4);
        let known = record("ngtcp2", "aioquic", "handshake", Outcome::Failed);
        assert_eq!(e.against(&known), Against::KnownFailure);
        assert!(!e.against(&known).fails_the_run());
        let known_m = record("ngtcp2", "aioquic", "goodput", Outcome::Failed);
        assert_eq!(e.against(&known_m), Against::KnownFailure);

        let worse = record("quic-go", "aioquic", "handshake", Outcome::Failed);
        assert_eq!(e.against(&worse), Against::Worse);
        assert!(e.against(&worse).fails_the_run());
        let unnamed = record("ngtcp2", "aioquic", "retry", Outcome::Failed);
        assert_eq!(e.against(&unnamed), Against::NewFailure);
        assert!(e.against(&unnamed).fails_the_run());
        // unsupported before, failing now: neither worked
        let was_unsupported = record("quic-go", "aioquic", "retry", Outcome::Failed);
        assert_eq!(e.against(&was_unsupported), Against::KnownFailure);

        let better = record("ngtcp2", "aioquic", "handshake", Outcome::Succeeded);
        assert_eq!(e.against(&better), Against::Better);
        let lines = e.summary(&[known, worse, unnamed, better]);
        assert_eq!(
            lines[0],
            "expectations: 1 worse than expected, 1 new failure(s), 1 better, 1 known failure(s)"
        );
        assert!(lines.contains(&"  better than expected: ngtcp2_aioquic_handshake".to_string()));
    }

    #[test]
    fn a_file_that_is_not_result_json_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.json");
        std::fs::write(&p, "[]").unwrap();
        let err = Expectations::read_all(&p).unwrap_err().to_string();
        assert!(err.contains("not a result.json"), "{err}");
    }
}
