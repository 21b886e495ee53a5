//! The companion of result.json, `<name>.details.json`: what the public
//! results page's format has no field for, one entry per trial, in
//! result.json's order: the reason, times, per-repetition values, image
//! IDs, earlier failed attempts, the log path. result.json itself stays
//! exactly the reference's.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::junit::index;
use super::{ReportError, Results};
use crate::outcome::TrialRecord;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrialDetails {
    /// The cargo trial name.
    pub name: String,
    pub protocol: String,
    pub server: String,
    pub client: String,
    pub test: String,
    pub abbr: String,
    /// As in result.json (after the auto-unsupported rule).
    pub result: String,
    pub reason: String,
    /// Passed only on a retry.
    pub flaky: bool,
    pub earlier_failures: Vec<String>,
    pub start_time: Option<f64>,
    pub end_time: Option<f64>,
    /// Seconds, every attempt and repetition included.
    pub duration: Option<f64>,
    /// A measurement's value per repetition.
    pub values: Vec<f64>,
    pub unit: Option<String>,
    /// Image IDs that ran, by role.
    pub images: std::collections::BTreeMap<String, String>,
    /// The trial's directory relative to `log_dir`.
    pub log_path: Option<String>,
    /// The implementation that could not be used, when the trial never ran.
    pub unavailable: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Details {
    pub log_dir: String,
    pub start_time: f64,
    pub end_time: f64,
    pub trials: Vec<TrialDetails>,
}

/// `result.json` → `result.details.json`.
pub fn details_path(result_json: &Path) -> PathBuf {
    result_json.with_extension("details.json")
}

pub fn details(results: &[Results], records: &[TrialRecord]) -> Details {
    let by_key = index(records);
    let mut trials = Vec::new();
    for r in results {
        let abbr_of = |name: &str| {
            r.tests
                .iter()
                .chain(&r.measurements)
                .find(|t| t.name == name)
                .map(|t| t.abbr.clone())
                .unwrap_or_default()
        };
        for (server, client, test) in r.trial_keys() {
            let Some(e) = r.get(&server, &client, &test) else {
                continue;
            };
            let rec = by_key
                .get(&(r.protocol, server.as_str(), client.as_str(), test.as_str()))
                .copied();
            trials.push(TrialDetails {
                name: crate::plan::trial_name(r.protocol, &server, &client, &test),
                protocol: r.protocol.to_string(),
                abbr: abbr_of(&test),
                result: e.outcome.as_str().to_string(),
                reason: e.reason.clone(),
                flaky: e.flaky,
                earlier_failures: rec.map(|x| x.earlier_failures.clone()).unwrap_or_default(),
                start_time: rec.map(|x| x.start_time),
                end_time: rec.map(|x| x.end_time),
                duration: rec.map(TrialRecord::duration),
                values: rec
                    .and_then(|x| x.measurement.as_ref())
                    .map(|m| m.values.clone())
                    .unwrap_or_default(),
                unit: rec
                    .and_then(|x| x.measurement.as_ref())
                    .map(|m| m.unit.clone()),
                images: rec.map(|x| x.images.clone()).unwrap_or_default(),
                log_path: rec.map(TrialRecord::log_path_or_default),
                unavailable: e.unavailable.clone(),
                server,
                client,
                test,
            });
        }
    }
    Details {
        log_dir: results
            .first()
            .map(|r| r.log_dir.clone())
            .unwrap_or_default(),
        start_time: results
            .iter()
            .map(|r| r.start_time)
            .fold(f64::INFINITY, f64::min),
        end_time: results.iter().map(|r| r.end_time).fold(0.0, f64::max),
        trials,
    }
}

pub fn write_details(
    results: &[Results],
    records: &[TrialRecord],
    path: &Path,
) -> Result<(), ReportError> {
    let text = serde_json::to_string_pretty(&details(results, records)).map_err(|e| {
        ReportError::Render {
            what: "details file",
            reason: e.to_string(),
        }
    })?;
    std::fs::write(path, text + "\n").map_err(|source| ReportError::Write {
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::{MeasurementValue, Outcome};
    use crate::report::tests::{record, small_results};

    #[test]
    fn every_trial_with_reason_values_and_images() {
        let mut r = small_results(&["quic-go"], &["aioquic"], "handshake,goodput");
        let mut g = record("quic-go", "aioquic", "goodput", Outcome::Succeeded);
        g.measurement = Some(MeasurementValue {
            values: vec![9000.0, 9100.0],
            unit: "kbps".into(),
            cpu_saturated: Vec::new(),
        });
        g.images.insert("server".into(), "sha256:aa".into());
        let h = record("quic-go", "aioquic", "handshake", Outcome::Failed);
        g.earlier_failures = vec!["repetition 2: timed out".into()];
        r.insert(&g);
        r.insert(&h);
        let d = details(std::slice::from_ref(&r), &[g, h]);
        assert_eq!(d.trials.len(), 2);
        assert_eq!(d.trials[0].name, "quic-go_aioquic_handshake");
        assert_eq!(d.trials[0].reason, "handshake broke");
        assert_eq!(d.trials[0].duration, Some(10.0));
        assert_eq!(d.trials[1].values, vec![9000.0, 9100.0]);
        assert!(d.trials[1].flaky && !d.trials[0].flaky);
        assert_eq!(d.trials[1].earlier_failures, ["repetition 2: timed out"]);
        assert_eq!(d.trials[1].images["server"], "sha256:aa");
        assert_eq!(
            d.trials[1].log_path.as_deref(),
            Some("quic-go_aioquic/goodput")
        );
        assert_eq!(
            details_path(Path::new("out/result.json")),
            Path::new("out/result.details.json")
        );
    }
}
