//! One run of one test between a server and a client, through Docker:
//! networks, containers, waiting, copying logs out, judging, tearing down.
//! Teardown always happens, also when the run fails or panics.

use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use bollard::Docker;
use futures_util::FutureExt;

use crate::catalog::testcases::{ExtraContainer, TestCase, DEFAULT_SCENARIO};
use crate::judge::{self, Evidence, Negotiated, Verdict};
use crate::orchestrate::docker::archive::{self, Expected};
use crate::orchestrate::docker::container::{self, ContainerSpec, TrialSetup};
use crate::orchestrate::docker::net::{self, NetworkPair};
use crate::orchestrate::docker::{self as dk};
use crate::orchestrate::materials::{self, Materials};

/// The runner's own log of a trial, written to `output.txt`.
#[derive(Debug)]
pub struct TrialLog {
    start: Instant,
    lines: Mutex<Vec<String>>,
    echo: bool,
}

impl TrialLog {
    pub fn new(echo: bool) -> TrialLog {
        TrialLog {
            start: Instant::now(),
            lines: Mutex::new(Vec::new()),
            echo,
        }
    }

    pub fn line(&self, text: impl AsRef<str>) {
        let line = format!(
            "[{:8.3}s] {}",
            self.start.elapsed().as_secs_f64(),
            text.as_ref()
        );
        if self.echo {
            eprintln!("{line}");
        }
        if let Ok(mut l) = self.lines.lock() {
            l.push(line);
        }
    }

    /// A block of text (a container's console) without timestamps.
    pub fn block(&self, title: &str, text: &str) {
        if let Ok(mut l) = self.lines.lock() {
            l.push(format!("---- {title} ----"));
            l.push(text.trim_end().to_string());
            l.push(format!("---- end of {title} ----"));
        }
    }

    pub fn text(&self) -> String {
        self.lines
            .lock()
            .map(|l| l.join("\n") + "\n")
            .unwrap_or_default()
    }
}

/// The images a trial runs.
#[derive(Debug, Clone)]
pub struct Images {
    pub sim: String,
    pub iperf: String,
    pub server: String,
    pub client: String,
}

/// Inputs of one run.
pub struct RunOnce<'a> {
    pub docker: &'a Docker,
    pub images: &'a Images,
    pub test: &'static TestCase,
    /// Names every object of the run: `interop-<pid>-<seq>`.
    pub prefix: String,
    pub log_dir: PathBuf,
    pub save_files: bool,
    pub sim_sysctls: &'a [(&'a str, &'a str)],
    pub log: &'a TrialLog,
}

/// Phase durations, for the overhead benchmark.
#[derive(Debug, Clone, Default)]
pub struct Timings {
    pub before_client: Duration,
    pub running: Duration,
    pub teardown: Duration,
}

/// What a run produced.
#[derive(Debug, Clone)]
pub struct RunReport {
    pub verdict: Verdict,
    pub timings: Timings,
}

/// Objects to remove at the end.
#[derive(Default)]
struct Resources {
    nets: Option<NetworkPair>,
    containers: Vec<(String, String)>,
}

/// Set once the engine refused the memlock ulimit of the contract (a
/// daemon whose own hard limit is lower); later containers go without it.
static MEMLOCK_DENIED: AtomicBool = AtomicBool::new(false);

fn is_rlimit_error(e: &str) -> bool {
    e.contains("rlimit")
}

/// Creates a container, leaving out the memlock ulimit where the engine is
/// known to refuse it.
async fn create_container(docker: &Docker, spec: &ContainerSpec) -> Result<String, String> {
    if MEMLOCK_DENIED.load(Ordering::Relaxed) && spec.memlock.is_some() {
        let relaxed = ContainerSpec {
            memlock: None,
            ..spec.clone()
        };
        return container::create(docker, &relaxed).await;
    }
    container::create(docker, spec).await
}

/// Starts `role` (if it exists).
async fn start_role(docker: &Docker, res: &Resources, role: &str) -> Result<(), String> {
    match res.id(role) {
        Some(id) => container::start(docker, id, role).await,
        None => Ok(()),
    }
}

