//! The `interop-runner` command line: the reference runner's flags, plus
//! subcommands for images, rebuilding reports, merging shards and reading
//! traces.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use clap::{Args, Parser, Subcommand};

use crate::catalog::testcases::{self, Protocol};
use crate::front::config::{load_registry, OutputOptions};
use crate::front::harness::{results_of_run, write_json};
use crate::front::progress::Progress;
use crate::front::reports::{outcome_notes, run_failed, run_trial, write_reports, ReportOptions};
use crate::front::FrontError;
use crate::orchestrate::runner::Runner;
use crate::outcome::run::PlannedRun;
use crate::outcome::{epoch_now, TrialRecord};
use crate::plan::{parse_replace, split_list, Plan, Selection, TestFilter, Trial};
use crate::report::{self, ResultJson, RunSpan};

#[derive(Parser, Debug)]
#[command(
    name = "interop-runner",
    version,
    about = "Runs QUIC and WebTransport implementations (Docker images) against each other through a simulated network and prints the interop matrix.",
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub run: RunArgs,
}

/// The reference runner's flags, with the same meanings.
#[derive(Args, Debug, Default)]
pub struct RunArgs {
    /// Protocol: quic or webtransport.
    #[arg(short = 'p', long, default_value = "quic")]
    pub protocol: String,
    /// Debug output: the runner's log of every trial on stderr too.
    #[arg(short = 'd', long)]
    pub debug: bool,
    /// Server implementations, comma-separated (default: all servers).
    #[arg(short = 's', long = "server")]
    pub server: Option<String>,
    /// Client implementations, comma-separated (default: all clients).
    #[arg(short = 'c', long = "client")]
    pub client: Option<String>,
    /// Test cases and measurements, comma-separated, or onlyTests /
    /// onlyMeasurements (default: every test in the default list and every
    /// measurement). See `interop-runner list`.
    #[arg(short = 't', long = "test")]
    pub test: Option<String>,
    /// Replace implementations' images: name=image,name=image.
    #[arg(short = 'r', long)]
    pub replace: Option<String>,
    /// Log directory; must not exist (default: logs_<timestamp>).
    #[arg(short = 'l', long = "log-dir")]
    pub log_dir: Option<PathBuf>,
    /// Save the served and downloaded files of failed trials into their log
    /// directory (`-f` alone, or `-f 1|true|yes|on|0|false|no|off`).
    #[arg(short = 'f', long = "save-files", num_args = 0..=1, default_missing_value = "1", value_parser = crate::front::values::switch_arg)]
    pub save_files: Option<bool>,
    /// Write the results as result.json (the public results page's format) to this file.
    #[arg(short = 'j', long)]
    pub json: Option<PathBuf>,
    /// Print the matrix as Markdown.
    #[arg(short = 'm', long)]
    pub markdown: bool,
    /// An implementation that must be part of every pair.
    #[arg(short = 'i', long = "must-include")]
    pub must_include: Option<String>,
    /// Implementations exempt from auto-unsupported (marking a test unsupported
    /// for an implementation that failed it against every peer), comma-separated.
    #[arg(short = 'n', long = "no-auto-unsupported")]
    pub no_auto_unsupported: Option<String>,
    /// Trials run at once (each in its own networks and containers); at
    /// least 1, and never more than there are trials.
    #[arg(long, default_value = "1", value_parser = crate::front::values::parallel_arg)]
    pub parallel: usize,
    /// Another implementations registry file instead of the built-in one.
    #[arg(long)]
    pub implementations: Option<PathBuf>,
    #[command(flatten)]
    pub reports: ReportArgs,
    /// Run a failed trial again up to N times; a pass on a retry is reported as flaky.
    #[arg(long, default_value_t = 0)]
    pub retries: u32,
}

/// Reports beyond the matrix and result.json, and how outcomes count.
#[derive(Args, Debug, Default)]
pub struct ReportArgs {
    /// Write JUnit XML (one testcase per trial) to this file.
    #[arg(long)]
    pub junit: Option<PathBuf>,
    /// Write a self-contained HTML report to this file (links into the log directory).
    #[arg(long)]
    pub html: Option<PathBuf>,
    /// Expected outcomes (an earlier result.json): fail only where an outcome
    /// got worse than expected, and say what got better.
    #[arg(long)]
    pub expect: Option<PathBuf>,
}

