//! End-to-end sample of the runner on real parts: a real Docker engine, the
//! project's simulator and the real quic-go, aioquic (bookworm base) and
//! ngtcp2 (trixie base) images built by the project, plus a deliberately
//! broken client. Trials run in parallel; at the
//! end nothing of this process may be left in Docker.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use interop_runner::catalog::registry::{Implementation, Registry, Role};
use interop_runner::catalog::testcases::{self, Protocol, TestCase};
use interop_runner::front::config::OutputOptions;
use interop_runner::orchestrate::runner::Runner;
use interop_runner::outcome::{Outcome, TrialRecord};
use interop_runner::plan::Trial;

fn quic_impl(name: &str) -> Implementation {
    Registry::embedded(Protocol::Quic)
        .get(name)
        .expect("in the registry")
        .clone()
}

fn hostile() -> Implementation {
    Implementation {
        name: "hostile".into(),
        image: "interop-runner/test-hostile-client:never-pulled".into(),
        url: String::new(),
        role: Role::Client,
        build: Some(format!(
            "{}/tests/fixtures/hostile-client",
            env!("CARGO_MANIFEST_DIR")
        )),
        build_base: None,
    }
}

/// An implementation whose image can be neither pulled nor built.
fn unavailable() -> Implementation {
    Implementation {
        name: "gone".into(),
        image: "interop-runner/test-gone:never-built".into(),
        url: String::new(),
        role: Role::Both,
        build: None,
        build_base: None,
    }
}

fn test(name: &str) -> &'static TestCase {
    testcases::find(Protocol::Quic, name).expect("in the catalog")
}

fn trial(server: Implementation, client: Implementation, test: &'static TestCase) -> Trial {
    Trial {
        protocol: Protocol::Quic,
        server: Arc::new(server),
        client: Arc::new(client),
        test,
    }
}

fn run_parallel(runner: &Arc<Runner>, trials: Vec<Trial>) -> HashMap<String, TrialRecord> {
    let handles: Vec<_> = trials
        .into_iter()
        .map(|t| {
            let runner = runner.clone();
            std::thread::spawn(move || (t.name(), runner.run(&t)))
        })
        .collect();
    handles
        .into_iter()
        .map(|h| h.join().expect("trial thread"))
        .collect()
}

fn own_docker_objects() -> usize {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let docker = interop_runner::orchestrate::docker::connect()
            .await
            .unwrap();
        let me = interop_runner::orchestrate::docker::owner_id();
        let filter = HashMap::from([(
            "label".to_string(),
            vec![format!(
                "{}={me}",
                interop_runner::orchestrate::docker::OWNER_LABEL
            )],
        )]);
        let containers = docker
            .list_containers(Some(bollard::query_parameters::ListContainersOptions {
                all: true,
                filters: Some(filter.clone()),
                ..Default::default()
            }))
            .await
            .unwrap();
        let networks = docker
            .list_networks(Some(bollard::query_parameters::ListNetworksOptions {
                filters: Some(filter),
            }))
            .await
            .unwrap();
        containers.len() + networks.len()
    })
}

