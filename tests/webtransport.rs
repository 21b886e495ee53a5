//! WebTransport on real endpoints: the aiopquic (picoquic) WebTransport
//! image in both roles, and the same image made to report a protocol it did
//! not negotiate, which the runner must catch and name.
//!
//! Ignored by default: it builds the aiopquic WebTransport image (trixie
//! base, a PyPI wheel) that no CI test needs otherwise. Run with
//! `cargo test --release --test webtransport -- --ignored`.

use std::sync::Arc;

use interop_runner::catalog::registry::{Implementation, Registry, Role};
use interop_runner::catalog::testcases::{self, Protocol, TestCase};
use interop_runner::front::config::OutputOptions;
use interop_runner::orchestrate::runner::Runner;
use interop_runner::outcome::Outcome;
use interop_runner::plan::Trial;

const WRONG: &str = "not-the-negotiated-one";

fn aiopquic() -> Implementation {
    Registry::embedded(Protocol::WebTransport)
        .get("aiopquic")
        .expect("aiopquic is in the WebTransport registry")
        .clone()
}

/// aiopquic with `WT_WRONG_PROTOCOL` set, in the given role.
fn misreporting(role: Role) -> Implementation {
    Implementation {
        name: "misreporting".into(),
        image: "interop-runner/test-wt-wrong-protocol:never-pulled".into(),
        url: String::new(),
        role,
        build: Some(format!(
            "{}/tests/fixtures/wt-wrong-protocol",
            env!("CARGO_MANIFEST_DIR")
        )),
        build_base: None,
    }
}

fn handshake() -> &'static TestCase {
    testcases::find(Protocol::WebTransport, "handshake").expect("in the catalog")
}

fn trial(server: Implementation, client: Implementation) -> Trial {
    Trial {
        protocol: Protocol::WebTransport,
        server: std::sync::Arc::new(server),
        client: std::sync::Arc::new(client),
        test: handshake(),
    }
}

/// The reason names what was seen and a real expected slug.
fn assert_names_both(side: &str, reason: &str) {
    let prefix = format!("the {side} negotiated \"{WRONG}\", expected \"");
    let expected = reason
        .strip_prefix(&prefix)
        .and_then(|rest| rest.strip_suffix('"'))
        .unwrap_or_else(|| panic!("unexpected reason: {reason}"));
    assert!(
        !expected.is_empty() && expected != WRONG,
        "expected protocol missing: {reason}"
    );
}

#[test]
#[ignore = "builds the aiopquic WebTransport image (trixie base, PyPI wheel); run by hand"]
fn a_wrong_negotiated_protocol_fails_with_both_protocols_named() {
    let logs = tempfile::tempdir().unwrap();
    let opts = OutputOptions {
        log_dir: logs.path().to_path_buf(),
        ..Default::default()
    };
    let runner = Arc::new(Runner::new(opts, false));
    // First the honest pair: it passes, and it builds the image the
    // misreporting one is made FROM.
    let honest = runner.run(&trial(aiopquic(), aiopquic()));
    assert_eq!(honest.outcome, Outcome::Succeeded, "{}", honest.reason);

    let server = runner.run(&trial(misreporting(Role::Server), aiopquic()));
    assert_eq!(server.outcome, Outcome::Failed, "{}", server.reason);
    assert_names_both("server", &server.reason);

    let client = runner.run(&trial(aiopquic(), misreporting(Role::Client)));
    assert_eq!(client.outcome, Outcome::Failed, "{}", client.reason);
    assert_names_both("client", &client.reason);
    runner.shutdown();
}

#[test]
fn the_browser_clients_share_one_page_and_driver() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("implementations");
    for file in ["wt_page.html", "wt_browser.py"] {
        let chrome = std::fs::read(dir.join("chrome").join(file)).unwrap();
        let firefox = std::fs::read(dir.join("firefox").join(file)).unwrap();
        assert!(
            chrome == firefox,
            "{file} differs between chrome and firefox"
        );
    }
}