impl ReportArgs {
    fn options(&self, retries: u32) -> Result<ReportOptions, FrontError> {
        ReportOptions::new(
            self.junit.clone(),
            self.html.clone(),
            self.expect.as_deref(),
            retries,
        )
    }
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Build the runner's images (base, endpoint, iperf, sim) and every
    /// implementation image that has a local build recipe.
    Images,
    /// List implementations, test cases and measurements.
    List {
        #[arg(short = 'p', long, default_value = "quic")]
        protocol: String,
    },
    /// Rebuild the matrix and result.json from a log directory (every trial
    /// leaves a trial.json there, also when processes or machines shared it).
    Report {
        log_dir: PathBuf,
        #[arg(short = 'j', long)]
        json: Option<PathBuf>,
        #[arg(short = 'm', long)]
        markdown: bool,
        /// Also write JUnit XML, an HTML report, or judge against expectations.
        #[command(flatten)]
        reports: ReportArgs,
    },
    /// Merge the result.json files of shards of one run into one.
    Merge {
        #[arg(short = 'o', long, required = true)]
        output: PathBuf,
        #[arg(required = true, num_args = 1..)]
        inputs: Vec<PathBuf>,
        /// Implementations exempt from auto-unsupported, which the merge
        /// applies across shards (a per-server shard cannot apply it for clients).
        #[arg(short = 'n', long = "no-auto-unsupported")]
        no_auto_unsupported: Option<String>,
    },
    /// Decode (and with key logs decrypt) the QUIC packets of a pcap or pcapng file.
    Trace {
        file: PathBuf,
        #[arg(long = "keylog")]
        keylog: Vec<PathBuf>,
        #[arg(long)]
        json: bool,
    },
}

/// Runs the command line; returns the exit code.
pub fn main() -> i32 {
    let cli = Cli::parse();
    let result = match cli.command {
        None => run(&cli.run),
        Some(Command::Images) => images(),
        Some(Command::List { protocol }) => list(&protocol),
        Some(Command::Report {
            log_dir,
            json,
            markdown,
            reports,
        }) => reports
            .options(0)
            .and_then(|o| rebuild(&log_dir, json.as_deref(), markdown, &o)),
        Some(Command::Merge {
            output,
            inputs,
            no_auto_unsupported,
        }) => merge(
            &output,
            &inputs,
            &no_auto_unsupported
                .as_deref()
                .map(split_list)
                .unwrap_or_default(),
        ),
        Some(Command::Trace { file, keylog, json }) => trace(&file, &keylog, json),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("interop-runner: {e}");
            2
        }
    }
}

fn protocol(name: &str) -> Result<Protocol, FrontError> {
    Protocol::parse(name).ok_or_else(|| FrontError::UnknownProtocol(name.to_string()))
}

fn plan_from_args(a: &RunArgs) -> Result<Plan, FrontError> {
    let p = protocol(&a.protocol)?;
    let registry = load_registry(p, a.implementations.as_deref())?;
    let sel = Selection {
        servers: a.server.as_deref().map(split_list),
        clients: a.client.as_deref().map(split_list),
        tests: TestFilter::parse(a.test.as_deref()),
        replace: a
            .replace
            .as_deref()
            .map(parse_replace)
            .transpose()?
            .unwrap_or_default(),
        must_include: a.must_include.clone(),
        no_auto_unsupported: a.no_auto_unsupported.as_deref().map(split_list),
    };
    let plan = Plan::new(p, registry, &sel)?;
    crate::plan::require_trials(std::slice::from_ref(&plan))?;
    Ok(plan)
}

