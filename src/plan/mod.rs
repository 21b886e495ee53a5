//! Selection and planning: which servers, clients and tests a run covers,
//! and the trials (one per server × client × test) that follow from it.
//!
//! Stage 2. Input: the catalog and the user's selection (flags or
//! `INTEROP_*`). Output: [`Trial`]s, each naming a server, a client, a test
//! case and its log directory; nothing is run here.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::catalog::registry::{Implementation, Registry};
use crate::catalog::testcases::{self, Protocol, TestCase};

/// Which tests the user asked for (`-t`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum TestFilter {
    /// Not given: the default tests and all measurements.
    #[default]
    Default,
    OnlyTests,
    OnlyMeasurements,
    /// An explicitly empty list: nothing.
    Nothing,
    Named(Vec<String>),
}

impl TestFilter {
    /// Parses the `-t` value.
    pub fn parse(arg: Option<&str>) -> TestFilter {
        match arg {
            None => TestFilter::Default,
            Some("onlyTests") => TestFilter::OnlyTests,
            Some("onlyMeasurements") => TestFilter::OnlyMeasurements,
            Some("") => TestFilter::Nothing,
            Some(list) => TestFilter::Named(split_list(list)),
        }
    }
}

/// What the user selected, before it is checked against the catalog.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    pub servers: Option<Vec<String>>,
    pub clients: Option<Vec<String>>,
    pub tests: TestFilter,
    /// `name=image` replacements (`-r`).
    pub replace: Vec<(String, String)>,
    /// An implementation that must be part of every pair (`-i`).
    pub must_include: Option<String>,
    /// Names exempt from auto-unsupported (`-n`); `None` means the default
    /// (the sole server or client of a run).
    pub no_auto_unsupported: Option<Vec<String>>,
}

/// A selection that names something that does not exist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanError(pub String);

impl fmt::Display for PlanError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for PlanError {}

/// Splits a comma-separated list, dropping empty items and spaces.
pub fn split_list(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(str::to_string)
        .collect()
}

/// Parses `name=image,name=image`.
pub fn parse_replace(s: &str) -> Result<Vec<(String, String)>, PlanError> {
    split_list(s)
        .into_iter()
        .map(|item| match item.split_once('=') {
            Some((n, i)) if !n.is_empty() && !i.is_empty() && !i.contains('=') => {
                Ok((n.to_string(), i.to_string()))
            }
            _ => Err(PlanError(format!(
                "invalid replacement \"{item}\": expected name=image"
            ))),
        })
        .collect()
}

/// One trial: a server, a client and a test.
#[derive(Debug, Clone)]
pub struct Trial {
    pub protocol: Protocol,
    /// Shared by every trial of the implementation: a plan can hold
    /// hundreds of thousands of trials.
    pub server: Arc<Implementation>,
    pub client: Arc<Implementation>,
    pub test: &'static TestCase,
}

impl Trial {
    /// The trial's name as cargo shows it: `<server>_<client>_<test>` for
    /// QUIC, `webtransport::<server>_<client>_<test>` for WebTransport (so
    /// both suites can share one list and a filter like `quic-go_` still
    /// selects an implementation's trials in both).
    pub fn name(&self) -> String {
        trial_name(
            self.protocol,
            &self.server.name,
            &self.client.name,
            self.test.name,
        )
    }

    /// `<server>_<client>/<test>`, relative to the protocol's log root.
    pub fn log_subdir(&self) -> PathBuf {
        Path::new(&format!("{}_{}", self.server.name, self.client.name)).join(self.test.name)
    }
}

pub fn trial_name(protocol: Protocol, server: &str, client: &str, test: &str) -> String {
    match protocol {
        Protocol::Quic => format!("{server}_{client}_{test}"),
        Protocol::WebTransport => format!("webtransport::{server}_{client}_{test}"),
    }
}

/// A checked selection for one protocol.
#[derive(Debug, Clone)]
pub struct Plan {
    pub protocol: Protocol,
    pub registry: Registry,
    pub servers: Vec<String>,
    pub clients: Vec<String>,
    /// (server, client) pairs, client-major like the reference.
    pub pairs: Vec<(String, String)>,
    pub tests: Vec<&'static TestCase>,
    pub measurements: Vec<&'static TestCase>,
    pub no_auto_unsupported: HashSet<String>,
}

/// The most trials one process plans: far beyond any real matrix (the
/// public one has about 8,000), well below what exhausts memory.
pub const MAX_TRIALS: u64 = 2_000_000;