/// Finds out once whether the engine grants the contract's memlock ulimit:
/// a daemon whose own hard limit is lower refuses to start such containers.
/// Returns a line for the log when it does not.
pub async fn probe_memlock(docker: &Docker, image: &str) -> Result<Option<String>, String> {
    let spec = ContainerSpec {
        name: format!("interop-{}-memlock-probe", std::process::id()),
        image: image.to_string(),
        hostname: "probe".into(),
        env: Vec::new(),
        ro_binds: Vec::new(),
        volumes: Vec::new(),
        cap_add: Vec::new(),
        memlock: Some(container::MEMLOCK),
        sysctls: Vec::new(),
        extra_hosts: Vec::new(),
        networks: Vec::new(),
        labels: dk::labels(&[]),
    };
    let mut body = container::create_body(&spec);
    body.entrypoint = Some(vec!["true".into()]);
    body.tty = Some(false);
    let opts = bollard::query_parameters::CreateContainerOptions {
        name: Some(spec.name.clone()),
        ..Default::default()
    };
    let id = docker
        .create_container(Some(opts), body)
        .await
        .map_err(|e| format!("cannot create a probe container: {e}"))?
        .id;
    let started = container::start(docker, &id, "probe").await;
    dk::remove_container(docker, &id).await;
    match started {
        Err(e) if is_rlimit_error(&e) => {
            MEMLOCK_DENIED.store(true, Ordering::Relaxed);
            Ok(Some("the Docker engine refuses the contract's 64 MiB memlock ulimit (its own limit is lower); endpoints run without it".into()))
        }
        Err(e) => Err(e),
        Ok(()) => Ok(None),
    }
}

impl Resources {
    fn id(&self, role: &str) -> Option<&str> {
        self.containers
            .iter()
            .find(|(r, _)| r == role)
            .map(|(_, id)| id.as_str())
    }
}

async fn teardown(docker: &Docker, res: &Resources) {
    let removals = res
        .containers
        .iter()
        .map(|(_, id)| dk::remove_container(docker, id));
    futures_util::future::join_all(removals).await;
    if let Some(n) = &res.nets {
        net::remove_pair(docker, n).await;
    }
}

/// Runs the test once; never panics, always cleans up.
pub async fn run_once(ctx: &RunOnce<'_>) -> RunReport {
    let t0 = Instant::now();
    let tmp = match crate::orchestrate::cleanup::temp_dir() {
        Ok(t) => t,
        Err(e) => {
            return report(
                Verdict::failed(format!("cannot create a temporary directory: {e}")),
                Timings::default(),
            )
        }
    };
    let test = ctx.test;
    let dir = tmp.path().to_path_buf();
    let prepared = tokio::task::spawn_blocking(move || materials::prepare(test, &dir)).await;
    let m = match prepared {
        Ok(Ok(m)) => m,
        Ok(Err(e)) => return report(Verdict::failed(e), Timings::default()),
        Err(e) => {
            return report(
                Verdict::failed(format!("preparing the test files failed: {e}")),
                Timings::default(),
            )
        }
    };
    let mut res = Resources::default();
    let mut timings = Timings::default();
    let outcome = AssertUnwindSafe(execute(ctx, &m, &mut res, &mut timings, t0))
        .catch_unwind()
        .await;
    let verdict = outcome.unwrap_or_else(|_| {
        Verdict::failed("the runner panicked during the trial (a bug in interop-runner)")
    });
    let t_down = Instant::now();
    teardown(ctx.docker, &res).await;
    timings.teardown = t_down.elapsed();
    if verdict.outcome == crate::outcome::Outcome::Failed && ctx.save_files {
        save_www(&m, &ctx.log_dir, ctx.log);
    }
    report(verdict, timings)
}

fn report(verdict: Verdict, timings: Timings) -> RunReport {
    RunReport { verdict, timings }
}

fn save_www(m: &Materials, log_dir: &Path, log: &TrialLog) {
    for (src, name) in [(&m.server_www, "server_www"), (&m.client_www, "client_www")] {
        if let Err(e) = copy_tree(src, &log_dir.join(name)) {
            log.line(format!("could not save {name}: {e}"));
        }
    }
}