fn run(a: &RunArgs) -> Result<i32, FrontError> {
    let plan = plan_from_args(a)?;
    let log_dir = a
        .log_dir
        .clone()
        .unwrap_or_else(crate::front::config::default_log_dir);
    if log_dir.exists() {
        return Err(FrontError::LogDirExists(log_dir));
    }
    let output = OutputOptions {
        log_dir: log_dir.clone(),
        save_files: a.save_files.unwrap_or(false),
        json: a.json.clone(),
        markdown: a.markdown,
        debug: a.debug,
        reports: a.reports.options(a.retries)?,
    };
    let trials = plan.trials();
    eprintln!(
        "{} trial(s): {} pair(s) × {} test(s); logs in {}",
        trials.len(),
        plan.pairs.len(),
        plan.tests.len() + plan.measurements.len(),
        log_dir.display()
    );
    let start = epoch_now();
    let runner = Arc::new(Runner::new(output.clone(), false));
    runner.begin_run(start, vec![PlannedRun::from(&plan)]);
    let workers = crate::front::values::workers_for(a.parallel, trials.len());
    runner.set_order(trials.clone(), workers);
    let opts = Arc::new(output.reports.clone());
    let records = run_all(&runner, trials, workers, &opts);
    crate::orchestrate::cleanup::wait_if_interrupted();
    let end = epoch_now();
    runner.end_run(end);
    runner.shutdown();
    let log_dir_text = log_dir.display().to_string();
    let span = RunSpan {
        log_dir: &log_dir_text,
        start_time: start,
        end_time: end,
    };
    let (results, notes) = results_of_run(std::slice::from_ref(&plan), &records, span);
    for n in notes {
        println!("{}", report::escape::terminal(&n));
    }
    print!(
        "{}",
        report::render_all(&results, a.markdown, report::colour_for_stdout())
    );
    for note in outcome_notes(&records, &opts) {
        println!("{}", report::escape::terminal(&note));
    }
    if let Some(path) = &a.json {
        write_json(&results, path)?;
    }
    write_reports(&results, &records, &opts, a.json.as_deref(), &log_dir)?;
    Ok(i32::from(run_failed(&records, &opts)))
}

/// Runs trials on `parallel` threads; prints one line per finished trial
/// and, on a terminal, a progress line under them.
fn run_all(
    runner: &Arc<Runner>,
    trials: Vec<Trial>,
    parallel: usize,
    opts: &Arc<ReportOptions>,
) -> Vec<TrialRecord> {
    let progress = Arc::new(Progress::new(trials.len()));
    let queue = Arc::new(Mutex::new(
        trials
            .into_iter()
            .collect::<std::collections::VecDeque<_>>(),
    ));
    let records = Arc::new(Mutex::new(Vec::new()));
    let workers: Vec<_> = (0..parallel)
        .map(|_| {
            let (queue, records, runner, progress, opts) = (
                queue.clone(),
                records.clone(),
                runner.clone(),
                progress.clone(),
                opts.clone(),
            );
            std::thread::spawn(move || {
                while let Some(t) = queue.lock().ok().and_then(|mut q| q.pop_front()) {
                    let rec = run_trial(&runner, &t, &opts);
                    progress.finished(&rec, &opts);
                    if let Ok(mut r) = records.lock() {
                        r.push(rec);
                    }
                }
            })
        })
        .collect();
    for w in workers {
        let _ = w.join();
    }
    progress.clear();
    let out = records.lock().map(|r| r.clone()).unwrap_or_default();
    out
}

fn images() -> Result<i32, FrontError> {
    let rt = tokio::runtime::Runtime::new().map_err(FrontError::Runtime)?;
    rt.block_on(async {
        let docker = crate::orchestrate::docker::connect().await?;
        let mut progress = |line: &str| eprintln!("{line}");
        let actions =
            crate::orchestrate::images::ensure_runner_images(&docker, &mut progress).await?;
        for a in actions {
            println!("{a}");
        }
        for suite in crate::orchestrate::images::Suite::ALL {
            let actions =
                crate::orchestrate::images::ensure_endpoint_image(&docker, suite, &mut progress)
                    .await?;
            for a in actions
                .iter()
                .filter(|a| !matches!(a, crate::orchestrate::images::ImageAction::Present { .. }))
            {
                println!("{a}");
            }
        }
        let base = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let mut failed = 0;
        for p in [Protocol::Quic, Protocol::WebTransport] {
            for imp in crate::catalog::registry::Registry::embedded(p)
                .implementations
                .iter()
                .filter(|i| i.build.is_some())
            {
                let r = crate::orchestrate::images::resolve_implementation_image(
                    &docker,
                    &imp.name,
                    &imp.image,
                    imp.build.as_deref(),
                    imp.build_base.as_deref().unwrap_or(&base),
                    &mut progress,
                )
                .await?;
                match r {
                    crate::orchestrate::images::Resolution::Available { image, origin, .. } => {
                        println!("{}: {image} ({origin:?})", imp.name)
                    }
                    crate::orchestrate::images::Resolution::Unavailable { reason } => {
                        failed += 1;
                        println!("{}: unavailable: {reason}", imp.name)
                    }
                }
            }
        }
        Ok(i32::from(failed > 0))
    })
}

