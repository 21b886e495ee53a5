//! The containers of a trial, exactly as contract section 2 describes them
//! (hostnames, addresses, aliases, extra hosts, environment, mounts,
//! capabilities, ulimits), and the few engine calls that run them.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use bollard::models::{
    ContainerCreateBody, EndpointIpamConfig, EndpointSettings, HostConfig, NetworkConnectRequest,
    NetworkingConfig, ResourcesUlimits,
};
use bollard::query_parameters::{
    CreateContainerOptions, KillContainerOptions, LogsOptions, StopContainerOptions,
    WaitContainerOptions,
};
use bollard::Docker;
use futures_util::StreamExt;

use super::net::{NetworkPair, Subnets};
use super::DockerError;
use crate::layout::Role;

/// One network attachment: address on it and the names it answers to.
#[derive(Debug, Clone, PartialEq)]
pub struct Attachment {
    pub network: String,
    pub ipv4: String,
    pub ipv6: String,
    pub aliases: Vec<String>,
}

/// Everything needed to create one container; pure data, easy to test.
#[derive(Debug, Clone, PartialEq)]
pub struct ContainerSpec {
    pub name: String,
    pub image: String,
    pub hostname: String,
    pub env: Vec<(String, String)>,
    /// (host path, container path), mounted read-only.
    pub ro_binds: Vec<(PathBuf, String)>,
    /// Container paths backed by anonymous volumes, copied out afterwards.
    pub volumes: Vec<String>,
    pub cap_add: Vec<String>,
    pub memlock: Option<i64>,
    pub sysctls: Vec<(String, String)>,
    pub extra_hosts: Vec<(String, String)>,
    /// The first is attached at creation, the others right after.
    pub networks: Vec<Attachment>,
    pub labels: HashMap<String, String>,
}

/// The trial-specific values the containers are made from.
#[derive(Debug, Clone)]
pub struct TrialSetup {
    pub prefix: String,
    pub nets: NetworkPair,
    pub labels: HashMap<String, String>,
    pub scenario: String,
    pub server_testcase: String,
    pub client_testcase: String,
    pub server_requests: String,
    pub client_requests: String,
    pub server_protocols: String,
    pub client_protocols: String,
    pub extra_env: Vec<(String, String)>,
    pub certs: PathBuf,
    pub server_www: PathBuf,
    pub client_www: PathBuf,
}

pub const MEMLOCK: i64 = 67_108_864;
const SERVER_HOST: u8 = 100;
const CLIENT_HOST: u8 = 100;
const SIM_HOST: u8 = 2;
const IPERF_SERVER_HOST: u8 = 110;
const IPERF_CLIENT_HOST: u8 = 90;

fn s(v: &str) -> String {
    v.to_string()
}

fn attach(network: &str, net: u8, host: u8, aliases: &[&str]) -> Attachment {
    Attachment {
        network: s(network),
        ipv4: Subnets::v4(net, host),
        ipv6: Subnets::v6(net, host),
        aliases: aliases.iter().map(|a| s(a)).collect(),
    }
}

impl TrialSetup {
    fn server_v4(&self) -> String {
        Subnets::v4(self.nets.subnets.right, SERVER_HOST)
    }
    fn server_v6(&self) -> String {
        Subnets::v6(self.nets.subnets.right, SERVER_HOST)
    }

    /// `server4`, `server6` (and for the client `server46`) point at the server.
    fn server_hosts(&self, with_46: bool) -> Vec<(String, String)> {
        let mut h = vec![
            (s("server4"), self.server_v4()),
            (s("server6"), self.server_v6()),
        ];
        if with_46 {
            h.push((s("server46"), self.server_v4()));
            h.push((s("server46"), self.server_v6()));
        }
        h
    }

