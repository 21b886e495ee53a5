//! The simulator in real containers: every scenario is run between two
//! endpoint containers (made from the sim image, whose binary doubles as a
//! traffic probe: `interop-sim probe ...`) and judged by what is observable
//! (packet counts, missing indices, changed ports, trace contents), never by
//! timings. Every container and network is labelled and removed by a guard,
//! also when a test fails. Needs a Docker engine; builds missing runner
//! images first.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bollard::models::{
    ContainerCreateBody, EndpointIpamConfig, EndpointSettings, HostConfig, Ipam, IpamConfig,
    NetworkConnectRequest, NetworkCreateRequest, NetworkingConfig,
};
use bollard::query_parameters::{
    CreateContainerOptions, ListNetworksOptions, LogsOptions, RemoveContainerOptions,
    StopContainerOptions, WaitContainerOptions,
};
use bollard::Docker;
use futures_util::StreamExt;
use interop_runner::orchestrate::images::{
    ensure_runner_images_with, RunnerImageOptions, PROJECT_LABEL, SIM_IMAGE,
};

const TEST_LABEL: &str = "org.interop-runner.simtest";
const LINK: &str = "--delay=5ms --bandwidth=100Mbps --queue=100";

static IMAGES: tokio::sync::OnceCell<Result<(), String>> = tokio::sync::OnceCell::const_new();

async fn docker() -> Docker {
    let docker: Docker =
        Docker::connect_with_local_defaults().expect("cannot reach the Docker engine");
    docker
        .negotiate_version()
        .await
        .expect("cannot negotiate a Docker API version")
}

/// Builds the runner images once per test process, with this build's simulator.
async fn ensure_images(docker: &Docker) {
    let result: &Result<(), String> = IMAGES
        .get_or_init(|| async {
            let options: RunnerImageOptions = RunnerImageOptions {
                sim_binary: Some(PathBuf::from(env!("CARGO_BIN_EXE_interop-sim"))),
            };
            let mut progress = |line: &str| eprintln!("images: {line}");
            ensure_runner_images_with(docker, &options, &mut progress)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
        })
        .await;
    if let Err(e) = result {
        panic!("the runner images could not be built: {e}");
    }
}

/// Containers and networks of one test, removed on drop.
struct Testbed {
    docker: Docker,
    name: String,
    left: u8,
    right: u8,
    networks: Vec<String>,
    containers: Vec<String>,
    logs: tempfile::TempDir,
}

impl Testbed {
    /// Creates the left and right networks on 193.167.`left`.0/24 and .`right`.0/24.
    async fn new(test: &str, left: u8, right: u8) -> Testbed {
        let docker: Docker = docker().await;
        ensure_images(&docker).await;
        let name: String = format!("interop-simtest-{}-{test}", std::process::id());
        let mut bed: Testbed = Testbed {
            docker,
            name,
            left,
            right,
            networks: Vec::new(),
            containers: Vec::new(),
            logs: tempfile::tempdir().expect("cannot create a temporary directory"),
        };
        remove_leftovers(&bed.docker, test).await;
        for (side, net) in [("left", left), ("right", right)] {
            let id: String = bed.create_network(test, side, net).await;
            bed.networks.push(id);
        }
        bed
    }

    async fn create_network(&self, test: &str, side: &str, net: u8) -> String {
        let request: NetworkCreateRequest = NetworkCreateRequest {
            name: format!("{}-{side}", self.name),
            driver: Some("bridge".to_string()),
            internal: Some(false),
            enable_ipv6: Some(true),
            ipam: Some(Ipam {
                config: Some(vec![
                    IpamConfig {
                        subnet: Some(format!("193.167.{net}.0/24")),
                        ..Default::default()
                    },
                    IpamConfig {
                        subnet: Some(format!("fd00:cafe:cafe:{net}::/64")),
                        ..Default::default()
                    },
                ]),
                ..Default::default()
            }),
            options: Some(HashMap::from([(
                "com.docker.network.bridge.enable_ip_masquerade".to_string(),
                "false".to_string(),
            )])),
            labels: Some(labels(test)),
            ..Default::default()
        };
        match self.docker.create_network(request).await {
            Ok(response) => response.id,
            Err(e) => panic!(
                "cannot create network {}-{side} on 193.167.{net}.0/24: {e}",
                self.name
            ),
        }
    }

    fn v4(&self, net: u8, host: u8) -> String {
        format!("193.167.{net}.{host}")
    }

