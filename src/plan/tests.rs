//! Selections against the embedded registries and the catalog.

use super::*;
use crate::catalog::testcases::WEBTRANSPORT_TESTS;

fn quic() -> Registry {
    Registry::embedded(Protocol::Quic)
}

fn names(v: &[&TestCase]) -> Vec<&'static str> {
    v.iter().map(|t| t.name).collect()
}

#[test]
fn full_quic_matrix_has_every_pair_and_test() {
    let registry = quic();
    let (servers, clients) = (registry.servers().len(), registry.clients().len());
    let plan = Plan::new(Protocol::Quic, registry, &Selection::default()).unwrap();
    assert_eq!(plan.pairs.len(), servers * clients);
    assert_eq!(
        names(&plan.tests),
        names(&testcases::defaults(Protocol::Quic))
    );
    // goodput and crosstraffic; the faster goodputs only when named.
    assert_eq!(names(&plan.measurements), vec!["goodput", "crosstraffic"]);
    let trials = plan.trials();
    assert_eq!(
        trials.len(),
        servers * clients * testcases::default_count(Protocol::Quic)
    );
    assert!(trials
        .iter()
        .all(|t| t.server.role.is_server() && t.client.role.is_client()));
    assert!(!trials
        .iter()
        .any(|t| t.client.name == "nginx" || t.server.name == "chrome"));
    let unique: HashSet<String> = trials.iter().map(Trial::name).collect();
    assert_eq!(unique.len(), trials.len());
    // Longest first: the loss tests that may take 300 s, every pair of one
    // before the next; the handshake-sized tests last; measurements after all.
    assert_eq!(trials[0].name(), "quic-go_quic-go_handshakeloss");
    assert_eq!(trials[1].name(), "ngtcp2_quic-go_handshakeloss");
    let order: Vec<&str> = trials.iter().map(|t| t.test.name).collect();
    let first = |name: &str| order.iter().position(|n| *n == name).unwrap();
    assert!(first("handshakecorruption") < first("transfer"));
    assert!(first("transfer") < first("chacha20"));
    assert!(first("chacha20") < first("handshake"));
    let last_test = order
        .iter()
        .rposition(|n| !["goodput", "crosstraffic"].contains(n));
    assert!(last_test.unwrap() < first("goodput"));
    // client-major: the second pair keeps the client and moves the server.
    assert_eq!(plan.pairs[1], ("ngtcp2".to_string(), "quic-go".to_string()));
}

#[test]
fn webtransport_names_are_prefixed() {
    let registry = Registry::embedded(Protocol::WebTransport);
    let pairs = registry.servers().len() * registry.clients().len();
    let plan = Plan::new(Protocol::WebTransport, registry, &Selection::default()).unwrap();
    let trials = plan.trials();
    assert_eq!(trials.len(), pairs * WEBTRANSPORT_TESTS.len());
    assert!(trials
        .iter()
        .any(|t| t.name() == "webtransport::ngtcp2_chrome_transfer-datagram-send"));
}

#[test]
fn unknown_server_lists_the_available_ones() {
    let sel = Selection {
        servers: Some(vec!["nosuch".into()]),
        ..Default::default()
    };
    let err = Plan::new(Protocol::Quic, quic(), &sel).unwrap_err();
    assert!(
        err.0.contains("server implementation \"nosuch\" not found"),
        "{err}"
    );
    assert!(
        err.0.contains("nginx") && !err.0.contains("chrome"),
        "{err}"
    );
}

#[test]
fn a_client_only_implementation_is_not_a_server() {
    let sel = Selection {
        servers: Some(vec!["chrome".into()]),
        ..Default::default()
    };
    assert!(Plan::new(Protocol::Quic, quic(), &sel).is_err());
}

#[test]
fn unknown_test_lists_tests_and_measurements() {
    let sel = Selection {
        tests: TestFilter::parse(Some("handshake,nosuch")),
        ..Default::default()
    };
    let err = Plan::new(Protocol::Quic, quic(), &sel).unwrap_err();
    assert!(err.0.contains("\"nosuch\" not found"), "{err}");
    assert!(
        err.0.contains("zerortt") && err.0.contains("measurements: goodput, crosstraffic"),
        "{err}"
    );
}

#[test]
fn test_filters() {
    let plan = |t: Option<&str>| {
        let sel = Selection {
            tests: TestFilter::parse(t),
            ..Default::default()
        };
        Plan::new(Protocol::Quic, quic(), &sel).unwrap()
    };
    let p = plan(Some("goodput,handshake,versionnegotiation,handshake"));
    assert_eq!(names(&p.tests), vec!["handshake", "versionnegotiation"]);
    assert_eq!(names(&p.measurements), vec!["goodput"]);
    let p = plan(Some("onlyTests"));
    let defaults = testcases::defaults(Protocol::Quic).len();
    assert_eq!((p.tests.len(), p.measurements.len()), (defaults, 0));
    let p = plan(Some("onlyMeasurements"));
    assert_eq!(names(&p.measurements), vec!["goodput", "crosstraffic"]);
    assert!(p.tests.is_empty());
    let p = plan(Some("goodput-1g,goodput-100m"));
    assert_eq!(names(&p.measurements), vec!["goodput-1g", "goodput-100m"]);
    let p = plan(Some(""));
    assert_eq!((p.tests.len(), p.measurements.len()), (0, 0));
}