fn copy_tree(src: &Path, dst: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dst)?;
    for entry in std::fs::read_dir(src)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        let target = dst.join(entry.file_name());
        if kind.is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else if kind.is_file() {
            std::fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}

/// Which container ended the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ending {
    Client,
    Server,
    Sim,
    Timeout,
}

/// The containers' inputs for one run (a trial, or a compliance check).
fn setup_for(
    prefix: &str,
    nets: NetworkPair,
    m: &Materials,
    scenario: &str,
    (server_testcase, client_testcase): (&str, &str),
    extra_env: &[(&str, &str)],
) -> TrialSetup {
    TrialSetup {
        prefix: prefix.to_string(),
        nets,
        labels: dk::labels(&[("trial", prefix)]),
        scenario: scenario.to_string(),
        server_testcase: server_testcase.to_string(),
        client_testcase: client_testcase.to_string(),
        server_requests: m.server_requests.clone(),
        client_requests: m.client_requests.clone(),
        server_protocols: m.server_protocols.clone(),
        client_protocols: m.client_protocols.clone(),
        extra_env: extra_env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        certs: m.certs.clone(),
        server_www: m.server_www.clone(),
        client_www: m.client_www.clone(),
    }
}

async fn create(
    ctx: &RunOnce<'_>,
    res: &mut Resources,
    role: &str,
    spec: &ContainerSpec,
) -> Result<(), String> {
    let id = create_container(ctx.docker, spec).await?;
    res.containers.push((role.to_string(), id));
    Ok(())
}

async fn execute(
    ctx: &RunOnce<'_>,
    m: &Materials,
    res: &mut Resources,
    timings: &mut Timings,
    t0: Instant,
) -> Verdict {
    match execute_inner(ctx, m, res, timings, t0).await {
        Ok(v) => v,
        Err(reason) => Verdict::failed(reason),
    }
}

async fn execute_inner(
    ctx: &RunOnce<'_>,
    m: &Materials,
    res: &mut Resources,
    timings: &mut Timings,
    t0: Instant,
) -> Result<Verdict, String> {
    let log = ctx.log;
    let nets = net::create_pair(
        ctx.docker,
        &ctx.prefix,
        &dk::labels(&[("trial", &ctx.prefix)]),
    )
    .await?;
    log.line(format!(
        "networks: client side 193.167.{0}.0/24, server side 193.167.{1}.0/24",
        nets.subnets.left, nets.subnets.right
    ));
    res.nets = Some(nets.clone());
    let t = ctx.test;
    let testcases = (t.server_testcase, t.client_testcase);
    let setup = setup_for(&ctx.prefix, nets, m, t.scenario, testcases, t.extra_env);
    create(
        ctx,
        res,
        "sim",
        &setup.sim(&ctx.images.sim, ctx.sim_sysctls),
    )
    .await?;
    create(ctx, res, "server", &setup.server(&ctx.images.server)).await?;
    create(ctx, res, "client", &setup.client(&ctx.images.client)).await?;
    for extra in ctx.test.extra_containers {
        let server_side = *extra == ExtraContainer::IperfServer;
        let role = if server_side {
            "iperf_server"
        } else {
            "iperf_client"
        };
        create(ctx, res, role, &setup.iperf(&ctx.images.iperf, server_side)).await?;
    }
    log.line(format!("scenario: {}", ctx.test.scenario));
    log.line(format!(
        "server: {} (TESTCASE={}), client: {} (TESTCASE={})",
        ctx.images.server, ctx.test.server_testcase, ctx.images.client, ctx.test.client_testcase
    ));
    // The simulator first (as compose's depends_on), then the rest at once:
    // the client itself waits until the simulated link is up.
    start_role(ctx.docker, res, "sim").await?;
    timings.before_client = t0.elapsed();
    let rest = ["server", "iperf_server", "iperf_client", "client"]
        .map(|r| start_role(ctx.docker, res, r));
    for started in futures_util::future::join_all(rest).await {
        started?;
    }
    log.line("client started");
    let t_run = Instant::now();
    let ending = wait_for_end(ctx, res).await;
    timings.running = t_run.elapsed();
    log.line(format!(
        "run ended by {ending:?} after {:.1} s",
        timings.running.as_secs_f64()
    ));
    stop_all(ctx.docker, res).await;
    let codes = exit_codes(ctx.docker, res).await;
    for (role, code) in &codes {
        log.line(format!(
            "{role} exit code: {}",
            code.map_or("unknown".to_string(), |c| c.to_string())
        ));
    }
    let sim_last_line = collect_logs(ctx, res).await;
    let code = |r: &str| {
        codes
            .iter()
            .find(|(role, _)| role == r)
            .and_then(|(_, c)| *c)
    };
    let ended = Ended {
        ending,
        server: code("server"),
        client: code("client"),
        sim: code("sim"),
        sim_last_line,
    };
    decide(ctx, m, res, &ended).await
}