    pub fn sim(&self, image: &str, sysctls: &[(&str, &str)]) -> ContainerSpec {
        let sn = self.nets.subnets;
        ContainerSpec {
            name: format!("{}-sim", self.prefix),
            image: s(image),
            hostname: s(Role::Sim.name()),
            env: vec![
                (s("SCENARIO"), self.scenario.clone()),
                (s("WAITFORSERVER"), s("server:443")),
                // The simulator refuses to run unless it finds exactly
                // these two networks (it never guesses interfaces).
                (
                    s("SIM_LEFT_SUBNET"),
                    format!("{}/24", Subnets::v4(sn.left, 0)),
                ),
                (
                    s("SIM_RIGHT_SUBNET"),
                    format!("{}/24", Subnets::v4(sn.right, 0)),
                ),
            ],
            ro_binds: Vec::new(),
            volumes: vec![s("/logs")],
            // SYS_NICE lets the simulator run at real-time priority and
            // keep delays exact on a busy host; endpoints never see it.
            cap_add: vec![s("NET_ADMIN"), s("NET_RAW"), s("SYS_NICE")],
            memlock: None,
            sysctls: sysctls.iter().map(|(k, v)| (s(k), s(v))).collect(),
            extra_hosts: vec![(s("server"), self.server_v4())],
            // Left first: the simulator's eth0 is the client side.
            networks: vec![
                attach(&self.nets.left, sn.left, SIM_HOST, &[Role::Sim.name()]),
                attach(&self.nets.right, sn.right, SIM_HOST, &[Role::Sim.name()]),
            ],
            labels: self.labels.clone(),
        }
    }

    fn endpoint(&self, role: Role, image: &str) -> ContainerSpec {
        let sn = self.nets.subnets;
        let server = role == Role::Server;
        let (testcase, requests, protocols) = if server {
            (
                &self.server_testcase,
                &self.server_requests,
                &self.server_protocols,
            )
        } else {
            (
                &self.client_testcase,
                &self.client_requests,
                &self.client_protocols,
            )
        };
        let params = if server {
            "SERVER_PARAMS"
        } else {
            "CLIENT_PARAMS"
        };
        let mut env = vec![
            (s("CRON"), String::new()),
            (s("ROLE"), s(role.name())),
            (s(params), String::new()),
            (s("SSLKEYLOGFILE"), s("/logs/keys.log")),
            (s("QLOGDIR"), s("/logs/qlog/")),
            (s("TESTCASE"), testcase.clone()),
            (s("REQUESTS"), requests.clone()),
            (s("PROTOCOLS"), protocols.clone()),
        ];
        env.extend(self.extra_env.iter().cloned());
        let www = if server {
            &self.server_www
        } else {
            &self.client_www
        };
        ContainerSpec {
            name: format!("{}-{role}", self.prefix),
            image: s(image),
            hostname: s(role.name()),
            env,
            ro_binds: vec![(www.clone(), s("/www")), (self.certs.clone(), s("/certs"))],
            volumes: vec![s("/downloads"), s("/logs")],
            cap_add: vec![s("NET_ADMIN")],
            memlock: Some(MEMLOCK),
            sysctls: Vec::new(),
            extra_hosts: self.server_hosts(!server),
            networks: vec![if server {
                attach(&self.nets.right, sn.right, SERVER_HOST, &["server"])
            } else {
                attach(&self.nets.left, sn.left, CLIENT_HOST, &["client"])
            }],
            labels: self.labels.clone(),
        }
    }

    pub fn server(&self, image: &str) -> ContainerSpec {
        self.endpoint(Role::Server, image)
    }

    pub fn client(&self, image: &str) -> ContainerSpec {
        self.endpoint(Role::Client, image)
    }

