//! Results from a run's plans and records. The live run and `report LOGDIR`
//! both build their matrix and result.json here, from the same inputs (the
//! plans the run file keeps and every record), so both print the same.

use std::collections::HashSet;

use super::{Results, TestInfo};
use crate::catalog::testcases::{self, Protocol};
use crate::outcome::run::PlannedRun;
use crate::outcome::TrialRecord;

/// Run-wide facts that the records alone do not carry.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RunSpan<'a> {
    pub log_dir: &'a str,
    pub start_time: f64,
    pub end_time: f64,
}

/// One table per protocol that has records, in the plans' order, with the
/// auto-unsupported rule applied; plus one note per cell it changed.
pub fn results_of_plans(
    plans: &[PlannedRun],
    records: &[TrialRecord],
    span: RunSpan,
) -> (Vec<Results>, Vec<String>) {
    let mut out = Vec::new();
    let mut notes = Vec::new();
    let mut protocols: Vec<Protocol> = Vec::new();
    for p in plans {
        if !protocols.contains(&p.protocol) {
            protocols.push(p.protocol);
        }
    }
    for protocol in protocols {
        let mine: Vec<&PlannedRun> = plans.iter().filter(|p| p.protocol == protocol).collect();
        let mut r = empty_table(protocol, &mine, span);
        for rec in records.iter().filter(|rec| rec.protocol == protocol) {
            r.insert(rec);
        }
        r.retain_present();
        if r.entries.is_empty() {
            continue;
        }
        let exempt: Vec<String> = union(mine.iter().map(|p| &p.no_auto_unsupported));
        notes.extend(r.apply_auto_unsupported(&exempt));
        out.push(r);
    }
    (out, notes)
}

/// The union of several plans of one protocol (shards of one run that
/// shared a log directory), first appearance first.
pub(crate) fn empty_table(protocol: Protocol, plans: &[&PlannedRun], span: RunSpan) -> Results {
    let tests = |pick: fn(&PlannedRun) -> &Vec<String>| -> Vec<TestInfo> {
        union(plans.iter().map(|p| pick(p)))
            .into_iter()
            .map(|name| match testcases::find(protocol, &name) {
                Some(t) => TestInfo::from(t),
                None => TestInfo {
                    abbr: name.clone(),
                    name,
                    desc: String::new(),
                },
            })
            .collect()
    };
    let mut seen_pairs = HashSet::new();
    let pairs = plans
        .iter()
        .flat_map(|p| p.pairs.iter())
        .filter(|pair| seen_pairs.insert((*pair).clone()))
        .cloned()
        .collect();
    let mut seen_urls = HashSet::new();
    let urls = plans
        .iter()
        .flat_map(|p| p.urls.iter())
        .filter(|(n, _)| seen_urls.insert(n.clone()))
        .cloned()
        .collect();
    Results {
        protocol,
        servers: union(plans.iter().map(|p| &p.servers)),
        clients: union(plans.iter().map(|p| &p.clients)),
        pairs,
        tests: tests(|p| &p.tests),
        measurements: tests(|p| &p.measurements),
        urls,
        start_time: span.start_time,
        end_time: span.end_time,
        log_dir: span.log_dir.to_string(),
        entries: Default::default(),
    }
}

fn union<'a>(lists: impl Iterator<Item = &'a Vec<String>>) -> Vec<String> {
    let mut seen = HashSet::new();
    lists
        .flatten()
        .filter(|n| seen.insert(n.as_str()))
        .cloned()
        .collect()
}