async fn wait_for_end(ctx: &RunOnce<'_>, res: &Resources) -> Ending {
    let id = |r: &str| res.id(r).unwrap_or_default().to_string();
    let (client, server, sim) = (id("client"), id("server"), id("sim"));
    tokio::select! {
        _ = container::wait_exit(ctx.docker, &client) => Ending::Client,
        _ = container::wait_exit(ctx.docker, &server) => Ending::Server,
        _ = container::wait_exit(ctx.docker, &sim) => Ending::Sim,
        _ = tokio::time::sleep(ctx.test.timeout) => Ending::Timeout,
    }
}

async fn stop_all(docker: &Docker, res: &Resources) {
    // The sim flushes its traces on SIGTERM; endpoints get a short grace.
    let stops = res
        .containers
        .iter()
        .map(|(_, id)| container::stop(docker, id, Duration::from_secs(2)));
    futures_util::future::join_all(stops).await;
}

async fn exit_codes(docker: &Docker, res: &Resources) -> Vec<(String, Option<i64>)> {
    let mut out = Vec::new();
    for (role, id) in &res.containers {
        let code = docker
            .inspect_container(id, None)
            .await
            .ok()
            .and_then(|i| i.state)
            .and_then(|s| s.exit_code);
        out.push((role.clone(), code));
    }
    out
}

/// Log copies are capped: a runaway endpoint must not fill the disk.
const LOG_LIMIT: u64 = 2 << 30;
const CONSOLE_LIMIT: usize = 256 * 1024;

/// Copies every container's console and /logs; returns the simulator's
/// last console line, which says why it stopped if it did.
async fn collect_logs(ctx: &RunOnce<'_>, res: &Resources) -> String {
    let mut sim_last_line = String::new();
    for (role, id) in &res.containers {
        let console = container::console(ctx.docker, id, CONSOLE_LIMIT).await;
        ctx.log.block(&format!("{role} console"), &console);
        if role == "sim" {
            sim_last_line = last_line(&console);
        }
        if role.starts_with("iperf") {
            continue;
        }
        let dest = ctx.log_dir.join(role);
        let copied = match archive::download(ctx.docker, id, "/logs", LOG_LIMIT).await {
            Ok(file) => tokio::task::spawn_blocking({
                let dest = dest.clone();
                move || archive::extract(file, &dest)
            })
            .await
            .map_err(|e| e.to_string())
            .and_then(|r| r),
            Err(e) => Err(e),
        };
        match copied {
            Ok(notes) => notes
                .iter()
                .for_each(|n| ctx.log.line(format!("{role} logs: {n}"))),
            Err(e) => ctx.log.line(format!("{role} logs not copied: {e}")),
        }
    }
    sim_last_line
}

fn last_line(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .rfind(|l| !l.is_empty())
        .unwrap_or_default()
        .to_string()
}

/// How a run ended: what stopped it and every exit code.
struct Ended {
    ending: Ending,
    server: Option<i64>,
    client: Option<i64>,
    sim: Option<i64>,
    sim_last_line: String,
}

