//! The judge on analyses built in memory: no files, no fixtures, only what
//! the analysis stage hands over.

use std::sync::Arc;

use quic_trace::Trace;

use super::*;
use crate::analyse::AnalysisError;
use crate::catalog::testcases::{find, Protocol};
use crate::layout::Role;

fn analysis(keylog: Option<Role>, client: Trace, server: Trace) -> Analysis {
    Analysis {
        keylog: Ok(keylog),
        client: Ok(client),
        server: Ok(server),
    }
}

fn unreadable(path: &str) -> AnalysisError {
    AnalysisError::Read {
        path: path.into(),
        source: Arc::new(std::io::Error::from(std::io::ErrorKind::NotFound)),
    }
}

fn warned(w: &str) -> Trace {
    Trace {
        warnings: vec![w.to_string()],
        ..Default::default()
    }
}

fn quic(name: &str) -> &'static TestCase {
    find(Protocol::Quic, name).unwrap()
}

#[test]
fn a_wrong_download_is_the_reason_even_when_the_traces_are_missing() {
    let e = Evidence {
        download_problem: Some("file a differs from the served file".into()),
        ..Default::default()
    };
    let missing = Analysis {
        keylog: Ok(None),
        client: Err(unreadable("c")),
        server: Err(unreadable("s")),
    };
    let v = judge(quic("transfer"), &e, &missing);
    assert_eq!(v.outcome, Outcome::Failed);
    assert_eq!(v.reason, "file a differs from the served file");
    assert!(v.notes.is_empty());
}

#[test]
fn without_keys_a_keyed_test_is_unsupported_before_its_files_are_judged() {
    let e = Evidence {
        download_problem: Some("file a was not downloaded".into()),
        ..Default::default()
    };
    let a = analysis(None, Trace::default(), Trace::default());
    let v = judge(quic("keyupdate"), &e, &a);
    assert_eq!(v.outcome, Outcome::Unsupported);
    assert!(
        v.reason.contains("SERVER_HANDSHAKE_TRAFFIC_SECRET"),
        "{v:?}"
    );
    // Unkeyed tests go on to the files.
    let v = judge(quic("transfer"), &e, &a);
    assert_eq!(v.reason, "file a was not downloaded");
}

#[test]
fn an_unreadable_key_log_fails_a_keyed_test_with_its_reason() {
    let broken = AnalysisError::KeyLog {
        role: Role::Client,
        source: Arc::new(quic_trace::TraceError::BadKeyLog {
            path: "keys.log".into(),
            line: 1,
            why: "bad hex".into(),
        }),
    };
    let a = Analysis {
        keylog: Err(broken.clone()),
        client: Err(broken.clone()),
        server: Err(broken),
    };
    let v = judge(quic("ecn"), &Evidence::default(), &a);
    assert_eq!(v.outcome, Outcome::Failed);
    assert_eq!(
        v.reason,
        "the client's key log is unreadable: keys.log line 1 is not a valid NSS key log line: bad hex"
    );
}

#[test]
fn notes_carry_warnings_only_of_the_traces_a_rule_read() {
    let a = analysis(Some(Role::Client), warned("c"), warned("s"));
    // transfer reads only the server's side, and fails there (no handshake).
    let v = judge(quic("transfer"), &Evidence::default(), &a);
    assert_eq!(v.outcome, Outcome::Failed);
    assert_eq!(v.notes, vec!["server-side trace: s".to_string()]);
    // v2 reads both.
    let v = judge(quic("v2"), &Evidence::default(), &a);
    assert_eq!(
        v.notes,
        vec![
            "client-side trace: c".to_string(),
            "server-side trace: s".to_string()
        ]
    );
}

#[test]
fn empty_traces_fail_on_the_first_rule_in_the_references_order() {
    let a = analysis(Some(Role::Client), Trace::default(), Trace::default());
    let v = judge(quic("handshake"), &Evidence::default(), &a);
    assert_eq!(v.outcome, Outcome::Failed);
    assert_eq!(
        v.reason,
        "expected exactly QUIC version 0x00000001 in the server's Initials, saw none"
    );
}
