//! A trial's result, and the small record each trial leaves in its log
//! directory so runs split over processes or machines can be merged; the
//! run's own record ([`run`]) holds its plan and the trials that left no
//! directory.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};

pub mod run;

/// Why a trial record could not be read back.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error(transparent)]
    Read(#[from] crate::input::InputError),
    #[error("{}: not a valid trial record: {why}", path.display())]
    Invalid {
        path: std::path::PathBuf,
        why: String,
    },
    #[error("{}: not a trial record: {source}", path.display())]
    NotARecord {
        path: std::path::PathBuf,
        source: serde_json::Error,
    },
}

use crate::catalog::testcases::Protocol;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Succeeded,
    Failed,
    Unsupported,
}

impl Outcome {
    pub fn symbol(self) -> &'static str {
        match self {
            Outcome::Succeeded => "✓",
            Outcome::Failed => "✕",
            Outcome::Unsupported => "?",
        }
    }

    /// The word result.json uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Succeeded => "succeeded",
            Outcome::Failed => "failed",
            Outcome::Unsupported => "unsupported",
        }
    }

    pub fn parse(s: &str) -> Option<Outcome> {
        match s {
            "succeeded" => Some(Outcome::Succeeded),
            "failed" => Some(Outcome::Failed),
            "unsupported" => Some(Outcome::Unsupported),
            _ => None,
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The value of a measurement over its repetitions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MeasurementValue {
    pub values: Vec<f64>,
    pub unit: String,
    /// Repetitions (1-based) during which the machine's CPUs, or the
    /// simulator's core, were saturated: their values may measure the
    /// machine, not the link.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cpu_saturated: Vec<u32>,
}

impl MeasurementValue {
    pub fn mean(&self) -> f64 {
        if self.values.is_empty() {
            return 0.0;
        }
        self.values.iter().sum::<f64>() / self.values.len() as f64
    }

    /// Sample standard deviation, as the reference reports it.
    pub fn stdev(&self) -> f64 {
        let n = self.values.len();
        if n < 2 {
            return 0.0;
        }
        let mean = self.mean();
        let var = self.values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
        var.sqrt()
    }

    /// `mean (± stdev) unit`, rounded to integers.
    pub fn details(&self) -> String {
        let mut d = format!("{:.0} (± {:.0}) {}", self.mean(), self.stdev(), self.unit);
        if !self.cpu_saturated.is_empty() {
            let reps: Vec<String> = self.cpu_saturated.iter().map(u32::to_string).collect();
            d.push_str(&format!(
                " (CPUs saturated in repetition {})",
                reps.join(", ")
            ));
        }
        d
    }
}

/// What one trial left behind: enough to rebuild the matrix and result.json.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrialRecord {
    pub protocol: Protocol,
    pub server: String,
    pub client: String,
    pub test: String,
    pub abbr: String,
    pub outcome: Outcome,
    /// Why it failed or was unsupported; empty on success.
    pub reason: String,
    #[serde(default)]
    pub measurement: Option<MeasurementValue>,
    /// Epoch seconds.
    pub start_time: f64,
    pub end_time: f64,
    /// Image IDs that really ran, by role.
    #[serde(default)]
    pub images: BTreeMap<String, String>,
    /// The implementation that could not be used (its image could not be
    /// had, or it failed the compliance pre-check): the trial never ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unavailable: Option<String>,
    /// Reasons of the earlier attempts that failed (`--retries`); a success
    /// after a failure is flaky, never a plain pass.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub earlier_failures: Vec<String>,
    /// The trial's directory relative to the log directory (`output.txt`
    /// and the endpoints' logs are there).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub log_path: String,
}

impl TrialRecord {
    pub const FILE_NAME: &'static str = "trial.json";

    pub fn write_to_dir(&self, dir: &Path) -> std::io::Result<()> {
        std::fs::create_dir_all(dir)?;
        let text = serde_json::to_string_pretty(self).map_err(std::io::Error::other)?;
        std::fs::write(dir.join(Self::FILE_NAME), text + "\n")
    }

    pub fn read(path: &Path) -> Result<TrialRecord, RecordError> {
        let text = crate::input::read_text(path, crate::input::TEXT_LIMIT)?;
        TrialRecord::parse(&text, path)
    }

    /// Parses and checks a record's text; `path` names it in errors. A
    /// record's names end up in directory names, links and the terminal,
    /// so they must be names the registry could hold.
    pub fn parse(text: &str, path: &Path) -> Result<TrialRecord, RecordError> {
        let r: TrialRecord =
            serde_json::from_str(text).map_err(|source| RecordError::NotARecord {
                path: path.to_path_buf(),
                source,
            })?;
        r.checked(path)
    }

    /// The record if its names and numbers are ones a run can produce.
    pub fn checked(self, path: &Path) -> Result<TrialRecord, RecordError> {
        let r = self;
        let invalid = |why: String| RecordError::Invalid {
            path: path.to_path_buf(),
            why,
        };
        for name in [&r.server, &r.client].into_iter().chain(&r.unavailable) {
            crate::catalog::fields::check_name(name).map_err(invalid)?;
        }
        // Reports link to it: it must stay inside the log directory.
        let log_path = Path::new(&r.log_path);
        let escapes = log_path.is_absolute()
            || log_path
                .components()
                .any(|c| !matches!(c, std::path::Component::Normal(_)))
            || r.log_path.chars().any(char::is_control);
        if escapes {
            return Err(invalid(format!(
                "log_path \"{}\" is not a path inside the log directory",
                r.log_path
            )));
        }
        let test_ok = |t: &str, max: usize| {
            !t.is_empty()
                && t.len() <= max
                && t.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        };
        if !test_ok(&r.test, 64) || !test_ok(&r.abbr, 8) {
            return Err(invalid(format!(
                "test \"{}\" ({}) is not a test name and abbreviation",
                r.test, r.abbr
            )));
        }
        let values = r.measurement.iter().flat_map(|m| &m.values);
        if !r.start_time.is_finite()
            || !r.end_time.is_finite()
            || values.clone().any(|v| !v.is_finite())
        {
            return Err(invalid(
                "a time or measured value is not a finite number".to_string(),
            ));
        }
        Ok(r)
    }

    /// Passed only on a retry.
    pub fn is_flaky(&self) -> bool {
        self.outcome == Outcome::Succeeded && !self.earlier_failures.is_empty()
    }

    /// Wall time of the trial, all attempts and repetitions, in seconds.
    pub fn duration(&self) -> f64 {
        (self.end_time - self.start_time).max(0.0)
    }

    /// `log_path`, or the single-protocol layout's path for records
    /// written before it was kept.
    pub fn log_path_or_default(&self) -> String {
        if self.log_path.is_empty() {
            format!("{}_{}/{}", self.server, self.client, self.test)
        } else {
            self.log_path.clone()
        }
    }

    /// The cargo trial name, as the harness and JUnit name it.
    pub fn trial_name(&self) -> String {
        crate::plan::trial_name(self.protocol, &self.server, &self.client, &self.test)
    }

    /// The measurement column text of result.json.
    pub fn details(&self) -> String {
        self.measurement
            .as_ref()
            .map(|m| m.details())
            .unwrap_or_default()
    }
}

/// Seconds since the epoch, as result.json writes times.
pub fn epoch_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_of_every_catalog_test_pass_the_check_and_odd_ones_do_not() {
        use crate::catalog::testcases::{measurements, tests};
        let p = Path::new("t.json");
        for proto in [Protocol::Quic, Protocol::WebTransport] {
            for t in tests(proto).iter().chain(measurements(proto)) {
                let r = TrialRecord {
                    protocol: proto,
                    server: "quic-go".into(),
                    client: "s2n-quic".into(),
                    test: t.name.into(),
                    abbr: t.abbr.into(),
                    outcome: Outcome::Succeeded,
                    reason: String::new(),
                    measurement: None,
                    start_time: 1.0,
                    end_time: 2.0,
                    images: BTreeMap::new(),
                    unavailable: None,
                    earlier_failures: Vec::new(),
                    log_path: format!("quic-go_s2n-quic/{}", t.name),
                };
                let text = serde_json::to_string(&r).unwrap();
                assert_eq!(TrialRecord::parse(&text, p).unwrap(), r, "{}", t.name);
                for (field, bad) in [
                    ("server", "../etc"),
                    ("client", "-x"),
                    ("test", "a b"),
                    ("abbr", "\u{1b}[2J"),
                ] {
                    let mut v = serde_json::to_value(&r).unwrap();
                    v[field] = serde_json::json!(bad);
                    let e = TrialRecord::parse(&v.to_string(), p).unwrap_err();
                    assert!(matches!(e, RecordError::Invalid { .. }), "{field}: {e}");
                }
            }
        }
        let e = TrialRecord::parse("{\"protocol\":\"quic\"", p).unwrap_err();
        assert!(matches!(e, RecordError::NotARecord { .. }), "{e}");
    }

    #[test]
    fn a_record_path_that_is_no_regular_file_is_refused() {
        // /dev/zero would fill memory; a FIFO would block forever.
        let e = TrialRecord::read(Path::new("/dev/zero")).unwrap_err();
        assert!(
            e.to_string().contains("is a device, not a regular file"),
            "{e}"
        );
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join(TrialRecord::FILE_NAME);
        assert!(std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success());
        let e = TrialRecord::read(&fifo).unwrap_err();
        assert!(e.to_string().contains("is a FIFO"), "{e}");
    }

    #[test]
    fn measurement_details_match_the_reference_format() {
        let m = MeasurementValue {
            values: vec![9000.0, 9100.0, 8900.0, 9050.0, 8950.0],
            unit: "kbps".into(),
            cpu_saturated: Vec::new(),
        };
        assert_eq!(m.mean(), 9000.0);
        assert!((m.stdev() - 79.0569).abs() < 0.001);
        assert_eq!(m.details(), "9000 (± 79) kbps");
        let saturated = MeasurementValue {
            cpu_saturated: vec![2, 5],
            ..m
        };
        assert_eq!(
            saturated.details(),
            "9000 (± 79) kbps (CPUs saturated in repetition 2, 5)"
        );
    }

    #[test]
    fn record_round_trips_through_its_file() {
        let dir = tempfile::tempdir().unwrap();
        let rec = TrialRecord {
            protocol: Protocol::Quic,
            server: "quic-go".into(),
            client: "aioquic".into(),
            test: "transfer".into(),
            abbr: "DC".into(),
            outcome: Outcome::Failed,
            reason: "file x differs".into(),
            measurement: None,
            start_time: 1.5,
            end_time: 2.5,
            images: BTreeMap::from([("server".into(), "sha256:ab".into())]),
            unavailable: None,
            earlier_failures: vec!["timed out".into()],
            log_path: "quic-go_aioquic/transfer".into(),
        };
        rec.write_to_dir(&dir.path().join("a/b")).unwrap();
        let back = TrialRecord::read(&dir.path().join("a/b").join(TrialRecord::FILE_NAME)).unwrap();
        assert_eq!(back, rec);
        std::fs::write(dir.path().join("bad.json"), "{").unwrap();
        assert!(TrialRecord::read(&dir.path().join("bad.json"))
            .unwrap_err()
            .to_string()
            .contains("not a trial record"));
    }

    #[test]
    fn outcome_words_and_symbols() {
        for o in [Outcome::Succeeded, Outcome::Failed, Outcome::Unsupported] {
            assert_eq!(Outcome::parse(o.as_str()), Some(o));
            assert_eq!(serde_json::to_string(&o).unwrap(), format!("\"{o}\""));
        }
        assert_eq!(Outcome::Succeeded.symbol(), "✓");
        assert_eq!(Outcome::Failed.symbol(), "✕");
        assert_eq!(Outcome::Unsupported.symbol(), "?");
    }
}