/// A selection that runs no trial is an error that says why: in CI an empty
/// run would otherwise end green having tested nothing. One that would
/// make more trials than a process can hold is refused before any is made.
pub fn require_trials(plans: &[Plan]) -> Result<(), PlanError> {
    let total: u64 = plans.iter().map(Plan::trial_count).sum();
    if total > MAX_TRIALS {
        return Err(PlanError(format!(
            "the selection makes {total} trials, more than the {MAX_TRIALS} one run can plan; select fewer servers, clients or tests"
        )));
    }
    if plans.iter().any(|p| !p.is_empty()) {
        return Ok(());
    }
    let mut reasons: Vec<&str> = plans.iter().map(Plan::why_empty).collect();
    reasons.dedup();
    Err(PlanError(format!(
        "the selection runs no trial: {}",
        reasons.join("; ")
    )))
}

impl Plan {
    /// How many trials the plan makes, without building them.
    pub fn trial_count(&self) -> u64 {
        self.pairs.len() as u64 * (self.tests.len() + self.measurements.len()) as u64
    }

    /// Whether the plan has no trial, without building its trials.
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty() || (self.tests.is_empty() && self.measurements.is_empty())
    }

    fn why_empty(&self) -> &'static str {
        if self.servers.is_empty() {
            "no server is selected (-s / INTEROP_SERVERS names none that can serve)"
        } else if self.clients.is_empty() {
            "no client is selected (-c / INTEROP_CLIENTS names none that can be a client)"
        } else if self.tests.is_empty() && self.measurements.is_empty() {
            "no test case is selected (-t / INTEROP_TESTS)"
        } else {
            "no selected server and client pair includes the implementation named with -i / INTEROP_MUST_INCLUDE"
        }
    }

    pub fn new(
        protocol: Protocol,
        mut registry: Registry,
        sel: &Selection,
    ) -> Result<Plan, PlanError> {
        apply_replacements(&mut registry, &sel.replace)?;
        let servers = pick(&registry, sel.servers.as_deref(), "server", |i| {
            i.role.is_server()
        })?;
        let clients = pick(&registry, sel.clients.as_deref(), "client", |i| {
            i.role.is_client()
        })?;
        if let Some(m) = &sel.must_include {
            if registry.get(m).is_none() {
                return Err(PlanError(format!(
                    "implementation \"{m}\" (-i) not found; available: {}",
                    registry.names().join(", ")
                )));
            }
        }
        let (tests, measurements) = pick_tests(protocol, &sel.tests)?;
        let pairs = clients
            .iter()
            .flat_map(|c| servers.iter().map(move |s| (s.clone(), c.clone())))
            .filter(|(s, c)| match &sel.must_include {
                Some(m) => s == m || c == m,
                None => true,
            })
            .collect();
        let no_auto_unsupported = match &sel.no_auto_unsupported {
            Some(names) => check_names(&registry, names, "-n")?.into_iter().collect(),
            None => default_exemptions(&servers, &clients).into_iter().collect(),
        };
        Ok(Plan {
            protocol,
            registry,
            servers,
            clients,
            pairs,
            tests,
            measurements,
            no_auto_unsupported,
        })
    }

    /// Every trial: the tests pair by pair (client-major), then the
    /// measurements pair by pair.
    pub fn trials(&self) -> Vec<Trial> {
        // Every name in servers/clients was checked against the registry.
        let shared: HashMap<&str, Arc<Implementation>> = self
            .servers
            .iter()
            .chain(&self.clients)
            .filter_map(|n| Some((n.as_str(), Arc::new(self.registry.get(n)?.clone()))))
            .collect();
        let mut out = Vec::with_capacity(self.trial_count().min(MAX_TRIALS) as usize);
        // Measurements come after every test: each runs alone, so one met
        // early would idle the other threads while it waits for the machine.
        // Tests go longest first, every pair of one test before the next,
        // so that threads are packed: a long trial met last would run on
        // alone while the other threads idle.
        for tests in [longest_first(&self.tests), self.measurements.clone()] {
            for test in tests {
                for (s, c) in &self.pairs {
                    let (Some(server), Some(client)) =
                        (shared.get(s.as_str()), shared.get(c.as_str()))
                    else {
                        continue;
                    };
                    out.push(Trial {
                        protocol: self.protocol,
                        server: Arc::clone(server),
                        client: Arc::clone(client),
                        test,
                    });
                }
            }
        }
        out
    }
}

