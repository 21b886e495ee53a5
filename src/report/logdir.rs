//! Rebuilding results from a log directory: every trial left a
//! `trial.json`, so the matrix and result.json can be made again, also from
//! log directories that several processes or machines wrote into.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use super::ReportError;
use super::{Results, TestInfo};
use crate::catalog::registry::Registry;
use crate::catalog::testcases::{self, Protocol};
use crate::outcome::run::{is_run_file, parse_run_file, PlannedRun};
use crate::outcome::TrialRecord;

/// Deep enough for `<root>/[webtransport/]<server>_<client>/<test>/[<rep>/]`.
const MAX_DEPTH: usize = 5;

/// Everything a log directory holds about its run(s).
#[derive(Debug, Clone, Default)]
pub struct LogDirContents {
    /// Every trial's record: trial.json files and run-file lines.
    pub records: Vec<TrialRecord>,
    /// The plans of the run files; empty for log directories of older
    /// runners, which kept none.
    pub plans: Vec<PlannedRun>,
    pub start_time: Option<f64>,
    pub end_time: Option<f64>,
    /// Files and lines that could not be read: reported, not fatal.
    pub problems: Vec<String>,
}

/// Finds every trial record under `dir`, never following symlinks. Records
/// that cannot be read are reported, not fatal; two records for the same
/// trial are an error, since which one is true cannot be known.
pub fn collect_records(dir: &Path) -> Result<(Vec<TrialRecord>, Vec<String>), ReportError> {
    let c = read_log_dir(dir)?;
    Ok((c.records, c.problems))
}

/// Reads the trial records and run files of a log directory.
pub fn read_log_dir(dir: &Path) -> Result<LogDirContents, ReportError> {
    if !dir.is_dir() {
        return Err(ReportError::NotADirectory(dir.to_path_buf()));
    }
    let mut files = Vec::new();
    walk(dir, 0, &mut files);
    files.sort();
    let mut out = LogDirContents::default();
    let mut sources: Vec<(TrialRecord, String)> = Vec::new();
    for f in files {
        match TrialRecord::read(&f) {
            Ok(r) => sources.push((r, f.display().to_string())),
            Err(e) => out.problems.push(e.to_string()),
        }
    }
    for (path, name) in run_files(dir) {
        let text = match crate::input::read_text(&path, crate::input::TEXT_LIMIT) {
            Ok(t) => t,
            Err(e) => {
                out.problems.push(e.to_string());
                continue;
            }
        };
        let (run, problems) = parse_run_file(&text, &path.display().to_string());
        out.problems.extend(problems);
        out.plans.extend(run.plans);
        out.start_time = either(out.start_time, run.start_time, f64::min);
        out.end_time = either(out.end_time, run.end_time, f64::max);
        sources.extend(run.trials.into_iter().map(|r| (r, name.clone())));
    }
    out.records = without_conflicts(sources)?;
    Ok(out)
}

/// `pick` of two optional values, or the one that is there.
fn either(a: Option<f64>, b: Option<f64>, pick: fn(f64, f64) -> f64) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(pick(a, b)),
        (a, b) => a.or(b),
    }
}

/// The run files in the directory's root, sorted by name (start time).
fn run_files(dir: &Path) -> Vec<(PathBuf, String)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<(PathBuf, String)> = entries
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            is_run_file(&name).then(|| (e.path(), name))
        })
        .collect();
    out.sort();
    out
}

/// One record per trial, or the first pair of records that disagree about
/// one (identical copies count once).
fn without_conflicts(sources: Vec<(TrialRecord, String)>) -> Result<Vec<TrialRecord>, ReportError> {
    let mut seen: HashMap<(Protocol, String, String, String), (usize, String)> = HashMap::new();
    let mut out: Vec<TrialRecord> = Vec::new();
    for (r, source) in sources {
        let key = (
            r.protocol,
            r.server.clone(),
            r.client.clone(),
            r.test.clone(),
        );
        match seen.get(&key) {
            Some((i, _)) if out[*i] == r => continue,
            Some((i, first)) => {
                return Err(ReportError::ConflictingRecords {
                    trial: crate::plan::trial_name(r.protocol, &r.server, &r.client, &r.test),
                    first: first.clone(),
                    first_outcome: out[*i].outcome,
                    second: source,
                    second_outcome: r.outcome,
                })
            }
            None => {
                seen.insert(key, (out.len(), source));
                out.push(r);
            }
        }
    }
    Ok(out)
}

fn walk(dir: &Path, depth: usize, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        let path = entry.path();
        if kind.is_file() && entry.file_name() == TrialRecord::FILE_NAME {
            out.push(path);
        } else if kind.is_dir() && depth < MAX_DEPTH {
            walk(&path, depth + 1, out);
        }
    }
}

