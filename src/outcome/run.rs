//! The record a whole run leaves beside its trials' directories: one JSON
//! lines file per process (`run-<start ms>-<pid>.jsonl` in the log
//! directory's root), so `report` rebuilds exactly what the live run
//! printed. It holds what a trial directory cannot:
//!
//! - the plan (servers, clients, pairs and tests in the run's order, the
//!   implementations exempt from auto-unsupported), written first;
//! - one line per trial that never ran because an implementation's image
//!   could not be had (thousands on a fresh machine: lines in one file
//!   instead of a directory each);
//! - the end time, written last.
//!
//! Lines are appended one `write` each, so several threads share the file
//! and a killed run leaves at most one partial last line, which a reader
//! skips with a note.

use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::catalog::testcases::Protocol;
use crate::outcome::TrialRecord;

/// One protocol's plan as the run saw it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannedRun {
    pub protocol: Protocol,
    pub servers: Vec<String>,
    pub clients: Vec<String>,
    /// (server, client), client-major.
    pub pairs: Vec<(String, String)>,
    pub tests: Vec<String>,
    pub measurements: Vec<String>,
    /// Implementation name → project URL.
    pub urls: Vec<(String, String)>,
    pub no_auto_unsupported: Vec<String>,
}

impl From<&crate::plan::Plan> for PlannedRun {
    fn from(plan: &crate::plan::Plan) -> PlannedRun {
        let urls = plan
            .clients
            .iter()
            .chain(&plan.servers)
            .filter_map(|n| plan.registry.get(n).map(|i| (n.clone(), i.url.clone())))
            .collect();
        let mut exempt: Vec<String> = plan.no_auto_unsupported.iter().cloned().collect();
        exempt.sort();
        PlannedRun {
            protocol: plan.protocol,
            servers: plan.servers.clone(),
            clients: plan.clients.clone(),
            pairs: plan.pairs.clone(),
            tests: plan.tests.iter().map(|t| t.name.to_string()).collect(),
            measurements: plan
                .measurements
                .iter()
                .map(|t| t.name.to_string())
                .collect(),
            urls,
            no_auto_unsupported: exempt,
        }
    }
}

/// One line of a run file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunLine {
    Plan {
        start_time: f64,
        plans: Vec<PlannedRun>,
    },
    /// A trial that left no directory of its own.
    Trial(Box<TrialRecord>),
    End {
        end_time: f64,
    },
}

/// What a run file says, read back.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunFile {
    pub start_time: Option<f64>,
    pub end_time: Option<f64>,
    pub plans: Vec<PlannedRun>,
    pub trials: Vec<TrialRecord>,
}

pub const RUN_FILE_PREFIX: &str = "run-";
pub const RUN_FILE_SUFFIX: &str = ".jsonl";

/// `run-<start ms>-<pid>.jsonl`: unique per process even when several
/// machines share a log directory at once.
pub fn run_file_name(start_time: f64, pid: u32) -> String {
    format!(
        "{RUN_FILE_PREFIX}{}-{pid}{RUN_FILE_SUFFIX}",
        (start_time * 1000.0) as u64
    )
}

pub fn is_run_file(name: &str) -> bool {
    name.starts_with(RUN_FILE_PREFIX) && name.ends_with(RUN_FILE_SUFFIX)
}

/// Appends one line; the whole line goes out in one `write_all` on a file
/// opened for appending.
pub fn append(file: &mut std::fs::File, line: &RunLine) -> std::io::Result<()> {
    let mut text = serde_json::to_vec(line).map_err(std::io::Error::other)?;
    text.push(b'\n');
    file.write_all(&text)
}

/// Opens (creating) a run file for appending.
pub fn open_for_append(dir: &Path, name: &str) -> std::io::Result<std::fs::File> {
    std::fs::create_dir_all(dir)?;
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join(name))
}

/// Parses a run file's text; lines that do not parse are returned as
/// problems (a killed run's last line), never fatal.
pub fn parse_run_file(text: &str, name: &str) -> (RunFile, Vec<String>) {
    let mut run = RunFile::default();
    let mut problems = Vec::new();
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        match serde_json::from_str::<RunLine>(line) {
            Ok(RunLine::Plan { start_time, plans }) => {
                run.start_time = Some(start_time);
                run.plans.extend(plans);
            }
            Ok(RunLine::Trial(r)) => match r.checked(Path::new(name)) {
                Ok(r) => run.trials.push(r),
                Err(e) => problems.push(format!("line {}: {e}", i + 1)),
            },
            Ok(RunLine::End { end_time }) => run.end_time = Some(end_time),
            Err(e) => problems.push(format!("{name} line {}: not a run record: {e}", i + 1)),
        }
    }
    (run, problems)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::Outcome;

    fn plan() -> PlannedRun {
        PlannedRun {
            protocol: Protocol::Quic,
            servers: vec!["quic-go".into(), "mvfst".into()],
            clients: vec!["aioquic".into()],
            pairs: vec![
                ("quic-go".into(), "aioquic".into()),
                ("mvfst".into(), "aioquic".into()),
            ],
            tests: vec!["handshake".into()],
            measurements: vec![],
            urls: vec![],
            no_auto_unsupported: vec!["aioquic".into()],
        }
    }

    fn unavailable() -> TrialRecord {
        TrialRecord {
            protocol: Protocol::Quic,
            server: "mvfst".into(),
            client: "aioquic".into(),
            test: "handshake".into(),
            abbr: "H".into(),
            outcome: Outcome::Unsupported,
            reason: "mvfst (server): image unavailable".into(),
            measurement: None,
            start_time: 1.0,
            end_time: 1.0,
            images: Default::default(),
            unavailable: Some("mvfst".into()),
            earlier_failures: Vec::new(),
            log_path: String::new(),
        }
    }

    #[test]
    fn lines_round_trip_and_a_torn_last_line_is_a_note() {
        let dir = tempfile::tempdir().unwrap();
        let name = run_file_name(1700000000.5, 42);
        assert_eq!(name, "run-1700000000500-42.jsonl");
        assert!(is_run_file(&name) && !is_run_file("trial.json"));
        let mut f = open_for_append(dir.path(), &name).unwrap();
        append(
            &mut f,
            &RunLine::Plan {
                start_time: 1.0,
                plans: vec![plan()],
            },
        )
        .unwrap();
        append(&mut f, &RunLine::Trial(Box::new(unavailable()))).unwrap();
        append(&mut f, &RunLine::End { end_time: 9.0 }).unwrap();
        f.write_all(b"{\"trial\": {\"protoc").unwrap();
        let text = std::fs::read_to_string(dir.path().join(&name)).unwrap();
        let (run, problems) = parse_run_file(&text, &name);
        assert_eq!(run.plans, vec![plan()]);
        assert_eq!(run.trials, vec![unavailable()]);
        assert_eq!((run.start_time, run.end_time), (Some(1.0), Some(9.0)));
        assert_eq!(problems.len(), 1);
        assert!(problems[0].contains("line 4"), "{problems:?}");
    }
}