/// Tests by how long a trial of them may take, longest first: the timeout
/// (the loss tests may take 300 s), then the bytes to move; ties keep the
/// catalog's order.
fn longest_first(tests: &[&'static TestCase]) -> Vec<&'static TestCase> {
    let mut sorted = tests.to_vec();
    sorted.sort_by_key(|t| {
        let bytes: u64 = t.file_sizes().iter().sum();
        std::cmp::Reverse((t.timeout, bytes))
    });
    sorted
}

/// The reference's default for auto-unsupported: the sole server or the
/// sole client of a run is exempt (it has no peer to be compared with).
pub fn default_exemptions(servers: &[String], clients: &[String]) -> Vec<String> {
    [servers, clients]
        .into_iter()
        .filter(|list| list.len() == 1)
        .map(|list| list[0].clone())
        .collect()
}

fn apply_replacements(
    registry: &mut Registry,
    replace: &[(String, String)],
) -> Result<(), PlanError> {
    for (name, image) in replace {
        let names = registry.names().join(", ");
        let imp = registry
            .implementations
            .iter_mut()
            .find(|i| i.name == *name)
            .ok_or_else(|| {
                PlanError(format!(
                    "cannot replace \"{name}\": no such implementation; available: {names}"
                ))
            })?;
        imp.image = image.clone();
        // A replaced image is what the user wants to test; don't build ours.
        imp.build = None;
    }
    Ok(())
}

fn pick(
    registry: &Registry,
    wanted: Option<&[String]>,
    role: &str,
    has_role: impl Fn(&Implementation) -> bool,
) -> Result<Vec<String>, PlanError> {
    let available: Vec<&str> = registry
        .implementations
        .iter()
        .filter(|i| has_role(i))
        .map(|i| i.name.as_str())
        .collect();
    let Some(wanted) = wanted else {
        return Ok(available.iter().map(|s| s.to_string()).collect());
    };
    let known: HashSet<&str> = available.iter().copied().collect();
    let mut seen: HashSet<&str> = HashSet::new();
    let mut out: Vec<String> = Vec::new();
    for name in wanted {
        if !known.contains(name.as_str()) {
            return Err(PlanError(format!(
                "{role} implementation \"{name}\" not found; available {role}s: {}",
                available.join(", ")
            )));
        }
        if seen.insert(name.as_str()) {
            out.push(name.clone());
        }
    }
    Ok(out)
}

fn check_names(
    registry: &Registry,
    names: &[String],
    flag: &str,
) -> Result<Vec<String>, PlanError> {
    for n in names {
        if registry.get(n).is_none() {
            return Err(PlanError(format!(
                "implementation \"{n}\" ({flag}) not found; available: {}",
                registry.names().join(", ")
            )));
        }
    }
    Ok(names.to_vec())
}

type TestLists = (Vec<&'static TestCase>, Vec<&'static TestCase>);

fn pick_tests(protocol: Protocol, filter: &TestFilter) -> Result<TestLists, PlanError> {
    let defaults = testcases::defaults(protocol);
    let measurements = testcases::default_measurements(protocol);
    Ok(match filter {
        TestFilter::Default => (defaults, measurements),
        TestFilter::OnlyTests => (defaults, Vec::new()),
        TestFilter::OnlyMeasurements => (Vec::new(), measurements),
        TestFilter::Nothing => (Vec::new(), Vec::new()),
        TestFilter::Named(names) => {
            let mut tests = Vec::new();
            let mut measurements = Vec::new();
            for name in names {
                let tc =
                    testcases::find(protocol, name).ok_or_else(|| unknown_test(protocol, name))?;
                let list = if tc.is_measurement() {
                    &mut measurements
                } else {
                    &mut tests
                };
                if !list.iter().any(|t: &&TestCase| t.name == tc.name) {
                    list.push(tc);
                }
            }
            (tests, measurements)
        }
    })
}

fn unknown_test(protocol: Protocol, name: &str) -> PlanError {
    let tests: Vec<&str> = testcases::tests(protocol).iter().map(|t| t.name).collect();
    let ms: Vec<&str> = testcases::measurements(protocol)
        .iter()
        .map(|t| t.name)
        .collect();
    let mut msg = format!(
        "{protocol} test case \"{name}\" not found; available test cases: {}",
        tests.join(", ")
    );
    if !ms.is_empty() {
        msg.push_str(&format!("; measurements: {}", ms.join(", ")));
    }
    PlanError(msg)
}

#[cfg(test)]
mod tests;
