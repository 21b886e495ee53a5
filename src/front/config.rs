//! Run options shared by the command line and the cargo-test harness, and
//! the harness's environment variables (its only way to take options beyond
//! cargo's own filter).

use std::ffi::OsString;
use std::path::PathBuf;

use crate::catalog::registry::Registry;
use crate::catalog::testcases::Protocol;
use crate::front::reports::ReportOptions;
use crate::front::values::{env_switch, env_text};
use crate::front::FrontError;
use crate::plan::{parse_replace, split_list, Plan, PlanError, Selection, TestFilter};

/// Environment variables of the harness; each mirrors a command-line flag.
pub const ENV_VARS: &[(&str, &str)] = &[
    (
        "INTEROP_PROTOCOL",
        "-p: quic, webtransport or all (harness default: all)",
    ),
    ("INTEROP_SERVERS", "-s: servers, comma-separated"),
    ("INTEROP_CLIENTS", "-c: clients, comma-separated"),
    (
        "INTEROP_TESTS",
        "-t: tests/measurements, comma-separated, or onlyTests / onlyMeasurements",
    ),
    ("INTEROP_REPLACE", "-r: name=image,name=image"),
    (
        "INTEROP_LOG_DIR",
        "-l: log directory (default logs_<timestamp>)",
    ),
    (
        "INTEROP_SAVE_FILES",
        "-f: 1/true/yes/on to keep www and download dirs of failed trials (0/false/no/off or empty: off)",
    ),
    ("INTEROP_JSON", "-j: write result.json here"),
    ("INTEROP_MARKDOWN", "-m: 1/true/yes/on to print the matrix as Markdown"),
    (
        "INTEROP_MUST_INCLUDE",
        "-i: implementation that must be part of every pair",
    ),
    (
        "INTEROP_NO_AUTO_UNSUPPORTED",
        "-n: implementations exempt from auto-unsupported",
    ),
    (
        "INTEROP_DEBUG",
        "-d: 1/true/yes/on for debug output in output.txt and on stderr",
    ),
    ("INTEROP_JUNIT", "--junit: write a JUnit XML report here"),
    ("INTEROP_HTML", "--html: write the HTML report here"),
    (
        "INTEROP_EXPECT",
        "--expect: expected outcomes (a result.json); fail only where worse",
    ),
    (
        "INTEROP_RETRIES",
        "--retries: run a failed trial again up to N times",
    ),
    ("INTEROP_IMPLEMENTATIONS_QUIC", "another QUIC registry file"),
    (
        "INTEROP_IMPLEMENTATIONS_WEBTRANSPORT",
        "another WebTransport registry file",
    ),
];

/// Options that affect how trials run and what is written, not what runs.
#[derive(Debug, Clone, Default)]
pub struct OutputOptions {
    pub log_dir: PathBuf,
    pub save_files: bool,
    pub json: Option<PathBuf>,
    pub markdown: bool,
    pub debug: bool,
    /// JUnit, HTML, expectations, retries (`front::reports`).
    pub reports: ReportOptions,
}

/// `logs_<local time>`, the reference's default log directory name.
pub fn default_log_dir() -> PathBuf {
    let now = time::OffsetDateTime::now_local().unwrap_or_else(|_| time::OffsetDateTime::now_utc());
    PathBuf::from(format!(
        "logs_{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        now.year(),
        now.month() as u8,
        now.day(),
        now.hour(),
        now.minute(),
        now.second()
    ))
}

/// Under cargo-nextest every trial is its own process: they share one
/// log directory named after the nextest run, not one per second.
fn nextest_log_dir(get: &impl Fn(&str) -> Option<String>) -> Option<PathBuf> {
    let id = get("NEXTEST_RUN_ID").filter(|s| !s.is_empty())?;
    Some(PathBuf::from(format!("logs_nextest_{id}")))
}

/// Loads a protocol's registry: `path` if given, else the embedded one.
pub fn load_registry(
    protocol: Protocol,
    path: Option<&std::path::Path>,
) -> Result<Registry, FrontError> {
    match path {
        Some(p) => Ok(Registry::load(p)?),
        None => Ok(Registry::embedded(protocol)),
    }
}

