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
mod resources;
mod setup;

use std::panic::AssertUnwindSafe;
use std::time::{Duration, Instant};

use bollard::Docker;
use futures_util::FutureExt;

use crate::catalog::testcases::{ExtraContainer, TestCase};
use crate::judge::Verdict;
use crate::layout::{Layout, Role};
use crate::orchestrate::docker::container;
use crate::orchestrate::docker::net;
use crate::orchestrate::docker::{self as dk};
use crate::orchestrate::materials::{self, Materials};

pub use compliance::{check_compliance, Compliance};
pub use error::TrialError;
pub use log::TrialLog;
pub use memlock::probe_memlock;

use collect::{collect_logs, save_www};
use decide::{decide, Ended, Ending};
use resources::{create, exit_codes, start_role, stop_all, teardown, Resources};
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
        Ok(Err(e)) => return report(Verdict::failed(e.to_string()), Timings::default()),
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
        save_www(&m, &ctx.run, ctx.log);
    }
    report(verdict, timings)
}

fn report(verdict: Verdict, timings: Timings) -> RunReport {
    RunReport { verdict, timings }
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
        Err(reason) => Verdict::failed(reason.to_string()),
    }
}

async fn execute_inner(
    ctx: &RunOnce<'_>,
    m: &Materials,
    res: &mut Resources,
    timings: &mut Timings,
    t0: Instant,
) -> Result<Verdict, TrialError> {
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
        Role::Sim,
        &setup.sim(&ctx.images.sim, ctx.sim_sysctls),
    )
    .await?;
    create(ctx, res, Role::Server, &setup.server(&ctx.images.server)).await?;
    create(ctx, res, Role::Client, &setup.client(&ctx.images.client)).await?;
    for extra in ctx.test.extra_containers {
        let server_side = *extra == ExtraContainer::IperfServer;
        let role = if server_side {
            Role::IperfServer
        } else {
            Role::IperfClient
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
    start_role(ctx.docker, res, Role::Sim).await?;
    timings.before_client = t0.elapsed();
    let rest = [
        Role::Server,
        Role::IperfServer,
        Role::IperfClient,
        Role::Client,
    ]
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
    let consoles = collect_logs(ctx, res).await;
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
        ran_for: timings.running,
        consoles,
    };
    decide(ctx, m, res, &ended).await
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