    fn v6(&self, net: u8, host: u8) -> String {
        format!("fd00:cafe:cafe:{net}::{host}")
    }

    fn server_v4(&self) -> String {
        self.v4(self.right, 100)
    }

    fn server_v6(&self) -> String {
        self.v6(self.right, 100)
    }

    /// Creates the simulator container (not started).
    async fn sim(&mut self, scenario: &str, extra_env: &[(&str, &str)], sysctls: bool) -> String {
        let mut env: Vec<String> = vec![
            format!("SCENARIO={scenario}"),
            "SIM_REALTIME=0".to_string(),
            format!("SIM_LEFT_SUBNET=193.167.{}.0/24", self.left),
            format!("SIM_RIGHT_SUBNET=193.167.{}.0/24", self.right),
        ];
        // An extra variable replaces a default of the same name.
        env.retain(|e| {
            !extra_env
                .iter()
                .any(|(k, _)| e.starts_with(&format!("{k}=")))
        });
        env.extend(extra_env.iter().map(|(k, v)| format!("{k}={v}")));
        let host_config: HostConfig = HostConfig {
            cap_add: Some(netsim::CAPABILITIES.iter().map(|c| c.to_string()).collect()),
            sysctls: sysctls.then(|| {
                netsim::SYSCTLS
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect()
            }),
            binds: Some(vec![format!("{}:/logs", self.logs.path().display())]),
            extra_hosts: Some(vec![format!("server:{}", self.server_v4())]),
            ..Default::default()
        };
        let body: ContainerCreateBody = ContainerCreateBody {
            image: Some(SIM_IMAGE.to_string()),
            hostname: Some("sim".to_string()),
            env: Some(env),
            labels: Some(labels(&self.name)),
            host_config: Some(host_config),
            ..Default::default()
        };
        self.create("sim", body, &[(0, 2), (1, 2)]).await
    }

    /// Creates an endpoint container that routes as the endpoint image's
    /// setup.sh does and then runs `command` (not started).
    async fn endpoint(&mut self, role: &str, command: &str) -> String {
        let net: u8 = if role == "server" {
            self.right
        } else {
            self.left
        };
        let script: String = format!(
            "ip route add 193.167.0.0/16 via 193.167.{net}.2 && ip route del 193.167.{net}.0/24 && \
             ip -6 route add fd00:cafe:cafe::/48 via fd00:cafe:cafe:{net}::2 && ip -6 route del fd00:cafe:cafe:{net}::/64 && \
             {command}"
        );
        let body: ContainerCreateBody = ContainerCreateBody {
            image: Some(SIM_IMAGE.to_string()),
            hostname: Some(role.to_string()),
            entrypoint: Some(vec!["/bin/sh".to_string(), "-c".to_string(), script]),
            labels: Some(labels(&self.name)),
            host_config: Some(HostConfig {
                cap_add: Some(vec!["NET_ADMIN".to_string()]),
                ..Default::default()
            }),
            ..Default::default()
        };
        let side: usize = if role == "server" { 1 } else { 0 };
        self.create(role, body, &[(side, 100)]).await
    }

    async fn create(
        &mut self,
        role: &str,
        mut body: ContainerCreateBody,
        attach: &[(usize, u8)],
    ) -> String {
        let endpoint = |(side, host): (usize, u8)| -> (String, EndpointSettings) {
            let net: u8 = if side == 0 { self.left } else { self.right };
            let settings: EndpointSettings = EndpointSettings {
                ipam_config: Some(EndpointIpamConfig {
                    ipv4_address: Some(self.v4(net, host)),
                    ipv6_address: Some(self.v6(net, host)),
                    ..Default::default()
                }),
                ..Default::default()
            };
            (self.networks[side].clone(), settings)
        };
        let endpoints: Vec<(String, EndpointSettings)> =
            attach.iter().map(|a| endpoint(*a)).collect();
        if let Some((net, settings)) = endpoints.first() {
            body.networking_config = Some(NetworkingConfig {
                endpoints_config: Some(HashMap::from([(net.clone(), settings.clone())])),
            });
        }
        let options: CreateContainerOptions = CreateContainerOptions {
            name: Some(format!("{}-{role}-{}", self.name, self.containers.len())),
            ..Default::default()
        };
        let id: String = match self.docker.create_container(Some(options), body).await {
            Ok(response) => response.id,
            Err(e) => panic!("cannot create the {role} container: {e}"),
        };
        self.containers.push(id.clone());
        // API 1.41 attaches one network at creation; the rest are connected after.
        for (net, settings) in endpoints.into_iter().skip(1) {
            let request: NetworkConnectRequest = NetworkConnectRequest {
                container: id.clone(),
                endpoint_config: Some(settings),
            };
            if let Err(e) = self.docker.connect_network(&net, request).await {
                panic!("cannot attach the {role} container to its second network: {e}");
            }
        }
        id
    }

