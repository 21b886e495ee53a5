//! Docker tests of the images module: the runner images are built (from
//! nothing when INTEROP_IMAGES_FRESH=1 removes the endpoint, iperf and sim
//! images first), rebuilt only when their inputs change, and actually work.
//! INTEROP_IMAGES_BOOTSTRAP=1 also bootstraps a base image with debootstrap
//! under a scratch tag (root, a few minutes), leaving the shared base alone.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Instant;

use bollard::models::{
    ContainerCreateBody, EndpointIpamConfig, EndpointSettings, HostConfig, Ipam, IpamConfig,
    NetworkCreateRequest, NetworkingConfig,
};
use bollard::query_parameters::{
    CreateContainerOptions, LogsOptions, RemoveContainerOptions, RemoveImageOptions,
};
use bollard::Docker;
use futures_util::StreamExt;
use interop_runner::orchestrate::images::{
    self, ImageAction, ImagesError, Resolution, RunnerImageOptions,
};

const LABEL: &str = "org.interop-runner";

fn log(message: &str) {
    eprintln!("[images test] {message}");
}

/// Project label plus this test process as owner, so a concurrent run's
/// sweep of dead runs' objects leaves this test's containers alone.
fn labels() -> HashMap<String, String> {
    interop_runner::orchestrate::docker::labels(&[("test", "images")])
}

/// Removes what a test created, also when it panics.
struct Cleanup {
    docker: Docker,
    containers: Vec<String>,
    networks: Vec<String>,
    images: Vec<String>,
}

impl Cleanup {
    fn new(docker: &Docker) -> Self {
        Cleanup {
            docker: docker.clone(),
            containers: Vec::new(),
            networks: Vec::new(),
            images: Vec::new(),
        }
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let docker = self.docker.clone();
        let containers = std::mem::take(&mut self.containers);
        let networks = std::mem::take(&mut self.networks);
        let images = std::mem::take(&mut self.images);
        // Drop cannot await; a private runtime on its own thread can.
        let worker = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                for container in containers {
                    let options = RemoveContainerOptions {
                        force: true,
                        ..Default::default()
                    };
                    let _ = docker.remove_container(&container, Some(options)).await;
                }
                for network in networks {
                    let _ = docker.remove_network(&network).await;
                }
                for image in images {
                    let options = RemoveImageOptions {
                        force: true,
                        ..Default::default()
                    };
                    let _ = docker.remove_image(&image, Some(options), None).await;
                }
            });
        });
        let _ = worker.join();
    }
}

fn sim_binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_interop-sim"))
}

/// Runs a container to completion; returns its exit code and output.
async fn run_container(
    docker: &Docker,
    cleanup: &mut Cleanup,
    name: &str,
    body: ContainerCreateBody,
) -> (i64, String) {
    let options = CreateContainerOptions {
        name: Some(name.to_string()),
        ..Default::default()
    };
    let created = docker
        .create_container(Some(options), body)
        .await
        .expect("create container");
    cleanup.containers.push(created.id.clone());
    docker
        .start_container(&created.id, None)
        .await
        .expect("start container");
    let mut wait = docker.wait_container(&created.id, None);
    let code: i64 = match wait.next().await {
        Some(Ok(response)) => response.status_code,
        // bollard reports a non-zero exit as an error carrying the code.
        Some(Err(bollard::errors::Error::DockerContainerWaitError { code, .. })) => code,
        other => panic!("waiting for {name} failed: {other:?}"),
    };
    let options = LogsOptions {
        stdout: true,
        stderr: true,
        ..Default::default()
    };
    let mut logs = docker.logs(&created.id, Some(options));
    let mut output = String::new();
    while let Some(Ok(chunk)) = logs.next().await {
        output.push_str(&chunk.to_string());
    }
    (code, output)
}

async fn ensure_fresh_if_asked(docker: &Docker) {
    if std::env::var("INTEROP_IMAGES_FRESH").as_deref() != Ok("1") {
        return;
    }
    for image in [
        images::SIM_IMAGE,
        images::IPERF_IMAGE,
        images::ENDPOINT_IMAGE,
    ] {
        let options = RemoveImageOptions {
            force: true,
            ..Default::default()
        };
        match docker.remove_image(image, Some(options), None).await {
            Ok(_) => log(&format!("removed {image} to build from nothing")),
            Err(e) => log(&format!("{image} not removed: {e}")),
        }
    }
}

