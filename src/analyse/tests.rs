//! Reading a run directory: the files the layout names, the key log the
//! contract prefers, and messages that name the file.

use super::*;

fn fixture(name: &str) -> PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("crates/quic-trace/tests/fixtures")
        .join(name)
}

#[test]
fn load_reads_what_the_layout_names_and_prefers_the_clients_key_log() {
    let dir = tempfile::tempdir().unwrap();
    let run = Layout::new(dir.path());
    for role in [Role::Sim, Role::Client, Role::Server] {
        std::fs::create_dir_all(run.logs(role)).unwrap();
    }
    let capture = fixture("aioquic-v1.pcap");
    std::fs::copy(&capture, run.client_side_trace()).unwrap();
    std::fs::copy(&capture, run.server_side_trace()).unwrap();
    std::fs::copy(fixture("aioquic-v1.client.keys"), run.keylog(Role::Client)).unwrap();
    std::fs::write(
        run.keylog(Role::Server),
        b"SERVER_HANDSHAKE_TRAFFIC_SECRET zz",
    )
    .unwrap();
    let a = load(&run, &[]);
    assert_eq!(a.keylog.unwrap(), Some(Role::Client));
    let (client, server) = (a.client.unwrap(), a.server.unwrap());
    assert!(client.packets.iter().any(|p| p.decrypted));
    assert_eq!(client.packets.len(), server.packets.len());
}

#[test]
fn a_missing_trace_names_its_file() {
    let dir = tempfile::tempdir().unwrap();
    let a = load(&Layout::new(dir.path()), &[]);
    assert_eq!(a.keylog.unwrap(), None);
    let e = a.server.unwrap_err().to_string();
    assert!(
        e.starts_with("cannot read the packet trace ") && e.contains("trace_node_right.pcap"),
        "{e}"
    );
}

#[test]
fn a_broken_key_log_is_the_reason_for_both_traces() {
    let files = [KeyLogFile {
        role: Role::Server,
        path: "k".into(),
        bytes: b"SERVER_HANDSHAKE_TRAFFIC_SECRET not hex".to_vec(),
    }];
    let a = analyse(Inputs {
        keylogs: files.to_vec(),
        client: Capture {
            path: "c".into(),
            name: "c".into(),
            bytes: Ok(Vec::new()),
        },
        server: Capture {
            path: "s".into(),
            name: "s".into(),
            bytes: Ok(Vec::new()),
        },
        server_addrs: Vec::new(),
    });
    let e = a.keylog.unwrap_err().to_string();
    assert!(e.starts_with("the server's key log is unreadable"), "{e}");
    assert_eq!(a.client.unwrap_err().to_string(), e);
    assert_eq!(a.server.unwrap_err().to_string(), e);
}
