//! One run of one test between a server and a client, through Docker:
//! networks, containers, waiting, copying logs out, judging, tearing down.
//! Teardown always happens, also when the run fails or panics.
//!
//! Input: [`RunOnce`] (images, test case, names, log directory). Output:
//! [`RunReport`] (the verdict and phase timings); the run directory holds
//! what the endpoints and the simulator left. This file is the sequence;
//! each step is its own module: `setup` (what containers get),
//! `resources` (what was created, teardown), `memlock` (the ulimit the
//! engine may refuse), `collect` (consoles and /logs out), `decide` (what
//! exit codes already decide), `evidence` (downloads and addresses for the
//! judge), `compliance` (the 127 pre-check), `log` (`output.txt`).

mod collect;
mod compliance;
mod console;
mod decide;
mod error;
mod evidence;
mod log;
mod memlock;
mod phases;
mod resources;
mod setup;

use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use bollard::Docker;
use futures_util::FutureExt;

use crate::catalog::testcases::{ExtraContainer, TestCase};
use crate::judge::Verdict;
use crate::layout::{Layout, Role};
use crate::orchestrate::background::Background;
use crate::orchestrate::cpu::{self, CpuSample};
use crate::orchestrate::docker::container::{self, ContainerSpec};
use crate::orchestrate::docker::pool::NetPool;
use crate::orchestrate::materials::{self, Materials};

pub use compliance::{check_compliance, Compliance};
pub use error::TrialError;
pub use log::TrialLog;
pub use memlock::probe_memlock;
pub use phases::{Phase, Timings};

use collect::{finish_all, save_www, Finished};
use decide::{decide, Ended, Ending};
use memlock::create_container;
use phases::Clock;
use resources::{teardown, Resources};
use setup::setup_for;

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
    pub run: Layout,
    pub save_files: bool,
    pub sim_sysctls: &'a [(&'a str, &'a str)],
    pub log: &'a TrialLog,
    /// Where the run's network pair comes from.
    pub nets: &'a Arc<NetPool>,
    /// Where the teardown runs, after the verdict.
    pub afterwards: &'a Background,
}

/// What a run produced.
#[derive(Debug, Clone)]
pub struct RunReport {
    pub verdict: Verdict,
    pub timings: Timings,
}

/// Runs the test once; never panics. Its containers and networks are
/// removed in the background once the verdict is in (also after a panic).
pub async fn run_once(ctx: &RunOnce<'_>) -> RunReport {
    let mut timings = Timings::default();
    let mut res = Resources::default();
    let outcome = AssertUnwindSafe(execute(ctx, &mut res, &mut timings))
        .catch_unwind()
        .await;
    let verdict = outcome.unwrap_or_else(|_| {
        Verdict::failed("the runner panicked during the trial (a bug in interop-runner)")
    });
    let docker = ctx.docker.clone();
    ctx.afterwards
        .spawn(async move { teardown(&docker, &res).await });
    RunReport { verdict, timings }
}

async fn execute(ctx: &RunOnce<'_>, res: &mut Resources, timings: &mut Timings) -> Verdict {
    let mut clock = Clock::start();
    let tmp = match crate::orchestrate::cleanup::temp_dir() {
        Ok(t) => t,
        Err(e) => return Verdict::failed(format!("cannot create a temporary directory: {e}")),
    };
    let test = ctx.test;
    let dir = tmp.path().to_path_buf();
    let prepared = tokio::task::spawn_blocking(move || materials::prepare(test, &dir));
    let (prepared, nets) = tokio::join!(prepared, ctx.nets.take(ctx.docker));
    match nets {
        Ok(n) => res.nets = Some(n),
        Err(e) => return Verdict::failed(e.to_string()),
    }
    let m = match prepared {
        Ok(Ok(m)) => m,
        Ok(Err(e)) => return Verdict::failed(e.to_string()),
        Err(e) => return Verdict::failed(format!("preparing the test files failed: {e}")),
    };
    clock.done(timings, Phase::Prepare);
    let verdict = match execute_inner(ctx, &m, res, timings, clock).await {
        Ok(v) => v,
        Err(reason) => Verdict::failed(reason.to_string()),
    };
    if verdict.outcome == crate::outcome::Outcome::Failed && ctx.save_files {
        save_www(&m, &ctx.run, ctx.log);
    }
    verdict
}