/// Orders names as the registry does; names it doesn't know go last, sorted.
fn in_registry_order(names: BTreeSet<String>, registry: &Registry) -> Vec<String> {
    let mut out: Vec<String> = registry
        .names()
        .into_iter()
        .filter(|n| names.contains(*n))
        .map(str::to_string)
        .collect();
    out.extend(names.into_iter().filter(|n| registry.get(n).is_none()));
    out
}

/// Tests present in the records, in catalog order; unknown ones last.
fn columns(protocol: Protocol, records: &[&TrialRecord], measurements: bool) -> Vec<TestInfo> {
    let present: BTreeSet<(&str, &str)> = records
        .iter()
        .map(|r| (r.test.as_str(), r.abbr.as_str()))
        .collect();
    let catalog = if measurements {
        testcases::measurements(protocol)
    } else {
        testcases::tests(protocol)
    };
    let mut out: Vec<TestInfo> = catalog
        .iter()
        .filter(|t| present.iter().any(|(n, _)| *n == t.name))
        .map(TestInfo::from)
        .collect();
    if !measurements {
        for (name, abbr) in present {
            if testcases::find(protocol, name).is_none() {
                out.push(TestInfo {
                    name: name.to_string(),
                    abbr: abbr.to_string(),
                    desc: String::new(),
                });
            }
        }
    }
    out
}

/// One results table per protocol found in `records`.
pub fn results_from_records(records: &[TrialRecord], log_dir: &str) -> Vec<Results> {
    let mut out = Vec::new();
    for protocol in [Protocol::Quic, Protocol::WebTransport] {
        let recs: Vec<&TrialRecord> = records.iter().filter(|r| r.protocol == protocol).collect();
        if recs.is_empty() {
            continue;
        }
        let registry = Registry::embedded(protocol);
        let servers = in_registry_order(recs.iter().map(|r| r.server.clone()).collect(), &registry);
        let clients = in_registry_order(recs.iter().map(|r| r.client.clone()).collect(), &registry);
        let pairs = clients
            .iter()
            .flat_map(|c| servers.iter().map(move |s| (s.clone(), c.clone())))
            .filter(|(s, c)| recs.iter().any(|r| r.server == *s && r.client == *c))
            .collect();
        let urls = clients
            .iter()
            .chain(&servers)
            .filter_map(|n| registry.get(n).map(|i| (n.clone(), i.url.clone())))
            .collect();
        let mut results = Results {
            protocol,
            servers,
            clients,
            pairs,
            tests: columns(protocol, &recs, false),
            measurements: columns(protocol, &recs, true),
            urls,
            start_time: recs
                .iter()
                .map(|r| r.start_time)
                .fold(f64::INFINITY, f64::min),
            end_time: recs.iter().map(|r| r.end_time).fold(0.0, f64::max),
            log_dir: log_dir.to_string(),
            entries: Default::default(),
        };
        for r in recs {
            results.insert(r);
        }
        out.push(results);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::Outcome;
    use crate::report::tests::record;

    #[test]
    fn rebuilds_from_records_spread_over_directories() {
        let dir = tempfile::tempdir().unwrap();
        let recs = [
            record("ngtcp2", "aioquic", "retry", Outcome::Failed),
            record("quic-go", "aioquic", "handshake", Outcome::Succeeded),
            record("quic-go", "quinn", "goodput", Outcome::Unsupported),
        ];
        for r in &recs {
            r.write_to_dir(
                &dir.path()
                    .join(format!("{}_{}/{}", r.server, r.client, r.test)),
            )
            .unwrap();
        }
        std::fs::create_dir_all(dir.path().join("x_y/handshake")).unwrap();
        std::fs::write(dir.path().join("x_y/handshake/trial.json"), "garbage").unwrap();
        std::os::unix::fs::symlink("/", dir.path().join("loop")).unwrap();

        let (found, problems) = collect_records(dir.path()).unwrap();
        assert_eq!(found.len(), 3);
        assert_eq!(problems.len(), 1);
        assert!(
            problems[0].contains("x_y/handshake/trial.json"),
            "{problems:?}"
        );

        let results = results_from_records(&found, "logs");
        assert_eq!(results.len(), 1);
        let r = &results[0];
        assert_eq!(r.servers, vec!["quic-go", "ngtcp2"], "registry order");
        assert_eq!(r.clients, vec!["aioquic", "quinn"]);
        assert_eq!(
            r.tests.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(),
            vec!["handshake", "retry"]
        );
        assert_eq!(r.measurements.len(), 1);
        assert_eq!(r.pairs.len(), 3);
        assert_eq!(
            r.get("ngtcp2", "aioquic", "retry").unwrap().outcome,
            Outcome::Failed
        );
        assert_eq!((r.start_time, r.end_time), (10.0, 20.0));
    }

    #[test]
    fn missing_directory_is_an_error() {
        assert!(collect_records(Path::new("/nonexistent/dir"))
            .unwrap_err()
            .to_string()
            .contains("not a directory"));
    }
}