    /// The crosstraffic pair: a TCP sender on the server side and a receiver
    /// on the client side.
    pub fn iperf(&self, image: &str, server_role: bool) -> ContainerSpec {
        let sn = self.nets.subnets;
        let congestion = self
            .extra_env
            .iter()
            .find(|(k, _)| k == "IPERF_CONGESTION")
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| s("cubic"));
        let mut env = vec![
            (
                s("ROLE"),
                s(if server_role {
                    Role::Server
                } else {
                    Role::Client
                }
                .name()),
            ),
            (s("IPERF_CONGESTION"), congestion),
        ];
        let (name, network, extra_hosts) = if server_role {
            env.push((s("CLIENT"), s("client4")));
            let client_v4 = Subnets::v4(sn.left, IPERF_CLIENT_HOST);
            let client_v6 = Subnets::v6(sn.left, CLIENT_HOST);
            let hosts = vec![
                (s("client4"), client_v4.clone()),
                (s("client6"), client_v6.clone()),
                (s("client46"), client_v4),
                (s("client46"), client_v6),
            ];
            (
                Role::IperfServer,
                attach(&self.nets.right, sn.right, IPERF_SERVER_HOST, &[]),
                hosts,
            )
        } else {
            let v4 = Subnets::v4(sn.right, IPERF_SERVER_HOST);
            let v6 = Subnets::v6(sn.right, IPERF_SERVER_HOST);
            let hosts = vec![
                (s("server4"), v4.clone()),
                (s("server6"), v6.clone()),
                (s("server46"), v4),
                (s("server46"), v6),
            ];
            (
                Role::IperfClient,
                attach(&self.nets.left, sn.left, IPERF_CLIENT_HOST, &[]),
                hosts,
            )
        };
        ContainerSpec {
            name: format!("{}-{name}", self.prefix),
            image: s(image),
            hostname: s(name.name()),
            env,
            ro_binds: Vec::new(),
            volumes: Vec::new(),
            cap_add: vec![s("NET_ADMIN")],
            memlock: None,
            sysctls: Vec::new(),
            extra_hosts,
            networks: vec![network],
            labels: self.labels.clone(),
        }
    }
}

fn endpoint_settings(a: &Attachment) -> EndpointSettings {
    EndpointSettings {
        ipam_config: Some(EndpointIpamConfig {
            ipv4_address: Some(a.ipv4.clone()),
            ipv6_address: Some(a.ipv6.clone()),
            ..Default::default()
        }),
        aliases: Some(a.aliases.clone()),
        ..Default::default()
    }
}

/// The engine request for a spec (first network only; see `create`).
pub fn create_body(spec: &ContainerSpec) -> ContainerCreateBody {
    let host_config = HostConfig {
        binds: Some(
            spec.ro_binds
                .iter()
                .map(|(h, c)| format!("{}:{c}:ro", h.display()))
                .collect(),
        ),
        cap_add: Some(spec.cap_add.clone()),
        ulimits: spec.memlock.map(|m| {
            vec![ResourcesUlimits {
                name: Some(s("memlock")),
                soft: Some(m),
                hard: Some(m),
            }]
        }),
        sysctls: (!spec.sysctls.is_empty()).then(|| spec.sysctls.iter().cloned().collect()),
        extra_hosts: Some(
            spec.extra_hosts
                .iter()
                .map(|(h, a)| format!("{h}:{a}"))
                .collect(),
        ),
        privileged: Some(false),
        ..Default::default()
    };
    let networking_config = spec.networks.first().map(|a| NetworkingConfig {
        endpoints_config: Some(HashMap::from([(a.network.clone(), endpoint_settings(a))])),
    });
    ContainerCreateBody {
        hostname: Some(spec.hostname.clone()),
        image: Some(spec.image.clone()),
        env: Some(spec.env.iter().map(|(k, v)| format!("{k}={v}")).collect()),
        volumes: Some(spec.volumes.clone()),
        labels: Some(spec.labels.clone()),
        // As the reference's compose file: endpoints see a terminal.
        tty: Some(true),
        open_stdin: Some(true),
        host_config: Some(host_config),
        networking_config,
        ..Default::default()
    }
}

/// Creates the container and attaches its further networks (API 1.41 takes
/// only one network at creation). Returns its ID.
pub async fn create(docker: &Docker, spec: &ContainerSpec) -> Result<String, DockerError> {
    let opts = CreateContainerOptions {
        name: Some(spec.name.clone()),
        ..Default::default()
    };
    let id = docker
        .create_container(Some(opts), create_body(spec))
        .await
        .map_err(|source| DockerError::CreateContainer {
            host: spec.hostname.clone(),
            image: spec.image.clone(),
            source,
        })?
        .id;
    for a in spec.networks.iter().skip(1) {
        let req = NetworkConnectRequest {
            container: id.clone(),
            endpoint_config: Some(endpoint_settings(a)),
        };
        if let Err(source) = docker.connect_network(&a.network, req).await {
            super::remove_container(docker, &id).await;
            return Err(DockerError::AttachNetwork {
                host: spec.hostname.clone(),
                source,
            });
        }
    }
    Ok(id)
}