#[test]
fn real_trials_hostile_clients_and_no_leftovers() {
    let logs = tempfile::tempdir().unwrap();
    let opts = OutputOptions {
        log_dir: logs.path().to_path_buf(),
        save_files: true,
        ..Default::default()
    };
    let runner = Arc::new(Runner::new(opts, false));
    runner.begin_run(interop_runner::outcome::epoch_now(), Vec::new());
    // A timeout far shorter than the catalog's, on a client that hangs.
    let hang: &'static TestCase = Box::leak(Box::new(TestCase {
        timeout: Duration::from_secs(8),
        ..*test("http3")
    }));

    // A measurement of one repetition: it must run with no other trial.
    let goodput: &'static TestCase = Box::leak(Box::new(TestCase {
        kind: testcases::Kind::Measurement { repetitions: 1 },
        ..*test("goodput")
    }));

    let (go, aio) = (quic_impl("quic-go"), quic_impl("aioquic"));
    // ngtcp2 is built on the trixie base, quic-go and aioquic on bookworm's:
    // these trials break when either base does.
    let ngtcp2 = quic_impl("ngtcp2");
    let records = run_parallel(
        &runner,
        vec![
            trial(go.clone(), aio.clone(), test("handshake")),
            trial(aio.clone(), go.clone(), test("transfer")),
            trial(go.clone(), ngtcp2.clone(), test("handshake")),
            trial(ngtcp2.clone(), aio.clone(), test("transfer")),
            trial(go.clone(), go.clone(), test("ecn")),
            trial(go.clone(), hostile(), test("handshake")),
            trial(go.clone(), hostile(), test("transfer")),
            trial(go.clone(), hostile(), hang),
            trial(go.clone(), go.clone(), goodput),
            trial(go.clone(), unavailable(), test("handshake")),
        ],
    );
    runner.end_run(interop_runner::outcome::epoch_now());
    runner.shutdown();
    let get = |n: &str| {
        records
            .get(n)
            .unwrap_or_else(|| panic!("no record for {n}"))
    };
    let show = |n: &str| format!("{n}: {:?} {}", get(n).outcome, get(n).reason);

    for n in [
        "quic-go_aioquic_handshake",
        "aioquic_quic-go_transfer",
        "quic-go_ngtcp2_handshake",
        "ngtcp2_aioquic_transfer",
    ] {
        assert_eq!(get(n).outcome, Outcome::Succeeded, "{}", show(n));
        let dir = logs
            .path()
            .join(format!("{}_{}", get(n).server, get(n).client))
            .join(&get(n).test);
        for f in [
            "output.txt",
            "trial.json",
            "sim/trace_node_left.pcap",
            "sim/trace_node_right.pcap",
            "server/keys.log",
        ] {
            assert!(
                dir.join(f).is_file(),
                "{n}: {f} missing in {}",
                dir.display()
            );
        }
        assert_eq!(get(n).images.len(), 2, "image IDs recorded");
    }

    let ecn = get("quic-go_quic-go_ecn");
    assert_eq!(
        ecn.outcome,
        Outcome::Unsupported,
        "{}",
        show("quic-go_quic-go_ecn")
    );
    assert!(ecn.reason.contains("127"), "{}", ecn.reason);
    assert!(
        !logs.path().join("quic-go_quic-go/ecn/output.txt").exists(),
        "unsupported trials keep no logs"
    );

    let wrong = get("quic-go_hostile_handshake");
    assert_eq!(wrong.outcome, Outcome::Failed);
    assert!(
        wrong.reason.contains("differs") || wrong.reason.contains("bytes, expected"),
        "{}",
        wrong.reason
    );
    let served = std::fs::read_dir(logs.path().join("quic-go_hostile/handshake/server_www"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap();
    assert!(
        wrong.reason.contains(served.file_name().to_str().unwrap()),
        "the reason names the file: {}",
        wrong.reason
    );

    let link = get("quic-go_hostile_transfer");
    assert_eq!(link.outcome, Outcome::Failed);
    assert!(
        link.reason.contains("is a symlink, not a regular file"),
        "{}",
        link.reason
    );
    let output =
        std::fs::read_to_string(logs.path().join("quic-go_hostile/transfer/output.txt")).unwrap();
    assert!(
        output.contains(&link.reason),
        "output.txt says why it failed"
    );

    // A trial that never ran leaves a line in the run file, no directory.
    let gone = get("quic-go_gone_handshake");
    assert_eq!(gone.outcome, Outcome::Unsupported, "{}", gone.reason);
    assert!(
        !logs.path().join("quic-go_gone").exists(),
        "no directory for a trial that never ran"
    );
    let contents = interop_runner::report::read_log_dir(logs.path()).unwrap();
    assert!(
        contents.records.iter().any(|r| r.client == "gone"
            && r.test == "handshake"
            && r.outcome == Outcome::Unsupported
            && r.reason == gone.reason),
        "the run file holds the unavailable trial: {:?}",
        contents.problems
    );

    let measured = get("quic-go_quic-go_goodput");
    assert_eq!(
        measured.outcome,
        Outcome::Succeeded,
        "{}",
        show("quic-go_quic-go_goodput")
    );
    assert_eq!(
        measured.measurement.as_ref().map(|m| m.values.len()),
        Some(1)
    );
    for (name, r) in records
        .iter()
        .filter(|(n, _)| n.as_str() != "quic-go_quic-go_goodput")
    {
        assert!(
            r.end_time <= measured.start_time || r.start_time >= measured.end_time,
            "{name} ({:.1}–{:.1}) ran during the measurement ({:.1}–{:.1})",
            r.start_time,
            r.end_time,
            measured.start_time,
            measured.end_time
        );
    }

    let timeout = get("quic-go_hostile_http3");
    assert_eq!(timeout.outcome, Outcome::Failed);
    assert!(
        timeout
            .reason
            .starts_with("the test did not finish within 8 s and the runner stopped it"),
        "{}",
        timeout.reason
    );

    assert_eq!(
        own_docker_objects(),
        0,
        "containers or networks of this run are left in Docker"
    );
}

#[test]
fn ctrl_c_in_the_middle_leaves_nothing() {
    let logs = tempfile::tempdir().unwrap();
    let log_dir: PathBuf = logs.path().join("run");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_interop-runner"))
        .args(["-s", "quic-go", "-c", "aioquic", "-t", "transfer", "-l"])
        .arg(&log_dir)
        .spawn()
        .unwrap();
    let pid = child.id();
    // Wait until the trial's containers exist, then interrupt.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let count = |pid: u32| {
        rt.block_on(async {
            let docker = interop_runner::orchestrate::docker::connect()
                .await
                .unwrap();
            let all = docker
                .list_containers(Some(bollard::query_parameters::ListContainersOptions {
                    all: true,
                    ..Default::default()
                }))
                .await
                .unwrap();
            all.iter()
                .filter(|c| {
                    c.names
                        .iter()
                        .flatten()
                        .any(|n| n.starts_with(&format!("/interop-{pid}-")))
                })
                .count()
        })
    };
    // On a fresh machine the run first waits for the images (built by the
    // other test at the same time), which can take many minutes.
    let deadline = std::time::Instant::now() + Duration::from_secs(1500);
    let mut seen = 0;
    while std::time::Instant::now() < deadline {
        seen = count(pid);
        if seen >= 3 {
            break;
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the run ended ({status}) before its trial's containers were seen");
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(seen >= 3, "the run never started its containers");
    unsafe { libc::kill(pid as i32, libc::SIGINT) };
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130), "exit code after Ctrl-C");
    assert_eq!(count(pid), 0, "containers left after Ctrl-C");
    let nets = rt.block_on(async {
        let docker = interop_runner::orchestrate::docker::connect()
            .await
            .unwrap();
        docker
            .list_networks(None::<bollard::query_parameters::ListNetworksOptions>)
            .await
            .unwrap()
    });
    let prefix = format!("interop-{pid}-");
    assert!(
        !nets
            .iter()
            .any(|n| n.name.as_deref().is_some_and(|x| x.starts_with(&prefix))),
        "networks left after Ctrl-C"
    );
}