#[test]
fn must_include_keeps_only_pairs_with_it() {
    let sel = Selection {
        must_include: Some("aioquic".into()),
        ..Default::default()
    };
    let registry = quic();
    let (servers, clients) = (registry.servers().len(), registry.clients().len());
    let plan = Plan::new(Protocol::Quic, registry, &sel).unwrap();
    assert!(plan
        .pairs
        .iter()
        .all(|(s, c)| s == "aioquic" || c == "aioquic"));
    assert_eq!(plan.pairs.len(), servers + clients - 1);
}

#[test]
fn replace_changes_the_image_and_rejects_unknown_names() {
    let sel = Selection {
        replace: parse_replace("quic-go=my/quic-go:dev").unwrap(),
        ..Default::default()
    };
    let plan = Plan::new(Protocol::Quic, quic(), &sel).unwrap();
    assert_eq!(
        plan.registry.get("quic-go").unwrap().image,
        "my/quic-go:dev"
    );
    let sel = Selection {
        replace: vec![("nosuch".into(), "x".into())],
        ..Default::default()
    };
    assert!(Plan::new(Protocol::Quic, quic(), &sel)
        .unwrap_err()
        .0
        .contains("nosuch"));
    assert!(parse_replace("quic-go").is_err());
    assert!(parse_replace("a=b=c").is_err());
}

#[test]
fn sole_server_or_client_is_exempt_from_auto_unsupported() {
    let sel = Selection {
        servers: Some(vec!["quic-go".into()]),
        clients: Some(vec!["aioquic".into(), "ngtcp2".into()]),
        ..Default::default()
    };
    let plan = Plan::new(Protocol::Quic, quic(), &sel).unwrap();
    assert_eq!(
        plan.no_auto_unsupported,
        HashSet::from(["quic-go".to_string()])
    );
    let sel = Selection {
        no_auto_unsupported: Some(vec!["ngtcp2".into()]),
        ..sel
    };
    let plan = Plan::new(Protocol::Quic, quic(), &sel).unwrap();
    assert_eq!(
        plan.no_auto_unsupported,
        HashSet::from(["ngtcp2".to_string()])
    );
}

#[test]
fn log_subdir_follows_the_reference_layout() {
    let sel = Selection {
        servers: Some(vec!["quic-go".into()]),
        clients: Some(vec!["ngtcp2".into()]),
        tests: TestFilter::parse(Some("retry")),
        ..Default::default()
    };
    let t = &Plan::new(Protocol::Quic, quic(), &sel).unwrap().trials()[0];
    assert_eq!(t.log_subdir(), PathBuf::from("quic-go_ngtcp2/retry"));
}

fn selection(servers: Option<&str>, clients: Option<&str>, tests: Option<&str>) -> Selection {
    Selection {
        servers: servers.map(split_list),
        clients: clients.map(split_list),
        tests: TestFilter::parse(tests),
        ..Default::default()
    }
}

#[test]
fn a_selection_that_runs_nothing_says_why() {
    let empty = |sel: Selection| {
        let plan = Plan::new(Protocol::Quic, quic(), &sel).unwrap();
        require_trials(&[plan]).unwrap_err().to_string()
    };
    assert!(empty(selection(Some(""), None, None)).contains("no server is selected"));
    assert!(empty(selection(Some(","), None, None)).contains("no server is selected"));
    assert!(empty(selection(None, Some(""), None)).contains("no client is selected"));
    assert!(empty(selection(None, None, Some(""))).contains("no test case is selected"));
    let outside = Selection {
        must_include: Some("ngtcp2".into()),
        ..selection(Some("quic-go"), Some("aioquic"), None)
    };
    assert!(empty(outside).contains("-i / INTEROP_MUST_INCLUDE"));
    let some = Plan::new(
        Protocol::Quic,
        quic(),
        &selection(Some("quic-go"), None, None),
    )
    .unwrap();
    assert_eq!(some.is_empty(), some.trials().is_empty());
    assert!(require_trials(&[some]).is_ok());
}

#[test]
fn a_selection_too_large_to_plan_is_refused_before_any_trial_is_made() {
    let body: Vec<String> = (0..5000)
        .map(|i| {
            format!("\"i{i}\": {{\"image\": \"x/i{i}\", \"url\": \"https://e.org\", \"role\": \"both\"}}")
        })
        .collect();
    let registry = Registry::from_json(&format!("{{{}}}", body.join(",")), "big.json").unwrap();
    let plan = Plan::new(Protocol::Quic, registry, &Selection::default()).unwrap();
    assert_eq!(plan.trial_count(), 5000 * 5000 * 24);
    let err = require_trials(std::slice::from_ref(&plan))
        .unwrap_err()
        .to_string();
    assert!(err.contains("600000000 trials"), "{err}");
}

#[test]
fn trials_share_their_implementations() {
    let plan = Plan::new(Protocol::Quic, quic(), &Selection::default()).unwrap();
    let trials = plan.trials();
    assert_eq!(trials.len() as u64, plan.trial_count());
    let first = &trials[0];
    let same_server = trials
        .iter()
        .filter(|t| Arc::ptr_eq(&t.server, &first.server))
        .count();
    assert_eq!(
        same_server,
        plan.clients.len() * (plan.tests.len() + plan.measurements.len())
    );
}