async fn decide(
    ctx: &RunOnce<'_>,
    m: &Materials,
    res: &Resources,
    e: &Ended,
) -> Result<Verdict, String> {
    let (server, client) = (e.server, e.client);
    if e.ending == Ending::Timeout {
        return Ok(Verdict::failed(format!(
            "the test did not finish within {} s",
            ctx.test.timeout.as_secs()
        )));
    }
    for (role, code) in [("server", server), ("client", client)] {
        if code == Some(127) {
            return Ok(Verdict::unsupported(format!(
                "the {role} does not support this test case (exit code 127)"
            )));
        }
    }
    if e.ending == Ending::Sim {
        let why = if e.sim_last_line.is_empty() {
            String::new()
        } else {
            format!(": {}", e.sim_last_line)
        };
        return Ok(Verdict::failed(format!(
            "the simulator stopped (exit code {}) before the client finished{why}",
            e.sim.map_or("unknown".to_string(), |c| c.to_string())
        )));
    }
    if client != Some(0) && server != Some(0) {
        let show = |c: Option<i64>| c.map_or("unknown".to_string(), |c| c.to_string());
        return Ok(Verdict::failed(format!(
            "the client exited with code {} and the server with code {}",
            show(client),
            show(server)
        )));
    }
    let evidence = gather(ctx, m, res).await;
    let verdict = judge::judge(ctx.test, &evidence);
    for note in &verdict.notes {
        ctx.log.line(note);
    }
    Ok(verdict)
}

async fn check_side(
    ctx: &RunOnce<'_>,
    id: &str,
    expected: &[Expected],
    save: Option<PathBuf>,
) -> Result<(), String> {
    let limit = expected
        .iter()
        .map(|e| std::fs::metadata(&e.source).map(|m| m.len()).unwrap_or(0))
        .sum::<u64>()
        * 2
        + (64 << 20);
    let tar = archive::download(ctx.docker, id, "/downloads", limit).await?;
    let expected = expected.to_vec();
    tokio::task::spawn_blocking(move || archive::check_downloads(tar, &expected, save.as_deref()))
        .await
        .map_err(|e| e.to_string())?
}

/// Reads one small file out of a container's /downloads.
async fn read_small(ctx: &RunOnce<'_>, id: &str, path: &str) -> Option<String> {
    let tar = archive::download(ctx.docker, id, path, 64 * 1024)
        .await
        .ok()?;
    tokio::task::spawn_blocking(move || {
        let mut a = tar::Archive::new(tar);
        let mut entry = a.entries().ok()?.next()?.ok()?;
        if entry.header().entry_type() != tar::EntryType::Regular {
            return None;
        }
        let mut s = String::new();
        std::io::Read::read_to_string(&mut entry, &mut s).ok()?;
        Some(s)
    })
    .await
    .ok()
    .flatten()
}

async fn gather(ctx: &RunOnce<'_>, m: &Materials, res: &Resources) -> Evidence {
    let client = res.id("client").unwrap_or_default();
    let server = res.id("server").unwrap_or_default();
    let save = |side: &str| {
        ctx.save_files
            .then(|| ctx.log_dir.join(format!("{side}_downloads")))
    };
    let mut files = Ok(());
    if !m.client_downloads.is_empty() {
        files = check_side(ctx, client, &m.client_downloads, save("client")).await;
    }
    if files.is_ok() && !m.server_downloads.is_empty() {
        files = check_side(ctx, server, &m.server_downloads, save("server")).await;
    }
    let negotiated = match &m.negotiated {
        Some(expected) => Some(Negotiated {
            expected: expected.clone(),
            client: read_small(ctx, client, "/downloads/negotiated_protocol.txt").await,
            server: read_small(ctx, server, "/downloads/negotiated_protocol.txt").await,
        }),
        None => None,
    };
    let sn = res.nets.as_ref().map(|n| n.subnets);
    let addrs = |pick: fn(&net::Subnets) -> u8| -> Vec<std::net::IpAddr> {
        sn.iter()
            .flat_map(|s| {
                [
                    net::Subnets::v4(pick(s), 100),
                    net::Subnets::v6(pick(s), 100),
                ]
            })
            .filter_map(|a| a.parse().ok())
            .collect()
    };
    let sizes = ctx.test.file_sizes();
    Evidence {
        files,
        negotiated,
        run_dir: ctx.log_dir.clone(),
        server_addrs: addrs(|s| s.right),
        client_addrs: addrs(|s| s.left),
        file_count: sizes.len(),
        file_bytes: sizes.iter().sum(),
    }
}