pub async fn start(docker: &Docker, id: &str, what: &str) -> Result<(), DockerError> {
    docker
        .start_container(id, None)
        .await
        .map_err(|source| DockerError::Start {
            what: what.to_string(),
            source,
        })
}

/// Waits for the container to exit; returns its exit code.
pub async fn wait_exit(docker: &Docker, id: &str) -> Result<i64, DockerError> {
    let opts = WaitContainerOptions {
        condition: s("not-running"),
    };
    let mut stream = docker.wait_container(id, Some(opts));
    match stream.next().await {
        Some(Ok(r)) => Ok(r.status_code),
        // bollard reports a non-zero exit as an error carrying the code.
        Some(Err(bollard::errors::Error::DockerContainerWaitError { code, .. })) => Ok(code),
        Some(Err(e)) => Err(DockerError::Wait(e)),
        None => Err(DockerError::WaitEnded),
    }
}

/// The host PID of a running container's first process; `None` once it
/// has exited (or the container is gone).
pub async fn host_pid(docker: &Docker, id: &str) -> Option<i64> {
    docker
        .inspect_container(id, None)
        .await
        .ok()
        .and_then(|i| i.state)
        .filter(|s| s.running == Some(true))
        .and_then(|s| s.pid)
        .filter(|p| *p > 0)
}

/// Returns once the first process of the running container `id` is gone,
/// which is a quarter of a second before the engine reports the exit (it
/// unmounts and unplugs the container first). Never returns when that
/// cannot be watched from here (the engine on another host or in another
/// PID namespace, or a kernel without pidfd): the engine's wait decides.
pub async fn process_gone(docker: &Docker, id: &str) {
    match host_pid(docker, id).await.and_then(|pid| pidfd_of(pid, id)) {
        Some(fd) => {
            let interest = tokio::io::Interest::READABLE;
            // SAFETY: the OwnedFd is moved in, stays open and is the same
            // descriptor for as long as the AsyncFd lives.
            let registered =
                unsafe { tokio::io::unix::AsyncFd::register_with_interest(fd, interest) };
            if let Ok(watched) = registered {
                // A pidfd turns readable when its process exits.
                let _ = watched.readable().await;
                return;
            }
            std::future::pending::<()>().await
        }
        None => std::future::pending::<()>().await,
    }
}

/// A pidfd for `pid`, if it is this container's process: its cgroup path
/// names the container (a PID seen from another namespace, or reused,
/// would not).
fn pidfd_of(pid: i64, id: &str) -> Option<std::os::fd::OwnedFd> {
    use std::os::fd::FromRawFd;
    let cgroup = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).ok()?;
    if id.len() < 12 || !cgroup.contains(id) {
        return None;
    }
    // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) };
    if fd < 0 {
        return None;
    }
    // SAFETY: fd is a fresh descriptor owned by nothing else.
    Some(unsafe { std::os::fd::OwnedFd::from_raw_fd(fd as i32) })
}

/// How a stopped container ended: its exit code and how long its process
/// ran (the engine's start and finish times), when the engine says.
pub async fn ended(docker: &Docker, id: &str) -> (Option<i64>, Option<Duration>) {
    let state = docker
        .inspect_container(id, None)
        .await
        .ok()
        .and_then(|i| i.state);
    let Some(state) = state else {
        return (None, None);
    };
    let ran = ran_for(state.started_at.as_deref(), state.finished_at.as_deref());
    (state.exit_code, ran)
}

/// The time between two RFC 3339 timestamps of the engine.
fn ran_for(started: Option<&str>, finished: Option<&str>) -> Option<Duration> {
    use time::format_description::well_known::Rfc3339;
    let parse = |s: &str| time::OffsetDateTime::parse(s, &Rfc3339).ok();
    let span = parse(finished?)? - parse(started?)?;
    span.try_into().ok()
}