/// Reads the harness configuration through `get_os` (the process
/// environment in real use). Every variable is read, even one not needed,
/// so a value that is not UTF-8 is always reported.
pub fn harness_from_env(
    get_os: impl Fn(&str) -> Option<OsString>,
) -> Result<(Vec<Plan>, OutputOptions), FrontError> {
    let mut vars = std::collections::HashMap::new();
    let names = ENV_VARS.iter().map(|(n, _)| *n).chain(["NEXTEST_RUN_ID"]);
    for name in names {
        vars.insert(name, env_text(name, get_os(name))?);
    }
    let get = |k: &str| vars.get(k).cloned().flatten();
    let protocols =
        match get("INTEROP_PROTOCOL").as_deref().map(str::trim) {
            None | Some("") | Some("all") => vec![Protocol::Quic, Protocol::WebTransport],
            Some(p) => vec![Protocol::parse(p)
                .ok_or_else(|| FrontError::UnknownProtocolVariable(p.to_string()))?],
        };
    let list = |k: &str| get(k).map(|v| split_list(&v));
    let sel = Selection {
        servers: list("INTEROP_SERVERS"),
        clients: list("INTEROP_CLIENTS"),
        tests: TestFilter::parse(get("INTEROP_TESTS").as_deref()),
        replace: match get("INTEROP_REPLACE") {
            Some(r) => parse_replace(&r).map_err(FrontError::Replace)?,
            None => Vec::new(),
        },
        must_include: get("INTEROP_MUST_INCLUDE").filter(|s| !s.is_empty()),
        no_auto_unsupported: list("INTEROP_NO_AUTO_UNSUPPORTED"),
    };
    let mut registries = Vec::new();
    for p in &protocols {
        let var = match p {
            Protocol::Quic => "INTEROP_IMPLEMENTATIONS_QUIC",
            Protocol::WebTransport => "INTEROP_IMPLEMENTATIONS_WEBTRANSPORT",
        };
        let path = get(var).map(PathBuf::from);
        registries.push((*p, load_registry(*p, path.as_deref())?));
    }
    let plans = plans_for(&registries, &sel)?;
    crate::plan::require_trials(&plans)?;
    let output = OutputOptions {
        log_dir: get("INTEROP_LOG_DIR")
            .filter(|s| !s.is_empty())
            .map(PathBuf::from)
            .or_else(|| nextest_log_dir(&get))
            .unwrap_or_else(default_log_dir),
        save_files: env_switch("INTEROP_SAVE_FILES", get("INTEROP_SAVE_FILES"))?,
        json: get("INTEROP_JSON")
            .filter(|s| !s.is_empty())
            .map(PathBuf::from),
        markdown: env_switch("INTEROP_MARKDOWN", get("INTEROP_MARKDOWN"))?,
        debug: env_switch("INTEROP_DEBUG", get("INTEROP_DEBUG"))?,
        reports: ReportOptions::from_env(get)?,
    };
    Ok((plans, output))
}

