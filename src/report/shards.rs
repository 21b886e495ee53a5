//! Merging the result.json files of a run sharded per server (as the
//! public matrix is run, and as `.github/workflows/interop.yml` does).
//! A one-server shard cannot apply the auto-unsupported rule for clients
//! (it needs every server), so the merge applies it again; the rule only
//! turns failures into unsupported where a whole row or column did not
//! work, so applying it again is harmless and the order does not matter.

use std::path::Path;

use super::{merge_result_files, ReportError, ResultJson, Results, TestInfo};
use crate::catalog::registry::Registry;
use crate::catalog::testcases;

/// Merges shards and applies the auto-unsupported rule to the whole;
/// returns the result and one line per change.
pub fn merge_shards(
    paths: &[&Path],
    exempt: &[String],
) -> Result<(ResultJson, Vec<String>), ReportError> {
    let merged = merge_result_files(paths)?;
    let origin = paths.first().copied().unwrap_or(Path::new("merged"));
    let mut results = merged.to_results(origin)?;
    in_one_runs_order(&mut results);
    let notes = results.apply_auto_unsupported(exempt);
    Ok((ResultJson::from_results(&results), notes))
}

/// Puts the merged table in the order one run would have: implementations
/// in registry order, tests in catalog order (the shards' order of first
/// appearance depends on which shard came first and what it ran), and
/// only pairs some shard ran.
fn in_one_runs_order(r: &mut Results) {
    let registry = Registry::embedded(r.protocol);
    let rank = |n: &String| {
        registry
            .names()
            .iter()
            .position(|x| *x == n.as_str())
            .unwrap_or(usize::MAX)
    };
    r.servers.sort_by_key(rank);
    r.clients.sort_by_key(rank);
    let protocol = r.protocol;
    let catalog = |t: &TestInfo| {
        testcases::tests(protocol)
            .iter()
            .chain(testcases::measurements(protocol))
            .position(|c| c.name == t.name)
            .unwrap_or(usize::MAX)
    };
    r.tests.sort_by_key(catalog);
    r.measurements.sort_by_key(catalog);
    let entries = &r.entries;
    r.pairs
        .retain(|(s, c)| entries.keys().any(|(es, ec, _)| es == s && ec == c));
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::outcome::TrialRecord;
    use crate::report::{collect_records, results_from_records};

    /// Records of a real run (`interop-runner -s quic-go,aioquic -c
    /// quic-go,aioquic -t handshake,transfer,ecn,goodput`), trial.json
    /// files only.
    pub(crate) fn real_run() -> Vec<TrialRecord> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/reports-run");
        let (records, problems) = collect_records(&dir).unwrap();
        assert!(problems.is_empty(), "{problems:?}");
        assert!(records.len() >= 16, "{} records", records.len());
        records
    }

    fn one_run(records: &[TrialRecord]) -> Results {
        let mut r = results_from_records(records, "logs").remove(0);
        r.apply_auto_unsupported(&[]);
        r
    }

    /// Writes one result.json per server (a shard each, as the workflow
    /// runs them) and merges them.
    fn merged_per_server(records: &[TrialRecord], servers: &[&str]) -> (ResultJson, Vec<String>) {
        let dir = tempfile::tempdir().unwrap();
        let mut paths = Vec::new();
        for server in servers {
            let shard: Vec<TrialRecord> = records
                .iter()
                .filter(|r| r.server == *server)
                .cloned()
                .collect();
            let p = dir.path().join(format!("{server}.json"));
            ResultJson::from_results(&one_run(&shard))
                .write(&p)
                .unwrap();
            paths.push(p);
        }
        let refs: Vec<&Path> = paths.iter().map(|p| p.as_path()).collect();
        merge_shards(&refs, &[]).unwrap()
    }

    fn without_times(mut j: ResultJson) -> ResultJson {
        j.start_time = 0.0;
        j.end_time = 0.0;
        j
    }

    #[test]
    fn shards_per_server_merge_into_the_result_of_one_run() {
        let records = real_run();
        let full = one_run(&records);
        assert!(full.servers.len() >= 2);
        let servers: Vec<&str> = full.servers.iter().map(String::as_str).collect();
        let (merged, _) = merged_per_server(&records, &servers);
        assert_eq!(
            without_times(merged),
            without_times(ResultJson::from_results(&full))
        );
    }

    #[test]
    fn the_client_rule_is_applied_across_shards() {
        use crate::outcome::Outcome;
        use crate::report::tests::record;
        let recs = [
            record("quic-go", "aioquic", "retry", Outcome::Failed),
            record("ngtcp2", "aioquic", "retry", Outcome::Failed),
            record("quic-go", "quinn", "retry", Outcome::Succeeded),
            record("ngtcp2", "quinn", "retry", Outcome::Succeeded),
        ];
        let (merged, notes) = merged_per_server(&recs, &["quic-go", "ngtcp2"]);
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert_eq!(
            without_times(merged),
            without_times(ResultJson::from_results(&one_run(&recs)))
        );
    }
}