async fn execute_inner(
    ctx: &RunOnce<'_>,
    m: &Materials,
    res: &mut Resources,
    timings: &mut Timings,
    mut clock: Clock,
) -> Result<Verdict, TrialError> {
    let log = ctx.log;
    let Some(nets) = res.nets.clone() else {
        return Ok(Verdict::failed(
            "the run has no networks (a bug in interop-runner)",
        ));
    };
    log.line(format!(
        "networks: client side 193.167.{0}.0/24, server side 193.167.{1}.0/24",
        nets.subnets.left, nets.subnets.right
    ));
    let t = ctx.test;
    let testcases = (t.server_testcase, t.client_testcase);
    let setup = setup_for(&ctx.prefix, nets, m, t.scenario, testcases, t.extra_env);
    let mut specs = vec![
        (Role::Sim, setup.sim(&ctx.images.sim, ctx.sim_sysctls)),
        (Role::Server, setup.server(&ctx.images.server)),
        (Role::Client, setup.client(&ctx.images.client)),
    ];
    for extra in ctx.test.extra_containers {
        let server_side = *extra == ExtraContainer::IperfServer;
        let role = if server_side {
            Role::IperfServer
        } else {
            Role::IperfClient
        };
        specs.push((role, setup.iperf(&ctx.images.iperf, server_side)));
    }
    create_all(ctx, res, &specs).await?;
    clock.done(timings, Phase::Create);
    log.line(format!("scenario: {}", ctx.test.scenario));
    log.line(format!(
        "server: {} (TESTCASE={}), client: {} (TESTCASE={})",
        ctx.images.server, ctx.test.server_testcase, ctx.images.client, ctx.test.client_testcase
    ));
    start_all(ctx, res).await?;
    clock.done(timings, Phase::Start);
    log.line("client started");
    let ending = watch_run(ctx, res, timings, &mut clock).await;
    let ran_for = timings.get(Phase::Running);
    log.line(format!(
        "run ended by {ending:?} after {:.1} s",
        ran_for.as_secs_f64()
    ));
    let Finished {
        codes,
        consoles,
        client_ran,
    } = finish_all(ctx, res).await;
    clock.done(timings, Phase::Finish);
    timings.client_ran = client_ran;
    let code = |r: Role| {
        codes
            .iter()
            .find(|(role, _)| *role == r)
            .and_then(|(_, c)| *c)
    };
    let ended = Ended {
        ending,
        server: code(Role::Server),
        client: code(Role::Client),
        sim: code(Role::Sim),
        ran_for,
        consoles,
    };
    let verdict = decide(ctx, m, res, &ended).await;
    clock.done(timings, Phase::Judge);
    verdict
}

/// Starts every container at once: the client itself waits until the
/// simulated link is up (sim:57832), and nothing else needs the simulator
/// before that. Logs when each one had started.
async fn start_all(ctx: &RunOnce<'_>, res: &Resources) -> Result<(), TrialError> {
    let t0 = std::time::Instant::now();
    let starts = res.containers.iter().map(|(role, id)| async move {
        let started = container::start(ctx.docker, id, role.name()).await;
        (*role, started, t0.elapsed())
    });
    for (role, started, at) in futures_util::future::join_all(starts).await {
        ctx.log
            .line(format!("{role} started after {:.2} s", at.as_secs_f64()));
        started?;
    }
    Ok(())
}

/// Waits for the run to end, and notes how busy the machine's CPUs and the
/// simulator's core were meanwhile (a measurement's figure needs both).
async fn watch_run(
    ctx: &RunOnce<'_>,
    res: &Resources,
    timings: &mut Timings,
    clock: &mut Clock,
) -> Ending {
    let sim_pid = match res.id(Role::Sim) {
        Some(id) => container::host_pid(ctx.docker, id).await,
        None => None,
    };
    let sim_ticks = sim_pid.and_then(cpu::process_ticks);
    let machine = CpuSample::now();
    let ending = wait_for_end(ctx, res).await;
    clock.done(timings, Phase::Running);
    timings.cpu_busy_running = machine
        .zip(CpuSample::now())
        .and_then(|(a, b)| a.busy_until(b));
    let secs = timings.get(Phase::Running).as_secs_f64();
    timings.sim_cpu_running = sim_ticks
        .zip(sim_pid.and_then(cpu::process_ticks))
        .and_then(|(a, b)| cpu::core_share(b.checked_sub(a)?, secs));
    ending
}

/// Creates every container at once; each one created is recorded for the
/// teardown even when another fails.
async fn create_all(
    ctx: &RunOnce<'_>,
    res: &mut Resources,
    specs: &[(Role, ContainerSpec)],
) -> Result<(), TrialError> {
    let created = specs
        .iter()
        .map(|(role, spec)| async move { (*role, create_container(ctx.docker, spec).await) });
    let mut first_error = None;
    for (role, made) in futures_util::future::join_all(created).await {
        match made {
            Ok(id) => res.containers.push((role, id)),
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    match first_error {
        Some(e) => Err(e.into()),
        None => Ok(()),
    }
}

async fn wait_for_end(ctx: &RunOnce<'_>, res: &Resources) -> Ending {
    let id = |r: Role| res.id(r).unwrap_or_default().to_string();
    let (client, server, sim) = (id(Role::Client), id(Role::Server), id(Role::Sim));
    tokio::select! {
        _ = container::wait_exit(ctx.docker, &client) => Ending::Client,
        _ = container::wait_exit(ctx.docker, &server) => Ending::Server,
        _ = container::wait_exit(ctx.docker, &sim) => Ending::Sim,
        _ = tokio::time::sleep(ctx.test.timeout) => Ending::Timeout,
    }
}
