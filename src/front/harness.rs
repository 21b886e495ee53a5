//! The cargo-test harness (`tests/interop.rs`): one libtest-mimic trial per
//! server × client × test, so cargo's filter, `--list`, `--test-threads`
//! and `--format json` drive the runs. The matrix is printed afterwards.

use std::io::Write;
use std::sync::{Arc, Mutex};

use libtest_mimic::{Arguments, Completion, Failed, FormatSetting, Trial};

use crate::front::config::{harness_from_env, OutputOptions};
use crate::front::reports::{outcome_notes, run_trial, write_reports, ReportOptions};
use crate::front::FrontError;
use crate::orchestrate::runner::Runner;
use crate::outcome::run::PlannedRun;
use crate::outcome::{epoch_now, Outcome, TrialRecord};
use crate::plan::Plan;
use crate::report::{self, Against, ResultJson, Results, RunSpan};

/// Runs the harness; returns the process exit code.
pub fn main() -> i32 {
    let args = Arguments::from_args();
    if args.list {
        // `--list | head` should end quietly, like any listing tool.
        // SAFETY: called before any thread starts; restores the default action.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        }
    }
    let (plans, output) = match harness_from_env(|k| std::env::var_os(k)) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("interop harness: {e}");
            return 2;
        }
    };
    let start = epoch_now();
    let runner = Arc::new(Runner::new(output.clone(), plans.len() > 1));
    if !args.list {
        runner.begin_run(start, plans.iter().map(PlannedRun::from).collect());
    }
    let records: Arc<Mutex<Vec<TrialRecord>>> = Arc::default();
    let opts = Arc::new(output.reports.clone());
    let planned: Vec<crate::plan::Trial> = plans.iter().flat_map(|p| p.trials()).collect();
    let trials = make_trials(&planned, &runner, &records, &opts);
    if !args.list {
        runner.set_order(run_order(&args, &planned, &trials), threads(&args));
    }
    let conclusion = libtest_mimic::run(&args, trials);
    crate::orchestrate::cleanup::wait_if_interrupted();
    let end = epoch_now();
    runner.end_run(end);
    runner.shutdown();

    let records = records.lock().map(|r| r.clone()).unwrap_or_default();
    if !args.list && !records.is_empty() {
        // In JSON mode stdout belongs to the machine-readable stream.
        let to_stderr = matches!(args.format, Some(FormatSetting::Json));
        if let Err(e) = summarize(&plans, &output, &records, (start, end), to_stderr) {
            eprintln!("interop harness: {e}");
            return 2;
        }
    }
    i32::from(conclusion.has_failed()) * 101
}

/// The trials libtest will run, in the order it starts them: those its
/// filters and `--skip` keep and it does not ignore.
fn run_order(
    args: &Arguments,
    planned: &[crate::plan::Trial],
    trials: &[Trial],
) -> Vec<crate::plan::Trial> {
    planned
        .iter()
        .zip(trials)
        .filter(|(_, t)| !args.is_filtered_out(t) && !args.is_ignored(t))
        .map(|(p, _)| p.clone())
        .collect()
}

/// libtest's thread count: `--test-threads`, else one per CPU.
fn threads(args: &Arguments) -> usize {
    args.test_threads
        .or_else(|| std::thread::available_parallelism().ok().map(Into::into))
        .unwrap_or(1)
}

fn make_trials(
    planned: &[crate::plan::Trial],
    runner: &Arc<Runner>,
    records: &Arc<Mutex<Vec<TrialRecord>>>,
    opts: &Arc<ReportOptions>,
) -> Vec<Trial> {
    planned
        .iter()
        .cloned()
        .map(|t| {
            let runner = Arc::clone(runner);
            let records = Arc::clone(records);
            let opts = Arc::clone(opts);
            Trial::ignorable_test(t.name(), move || {
                let rec = run_trial(&runner, &t, &opts);
                let reason = report::escape::terminal(&rec.reason).into_owned();
                if rec.is_flaky() {
                    eprintln!(
                        "{}: flaky, passed on attempt {} after: {}",
                        t.name(),
                        rec.earlier_failures.len() + 1,
                        report::escape::terminal(&rec.earlier_failures.join(" | "))
                    );
                }
                let result = trial_result(&rec, &opts, reason);
                if let Ok(mut r) = records.lock() {
                    r.push(rec);
                }
                result
            })
        })
        .collect()
}

