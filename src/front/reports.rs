//! The run options both front ends share for what a run writes beyond the
//! matrix and result.json (JUnit, HTML, the details file) and how it
//! treats outcomes (expectations, retries): the flags' and the
//! `INTEROP_*` variables' meanings in one place.

use std::path::{Path, PathBuf};

use crate::front::FrontError;
use crate::orchestrate::runner::Runner;
use crate::outcome::{Outcome, TrialRecord};
use crate::plan::Trial;
use crate::report::{self, Against, Expectations, Results};

#[derive(Debug, Clone, Default)]
pub struct ReportOptions {
    pub junit: Option<PathBuf>,
    pub html: Option<PathBuf>,
    pub expect: Option<Expectations>,
    pub retries: u32,
}

impl ReportOptions {
    pub fn new(
        junit: Option<PathBuf>,
        html: Option<PathBuf>,
        expect: Option<&Path>,
        retries: u32,
    ) -> Result<ReportOptions, FrontError> {
        let expect = expect.map(Expectations::read_all).transpose()?;
        Ok(ReportOptions {
            junit,
            html,
            expect,
            retries,
        })
    }

    /// From `INTEROP_JUNIT`, `INTEROP_HTML`, `INTEROP_EXPECT`,
    /// `INTEROP_RETRIES` (read through `get`).
    pub fn from_env(get: impl Fn(&str) -> Option<String>) -> Result<ReportOptions, FrontError> {
        let path = |k: &str| get(k).filter(|s| !s.trim().is_empty()).map(PathBuf::from);
        let retries = match get("INTEROP_RETRIES").filter(|s| !s.trim().is_empty()) {
            None => 0,
            Some(v) => v
                .trim()
                .parse::<u32>()
                .map_err(|_| FrontError::Retries(v.clone()))?,
        };
        ReportOptions::new(
            path("INTEROP_JUNIT"),
            path("INTEROP_HTML"),
            path("INTEROP_EXPECT").as_deref(),
            retries,
        )
    }

    /// How a trial counts for the run: through the expectations if any.
    pub fn against(&self, rec: &TrialRecord) -> Against {
        match &self.expect {
            Some(e) => e.against(rec),
            None if rec.outcome == Outcome::Failed => Against::NewFailure,
            None => Against::AsExpected,
        }
    }
}

/// Runs a trial, and again up to `retries` times while it fails (unless
/// the expectations say it fails anyway). Earlier attempts' logs are kept
/// beside the trial's directory as `<test>.attempt<N>`; their reasons go
/// into the record, so a later pass is reported as flaky.
pub fn run_trial(runner: &Runner, trial: &Trial, opts: &ReportOptions) -> TrialRecord {
    let dir = runner.log_dir_for(trial);
    let mut earlier: Vec<String> = Vec::new();
    let mut first_start: Option<f64> = None;
    loop {
        let mut rec = runner.run(trial);
        let start = *first_start.get_or_insert(rec.start_time);
        let again = rec.outcome == Outcome::Failed
            && earlier.len() < opts.retries as usize
            && opts.against(&rec) != Against::KnownFailure;
        if !again {
            if !earlier.is_empty() {
                // The trial's time is every attempt's.
                rec.start_time = start;
                rec.earlier_failures = earlier;
                if let Err(e) = rec.write_to_dir(&dir) {
                    eprintln!("cannot rewrite the trial record in {}: {e}", dir.display());
                }
            }
            return rec;
        }
        earlier.push(rec.reason.clone());
        keep_attempt(&dir, earlier.len());
    }
}

/// Moves a failed attempt's directory aside, without its record (the
/// final record lists every attempt; a second record would count twice).
fn keep_attempt(dir: &Path, attempt: usize) {
    let Some(name) = dir.file_name() else { return };
    let aside = dir.with_file_name(format!("{}.attempt{attempt}", name.to_string_lossy()));
    let _ = std::fs::remove_dir_all(&aside);
    if std::fs::rename(dir, &aside).is_ok() {
        let _ = std::fs::remove_file(aside.join(TrialRecord::FILE_NAME));
    }
}