    async fn start(&self, id: &str) {
        if let Err(e) = self.docker.start_container(id, None).await {
            panic!("cannot start container {id}: {e}");
        }
    }

    /// Waits for a container to exit and returns its exit code.
    async fn wait(&self, id: &str, limit: Duration) -> i64 {
        let options: WaitContainerOptions = WaitContainerOptions {
            condition: "not-running".to_string(),
        };
        let mut stream = self.docker.wait_container(id, Some(options));
        match tokio::time::timeout(limit, stream.next()).await {
            Ok(Some(Ok(response))) => response.status_code,
            Ok(Some(Err(bollard::errors::Error::DockerContainerWaitError { code, .. }))) => code,
            Ok(other) => panic!("waiting for container {id} failed: {other:?}"),
            Err(_) => panic!("container {id} did not exit within {} s", limit.as_secs()),
        }
    }

    async fn logs(&self, id: &str) -> String {
        let options: LogsOptions = LogsOptions {
            stdout: true,
            stderr: true,
            ..Default::default()
        };
        let mut stream = self.docker.logs(id, Some(options));
        let mut text: String = String::new();
        while let Some(Ok(chunk)) = stream.next().await {
            text.push_str(&chunk.to_string());
        }
        text
    }

    /// Waits until the simulator says the link is up.
    async fn wait_link_up(&self, sim: &str) {
        let deadline: Instant = Instant::now() + Duration::from_secs(30);
        loop {
            let logs: String = self.logs(sim).await;
            if logs.contains("link up") {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the simulator did not bring the link up; its output:\n{logs}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Runs a client command to completion and returns its output.
    async fn run_client(&mut self, command: &str) -> String {
        let client: String = self.endpoint("client", command).await;
        self.start(&client).await;
        let code: i64 = self.wait(&client, Duration::from_secs(60)).await;
        let output: String = self.logs(&client).await;
        assert_eq!(code, 0, "client `{command}` failed: {output}");
        output
    }

    /// Stops the simulator (SIGTERM) and returns its output.
    async fn stop_sim(&self, sim: &str) -> String {
        let options: StopContainerOptions = StopContainerOptions {
            t: Some(10),
            ..Default::default()
        };
        let _ = self.docker.stop_container(sim, Some(options)).await;
        self.logs(sim).await
    }

    fn trace(&self, side: &str) -> Vec<(u32, Vec<u8>)> {
        read_pcap(&self.logs.path().join(format!("trace_node_{side}.pcap")))
    }
}

impl Drop for Testbed {
    fn drop(&mut self) {
        let docker: Docker = self.docker.clone();
        let containers: Vec<String> = std::mem::take(&mut self.containers);
        let networks: Vec<String> = std::mem::take(&mut self.networks);
        // Drop cannot await; a separate thread with its own runtime can.
        let cleanup = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            if let Ok(runtime) = runtime {
                runtime.block_on(remove_all(&docker, &containers, &networks));
            }
        });
        let _ = cleanup.join();
    }
}

async fn remove_all(docker: &Docker, containers: &[String], networks: &[String]) {
    for id in containers {
        let options: RemoveContainerOptions = RemoveContainerOptions {
            force: true,
            v: true,
            ..Default::default()
        };
        let _ = docker.remove_container(id, Some(options)).await;
    }
    for id in networks {
        let _ = docker.remove_network(id).await;
    }
}

/// Removes networks (and their containers) that an earlier, killed run of the
/// same test left behind, so its subnets are free again.
async fn remove_leftovers(docker: &Docker, test: &str) {
    let filters: HashMap<String, Vec<String>> =
        HashMap::from([("label".to_string(), vec![format!("{TEST_LABEL}={test}")])]);
    let options: ListNetworksOptions = ListNetworksOptions {
        filters: Some(filters),
    };
    let Ok(networks) = docker.list_networks(Some(options)).await else {
        return;
    };
    for network in networks {
        let Some(id) = network.id else { continue };
        if let Ok(details) = docker
            .inspect_network(
                &id,
                None::<bollard::query_parameters::InspectNetworkOptions>,
            )
            .await
        {
            let containers: Vec<String> =
                details.containers.unwrap_or_default().into_keys().collect();
            remove_all(docker, &containers, &[]).await;
        }
        let _ = docker.remove_network(&id).await;
    }
}

fn labels(test: &str) -> HashMap<String, String> {
    HashMap::from([
        (PROJECT_LABEL.to_string(), "1".to_string()),
        (TEST_LABEL.to_string(), test.to_string()),
    ])
}

/// Frames of one of the simulator's traces: a little-endian nanosecond
/// pcap (its format), read with the workspace's capture codec.
fn read_pcap(path: &Path) -> Vec<(u32, Vec<u8>)> {
    let bytes: Vec<u8> =
        std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    assert_eq!(
        bytes.get(0..4),
        Some(&[0x4d, 0x3c, 0xb2, 0xa1][..]),
        "{} is not a little-endian nanosecond pcap",
        path.display()
    );
    let capture =
        wirecap::read_capture(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(
        capture.warning,
        None,
        "{} ends inside a record",
        path.display()
    );
    capture
        .frames
        .iter()
        .map(|f| (f.link_type, f.data.to_vec()))
        .collect()
}

/// UDP payloads in a trace between the two ports (either direction), in order.
fn udp_payloads(frames: &[(u32, Vec<u8>)], port: u16) -> Vec<(u16, u16, Vec<u8>)> {
    frames
        .iter()
        .filter_map(|(link_type, frame)| {
            let d =
                wirecap::link::ip_payload(*link_type, frame).and_then(wirecap::ip::udp_datagram)?;
            let (sport, dport) = (d.src.port(), d.dst.port());
            (sport == port || dport == port).then(|| (sport, dport, d.payload.to_vec()))
        })
        .collect()
}

/// The value of `key=` in a probe's output line.
fn field(output: &str, key: &str) -> String {
    output
        .split_whitespace()
        .find_map(|word| word.strip_prefix(&format!("{key}=")))
        .unwrap_or_else(|| panic!("no {key}= in probe output: {output}"))
        .to_string()
}

fn number(output: &str, key: &str) -> u64 {
    let text: String = field(output, key);
    text.parse::<u64>()
        .unwrap_or_else(|_| panic!("{key}={text} is not a number in: {output}"))
}

const ECHO: &str = "interop-sim probe echo 0.0.0.0:4000 & exec interop-sim probe echo [::]:4006";
const SINK: &str = "exec interop-sim probe sink 0.0.0.0:5000 3";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_scenario_stops_the_simulator_with_a_clear_message() {
    let docker: Docker = docker().await;
    ensure_images(&docker).await;
    let mut bed: Testbed = Testbed {
        docker,
        name: format!("interop-simtest-{}-bad", std::process::id()),
        left: 0,
        right: 0,
        networks: Vec::new(),
        containers: Vec::new(),
        logs: tempfile::tempdir().expect("cannot create a temporary directory"),
    };
    for (scenario, message) in [
        ("warp-drive --delay=1ms", "unknown scenario \"warp-drive\""),
        ("simple-p2p --delay=15ms --bandwidth=10Mbps", "missing required flag --queue"),
        ("drop-rate --delay=15ms --bandwidth=10Mbps --queue=25 --rate_to_server=x --rate_to_client=1", "bad value --rate_to_server=x"),
    ] {
        let body: ContainerCreateBody = ContainerCreateBody {
            image: Some(SIM_IMAGE.to_string()),
            env: Some(vec![format!("SCENARIO={scenario}")]),
            labels: Some(labels(&bed.name)),
            ..Default::default()
        };
        let role: String = format!("sim{}", bed.containers.len());
        let id: String = bed.create(&role, body, &[]).await;
        bed.start(&id).await;
        let code: i64 = bed.wait(&id, Duration::from_secs(30)).await;
        let logs: String = bed.logs(&id).await;
        assert_ne!(code, 0, "{scenario:?} was accepted: {logs}");
        assert!(logs.contains(message), "{scenario:?}: expected {message:?} in {logs:?}");
        assert_eq!(logs.trim().lines().count(), 1, "{scenario:?}: expected one line, got {logs:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simple_p2p_forwards_ipv4_and_ipv6_after_waiting_for_the_server() {
    let mut bed: Testbed = Testbed::new("p2p", 200, 201).await;
    let server: String = bed.endpoint("server", ECHO).await;
    let sim: String = bed
        .sim(
            &format!("simple-p2p {LINK}"),
            &[("WAITFORSERVER", "server:4000")],
            true,
        )
        .await;
    // The server comes up late, so several probes are outstanding (some
    // queued behind neighbour resolution) when the first answer arrives.
    bed.start(&sim).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    bed.start(&server).await;
    bed.wait_link_up(&sim).await;
    let v4: String = bed
        .run_client(&format!(
            "exec interop-sim probe ping {}:4000 20 20",
            bed.server_v4()
        ))
        .await;
    let v6_target: String = format!("[{}]:4006", bed.server_v6());
    let v6: String = bed
        .run_client(&format!("exec interop-sim probe ping {v6_target} 20 20"))
        .await;
    let sim_out: String = bed.stop_sim(&sim).await;
    assert!(
        sim_out.contains("server:4000 is available"),
        "WAITFORSERVER was not honoured: {sim_out}"
    );
    assert_eq!(number(&v4, "received"), 20, "{v4}");
    assert_eq!(number(&v6, "received"), 20, "{v6}");
    // Both traces hold both directions of both families, and nothing of the
    // WAITFORSERVER conversation (probes or Version Negotiation answers).
    for side in ["left", "right"] {
        let frames: Vec<(u32, Vec<u8>)> = bed.trace(side);
        let v4_echo: Vec<(u16, u16, Vec<u8>)> = udp_payloads(&frames, 4000);
        assert_eq!(v4_echo.len(), 40, "{side} trace, IPv4 echo");
        assert_eq!(
            udp_payloads(&frames, 4006).len(),
            40,
            "{side} trace, IPv6 echo"
        );
        for (_, _, payload) in &v4_echo {
            assert_ne!(
                payload.get(1..5),
                Some(&b"WAIT"[..]),
                "a probe is in the {side} trace"
            );
            assert_ne!(
                payload.get(..5),
                Some(&[0x80, 0, 0, 0, 0][..]),
                "a VN answer is in the {side} trace"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn droplist_drops_exactly_the_listed_packets() {
    let mut bed: Testbed = Testbed::new("droplist", 202, 203).await;
    let server: String = bed.endpoint("server", SINK).await;
    bed.start(&server).await;
    let sim: String = bed
        .sim(
            &format!("droplist {LINK} --drops_to_server=2,3,4,9"),
            &[],
            true,
        )
        .await;
    bed.start(&sim).await;
    bed.wait_link_up(&sim).await;
    bed.run_client(&format!(
        "exec interop-sim probe flood {}:5000 100000 1 200",
        bed.server_v4()
    ))
    .await;
    assert_eq!(bed.wait(&server, Duration::from_secs(30)).await, 0);
    let sink: String = bed.logs(&server).await;
    bed.stop_sim(&sim).await;
    assert_eq!(field(&sink, "missing_1based"), "2,3,4,9", "{sink}");
    // A dropped packet is only in the trace of the side it came from.
    let left: usize = udp_payloads(&bed.trace("left"), 5000).len();
    let right: usize = udp_payloads(&bed.trace("right"), 5000).len();
    assert_eq!(left, number(&sink, "highest") as usize);
    assert_eq!(right, left - 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drop_rate_drops_udp_and_respects_the_burst_cap() {
    let mut bed: Testbed = Testbed::new("droprate", 204, 205).await;
    let server: String = bed.endpoint("server", SINK).await;
    bed.start(&server).await;
    let scenario: String =
        format!("drop-rate {LINK} --rate_to_server=50 --rate_to_client=0 --burst_to_server=1");
    let sim: String = bed.sim(&scenario, &[], true).await;
    bed.start(&sim).await;
    bed.wait_link_up(&sim).await;
    bed.run_client(&format!(
        "exec interop-sim probe flood {}:5000 1000000 1 200",
        bed.server_v4()
    ))
    .await;
    assert_eq!(bed.wait(&server, Duration::from_secs(30)).await, 0);
    let sink: String = bed.logs(&server).await;
    bed.stop_sim(&sim).await;
    let received: u64 = number(&sink, "received");
    let highest: u64 = number(&sink, "highest");
    assert!(received < highest, "nothing was dropped: {sink}");
    assert!(
        received * 2 >= highest - 1,
        "a burst cap of 1 allows at most every other drop: {sink}"
    );
    assert!(number(&sink, "longest_gap") <= 1, "{sink}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupt_rate_damages_payloads_but_keeps_checksums_valid() {
    let mut bed: Testbed = Testbed::new("corrupt", 206, 207).await;
    let server: String = bed.endpoint("server", SINK).await;
    bed.start(&server).await;
    let sim: String = bed
        .sim(
            &format!("corrupt-rate {LINK} --rate_to_server=100 --rate_to_client=0"),
            &[],
            true,
        )
        .await;
    bed.start(&sim).await;
    bed.wait_link_up(&sim).await;
    let flood: String = bed
        .run_client(&format!(
            "exec interop-sim probe flood {}:5000 1000000 1 200",
            bed.server_v4()
        ))
        .await;
    assert_eq!(bed.wait(&server, Duration::from_secs(30)).await, 0);
    let sink: String = bed.logs(&server).await;
    bed.stop_sim(&sim).await;
    // Every datagram arrived (the receiver's kernel checks UDP checksums) and
    // each had exactly one byte within its first 50 changed.
    let sent: u64 = number(&flood, "sent");
    assert_eq!(number(&sink, "datagrams"), sent, "{sink}");
    let left: Vec<(u16, u16, Vec<u8>)> = udp_payloads(&bed.trace("left"), 5000);
    let right: Vec<(u16, u16, Vec<u8>)> = udp_payloads(&bed.trace("right"), 5000);
    assert_eq!(left.len(), right.len());
    for ((_, _, before), (_, _, after)) in left.iter().zip(&right) {
        let changed: Vec<usize> = (0..before.len())
            .filter(|i| before[*i] != after[*i])
            .collect();
        assert_eq!(
            changed.len(),
            1,
            "expected one changed byte, got {changed:?}"
        );
        assert!(changed[0] < 50);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blackhole_swallows_only_its_direction() {
    let mut bed: Testbed = Testbed::new("blackhole", 208, 209).await;
    let server: String = bed.endpoint("server", ECHO).await;
    bed.start(&server).await;
    // Closed from the start and for an hour: only the direction matters here.
    let sim: String = bed
        .sim(
            &format!("blackhole {LINK} --on=0s --off=1h --direction=toclient"),
            &[],
            true,
        )
        .await;
    bed.start(&sim).await;
    bed.wait_link_up(&sim).await;
    let ping: String = bed
        .run_client(&format!(
            "exec interop-sim probe ping {}:4000 10 20",
            bed.server_v4()
        ))
        .await;
    bed.stop_sim(&sim).await;
    assert_eq!(number(&ping, "received"), 0, "{ping}");
    let right: usize = udp_payloads(&bed.trace("right"), 4000).len();
    let left: usize = udp_payloads(&bed.trace("left"), 4000).len();
    assert_eq!(
        right, 20,
        "requests reach the server and it answers each one"
    );
    assert_eq!(left, 10, "no answer crosses back to the client side");
}

async fn rebind_test(test: &str, left: u8, right: u8, rebind_addr: bool) {
    let mut bed: Testbed = Testbed::new(test, left, right).await;
    let server: String = bed.endpoint("server", ECHO).await;
    bed.start(&server).await;
    let flag: &str = if rebind_addr { "--rebind-addr" } else { "" };
    let scenario: String = format!("rebind {LINK} --first-rebind=1s --rebind-freq=1s {flag}");
    let sim: String = bed.sim(&scenario, &[], true).await;
    bed.start(&sim).await;
    bed.wait_link_up(&sim).await;
    let ping: String = bed
        .run_client(&format!(
            "exec interop-sim probe ping {}:4000 300 10",
            bed.server_v4()
        ))
        .await;
    bed.stop_sim(&sim).await;
    let client: String = bed.v4(left, 100);
    let sources: Vec<(String, String)> = field(&ping, "sources")
        .split(',')
        .filter_map(|entry| entry.split_once('@'))
        .filter_map(|(_, source)| source.rsplit_once(':'))
        .map(|(addr, port)| (addr.to_string(), port.to_string()))
        .collect();
    assert!(
        sources.len() >= 2,
        "the server never saw a new source: {ping}"
    );
    assert_eq!(
        sources[0].0, client,
        "the first binding keeps the client's address: {ping}"
    );
    for pair in sources.windows(2) {
        assert_ne!(pair[0].1, pair[1].1, "a rebind kept the port: {ping}");
        if rebind_addr {
            assert_ne!(pair[0].0, pair[1].0, "a rebind kept the address: {ping}");
        }
    }
    for (addr, _) in &sources[1..] {
        assert!(
            addr.starts_with(&format!("193.167.{left}.")),
            "{addr} is outside the client's /24"
        );
        assert_eq!(addr == &client, !rebind_addr, "{ping}");
    }
    // Replies to the current binding are translated back (a few in flight at
    // each rebind are lost to the stale binding).
    assert!(number(&ping, "received") >= 280, "{ping}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rebind_changes_the_client_port_and_replies_still_arrive() {
    rebind_test("rebind", 210, 211, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rebind_addr_changes_the_client_address_too() {
    rebind_test("rebindaddr", 212, 213, true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_simulator_refuses_to_run_with_kernel_forwarding_on() {
    let mut bed: Testbed = Testbed::new("forwarding", 214, 215).await;
    let sim: String = bed.sim(&format!("simple-p2p {LINK}"), &[], false).await;
    bed.start(&sim).await;
    let code: i64 = bed.wait(&sim, Duration::from_secs(30)).await;
    let logs: String = bed.logs(&sim).await;
    let forwarding_on: bool = std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward")
        .map(|v| v.trim() == "1")
        .unwrap_or(false);
    assert!(
        forwarding_on,
        "this test needs a host with net.ipv4.ip_forward=1 (which Docker sets)"
    );
    assert_eq!(code, 1, "{logs}");
    assert!(logs.contains("kernel IP forwarding is on"), "{logs}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_simulator_refuses_networks_it_was_not_given() {
    // As on a Docker host (eth0, docker0): an interface outside the two
    // configured networks means "not my container", before any sysctl.
    let mut bed: Testbed = Testbed::new("foreign", 220, 221).await;
    let sim: String = bed
        .sim(
            &format!("simple-p2p {LINK}"),
            &[("SIM_RIGHT_SUBNET", "10.99.0.0/24")],
            false,
        )
        .await;
    bed.start(&sim).await;
    let code: i64 = bed.wait(&sim, Duration::from_secs(30)).await;
    let logs: String = bed.logs(&sim).await;
    assert_eq!(code, 1, "{logs}");
    assert!(logs.contains("not the simulator's own container"), "{logs}");
    assert!(!logs.contains("forwarding"), "{logs}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_cross_traffic_competes_for_the_link() {
    let mut bed: Testbed = Testbed::new("crosstraffic", 216, 217).await;
    let server: String = bed.endpoint("server", ECHO).await;
    bed.start(&server).await;
    let sim: String = bed
        .sim(
            "tcp-cross-traffic --delay=5ms --bandwidth=10Mbps --queue=25",
            &[],
            true,
        )
        .await;
    bed.start(&sim).await;
    bed.wait_link_up(&sim).await;
    let ping: String = bed
        .run_client(&format!(
            "exec interop-sim probe ping {}:4000 100 20",
            bed.server_v4()
        ))
        .await;
    let sim_out: String = bed.stop_sim(&sim).await;
    // The internal bulk flow moved data over the link (it never appears in
    // the traces), and the link still carried the endpoints' packets.
    let delivered: u64 = sim_out
        .lines()
        .find_map(|line| line.strip_prefix("cross traffic: "))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|bytes| bytes.parse::<u64>().ok())
        .unwrap_or_else(|| panic!("no cross traffic summary in: {sim_out}"));
    assert!(
        delivered > 100_000,
        "the cross flow delivered only {delivered} bytes: {sim_out}"
    );
    assert!(number(&ping, "received") > 0, "{ping}");
    let left: Vec<(u32, Vec<u8>)> = bed.trace("left");
    assert!(
        left.iter()
            .all(|(_, frame)| frame.len() < 14 || frame[12..14] != [0x08, 0x00] || frame[23] != 6),
        "a TCP packet of the internal flow leaked into the client-side trace"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn udp_gso_super_datagrams_are_split_and_delivered() {
    let mut bed: Testbed = Testbed::new("gso", 218, 219).await;
    let server: String = bed.endpoint("server", SINK).await;
    bed.start(&server).await;
    let sim: String = bed.sim(&format!("simple-p2p {LINK}"), &[], true).await;
    bed.start(&sim).await;
    bed.wait_link_up(&sim).await;
    // The client keeps Docker's default offloads, so each send of 10 × 1200
    // bytes reaches the simulator as one 12 kB frame (as quinn's do).
    let flood: String = bed
        .run_client(&format!(
            "exec interop-sim probe flood {}:5000 5000000 1 1200 10",
            bed.server_v4()
        ))
        .await;
    assert_eq!(bed.wait(&server, Duration::from_secs(30)).await, 0);
    let sink: String = bed.logs(&server).await;
    let sim_out: String = bed.stop_sim(&sim).await;
    assert_eq!(number(&sink, "received"), number(&flood, "sent"), "{sink}");
    assert_eq!(number(&sink, "damaged"), 0, "{sink}");
    let split: u64 = sim_out
        .lines()
        .find(|line| line.starts_with("to server:"))
        .and_then(|line| {
            line.split(", ")
                .find(|part| part.ends_with("offload packets split"))
        })
        .and_then(|part| part.split_whitespace().next())
        .and_then(|n| n.parse::<u64>().ok())
        .unwrap_or_else(|| panic!("no offload counter in: {sim_out}"));
    assert!(
        split > 0,
        "no super-datagram reached the simulator: {sim_out}"
    );
    // Each super-datagram is one record of the client-side trace and ten of the server side's.
    let left: usize = udp_payloads(&bed.trace("left"), 5000).len();
    let right: usize = udp_payloads(&bed.trace("right"), 5000).len();
    assert_eq!(right as u64, number(&flood, "sent"));
    assert!(left < right, "left {left}, right {right}");
}

/// Sends a signal to a container's first process.
async fn signal(docker: &Docker, id: &str, signal: &str) {
    let options = bollard::query_parameters::KillContainerOptions {
        signal: signal.to_string(),
    };
    if let Err(e) = docker.kill_container(id, Some(options)).await {
        panic!("cannot send {signal} to {id}: {e}");
    }
}

/// A simulator with `SIM_HOLD=1` and an echo server, both started; returns
/// the simulator once it says it holds the link.
async fn held(bed: &mut Testbed) -> String {
    let server: String = bed.endpoint("server", ECHO).await;
    let sim: String = bed
        .sim(
            &format!("simple-p2p {LINK}"),
            &[("WAITFORSERVER", "server:4000"), ("SIM_HOLD", "1")],
            true,
        )
        .await;
    bed.start(&server).await;
    bed.start(&sim).await;
    let deadline: Instant = Instant::now() + Duration::from_secs(30);
    while !bed.logs(&sim).await.contains("holding the link") {
        assert!(Instant::now() < deadline, "the simulator never held");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    sim
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_link_opens_on_sigusr1_and_sigusr2_completes_the_traces() {
    let mut bed: Testbed = Testbed::new("hold", 222, 223).await;
    let sim: String = held(&mut bed).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let still: String = bed.logs(&sim).await;
    assert!(
        !still.contains("link up"),
        "the link opened unasked: {still}"
    );
    signal(&bed.docker, &sim, "SIGUSR1").await;
    bed.wait_link_up(&sim).await;
    let v4: String = bed
        .run_client(&format!(
            "exec interop-sim probe ping {}:4000 5 5",
            bed.server_v4()
        ))
        .await;
    assert_eq!(number(&v4, "received"), 5, "{v4}");
    signal(&bed.docker, &sim, "SIGUSR2").await;
    let deadline: Instant = Instant::now() + Duration::from_secs(10);
    let mut out: String = bed.logs(&sim).await;
    while !out.contains(netsim::forwarder::TRACES_COMPLETE) {
        assert!(Instant::now() < deadline, "no traces-complete line: {out}");
        tokio::time::sleep(Duration::from_millis(20)).await;
        out = bed.logs(&sim).await;
    }
    // Complete while the simulator still runs: 5 pings and 5 echoes a side.
    for side in ["left", "right"] {
        assert_eq!(udp_payloads(&bed.trace(side), 4000).len(), 10, "{side}");
    }
    let out: String = bed.stop_sim(&sim).await;
    assert_eq!(bed.wait(&sim, Duration::from_secs(10)).await, 0, "{out}");
    assert!(out.contains("stopped by signal 15"), "{out}");
    for side in ["left", "right"] {
        assert_eq!(udp_payloads(&bed.trace(side), 4000).len(), 10, "{side}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_simulator_stops_cleanly_before_the_link_opens() {
    let mut bed: Testbed = Testbed::new("holdstop", 224, 225).await;
    let sim: String = held(&mut bed).await;
    let out: String = bed.stop_sim(&sim).await;
    assert_eq!(bed.wait(&sim, Duration::from_secs(10)).await, 0, "{out}");
    assert!(out.contains("before the link opened"), "{out}");
}