/// Whether an implementation answers an unknown test case with 127.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Compliance {
    Compliant,
    NotCompliant(String),
}

/// Runs an implementation alone with a test case nobody knows; a compliant
/// endpoint exits 127. The client gets a simulator to wait for, as in the
/// reference. `Err` means the check itself could not run.
pub async fn check_compliance(
    docker: &Docker,
    images: &Images,
    role: &str,
    prefix: &str,
    sim_sysctls: &[(&str, &str)],
) -> Result<Compliance, String> {
    let tmp = crate::orchestrate::cleanup::temp_dir().map_err(|e| e.to_string())?;
    let certs = tmp.path().join("certs");
    let www = tmp.path().join("www");
    for d in [&certs, &www] {
        std::fs::create_dir_all(d).map_err(|e| e.to_string())?;
    }
    let chain =
        crate::orchestrate::materials::certs::generate(crate::catalog::testcases::CertSpec {
            length: 1,
            inflated_leaf: false,
        })
        .map_err(|e| e.to_string())?;
    chain.write_to(&certs).map_err(|e| e.to_string())?;
    let m = Materials {
        certs,
        server_www: www.clone(),
        client_www: www,
        ..Default::default()
    };
    let mut res = Resources::default();
    let result = AssertUnwindSafe(compliance_inner(
        docker,
        images,
        role,
        prefix,
        &m,
        sim_sysctls,
        &mut res,
    ))
    .catch_unwind()
    .await
    .unwrap_or_else(|_| Err("the runner panicked during the compliance check".into()));
    teardown(docker, &res).await;
    result
}

async fn compliance_inner(
    docker: &Docker,
    images: &Images,
    role: &str,
    prefix: &str,
    m: &Materials,
    sim_sysctls: &[(&str, &str)],
    res: &mut Resources,
) -> Result<Compliance, String> {
    let nets = net::create_pair(docker, prefix, &dk::labels(&[("trial", prefix)])).await?;
    res.nets = Some(nets.clone());
    let unknown = crate::orchestrate::materials::files::slug(&mut rand::thread_rng());
    let testcases = (unknown.as_str(), unknown.as_str());
    let setup = setup_for(prefix, nets, m, DEFAULT_SCENARIO, testcases, &[]);
    let (spec, image) = if role == "server" {
        (setup.server(&images.server), &images.server)
    } else {
        let mut sim = setup.sim(&images.sim, sim_sysctls);
        sim.env.retain(|(k, _)| k != "WAITFORSERVER");
        res.containers
            .push(("sim".into(), create_container(docker, &sim).await?));
        start_role(docker, res, "sim").await?;
        (setup.client(&images.client), &images.client)
    };
    res.containers
        .push((role.to_string(), create_container(docker, &spec).await?));
    start_role(docker, res, role).await?;
    let id = res.id(role).unwrap_or_default().to_string();
    Ok(match tokio::time::timeout(Duration::from_secs(60), container::wait_exit(docker, &id)).await {
        Ok(Ok(127)) => Compliance::Compliant,
        Ok(Ok(code)) => Compliance::NotCompliant(format!("the {role} image {image} exited with code {code} for an unknown test case instead of 127")),
        Ok(Err(e)) => return Err(e),
        Err(_) => Compliance::NotCompliant(format!("the {role} image {image} did not exit within 60 s for an unknown test case")),
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn last_line_skips_trailing_blank_lines() {
        assert_eq!(
            super::last_line("link up\n  bad flag --x  \n\n"),
            "bad flag --x"
        );
        assert_eq!(super::last_line(""), "");
    }
}
