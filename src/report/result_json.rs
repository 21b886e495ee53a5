//! result.json exactly as the reference writes it (the public results page
//! reads `results[client_index * len(servers) + server_index]`), and merging
//! the result.json files of several shards of one run.

use std::collections::HashMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{Entry, ReportError, Results, TestInfo};
use crate::outcome::Outcome;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TestDesc {
    pub name: String,
    pub desc: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResultEntry {
    pub abbr: String,
    pub name: String,
    /// "succeeded", "failed", "unsupported", or null when it did not run.
    pub result: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MeasurementEntry {
    pub name: String,
    pub abbr: String,
    pub result: String,
    pub details: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResultJson {
    pub start_time: f64,
    pub end_time: f64,
    pub log_dir: String,
    pub servers: Vec<String>,
    pub clients: Vec<String>,
    pub urls: serde_json::Map<String, serde_json::Value>,
    /// Keyed by abbreviation; tests and measurements. A key given twice
    /// is an error, not the last one silently kept.
    #[serde(deserialize_with = "unique_keys")]
    pub tests: serde_json::Map<String, serde_json::Value>,
    pub quic_version: String,
    /// One list per (client, server), client-major.
    pub results: Vec<Vec<ResultEntry>>,
    pub measurements: Vec<Vec<MeasurementEntry>>,
}

impl ResultJson {
    pub fn from_results(r: &Results) -> ResultJson {
        let urls = r
            .urls
            .iter()
            .map(|(n, u)| (n.clone(), serde_json::Value::String(u.clone())))
            .collect();
        let tests = r
            .tests
            .iter()
            .chain(&r.measurements)
            .map(|t| {
                let desc = TestDesc {
                    name: t.name.clone(),
                    desc: t.desc.clone(),
                };
                (
                    t.abbr.clone(),
                    serde_json::to_value(desc).unwrap_or_default(),
                )
            })
            .collect();
        let mut results = Vec::new();
        let mut measurements = Vec::new();
        for client in &r.clients {
            for server in &r.servers {
                results.push(
                    r.tests
                        .iter()
                        .map(|t| ResultEntry {
                            abbr: t.abbr.clone(),
                            name: t.name.clone(),
                            result: r
                                .get(server, client, &t.name)
                                .map(|e| e.outcome.as_str().to_string()),
                        })
                        .collect(),
                );
                measurements.push(
                    r.measurements
                        .iter()
                        .filter_map(|m| {
                            let e = r.get(server, client, &m.name)?;
                            Some(MeasurementEntry {
                                name: m.name.clone(),
                                abbr: m.abbr.clone(),
                                result: e.outcome.as_str().to_string(),
                                details: e.details.clone(),
                            })
                        })
                        .collect(),
                );
            }
        }
        ResultJson {
            start_time: r.start_time,
            end_time: r.end_time,
            log_dir: r.log_dir.clone(),
            servers: r.servers.clone(),
            clients: r.clients.clone(),
            urls,
            tests,
            quic_version: "0x1".to_string(),
            results,
            measurements,
        }
    }

    pub fn read(path: &Path) -> Result<ResultJson, ReportError> {
        let text = crate::input::read_text(path, crate::input::TEXT_LIMIT)?;
        let parsed: ResultJson =
            serde_json::from_str(&text).map_err(|source| ReportError::NotResultJson {
                path: path.to_path_buf(),
                source,
            })?;
        parsed.check_names(path)?;
        let pairs = parsed.clients.len() * parsed.servers.len();
        if parsed.results.len() != pairs || parsed.measurements.len() != pairs {
            return Err(ReportError::WrongShape {
                path: path.to_path_buf(),
                pairs,
                clients: parsed.clients.len(),
                servers: parsed.servers.len(),
                found: parsed.results.len(),
            });
        }
        parsed.check_columns(path)?;
        Ok(parsed)
    }

    /// No server or client listed twice: `results` is indexed by position,
    /// so a repeated name would make two cells of one pair.
    fn check_names(&self, path: &Path) -> Result<(), ReportError> {
        for (list, names) in [("servers", &self.servers), ("clients", &self.clients)] {
            let mut seen = std::collections::HashSet::new();
            if let Some(dup) = names.iter().find(|n| !seen.insert(n.as_str())) {
                return Err(ReportError::DuplicateName {
                    path: path.to_path_buf(),
                    list,
                    name: dup.clone(),
                });
            }
        }
        Ok(())
    }

    /// Every result names a test of `tests` by its abbreviation and name.
    fn check_columns(&self, path: &Path) -> Result<(), ReportError> {
        let listed = |abbr: &str, name: &str| -> Result<(), ReportError> {
            let known = self
                .tests
                .get(abbr)
                .and_then(|v| v.get("name"))
                .and_then(|n| n.as_str());
            match known {
                Some(n) if n == name => Ok(()),
                Some(n) => Err(ReportError::AbbreviationClash {
                    path: path.to_path_buf(),
                    abbr: abbr.to_string(),
                    first: n.to_string(),
                    second: name.to_string(),
                }),
                None => Err(ReportError::UnlistedTest {
                    path: path.to_path_buf(),
                    abbr: abbr.to_string(),
                    name: name.to_string(),
                }),
            }
        };
        for e in self.results.iter().flatten() {
            listed(&e.abbr, &e.name)?;
        }
        for m in self.measurements.iter().flatten() {
            listed(&m.abbr, &m.name)?;
        }
        Ok(())
    }

    pub fn write(&self, path: &Path) -> std::io::Result<()> {
        let text = serde_json::to_string(self).map_err(std::io::Error::other)?;
        std::fs::write(path, text)
    }

    /// Back into a results table (every pair of clients × servers).
    pub(crate) fn to_results(&self, path: &Path) -> Result<Results, ReportError> {
        let (tests, measurements) = self.test_columns();
        let mut entries = HashMap::new();
        let mut i = 0;
        for client in &self.clients {
            for server in &self.servers {
                for e in &self.results[i] {
                    let Some(result) = &e.result else { continue };
                    let outcome =
                        Outcome::parse(result).ok_or_else(|| ReportError::UnknownResult {
                            path: path.to_path_buf(),
                            result: result.clone(),
                            server: server.clone(),
                            client: client.clone(),
                            test: e.name.clone(),
                        })?;
                    let entry = Entry::of(outcome, String::new());
                    entries.insert((server.clone(), client.clone(), e.name.clone()), entry);
                }
                for m in &self.measurements[i] {
                    let outcome =
                        Outcome::parse(&m.result).ok_or_else(|| ReportError::UnknownResult {
                            path: path.to_path_buf(),
                            result: m.result.clone(),
                            server: server.clone(),
                            client: client.clone(),
                            test: m.name.clone(),
                        })?;
                    let entry = Entry::of(outcome, m.details.clone());
                    entries.insert((server.clone(), client.clone(), m.name.clone()), entry);
                }
                i += 1;
            }
        }
        Ok(Results {
            protocol: crate::catalog::testcases::Protocol::Quic,
            servers: self.servers.clone(),
            clients: self.clients.clone(),
            pairs: self
                .clients
                .iter()
                .flat_map(|c| self.servers.iter().map(move |s| (s.clone(), c.clone())))
                .collect(),
            tests,
            measurements,
            urls: self
                .urls
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect(),
            start_time: self.start_time,
            end_time: self.end_time,
            log_dir: self.log_dir.clone(),
            entries,
        })
    }

    /// Splits the `tests` map into tests and measurements: every pair's
    /// results list names every test, measurements never appear there.
    fn test_columns(&self) -> (Vec<TestInfo>, Vec<TestInfo>) {
        let in_results: Vec<&str> = self
            .results
            .iter()
            .flatten()
            .map(|e| e.abbr.as_str())
            .collect();
        let mut tests = Vec::new();
        let mut measurements = Vec::new();
        for (abbr, v) in &self.tests {
            let name = v
                .get("name")
                .and_then(|n| n.as_str())
                .unwrap_or(abbr)
                .to_string();
            let is_test = in_results.contains(&abbr.as_str())
                || crate::catalog::testcases::find(
                    crate::catalog::testcases::Protocol::Quic,
                    &name,
                )
                .is_some_and(|t| !t.is_measurement());
            let info = TestInfo {
                abbr: abbr.clone(),
                name,
                desc: v
                    .get("desc")
                    .and_then(|n| n.as_str())
                    .unwrap_or_default()
                    .to_string(),
            };
            if is_test {
                tests.push(info);
            } else {
                measurements.push(info);
            }
        }
        (tests, measurements)
    }
}

fn push_new(list: &mut Vec<String>, items: &[String]) {
    for i in items {
        if !list.contains(i) {
            list.push(i.clone());
        }
    }
}

/// Adds the shard's columns; an abbreviation another shard used for a
/// different test is an error (one of the two would be lost).
fn push_new_info(
    list: &mut Vec<TestInfo>,
    items: &[TestInfo],
    path: &Path,
) -> Result<(), ReportError> {
    for i in items {
        match list.iter().find(|t| t.abbr == i.abbr) {
            Some(t) if t.name != i.name => {
                return Err(ReportError::AbbreviationClash {
                    path: path.to_path_buf(),
                    abbr: i.abbr.clone(),
                    first: t.name.clone(),
                    second: i.name.clone(),
                })
            }
            Some(_) => {}
            None => list.push(i.clone()),
        }
    }
    Ok(())
}

/// A JSON object whose keys must be unique.
fn unique_keys<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<serde_json::Map<String, serde_json::Value>, D::Error> {
    struct Unique;
    impl<'de> serde::de::Visitor<'de> for Unique {
        type Value = serde_json::Map<String, serde_json::Value>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("an object of tests keyed by abbreviation")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(
            self,
            mut map: A,
        ) -> Result<Self::Value, A::Error> {
            let mut out = serde_json::Map::new();
            while let Some((k, v)) = map.next_entry::<String, serde_json::Value>()? {
                if out.contains_key(&k) {
                    return Err(serde::de::Error::custom(format!(
                        "the abbreviation \"{k}\" is used for two tests"
                    )));
                }
                out.insert(k, v);
            }
            Ok(out)
        }
    }
    d.deserialize_map(Unique)
}

/// Merges the result.json files of shards of one run. Servers, clients and
/// tests are united in order of first appearance; a cell given by two shards
/// must agree.
pub fn merge_result_files(paths: &[&Path]) -> Result<ResultJson, ReportError> {
    let mut merged: Option<Results> = None;
    for path in paths {
        let shard = ResultJson::read(path)?.to_results(path)?;
        let Some(m) = merged.as_mut() else {
            merged = Some(shard);
            continue;
        };
        push_new(&mut m.servers, &shard.servers);
        push_new(&mut m.clients, &shard.clients);
        push_new_info(&mut m.tests, &shard.tests, path)?;
        push_new_info(&mut m.measurements, &shard.measurements, path)?;
        for (k, v) in &shard.urls {
            if !m.urls.iter().any(|(n, _)| n == k) {
                m.urls.push((k.clone(), v.clone()));
            }
        }
        m.start_time = m.start_time.min(shard.start_time);
        m.end_time = m.end_time.max(shard.end_time);
        for (key, entry) in shard.entries {
            match m.entries.get(&key) {
                Some(old) if old.outcome != entry.outcome || old.details != entry.details => {
                    return Err(ReportError::Conflict {
                        path: path.to_path_buf(),
                        outcome: entry.outcome,
                        server: key.0.clone(),
                        client: key.1.clone(),
                        test: key.2.clone(),
                        earlier: old.outcome,
                    });
                }
                _ => {
                    m.entries.insert(key, entry);
                }
            }
        }
    }
    let merged = merged.ok_or(ReportError::NothingToMerge)?;
    Ok(ResultJson::from_results(&merged))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::MeasurementValue;
    use crate::report::tests::{record, small_results};

    #[test]
    fn a_shard_that_is_no_regular_file_is_refused() {
        let e = ResultJson::read(Path::new("/dev/zero")).unwrap_err();
        assert!(
            e.to_string().contains("is a device, not a regular file"),
            "{e}"
        );
    }

    fn two_by_two() -> Results {
        let mut r = small_results(
            &["quic-go", "ngtcp2"],
            &["aioquic", "quinn"],
            "handshake,retry,goodput",
        );
        r.insert(&record("ngtcp2", "quinn", "handshake", Outcome::Succeeded));
        r.insert(&record("ngtcp2", "quinn", "retry", Outcome::Unsupported));
        r.insert(&record("quic-go", "aioquic", "retry", Outcome::Failed));
        let mut g = record("ngtcp2", "quinn", "goodput", Outcome::Succeeded);
        g.measurement = Some(MeasurementValue {
            values: vec![8000.0],
            unit: "kbps".into(),
            cpu_saturated: Vec::new(),
        });
        r.insert(&g);
        r
    }

    #[test]
    fn layout_matches_the_reference() {
        let j = ResultJson::from_results(&two_by_two());
        let v: serde_json::Value = serde_json::to_value(&j).unwrap();
        let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            [
                "start_time",
                "end_time",
                "log_dir",
                "servers",
                "clients",
                "urls",
                "tests",
                "quic_version",
                "results",
                "measurements"
            ]
        );
        assert_eq!(v["quic_version"], "0x1");
        assert_eq!(v["tests"]["S"]["name"], "retry");
        assert_eq!(v["tests"]["G"]["name"], "goodput");
        assert_eq!(v["urls"]["quinn"], "https://github.com/quinn-rs/quinn");
        // results[client_index * len(servers) + server_index]
        let servers = j.servers.len();
        let quinn_ngtcp2 = &v["results"][servers + 1];
        assert_eq!(
            quinn_ngtcp2[0],
            serde_json::json!({"abbr": "H", "name": "handshake", "result": "succeeded"})
        );
        assert_eq!(quinn_ngtcp2[1]["result"], "unsupported");
        assert_eq!(v["results"][0][1]["result"], "failed");
        assert!(v["results"][0][0]["result"].is_null());
        assert_eq!(
            v["measurements"][servers + 1][0],
            serde_json::json!({"name": "goodput", "abbr": "G", "result": "succeeded", "details": "8000 (± 0) kbps"})
        );
        assert_eq!(v["measurements"][0], serde_json::json!([]));
    }

    #[test]
    fn shards_merge_into_one() {
        let full = two_by_two();
        let dir = tempfile::tempdir().unwrap();
        // shard a: client aioquic; shard b: client quinn
        let mut a = full.clone();
        a.clients = vec!["aioquic".into()];
        a.pairs.retain(|(_, c)| c == "aioquic");
        a.entries.retain(|k, _| k.1 == "aioquic");
        a.end_time = 50.0;
        let mut b = full.clone();
        b.clients = vec!["quinn".into()];
        b.pairs.retain(|(_, c)| c == "quinn");
        b.entries.retain(|k, _| k.1 == "quinn");
        b.start_time = 5.0;
        let (pa, pb) = (dir.path().join("a.json"), dir.path().join("b.json"));
        ResultJson::from_results(&a).write(&pa).unwrap();
        ResultJson::from_results(&b).write(&pb).unwrap();
        let merged = merge_result_files(&[&pa, &pb]).unwrap();
        let mut expect = ResultJson::from_results(&full);
        expect.start_time = 5.0;
        expect.end_time = 50.0;
        assert_eq!(merged, expect);
    }

    #[test]
    fn conflicting_shards_are_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let a = two_by_two();
        let mut b = two_by_two();
        b.insert(&record("ngtcp2", "quinn", "handshake", Outcome::Failed));
        let (pa, pb) = (dir.path().join("a.json"), dir.path().join("b.json"));
        ResultJson::from_results(&a).write(&pa).unwrap();
        ResultJson::from_results(&b).write(&pb).unwrap();
        let err = merge_result_files(&[&pa, &pb]).unwrap_err().to_string();
        assert!(
            err.contains("conflicts") && err.contains("handshake"),
            "{err}"
        );
    }

    #[test]
    fn malformed_result_json_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("r.json");
        std::fs::write(&p, "{\"start_time\": 1}").unwrap();
        assert!(merge_result_files(&[&p])
            .unwrap_err()
            .to_string()
            .contains("not a result.json"));
        let mut j = ResultJson::from_results(&two_by_two());
        j.results.pop();
        j.write(&p).unwrap();
        assert!(merge_result_files(&[&p])
            .unwrap_err()
            .to_string()
            .contains("expected 4 result lists"));
    }

    /// Edits a written result.json as text and merges it alone.
    fn merge_edited(edit: impl Fn(&mut serde_json::Value)) -> String {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("r.json");
        let mut v = serde_json::to_value(ResultJson::from_results(&two_by_two())).unwrap();
        edit(&mut v);
        std::fs::write(&p, v.to_string()).unwrap();
        merge_result_files(&[&p]).unwrap_err().to_string()
    }

    #[test]
    fn data_that_merge_would_drop_or_overwrite_is_an_error() {
        let e = merge_edited(|v| {
            v["servers"] = serde_json::json!(["quic-go", "quic-go"]);
        });
        assert!(e.contains("servers lists \"quic-go\" twice"), "{e}");
        let e = merge_edited(|v| {
            v["results"][0][0]["abbr"] = serde_json::json!("ZZ");
        });
        assert!(e.contains("that the file's tests do not list"), "{e}");
        let e = merge_edited(|v| {
            v["results"][0][0]["name"] = serde_json::json!("http3");
        });
        assert!(e.contains("stands for both"), "{e}");
    }

    #[test]
    fn an_abbreviation_given_twice_in_one_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("r.json");
        let text = serde_json::to_string(&ResultJson::from_results(&two_by_two())).unwrap();
        let twice = text.replacen(
            "\"tests\":{",
            "\"tests\":{\"H\":{\"name\":\"http3\",\"desc\":\"\"},",
            1,
        );
        std::fs::write(&p, twice).unwrap();
        let e = merge_result_files(&[&p]).unwrap_err().to_string();
        assert!(e.contains("\"H\" is used for two tests"), "{e}");
    }

    #[test]
    fn shards_that_use_one_abbreviation_for_two_tests_do_not_merge() {
        let dir = tempfile::tempdir().unwrap();
        let a = two_by_two();
        let mut b = two_by_two();
        b.clients = vec!["quinn".into()];
        b.pairs.retain(|(_, c)| c == "quinn");
        b.entries.retain(|k, _| k.1 == "quinn");
        for t in &mut b.tests {
            t.name = format!("{}-renamed", t.name);
        }
        let renamed: HashMap<_, _> = b
            .entries
            .drain()
            .map(|((s, c, t), e)| ((s, c, format!("{t}-renamed")), e))
            .collect();
        b.entries = renamed;
        let (pa, pb) = (dir.path().join("a.json"), dir.path().join("b.json"));
        ResultJson::from_results(&a).write(&pa).unwrap();
        ResultJson::from_results(&b).write(&pb).unwrap();
        let e = merge_result_files(&[&pa, &pb]).unwrap_err().to_string();
        assert!(e.contains("stands for both"), "{e}");
    }
}