/// Stops a container, giving it `grace` to exit after SIGTERM; a container
/// whose first process cannot receive SIGTERM is killed at once.
pub async fn stop(docker: &Docker, id: &str, grace: Duration) {
    let Some(pid) = host_pid(docker, id).await else {
        // Exited already, or gone: nothing to wait for.
        return;
    };
    let grace = if sigterm_reaches(pid) == Some(false) {
        Duration::ZERO
    } else {
        grace
    };
    let opts = StopContainerOptions {
        t: Some(grace.as_secs() as i32),
        ..Default::default()
    };
    let _ = docker.stop_container(id, Some(opts)).await;
}

/// Whether SIGTERM can reach the process `pid` (on this host), when that
/// can be read. A container's first process is the init of its PID
/// namespace: the kernel drops every signal but SIGKILL and SIGSTOP that it
/// neither handles nor blocks (a blocked one waits for sigwait or a
/// signalfd), so `docker stop` would only wait out its grace before
/// killing it (Python and shells as PID 1 do that).
fn sigterm_reaches(pid: i64) -> Option<bool> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    takes_signal(&status, libc::SIGTERM as u32)
}

/// Whether a `/proc/<pid>/status` text shows `signal` handled (`SigCgt`)
/// or blocked (`SigBlk`), or `None` when a mask is missing or malformed.
fn takes_signal(status: &str, signal: u32) -> Option<bool> {
    let mask = |field: &str| -> Option<u64> {
        let hex = status.lines().find_map(|l| l.strip_prefix(field))?.trim();
        u64::from_str_radix(hex, 16).ok()
    };
    let bits = mask("SigCgt:")? | mask("SigBlk:")?;
    Some((1..=64).contains(&signal) && bits & (1 << (signal - 1)) != 0)
}

/// Sends `signal` (e.g. "SIGUSR1") to the container's first process.
pub async fn signal(docker: &Docker, id: &str, signal: &str) -> Result<(), DockerError> {
    let opts = KillContainerOptions {
        signal: signal.to_string(),
    };
    docker
        .kill_container(id, Some(opts))
        .await
        .map_err(|source| DockerError::Signal {
            signal: signal.to_string(),
            source,
        })
}

/// Follows the container's console until a line for which `wanted` holds
/// appears or `within` passes; returns the console so far (at most `limit`
/// bytes of its tail) if it appeared.
pub async fn follow_until(
    docker: &Docker,
    id: &str,
    wanted: impl Fn(&str) -> bool,
    limit: usize,
    within: Duration,
) -> Option<String> {
    let opts = LogsOptions {
        stdout: true,
        stderr: true,
        follow: true,
        ..Default::default()
    };
    let mut stream = docker.logs(id, Some(opts));
    let mut out: Vec<u8> = Vec::new();
    let mut seen = false;
    let reading = async {
        while let Some(Ok(chunk)) = stream.next().await {
            out.extend_from_slice(&chunk.into_bytes());
            if String::from_utf8_lossy(&out)
                .lines()
                .any(|l| wanted(l.trim_end()))
            {
                seen = true;
                return;
            }
            if out.len() > 2 * limit {
                out.drain(..out.len() - limit);
            }
        }
    };
    let _ = tokio::time::timeout(within, reading).await;
    if !seen {
        return None;
    }
    if out.len() > limit {
        out.drain(..out.len() - limit);
    }
    Some(String::from_utf8_lossy(&out).replace('\r', ""))
}

/// The container's console output, at most `limit` bytes of its tail.
pub async fn console(docker: &Docker, id: &str, limit: usize) -> String {
    let opts = LogsOptions {
        stdout: true,
        stderr: true,
        ..Default::default()
    };
    let mut stream = docker.logs(id, Some(opts));
    let mut out: Vec<u8> = Vec::new();
    while let Some(Ok(chunk)) = stream.next().await {
        out.extend_from_slice(&chunk.into_bytes());
        if out.len() > 2 * limit {
            out.drain(..out.len() - limit);
        }
    }
    if out.len() > limit {
        out.drain(..out.len() - limit);
    }
    String::from_utf8_lossy(&out).replace('\r', "")
}

#[cfg(test)]
mod tests;