/// One plan per protocol. With a single protocol every name must exist in
/// it; with several, a name must exist in at least one, and each protocol
/// keeps the names it knows (a protocol left with none of the named servers
/// or clients is skipped).
pub fn plans_for(
    registries: &[(Protocol, Registry)],
    sel: &Selection,
) -> Result<Vec<Plan>, PlanError> {
    if let [(p, reg)] = registries {
        return Ok(vec![Plan::new(*p, reg.clone(), sel)?]);
    }
    let known = |n: &String| registries.iter().any(|(_, r)| r.get(n).is_some());
    let all_names = || {
        let mut v: Vec<&str> = registries.iter().flat_map(|(_, r)| r.names()).collect();
        v.dedup();
        v.join(", ")
    };
    let named = sel
        .servers
        .iter()
        .flatten()
        .chain(sel.clients.iter().flatten())
        .chain(&sel.must_include);
    for n in named.chain(sel.replace.iter().map(|(n, _)| n)) {
        if !known(n) {
            return Err(PlanError(format!(
                "implementation \"{n}\" not found; available: {}",
                all_names()
            )));
        }
    }
    let mut plans = Vec::new();
    for (p, reg) in registries {
        let keep = |names: &Option<Vec<String>>, role_ok: &dyn Fn(&str) -> bool| {
            names
                .as_ref()
                .map(|v| v.iter().filter(|n| role_ok(n)).cloned().collect::<Vec<_>>())
        };
        let is_server = |n: &str| reg.get(n).is_some_and(|i| i.role.is_server());
        let is_client = |n: &str| reg.get(n).is_some_and(|i| i.role.is_client());
        let local = Selection {
            servers: keep(&sel.servers, &is_server),
            clients: keep(&sel.clients, &is_client),
            tests: sel.tests.clone(),
            replace: sel
                .replace
                .iter()
                .filter(|(n, _)| reg.get(n).is_some())
                .cloned()
                .collect(),
            must_include: sel.must_include.clone().filter(|n| reg.get(n).is_some()),
            no_auto_unsupported: sel
                .no_auto_unsupported
                .as_ref()
                .map(|v| v.iter().filter(|n| reg.get(n).is_some()).cloned().collect()),
        };
        let emptied = |given: &Option<Vec<String>>, kept: &Option<Vec<String>>| {
            given.is_some() && kept.as_ref().is_some_and(Vec::is_empty)
        };
        let skip = emptied(&sel.servers, &local.servers)
            || emptied(&sel.clients, &local.clients)
            || (sel.must_include.is_some() && local.must_include.is_none());
        if skip {
            continue;
        }
        // Test names are per protocol: a name unknown here may be the other's.
        let tests_ok = match &sel.tests {
            TestFilter::Named(names) => {
                let here: Vec<String> = names
                    .iter()
                    .filter(|n| crate::catalog::testcases::find(*p, n).is_some())
                    .cloned()
                    .collect();
                if here.is_empty() {
                    continue;
                }
                TestFilter::Named(here)
            }
            other => other.clone(),
        };
        plans.push(Plan::new(
            *p,
            reg.clone(),
            &Selection {
                tests: tests_ok,
                ..local
            },
        )?);
    }
    if let TestFilter::Named(names) = &sel.tests {
        for n in names {
            if !registries
                .iter()
                .any(|(p, _)| crate::catalog::testcases::find(*p, n).is_some())
            {
                return Err(PlanError(format!(
                    "test case \"{n}\" not found in any protocol"
                )));
            }
        }
    }
    Ok(plans)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<OsString> {
        let map: HashMap<String, OsString> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), OsString::from(v)))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn default_harness_lists_every_trial_of_both_protocols() {
        let (plans, out) = harness_from_env(env(&[])).unwrap();
        let counts: Vec<usize> = plans.iter().map(|p| p.trials().len()).collect();
        let expected: Vec<usize> = [Protocol::Quic, Protocol::WebTransport]
            .into_iter()
            .map(|p: Protocol| {
                let registry = Registry::embedded(p);
                let cases = crate::catalog::testcases::tests(p)
                    .iter()
                    .filter(|t| t.default)
                    .count()
                    + crate::catalog::testcases::default_measurements(p).len();
                registry.servers().len() * registry.clients().len() * cases
            })
            .collect();
        assert_eq!(counts, expected);
        assert!(out.log_dir.to_string_lossy().starts_with("logs_"));
        assert!(!out.save_files && out.json.is_none());
    }

    #[test]
    fn switch_variables_take_only_documented_values() {
        for var in ["INTEROP_MARKDOWN", "INTEROP_SAVE_FILES", "INTEROP_DEBUG"] {
            let err = harness_from_env(env(&[(var, "nope")]))
                .unwrap_err()
                .to_string();
            assert!(err.contains(var) && err.contains("yes/no"), "{err}");
        }
    }

    #[test]
    fn a_non_utf8_variable_is_an_error_not_everything() {
        use std::os::unix::ffi::OsStringExt;
        let get = |k: &str| (k == "INTEROP_SERVERS").then(|| OsString::from_vec(vec![b'q', 0xff]));
        let err = harness_from_env(get).unwrap_err().to_string();
        assert!(
            err.contains("INTEROP_SERVERS") && err.contains("UTF-8"),
            "{err}"
        );
    }

    #[test]
    fn a_harness_selection_that_runs_nothing_is_an_error() {
        for vars in [
            &[("INTEROP_SERVERS", "")][..],
            &[("INTEROP_CLIENTS", "nginx")][..],
            &[("INTEROP_TESTS", ",")][..],
        ] {
            let err = harness_from_env(env(vars)).unwrap_err().to_string();
            assert!(
                err.starts_with("the selection runs no trial: "),
                "{vars:?}: {err}"
            );
        }
    }

    #[test]
    fn names_known_to_one_protocol_select_only_there() {
        let (plans, _) = harness_from_env(env(&[
            ("INTEROP_SERVERS", "quic-go"),
            ("INTEROP_CLIENTS", "aioquic,chrome"),
        ]))
        .unwrap();
        assert_eq!(plans.len(), 1);
        assert_eq!(plans[0].protocol, Protocol::Quic);
        assert_eq!(plans[0].pairs.len(), 2);

        let (plans, _) = harness_from_env(env(&[
            ("INTEROP_SERVERS", "ngtcp2"),
            ("INTEROP_CLIENTS", "chrome"),
        ]))
        .unwrap();
        assert_eq!(plans.len(), 2, "ngtcp2 and chrome exist in both registries");
        assert!(plans[1]
            .trials()
            .iter()
            .any(|t| t.name() == "webtransport::ngtcp2_chrome_handshake"));
    }

    #[test]
    fn selection_errors_are_clear() {
        let err = harness_from_env(env(&[("INTEROP_SERVERS", "nosuch")]))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("\"nosuch\" not found") && err.contains("quic-go"),
            "{err}"
        );
        let err = harness_from_env(env(&[("INTEROP_PROTOCOL", "tcp")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("INTEROP_PROTOCOL"), "{err}");
        let err = harness_from_env(env(&[("INTEROP_TESTS", "handshake,bogus")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("bogus"), "{err}");
        let err = harness_from_env(env(&[
            ("INTEROP_PROTOCOL", "quic"),
            ("INTEROP_SERVERS", "webtransport-go"),
        ]))
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("server implementation \"webtransport-go\" not found"),
            "{err}"
        );
    }

    #[test]
    fn tests_named_for_one_protocol_keep_the_other_out() {
        let (plans, _) = harness_from_env(env(&[("INTEROP_TESTS", "zerortt")])).unwrap();
        assert_eq!(plans.len(), 1);
        let (plans, _) = harness_from_env(env(&[(
            "INTEROP_TESTS",
            "transfer-datagram-send,handshake",
        )]))
        .unwrap();
        assert_eq!(plans.len(), 2);
        assert_eq!(plans[1].tests.len(), 2);
    }

    #[test]
    fn output_options_from_env() {
        let (_, out) = harness_from_env(env(&[
            ("INTEROP_LOG_DIR", "/tmp/x"),
            ("INTEROP_SAVE_FILES", "1"),
            ("INTEROP_JSON", "r.json"),
            ("INTEROP_MARKDOWN", "yes"),
            ("INTEROP_DEBUG", "0"),
        ]))
        .unwrap();
        assert_eq!(out.log_dir, PathBuf::from("/tmp/x"));
        assert!(out.save_files && out.markdown && !out.debug);
        assert_eq!(out.json, Some(PathBuf::from("r.json")));
    }

    #[test]
    fn bad_registry_file_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("impls.json");
        std::fs::write(&p, "{\"x\": {\"image\": 1}}").unwrap();
        let err = harness_from_env(env(&[(
            "INTEROP_IMPLEMENTATIONS_QUIC",
            p.to_str().unwrap(),
        )]))
        .unwrap_err()
        .to_string();
        assert!(err.contains("impls.json:1:"), "{err}");
    }
}