fn list(name: &str) -> Result<i32, FrontError> {
    let p = protocol(name)?;
    let reg = crate::catalog::registry::Registry::embedded(p);
    println!("{p} implementations:");
    for i in &reg.implementations {
        let role = match i.role {
            crate::catalog::registry::Role::Both => "server, client",
            crate::catalog::registry::Role::Server => "server",
            crate::catalog::registry::Role::Client => "client",
        };
        let build = if i.build.is_some() {
            " [local build]"
        } else {
            ""
        };
        println!("  {:<20} {:<15} {}{build}", i.name, role, i.image);
    }
    println!("test cases:");
    for t in testcases::tests(p) {
        let note = if t.default {
            ""
        } else {
            " (not in the default list)"
        };
        println!("  {:<22} {:<4} {}{note}", t.name, t.abbr, t.desc);
    }
    if !testcases::measurements(p).is_empty() {
        println!("measurements:");
        for t in testcases::measurements(p) {
            let note = if t.default {
                ""
            } else {
                " (not in the default list)"
            };
            println!("  {:<22} {:<4} {}{note}", t.name, t.abbr, t.desc);
        }
    }
    Ok(0)
}

fn rebuild(
    log_dir: &std::path::Path,
    json: Option<&std::path::Path>,
    markdown: bool,
    opts: &ReportOptions,
) -> Result<i32, FrontError> {
    let (results, notes, records) = rebuild_results(log_dir)?;
    for n in notes {
        println!("{}", report::escape::terminal(&n));
    }
    print!(
        "{}",
        report::render_all(&results, markdown, report::colour_for_stdout())
    );
    for note in outcome_notes(&records, opts) {
        println!("{}", report::escape::terminal(&note));
    }
    if let Some(path) = json {
        write_json(&results, path)?;
    }
    write_reports(&results, &records, opts, json, log_dir)?;
    // Only with expectations does a rebuilt report judge the run.
    let failed = opts.expect.is_some() && run_failed(&records, opts);
    Ok(i32::from(failed))
}

/// What the live run printed, from its log directory: its run files' plans
/// when it has them, else (older runners) what the records show.
pub fn rebuild_results(log_dir: &std::path::Path) -> Result<Rebuilt, FrontError> {
    let found = report::read_log_dir(log_dir)?;
    for p in &found.problems {
        eprintln!("skipped: {p}");
    }
    if found.records.is_empty() {
        return Err(FrontError::NoRecords(log_dir.to_path_buf()));
    }
    let text = log_dir.display().to_string();
    if found.plans.is_empty() {
        let mut results = report::results_from_records(&found.records, &text);
        let mut notes = Vec::new();
        for r in &mut results {
            let sole = crate::plan::default_exemptions(&r.servers, &r.clients);
            notes.extend(r.apply_auto_unsupported(&sole));
        }
        return Ok((results, notes, found.records));
    }
    // A run killed before its end line: the records' own times.
    let records = &found.records;
    let span = RunSpan {
        log_dir: &text,
        start_time: found.start_time.unwrap_or_else(|| {
            records
                .iter()
                .map(|r| r.start_time)
                .fold(f64::INFINITY, f64::min)
        }),
        end_time: found
            .end_time
            .unwrap_or_else(|| records.iter().map(|r| r.end_time).fold(0.0, f64::max)),
    };
    let (results, notes) = report::results_of_plans(&found.plans, &found.records, span);
    Ok((results, notes, found.records))
}

/// A log directory's results, the notes of auto-unsupported, its records.
type Rebuilt = (Vec<report::Results>, Vec<String>, Vec<TrialRecord>);

fn merge(
    output: &std::path::Path,
    inputs: &[PathBuf],
    exempt: &[String],
) -> Result<i32, FrontError> {
    let refs: Vec<&std::path::Path> = inputs.iter().map(PathBuf::as_path).collect();
    let (merged, notes): (ResultJson, Vec<String>) = report::merge_shards(&refs, exempt)?;
    for n in notes {
        eprintln!("{}", report::escape::terminal(&n));
    }
    merged.write(output).map_err(|source| FrontError::Write {
        path: output.to_path_buf(),
        source,
    })?;
    eprintln!(
        "merged {} file(s) into {}: {} server(s), {} client(s)",
        inputs.len(),
        output.display(),
        merged.servers.len(),
        merged.clients.len()
    );
    Ok(0)
}