/// What libtest reports for a trial: a pass (also a flaky pass, and a
/// failure the expectations expect), ignored with the reason when
/// unsupported, a failure otherwise.
fn trial_result(
    rec: &TrialRecord,
    opts: &ReportOptions,
    reason: String,
) -> Result<Completion, Failed> {
    match (rec.outcome, opts.against(rec)) {
        (Outcome::Succeeded, _) => Ok(Completion::Completed),
        (Outcome::Unsupported, _) => Ok(Completion::ignored_with(reason)),
        (Outcome::Failed, Against::KnownFailure) => Ok(Completion::Completed),
        (Outcome::Failed, _) => Err(Failed::from(reason)),
    }
}

/// Results of the trials that ran, in plan order, with the auto-unsupported
/// rule applied; one per protocol that ran anything. Built like
/// `report LOGDIR` builds them from the run file, so both agree.
pub fn results_of_run(
    plans: &[Plan],
    records: &[TrialRecord],
    span: RunSpan,
) -> (Vec<Results>, Vec<String>) {
    let planned: Vec<PlannedRun> = plans.iter().map(PlannedRun::from).collect();
    report::results_of_plans(&planned, records, span)
}

fn summarize(
    plans: &[Plan],
    output: &OutputOptions,
    records: &[TrialRecord],
    (start, end_time): (f64, f64),
    to_stderr: bool,
) -> Result<(), FrontError> {
    let log_dir = output.log_dir.display().to_string();
    let span = RunSpan {
        log_dir: &log_dir,
        start_time: start,
        end_time,
    };
    let (results, notes) = results_of_run(plans, records, span);
    let colour = !to_stderr && report::colour_for_stdout();
    let mut text = String::new();
    for note in notes {
        text.push_str(&report::escape::terminal(&note));
        text.push('\n');
    }
    text.push_str(&report::render_all(&results, output.markdown, colour));
    for note in outcome_notes(records, &output.reports) {
        text.push_str(&report::escape::terminal(&note));
        text.push('\n');
    }
    text.push_str(&format!("logs: {log_dir}\n"));
    if to_stderr {
        eprint!("{text}");
    } else {
        print!("{text}");
        let _ = std::io::stdout().flush();
    }
    if let Some(path) = &output.json {
        write_json(&results, path)?;
    }
    write_reports(
        &results,
        records,
        &output.reports,
        output.json.as_deref(),
        &output.log_dir,
    )
}

/// Writes result.json; with several protocols, one file each, the
/// protocol's name added before the extension for all but QUIC.
pub fn write_json(results: &[Results], path: &std::path::Path) -> Result<(), FrontError> {
    for r in results {
        let target = match r.protocol {
            crate::catalog::testcases::Protocol::Quic => path.to_path_buf(),
            p => path.with_extension(format!("{}.json", p.name())),
        };
        ResultJson::from_results(r)
            .write(&target)
            .map_err(|source| FrontError::Write {
                path: target.clone(),
                source,
            })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tests::{record, small_results};

    fn passed(r: &Result<Completion, Failed>) -> bool {
        matches!(r, Ok(Completion::Completed))
    }

    #[test]
    fn expectations_and_retries_decide_the_trials_outcome() {
        let mut expected = small_results(&["quic-go"], &["go-x-net"], "handshake,retry");
        expected.insert(&record("quic-go", "go-x-net", "retry", Outcome::Failed));
        expected.insert(&record(
            "quic-go",
            "go-x-net",
            "handshake",
            Outcome::Succeeded,
        ));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("expected.json");
        ResultJson::from_results(&expected).write(&path).unwrap();
        let with = ReportOptions::new(None, None, Some(&path), 1).unwrap();
        let without = ReportOptions::default();

        let known = record("quic-go", "go-x-net", "retry", Outcome::Failed);
        assert!(
            passed(&trial_result(&known, &with, "x".into())),
            "known failure passes"
        );
        assert!(trial_result(&known, &without, "x".into()).is_err());

        let worse = record("quic-go", "go-x-net", "handshake", Outcome::Failed);
        assert!(
            trial_result(&worse, &with, "x".into()).is_err(),
            "worse fails"
        );
        let new = record("quic-go", "go-x-net", "ecn", Outcome::Failed);
        assert!(
            trial_result(&new, &with, "x".into()).is_err(),
            "new failure fails"
        );

        let mut flaky = record("quic-go", "go-x-net", "handshake", Outcome::Succeeded);
        flaky.earlier_failures = vec!["the client exited with code 1".into()];
        assert!(passed(&trial_result(&flaky, &without, String::new())));
        let notes = crate::front::reports::outcome_notes(&[flaky, known.clone()], &with);
        assert_eq!(
            notes[0],
            "flaky (1): quic-go_go-x-net_handshake (passed on attempt 2)"
        );
        assert!(notes[1].ends_with("1 known failure(s)"), "{notes:?}");
        assert!(!crate::front::reports::run_failed(&[known], &with));
    }
}