#[tokio::test]
async fn runner_images_build_once_and_work() {
    let docker = images::connect()
        .await
        .expect("Docker must be reachable for this test");
    ensure_fresh_if_asked(&docker).await;
    let options = RunnerImageOptions {
        sim_binary: Some(sim_binary()),
    };
    let started = Instant::now();
    let mut progress = |m: &str| log(m);
    let actions = images::ensure_runner_images_with(&docker, &options, &mut progress)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    log(&format!(
        "first ensure took {:.1} s",
        started.elapsed().as_secs_f64()
    ));
    for action in &actions {
        log(&action.to_string());
    }
    let names: Vec<&str> = actions
        .iter()
        .map(|a: &ImageAction| match a {
            ImageAction::Present { image } | ImageAction::Built { image, .. } => image.as_str(),
            ImageAction::Pulled { image, .. } | ImageAction::Bootstrapped { image, .. } => {
                image.as_str()
            }
        })
        .collect();
    assert_eq!(
        names,
        vec![
            images::BASE_IMAGE,
            images::ENDPOINT_IMAGE,
            images::IPERF_IMAGE,
            images::SIM_IMAGE
        ]
    );

    // Unchanged inputs: nothing is rebuilt.
    let started = Instant::now();
    let again = images::ensure_runner_images_with(&docker, &options, &mut progress)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    log(&format!(
        "second ensure took {:.1} s",
        started.elapsed().as_secs_f64()
    ));
    assert!(
        again
            .iter()
            .all(|a: &ImageAction| matches!(a, ImageAction::Present { .. })),
        "second ensure rebuilt something: {again:?}"
    );

    let mut cleanup = Cleanup::new(&docker);
    check_endpoint_routes(&docker, &mut cleanup).await;
    check_sim_binary_runs(&docker, &mut cleanup).await;
    check_iperf_tools(&docker, &mut cleanup).await;
}

/// setup.sh must route the simulated ranges via .2 / ::2 of the endpoint's
/// own subnet and drop the direct subnet routes.
async fn check_endpoint_routes(docker: &Docker, cleanup: &mut Cleanup) {
    let network = format!("interop-images-test-{}", std::process::id());
    let request = NetworkCreateRequest {
        name: network.clone(),
        driver: Some("bridge".to_string()),
        enable_ipv6: Some(true),
        ipam: Some(Ipam {
            config: Some(vec![
                IpamConfig {
                    subnet: Some("193.167.247.0/24".to_string()),
                    ..Default::default()
                },
                IpamConfig {
                    subnet: Some("fd00:cafe:cafe:247::/64".to_string()),
                    ..Default::default()
                },
            ]),
            ..Default::default()
        }),
        options: Some(HashMap::from([(
            "com.docker.network.bridge.enable_ip_masquerade".to_string(),
            "false".to_string(),
        )])),
        labels: Some(labels()),
        ..Default::default()
    };
    docker
        .create_network(request)
        .await
        .expect("create test network");
    cleanup.networks.push(network.clone());
    let endpoint = EndpointSettings {
        ipam_config: Some(EndpointIpamConfig {
            ipv4_address: Some("193.167.247.100".to_string()),
            ipv6_address: Some("fd00:cafe:cafe:247::100".to_string()),
            ..Default::default()
        }),
        ..Default::default()
    };
    let body = ContainerCreateBody {
        image: Some(images::ENDPOINT_IMAGE.to_string()),
        entrypoint: Some(vec![
            "bash".to_string(),
            "-c".to_string(),
            "/setup.sh && echo ROUTES4 && ip -4 route && echo ROUTES6 && ip -6 route && test -d /logs/qlog && echo QLOG_OK".to_string(),
        ]),
        labels: Some(labels()),
        host_config: Some(HostConfig {
            cap_add: Some(vec!["NET_ADMIN".to_string()]),
            network_mode: Some(network.clone()),
            ..Default::default()
        }),
        networking_config: Some(NetworkingConfig { endpoints_config: Some(HashMap::from([(network.clone(), endpoint)])) }),
        ..Default::default()
    };
    let name = format!("interop-images-test-endpoint-{}", std::process::id());
    let (code, output) = run_container(docker, cleanup, &name, body).await;
    log(&format!("endpoint setup output:\n{output}"));
    assert_eq!(code, 0, "{output}");
    assert!(
        output.contains("193.167.0.0/16 via 193.167.247.2 dev eth0"),
        "{output}"
    );
    assert!(!output.contains("193.167.247.0/24 dev eth0"), "{output}");
    assert!(
        output.contains("fd00:cafe:cafe::/48 via fd00:cafe:cafe:247::2 dev eth0"),
        "{output}"
    );
    assert!(
        !output.contains("fd00:cafe:cafe:247::/64 dev eth0"),
        "{output}"
    );
    assert!(output.contains("QLOG_OK"), "{output}");
}

