//! JUnit XML for CI systems: one testsuite per protocol, one testcase per
//! trial named like the cargo trial; unsupported trials are skipped with
//! the reason, failures carry the reason and the path of the trial's log,
//! trials that passed only on a retry are flaky (`<flakyFailure>`).
//!
//! Outcomes come from the same [`Results`] result.json is made from
//! (after the auto-unsupported rule), so the two always agree.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use quick_junit::{
    NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestRerun, TestSuite,
};

use super::{Entry, ReportError, Results};
use crate::catalog::testcases::Protocol;
use crate::outcome::{Outcome, TrialRecord};

/// (protocol, server, client, test) → the trial's record.
pub(crate) type RecordIndex<'a> = HashMap<(Protocol, &'a str, &'a str, &'a str), &'a TrialRecord>;

pub(crate) fn index(records: &[TrialRecord]) -> RecordIndex<'_> {
    records
        .iter()
        .map(|r| {
            (
                (
                    r.protocol,
                    r.server.as_str(),
                    r.client.as_str(),
                    r.test.as_str(),
                ),
                r,
            )
        })
        .collect()
}

/// The JUnit report of a run's results; `records` add durations, log
/// paths, image IDs and earlier attempts.
pub fn junit_report(results: &[Results], records: &[TrialRecord]) -> Report {
    let by_key = index(records);
    let mut report = Report::new("interop-runner");
    let mut total = 0.0_f64;
    for r in results {
        let mut suite = TestSuite::new(format!("interop-runner {}", r.protocol));
        suite.add_property(Property::new("log_dir", r.log_dir.as_str()));
        for (server, client, test) in r.trial_keys() {
            let Some(entry) = r.get(&server, &client, &test) else {
                continue;
            };
            let rec = by_key
                .get(&(r.protocol, server.as_str(), client.as_str(), test.as_str()))
                .copied();
            let name = crate::plan::trial_name(r.protocol, &server, &client, &test);
            let class = format!("{}.{server}_{client}", r.protocol);
            let case = test_case(name, class, r, entry, rec);
            total += rec.map_or(0.0, TrialRecord::duration);
            suite.add_test_case(case);
        }
        report.add_test_suite(suite);
    }
    report.set_time(Duration::from_secs_f64(total.max(0.0)));
    report
}

fn test_case(
    name: String,
    class: String,
    r: &Results,
    entry: &Entry,
    rec: Option<&TrialRecord>,
) -> TestCase {
    let log = rec.map(|rec| format!("{}/{}/output.txt", r.log_dir, rec.log_path_or_default()));
    let mut status = match entry.outcome {
        Outcome::Succeeded => TestCaseStatus::success(),
        Outcome::Unsupported => {
            let mut s = TestCaseStatus::skipped();
            s.set_message(entry.reason.as_str()).set_type("unsupported");
            s
        }
        Outcome::Failed => {
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
            let description = match &log {
                Some(l) => format!("{}\nlog: {l}", entry.reason),
                None => entry.reason.clone(),
            };
            s.set_message(entry.reason.as_str())
                .set_type("failed")
                .set_description(description);
            s
        }
    };
    if let Some(rec) = rec {
        let reruns = rec.earlier_failures.iter().map(|why| {
            let mut run = TestRerun::new(NonSuccessKind::Failure);
            run.message = Some(why.as_str().into());
            run
        });
        status.add_reruns(reruns);
    }
    let mut case = TestCase::new(name, status);
    case.set_classname(class);
    if let Some(rec) = rec {
        case.set_time(Duration::from_secs_f64(rec.duration()));
        for (role, id) in &rec.images {
            case.add_property(Property::new(format!("image.{role}"), id.as_str()));
        }
        if let Some(l) = &log {
            case.add_property(Property::new("log", l.as_str()));
        }
        if let Some(m) = &rec.measurement {
            case.add_property(Property::new("value", m.details()));
        }
    }
    case
}