fn trace(file: &std::path::Path, keylogs: &[PathBuf], json: bool) -> Result<i32, FrontError> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let warnings = crate::trace::run_trace_command(&[file.to_path_buf()], keylogs, json, &mut out)?;
    for w in warnings {
        eprintln!("warning: {w}");
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::Outcome;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("interop-runner").chain(args.iter().copied()))
    }

    #[test]
    fn save_files_takes_a_switch_value_or_none() {
        assert_eq!(parse(&["-f"]).unwrap().run.save_files, Some(true));
        assert_eq!(parse(&["-f", "no"]).unwrap().run.save_files, Some(false));
        assert_eq!(parse(&[]).unwrap().run.save_files, None);
        let e = parse(&["-f", "banana"]).unwrap_err();
        assert_eq!(e.kind(), clap::error::ErrorKind::ValueValidation);
        assert!(e.to_string().contains("banana"), "{e}");
    }

    /// A run of two servers × two clients: quic-go's handshake fails
    /// against both clients (auto-unsupported), mvfst had no image (its
    /// trials only in the run file).
    fn live_run(dir: &std::path::Path) -> (Plan, Vec<TrialRecord>) {
        use crate::catalog::registry::Registry;
        use crate::outcome::run::{append, open_for_append, run_file_name, RunLine};
        let sel = Selection {
            servers: Some(vec!["quic-go".into(), "mvfst".into()]),
            clients: Some(vec!["aioquic".into(), "ngtcp2".into()]),
            tests: TestFilter::parse(Some("handshake,transfer")),
            ..Default::default()
        };
        let plan = Plan::new(Protocol::Quic, Registry::embedded(Protocol::Quic), &sel).unwrap();
        let mut file = open_for_append(dir, &run_file_name(100.0, 7)).unwrap();
        let plans = vec![PlannedRun::from(&plan)];
        append(
            &mut file,
            &RunLine::Plan {
                start_time: 100.0,
                plans,
            },
        )
        .unwrap();
        let mut records = Vec::new();
        for t in plan.trials() {
            let mut r = crate::report::tests::record(
                &t.server.name,
                &t.client.name,
                t.test.name,
                Outcome::Succeeded,
            );
            if t.server.name == "mvfst" {
                r.outcome = Outcome::Unsupported;
                r.reason = "mvfst (server): image unavailable".into();
                append(&mut file, &RunLine::Trial(Box::new(r.clone()))).unwrap();
            } else {
                if t.test.name == "handshake" {
                    r.outcome = Outcome::Failed;
                }
                r.write_to_dir(&dir.join(t.log_subdir())).unwrap();
            }
            records.push(r);
        }
        append(&mut file, &RunLine::End { end_time: 200.0 }).unwrap();
        (plan, records)
    }

    #[test]
    fn report_prints_what_the_live_run_printed() {
        let dir = tempfile::tempdir().unwrap();
        let (plan, records) = live_run(dir.path());
        let text = dir.path().display().to_string();
        let span = RunSpan {
            log_dir: &text,
            start_time: 100.0,
            end_time: 200.0,
        };
        let (live, live_notes) = results_of_run(std::slice::from_ref(&plan), &records, span);
        let (rebuilt, notes, _) = rebuild_results(dir.path()).unwrap();
        assert_eq!(notes, live_notes);
        assert!(
            notes.iter().any(|n| n.contains("client aioquic failed")),
            "{notes:?}"
        );
        assert_eq!(
            report::render_all(&rebuilt, false, false),
            report::render_all(&live, false, false)
        );
        let json = |r: &[report::Results]| {
            serde_json::to_string(&ResultJson::from_results(&r[0])).unwrap()
        };
        assert_eq!(json(&rebuilt), json(&live));
        // The unavailable implementation's trials left no directory.
        assert!(!dir.path().join("mvfst_aioquic").exists());
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            3,
            "two pair directories and the run file"
        );
    }

    #[test]
    fn two_records_of_one_trial_are_a_conflict() {
        let dir = tempfile::tempdir().unwrap();
        let (_, records) = live_run(dir.path());
        let mut stale = records
            .iter()
            .find(|r| r.server == "mvfst" && r.test == "handshake")
            .unwrap()
            .clone();
        stale.outcome = Outcome::Failed;
        stale
            .write_to_dir(&dir.path().join("mvfst_aioquic/handshake"))
            .unwrap();
        let e = rebuild_results(dir.path()).unwrap_err().to_string();
        assert!(
            e.contains("two records for mvfst_aioquic_handshake disagree"),
            "{e}"
        );
    }

    #[test]
    fn parallel_zero_is_refused() {
        let e = parse(&["--parallel", "0"]).unwrap_err();
        assert_eq!(e.kind(), clap::error::ErrorKind::ValueValidation);
        assert_eq!(
            parse(&["--parallel", "100000"]).unwrap().run.parallel,
            100_000
        );
    }
}