/// The packaged simulator must start inside the bookworm image.
async fn check_sim_binary_runs(docker: &Docker, cleanup: &mut Cleanup) {
    let body = ContainerCreateBody {
        image: Some(images::SIM_IMAGE.to_string()),
        cmd: Some(vec!["--help".to_string()]),
        labels: Some(labels()),
        ..Default::default()
    };
    let name = format!("interop-images-test-sim-{}", std::process::id());
    let (code, output) = run_container(docker, cleanup, &name, body).await;
    log(&format!("interop-sim --help in the sim image:\n{output}"));
    assert_eq!(code, 0, "{output}");
    assert!(output.contains("SCENARIO"), "{output}");
    let body = ContainerCreateBody {
        image: Some(images::SIM_IMAGE.to_string()),
        entrypoint: Some(vec![
            "sh".to_string(),
            "-c".to_string(),
            "for t in tc ip ethtool iptables nft tcpdump; do command -v $t || exit 1; done"
                .to_string(),
        ]),
        labels: Some(labels()),
        ..Default::default()
    };
    let name = format!("interop-images-test-simtools-{}", std::process::id());
    let (code, output) = run_container(docker, cleanup, &name, body).await;
    assert_eq!(code, 0, "sim image lacks a tool: {output}");
    assert_eq!(output.lines().count(), 6, "{output}");
}

async fn check_iperf_tools(docker: &Docker, cleanup: &mut Cleanup) {
    let body = ContainerCreateBody {
        image: Some(images::IPERF_IMAGE.to_string()),
        entrypoint: Some(vec![
            "sh".to_string(),
            "-c".to_string(),
            "test -x /run_iperf.sh && command -v iperf3 && { iperf -v 2>&1 || true; }".to_string(),
        ]),
        labels: Some(labels()),
        ..Default::default()
    };
    let name = format!("interop-images-test-iperf-{}", std::process::id());
    let (code, output) = run_container(docker, cleanup, &name, body).await;
    assert_eq!(code, 0, "{output}");
    assert!(output.contains("iperf version 2"), "{output}");
}

#[tokio::test]
async fn build_context_rebuilds_only_on_change_and_reports_failures() {
    let docker = images::connect()
        .await
        .expect("Docker must be reachable for this test");
    let mut cleanup = Cleanup::new(&docker);
    let tag = format!("interop-runner/images-test-{}:latest", std::process::id());
    cleanup.images.push(tag.clone());
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("Dockerfile"),
        "FROM interop-runner/endpoint:latest\nCOPY payload.txt /payload.txt\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("payload.txt"), "one").unwrap();
    let mut progress = |m: &str| log(m);
    let first = images::build_context(&docker, &tag, dir.path(), &mut progress)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let same = images::build_context(&docker, &tag, dir.path(), &mut progress)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(first, same, "an unchanged context was rebuilt");
    std::fs::write(dir.path().join("payload.txt"), "two").unwrap();
    let changed = images::build_context(&docker, &tag, dir.path(), &mut progress)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_ne!(first, changed, "a changed context was not rebuilt");
    assert_eq!(
        images::image_id(&docker, &tag).await.unwrap(),
        Some(changed)
    );

    std::fs::write(
        dir.path().join("Dockerfile"),
        "FROM interop-runner/endpoint:latest\nRUN echo about-to-fail && exit 3\n",
    )
    .unwrap();
    let error = images::build_context(&docker, &tag, dir.path(), &mut progress)
        .await
        .unwrap_err();
    let text = error.to_string();
    assert!(matches!(error, ImagesError::BuildFailed { .. }), "{text}");
    assert!(text.contains("RUN echo about-to-fail"), "{text}");
    assert!(
        text.contains("about-to-fail\n") || text.contains("about-to-fail"),
        "{text}"
    );
    assert!(text.contains("3"), "{text}");
}