/// Writes the JUnit report to `path`.
pub fn write_junit(
    results: &[Results],
    records: &[TrialRecord],
    path: &Path,
) -> Result<(), ReportError> {
    let text = junit_report(results, records)
        .to_string()
        .map_err(|e| ReportError::Render {
            what: "JUnit XML",
            reason: e.to_string(),
        })?;
    std::fs::write(path, text).map_err(|source| ReportError::Write {
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tests::{record, small_results};
    use crate::report::ResultJson;

    /// Every trial in result.json appears once in JUnit with the same
    /// outcome, and JUnit has no other testcase.
    pub(crate) fn assert_agree(results: &[Results], records: &[TrialRecord]) -> usize {
        let xml = junit_report(results, records).to_string().unwrap();
        let parsed = Report::deserialize_from_str(&xml).unwrap();
        let mut junit: HashMap<String, &'static str> = HashMap::new();
        for suite in &parsed.test_suites {
            for case in &suite.test_cases {
                let o = match &case.status {
                    TestCaseStatus::Success { .. } => "succeeded",
                    TestCaseStatus::NonSuccess { .. } => "failed",
                    TestCaseStatus::Skipped { .. } => "unsupported",
                };
                assert!(
                    junit.insert(case.name.as_str().to_string(), o).is_none(),
                    "{} twice",
                    case.name.as_str()
                );
            }
        }
        let mut seen = 0;
        for r in results {
            let json = serde_json::to_value(ResultJson::from_results(r)).unwrap();
            let servers = json["servers"].as_array().unwrap();
            let clients = json["clients"].as_array().unwrap();
            for (ci, c) in clients.iter().enumerate() {
                for (si, s) in servers.iter().enumerate() {
                    let i = ci * servers.len() + si;
                    let entries = json["results"][i]
                        .as_array()
                        .unwrap()
                        .iter()
                        .chain(json["measurements"][i].as_array().unwrap());
                    for e in entries {
                        let name = crate::plan::trial_name(
                            r.protocol,
                            s.as_str().unwrap(),
                            c.as_str().unwrap(),
                            e["name"].as_str().unwrap(),
                        );
                        match e["result"].as_str() {
                            None => assert!(!junit.contains_key(&name), "{name}"),
                            Some(o) => {
                                assert_eq!(junit.get(&name).copied(), Some(o), "{name}");
                                seen += 1;
                            }
                        }
                    }
                }
            }
        }
        assert_eq!(seen, junit.len(), "JUnit has trials result.json lacks");
        seen
    }

    #[test]
    fn junit_and_result_json_agree_after_auto_unsupported() {
        let mut r = small_results(
            &["quic-go", "ngtcp2"],
            &["aioquic"],
            "handshake,retry,goodput",
        );
        let mut recs = vec![
            record("quic-go", "aioquic", "handshake", Outcome::Succeeded),
            record("ngtcp2", "aioquic", "handshake", Outcome::Failed),
            record("quic-go", "aioquic", "retry", Outcome::Failed),
            record("ngtcp2", "aioquic", "retry", Outcome::Failed),
            record("ngtcp2", "aioquic", "goodput", Outcome::Unsupported),
        ];
        recs[0].earlier_failures = vec!["the client exited with code 1".into()];
        for rec in &recs {
            r.insert(rec);
        }
        r.apply_auto_unsupported(&[]);
        assert_eq!(assert_agree(std::slice::from_ref(&r), &recs), 5);

        let xml = junit_report(&[r], &recs).to_string().unwrap();
        assert!(xml.contains("name=\"quic-go_aioquic_handshake\""), "{xml}");
        assert!(xml.contains("<flakyFailure"), "{xml}");
        assert!(
            xml.contains("auto-unsupported (failed: retry broke)"),
            "{xml}"
        );
        assert!(
            xml.contains("handshake broke\nlog: logs_x/ngtcp2_aioquic/handshake/output.txt"),
            "{xml}"
        );
    }

    #[test]
    fn junit_and_result_json_of_a_real_run_agree_on_every_trial() {
        let records = crate::report::shards::tests::real_run();
        let mut results = crate::report::results_from_records(&records, "logs");
        for r in &mut results {
            r.apply_auto_unsupported(&[]);
        }
        assert_eq!(assert_agree(&results, &records), records.len());
    }
}