/// Writes the JUnit and HTML reports asked for, and beside result.json
/// (`json`) its details file.
pub fn write_reports(
    results: &[Results],
    records: &[TrialRecord],
    opts: &ReportOptions,
    json: Option<&Path>,
    log_dir: &Path,
) -> Result<(), FrontError> {
    if let Some(path) = json {
        report::write_details(results, records, &report::details_path(path))?;
    }
    if let Some(path) = &opts.junit {
        report::write_junit(results, records, path)?;
    }
    if let Some(path) = &opts.html {
        report::write_html(results, records, log_dir, path)?;
    }
    Ok(())
}

/// Lines for the end of a run: flaky trials, and the expectations' summary.
pub fn outcome_notes(records: &[TrialRecord], opts: &ReportOptions) -> Vec<String> {
    let mut out = Vec::new();
    let mut flaky: Vec<String> = records
        .iter()
        .filter(|r| r.is_flaky())
        .map(|r| {
            format!(
                "{} (passed on attempt {})",
                r.trial_name(),
                r.earlier_failures.len() + 1
            )
        })
        .collect();
    if !flaky.is_empty() {
        flaky.sort();
        out.push(format!("flaky ({}): {}", flaky.len(), flaky.join(", ")));
    }
    if let Some(e) = &opts.expect {
        out.extend(e.summary(records));
    }
    out
}

/// Whether the run failed: a trial failed that the expectations (if any)
/// did not expect to.
pub fn run_failed(records: &[TrialRecord], opts: &ReportOptions) -> bool {
    records.iter().any(|r| opts.against(r).fails_the_run())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn options_from_env() {
        let vars: HashMap<&str, &str> = [
            ("INTEROP_JUNIT", "j.xml"),
            ("INTEROP_HTML", ""),
            ("INTEROP_RETRIES", "2"),
        ]
        .into();
        let o = ReportOptions::from_env(|k| vars.get(k).map(|v| v.to_string())).unwrap();
        assert_eq!(o.junit, Some(PathBuf::from("j.xml")));
        assert_eq!(o.html, None);
        assert_eq!(o.retries, 2);
        assert!(o.expect.is_none());
        let err = ReportOptions::from_env(|k| (k == "INTEROP_RETRIES").then(|| "two".into()))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("INTEROP_RETRIES") && err.contains("two"),
            "{err}"
        );
        let err =
            ReportOptions::from_env(|k| (k == "INTEROP_EXPECT").then(|| "/no/such.json".into()))
                .unwrap_err()
                .to_string();
        assert!(err.contains("/no/such.json"), "{err}");
    }

    #[test]
    fn a_failed_attempt_is_kept_aside_without_its_record() {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path().join("quic-go_aioquic/handshake");
        let rec = crate::report::tests::record("quic-go", "aioquic", "handshake", Outcome::Failed);
        rec.write_to_dir(&dir).unwrap();
        std::fs::write(dir.join("output.txt"), "attempt 1").unwrap();
        keep_attempt(&dir, 1);
        let aside = d.path().join("quic-go_aioquic/handshake.attempt1");
        assert_eq!(
            std::fs::read_to_string(aside.join("output.txt")).unwrap(),
            "attempt 1"
        );
        assert!(!aside.join("trial.json").exists() && !dir.exists());
        let (found, _) = crate::report::collect_records(d.path()).unwrap();
        assert!(found.is_empty());
    }

    #[test]
    fn without_expectations_any_failure_fails_the_run() {
        let o = ReportOptions::default();
        let ok = crate::report::tests::record("a", "b", "handshake", Outcome::Succeeded);
        let bad = crate::report::tests::record("a", "b", "retry", Outcome::Failed);
        assert!(!run_failed(std::slice::from_ref(&ok), &o));
        assert!(run_failed(&[ok, bad], &o));
    }
}