#[tokio::test]
async fn missing_image_without_build_is_unavailable_with_reason() {
    let docker = images::connect()
        .await
        .expect("Docker must be reachable for this test");
    let mut progress = |m: &str| log(m);
    let resolution = images::resolve_implementation_image(
        &docker,
        "nothing",
        "interop-runner-test/does-not-exist:latest",
        None,
        std::path::Path::new("."),
        &mut progress,
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    match resolution {
        Resolution::Unavailable { reason } => {
            log(&reason);
            assert!(reason.contains("cannot be pulled"), "{reason}");
            assert!(reason.contains("no build context"), "{reason}");
        }
        other => panic!("expected unavailable, got {other:?}"),
    }
}

#[tokio::test]
#[ignore = "bootstraps a base image with debootstrap (root, minutes); run with --ignored"]
async fn base_image_bootstraps_from_nothing() {
    let docker = images::connect()
        .await
        .expect("Docker must be reachable for this test");
    let mut cleanup = Cleanup::new(&docker);
    let tag = format!("interop-runner/base-test-{}:bookworm", std::process::id());
    cleanup.images.push(tag.clone());
    let started = Instant::now();
    let mut progress = |m: &str| {
        if !m.starts_with("debootstrap: I: ") {
            log(m)
        }
    };
    images::bootstrap_image(&docker, images::Suite::Bookworm, &tag, &mut progress)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    log(&format!(
        "bootstrap and import took {:.1} s",
        started.elapsed().as_secs_f64()
    ));
    let body = ContainerCreateBody {
        image: Some(tag.clone()),
        entrypoint: Some(vec![
            "sh".to_string(),
            "-c".to_string(),
            ". /etc/os-release && echo codename=$VERSION_CODENAME && grep -c '^deb ' /etc/apt/sources.list && command -v apt-get".to_string(),
        ]),
        labels: Some(labels()),
        ..Default::default()
    };
    let name = format!("interop-images-test-base-{}", std::process::id());
    let (code, output) = run_container(&docker, &mut cleanup, &name, body).await;
    log(&output);
    assert_eq!(code, 0, "{output}");
    assert!(output.contains("codename=bookworm"), "{output}");
    assert!(output.contains("/usr/bin/apt-get"), "{output}");
    let (_, labels) = docker
        .inspect_image(&tag)
        .await
        .map(|i| ((), i.config.and_then(|c| c.labels).unwrap_or_default()))
        .unwrap();
    assert_eq!(labels.get(LABEL).map(String::as_str), Some("1"));
}

/// The shipped implementation contexts build through the resolver and pass
/// the runner's compliance pre-check (an unknown test case exits 127).
#[tokio::test]
#[ignore = "builds the aioquic and quic-go images (needs PyPI and Debian's archive, minutes); run with --ignored"]
async fn shipped_implementations_build_and_refuse_unknown_tests() {
    let docker = images::connect()
        .await
        .expect("Docker must be reachable for this test");
    let mut cleanup = Cleanup::new(&docker);
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    for (name, registry_image, build) in [
        (
            "aioquic",
            "aiortc/aioquic-qns:latest",
            "implementations/aioquic",
        ),
        (
            "quic-go",
            "martenseemann/quic-go-interop:latest",
            "implementations/quic-go",
        ),
    ] {
        let started = Instant::now();
        let mut progress = |m: &str| log(m);
        let resolution = images::resolve_implementation_image(
            &docker,
            name,
            registry_image,
            Some(build),
            root,
            &mut progress,
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        log(&format!(
            "{name}: {resolution:?} after {:.1} s",
            started.elapsed().as_secs_f64()
        ));
        let image = match resolution {
            Resolution::Available { image, .. } => image,
            Resolution::Unavailable { reason } => panic!("{name} unavailable: {reason}"),
        };
        // Building again with unchanged inputs reuses the image.
        let (tag, action) = images::build_implementation(&docker, name, build, root, &mut progress)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(tag, image);
        assert!(matches!(action, ImageAction::Present { .. }), "{action:?}");
        for role in ["server", "client"] {
            let body = ContainerCreateBody {
                image: Some(image.clone()),
                env: Some(vec![
                    format!("ROLE={role}"),
                    "TESTCASE=no-such-test-xyz".to_string(),
                ]),
                labels: Some(labels()),
                host_config: Some(HostConfig {
                    cap_add: Some(vec!["NET_ADMIN".to_string()]),
                    ..Default::default()
                }),
                ..Default::default()
            };
            let container = format!("interop-images-test-{name}-{role}-{}", std::process::id());
            let (code, output) = run_container(&docker, &mut cleanup, &container, body).await;
            assert_eq!(code, 127, "{name} {role} on an unknown test case: {output}");
        }
    }
}
