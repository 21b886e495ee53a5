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

use collect::{after_verdict, finish_all, save_www, FinishPlan, Finished};
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

impl Images {
    /// The runner's own simulator and iperf images with these endpoints.
    pub fn with_endpoints(server: String, client: String) -> Images {
        Images {
            sim: crate::orchestrate::images::SIM_IMAGE.to_string(),
            iperf: crate::orchestrate::images::IPERF_IMAGE.to_string(),
            server,
            client,
        }
    }
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
    /// Shared with the work after the verdict, which adds to it.
    pub log: &'a Arc<TrialLog>,
    /// Where the run's network pair comes from.
    pub nets: &'a Arc<NetPool>,
    /// Where the teardown runs, after the verdict.
    pub afterwards: &'a Background,
    /// Told once the trial's containers have started: the runner sets the
    /// next trials up from then on, not while this one starts.
    pub started: &'a Started,
    pub turns: &'a StartTurns,
}

/// A one-time cue that a trial's containers have started.
pub struct Started(std::sync::Mutex<Option<tokio::sync::oneshot::Sender<()>>>);

impl Started {
    /// A cue and the receiver that hears it (or its drop).
    pub fn pair() -> (Started, tokio::sync::oneshot::Receiver<()>) {
        let (tx, rx) = tokio::sync::oneshot::channel();
        (Started(std::sync::Mutex::new(Some(tx))), rx)
    }

    fn tell(&self) {
        if let Some(tx) = self.0.lock().ok().and_then(|mut t| t.take()) {
            let _ = tx.send(());
        }
    }
}

/// The engine starts containers largely one at a time: a trial's own
/// starts go first, and a setup made ahead starts its containers only
/// when no trial is starting its own.
#[derive(Default)]
pub struct StartTurns(tokio::sync::RwLock<()>);

impl StartTurns {
    /// Held while a trial starts its containers (many may at once).
    async fn trial(&self) -> tokio::sync::RwLockReadGuard<'_, ()> {
        self.0.read().await
    }

    /// Returns once no trial is starting its containers.
    async fn ahead(&self) {
        drop(self.0.write().await);
    }
}

/// What setting a trial up needs: everything of [`RunOnce`] but the
/// trial's log directory, so it can happen before the trial's turn.
pub struct StageCtx<'a> {
    pub docker: &'a Docker,
    pub images: &'a Images,
    pub test: &'static TestCase,
    pub prefix: String,
    pub sim_sysctls: &'a [(&'a str, &'a str)],
    pub nets: &'a Arc<NetPool>,
    pub turns: &'a StartTurns,
}

/// A trial set up ahead of its turn: its files, networks and containers,
/// with the simulator (holding its link) and the server running.
pub struct Staged {
    tmp: tempfile::TempDir,
    m: Materials,
    res: Resources,
    log: TrialLog,
    timings: Timings,
    /// How long the trial waited for the setup to finish, at its turn.
    pub waited: std::time::Duration,
}

/// Sets a trial up ahead of its turn (see [`Staged`]). On failure, what
/// was created is removed and the trial can be run as usual.
pub async fn stage(ctx: &StageCtx<'_>) -> Result<Staged, TrialError> {
    let log = TrialLog::new(false);
    let mut res = Resources::default();
    let mut timings = Timings::default();
    let result = AssertUnwindSafe(async {
        let (tmp, m) = setup(ctx, &mut res, &log, Hold::Yes, &mut timings).await?;
        ctx.turns.ahead().await;
        let t0 = std::time::Instant::now();
        start_all(ctx.docker, &log, &res, |r| r != Role::Client).await?;
        sim_listening(ctx.docker, &res).await?;
        timings.set(Phase::Start, t0.elapsed());
        Ok::<_, TrialError>((tmp, m))
    })
    .catch_unwind()
    .await
    .unwrap_or(Err(TrialError::Panicked));
    match result {
        Ok((tmp, m)) => Ok(Staged {
            tmp,
            m,
            res,
            log,
            timings,
            waited: std::time::Duration::ZERO,
        }),
        Err(e) => {
            teardown(ctx.docker, &res).await;
            Err(e)
        }
    }
}

/// Waits until the simulator has its signals in hand (it says which
/// scenario it runs right after): a cue sent before that would be lost.
async fn sim_listening(docker: &Docker, res: &Resources) -> Result<(), TrialError> {
    let id = res.id(Role::Sim).unwrap_or_default();
    let said = |l: &str| l.starts_with(netsim::SCENARIO_LINE);
    match container::follow_until(docker, id, said, 64 * 1024, SIM_READY_WAIT).await {
        Some(_) => Ok(()),
        None => Err(TrialError::SimSilent),
    }
}

/// How long a simulator set up ahead may take to start; it finds its two
/// networks within 10 s or stops.
const SIM_READY_WAIT: std::time::Duration = std::time::Duration::from_secs(15);

/// Removes a trial set up ahead that will not run.
pub async fn discard(docker: &Docker, staged: Staged) {
    teardown(docker, &staged.res).await;
}

/// What a run produced.
#[derive(Debug, Clone)]
pub struct RunReport {
    pub verdict: Verdict,
    pub timings: Timings,
}

/// Runs the test once, from its setup made ahead if there is one; never
/// panics. Its containers and networks are removed in the background once
/// the verdict is in (also after a panic).
pub async fn run_once(ctx: &RunOnce<'_>, ahead: Option<Staged>) -> RunReport {
    let mut timings = Timings::default();
    let mut res = Resources::default();
    let outcome = AssertUnwindSafe(execute(ctx, ahead, &mut res, &mut timings))
        .catch_unwind()
        .await;
    let verdict = outcome.unwrap_or_else(|_| {
        Verdict::failed("the runner panicked during the trial (a bug in interop-runner)")
    });
    let docker = ctx.docker.clone();
    let log = Arc::clone(ctx.log);
    let keep = verdict.outcome != crate::outcome::Outcome::Unsupported;
    let run = ctx.run.clone();
    ctx.afterwards.spawn(async move {
        if let (Some(before), Some(id)) = (res.server_left.take(), res.id(Role::Server)) {
            let dest = keep.then(|| run.logs(Role::Server));
            after_verdict(&docker, id, dest, &before, &log).await;
            if keep {
                log.rewrite(&run.output());
            }
        }
        teardown(&docker, &res).await;
    });
    RunReport { verdict, timings }
}

async fn execute(
    ctx: &RunOnce<'_>,
    ahead: Option<Staged>,
    res: &mut Resources,
    timings: &mut Timings,
) -> Verdict {
    let (held, _tmp, m) = match ahead {
        Some(staged) => {
            let (tmp, m) = adopt(ctx, staged, res, timings);
            (true, tmp, m)
        }
        None => match setup(&ctx.stage_ctx(), res, ctx.log, Hold::No, timings).await {
            Ok((tmp, m)) => (false, tmp, m),
            Err(e) => return Verdict::failed(e.to_string()),
        },
    };
    let verdict = match execute_inner(ctx, &m, res, timings, held).await {
        Ok(v) => v,
        Err(reason) => Verdict::failed(reason.to_string()),
    };
    if verdict.outcome == crate::outcome::Outcome::Failed && ctx.save_files {
        save_www(&m, &ctx.run, ctx.log);
    }
    verdict
}

/// Takes over a setup made ahead: its resources, its log lines, and the
/// wait for it as the trial's prepare phase.
fn adopt(
    ctx: &RunOnce<'_>,
    staged: Staged,
    res: &mut Resources,
    timings: &mut Timings,
) -> (tempfile::TempDir, Materials) {
    ctx.log.adopt(&staged.log, "set up ahead");
    ctx.log.line(format!(
        "set up ahead of its turn (files and networks {:.2} s, containers created {:.2} s, sim and server started {:.2} s); waited {:.2} s for it",
        staged.timings.get(Phase::Prepare).as_secs_f64(),
        staged.timings.get(Phase::Create).as_secs_f64(),
        staged.timings.get(Phase::Start).as_secs_f64(),
        staged.waited.as_secs_f64(),
    ));
    timings.set(Phase::Prepare, staged.waited);
    *res = staged.res;
    (staged.tmp, staged.m)
}

/// Whether the simulator holds its link until told (a trial set up ahead).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hold {
    Yes,
    No,
}

/// Files, certificates and networks, then every container created.
async fn setup(
    ctx: &StageCtx<'_>,
    res: &mut Resources,
    log: &TrialLog,
    hold: Hold,
    timings: &mut Timings,
) -> Result<(tempfile::TempDir, Materials), TrialError> {
    let mut clock = Clock::start();
    let tmp = crate::orchestrate::cleanup::temp_dir().map_err(TrialError::TempDir)?;
    let test = ctx.test;
    let dir = tmp.path().to_path_buf();
    let prepared = tokio::task::spawn_blocking(move || materials::prepare(test, &dir));
    let (prepared, nets) = tokio::join!(prepared, ctx.nets.take(ctx.docker));
    let nets = nets?;
    res.nets = Some(nets.clone());
    let m = prepared.map_err(TrialError::PrepareTask)??;
    clock.done(timings, Phase::Prepare);
    log.line(format!(
        "networks: client side 193.167.{0}.0/24, server side 193.167.{1}.0/24",
        nets.subnets.left, nets.subnets.right
    ));
    let t = ctx.test;
    let testcases = (t.server_testcase, t.client_testcase);
    let setup = setup_for(&ctx.prefix, nets, &m, t.scenario, testcases, t.extra_env);
    let mut sim = setup.sim(&ctx.images.sim, ctx.sim_sysctls);
    if hold == Hold::Yes {
        sim.env.push(("SIM_HOLD".to_string(), "1".to_string()));
    }
    let mut specs = vec![
        (Role::Sim, sim),
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
    create_all(ctx.docker, res, &specs).await?;
    clock.done(timings, Phase::Create);
    Ok((tmp, m))
}

async fn execute_inner(
    ctx: &RunOnce<'_>,
    m: &Materials,
    res: &mut Resources,
    timings: &mut Timings,
    held: bool,
) -> Result<Verdict, TrialError> {
    let log = ctx.log;
    let mut clock = Clock::start();
    log.line(format!("scenario: {}", ctx.test.scenario));
    log.line(format!(
        "server: {} (TESTCASE={}), client: {} (TESTCASE={})",
        ctx.images.server, ctx.test.server_testcase, ctx.images.client, ctx.test.client_testcase
    ));
    let turn = ctx.turns.trial().await;
    if held {
        // The client starts while the simulator opens its link.
        let go = async {
            let id = res.id(Role::Sim).unwrap_or_default();
            container::signal(ctx.docker, id, "SIGUSR1").await
        };
        let client = start_all(ctx.docker, log, res, |r| r == Role::Client);
        let (go, client) = tokio::join!(go, client);
        if let Err(e) = go {
            // A simulator that has stopped already ends the run at once,
            // and the verdict says why from its console.
            log.line(e.to_string());
        }
        client?;
    } else {
        start_all(ctx.docker, log, res, |_| true).await?;
    }
    drop(turn);
    clock.done(timings, Phase::Start);
    ctx.started.tell();
    log.line("client started");
    let ending = watch_run(ctx, res, timings, &mut clock).await;
    let ran_for = timings.get(Phase::Running);
    log.line(format!(
        "run ended by {ending:?} after {:.1} s",
        ran_for.as_secs_f64()
    ));
    let plan = FinishPlan {
        client_ended: ending == Ending::Client,
        leave_server: !ctx.test.is_measurement()
            && m.server_downloads.is_empty()
            && m.negotiated.is_none(),
        client_downloads: (ending == Ending::Client && !m.client_downloads.is_empty())
            .then(|| evidence::downloads_limit(&m.client_downloads)),
    };
    let Finished {
        codes,
        consoles,
        client_ran,
        server_left,
        client_downloads,
    } = finish_all(ctx, res, plan).await;
    res.server_left = server_left;
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
        client_downloads,
    };
    let verdict = decide(ctx, m, res, &ended).await;
    clock.done(timings, Phase::Judge);
    verdict
}

/// Starts the chosen containers at once: the client itself waits until
/// the simulated link is up (sim:57832), and nothing else needs the
/// simulator before that. Logs when each one had started.
async fn start_all(
    docker: &Docker,
    log: &TrialLog,
    res: &Resources,
    which: impl Fn(Role) -> bool,
) -> Result<(), TrialError> {
    let t0 = std::time::Instant::now();
    let starts =
        res.containers
            .iter()
            .filter(|(role, _)| which(*role))
            .map(|(role, id)| async move {
                let started = container::start(docker, id, role.name()).await;
                (*role, started, t0.elapsed())
            });
    for (role, started, at) in futures_util::future::join_all(starts).await {
        log.line(format!("{role} started after {:.2} s", at.as_secs_f64()));
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
    docker: &Docker,
    res: &mut Resources,
    specs: &[(Role, ContainerSpec)],
) -> Result<(), TrialError> {
    let created = specs
        .iter()
        .map(|(role, spec)| async move { (*role, create_container(docker, spec).await) });
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

impl RunOnce<'_> {
    fn stage_ctx(&self) -> StageCtx<'_> {
        StageCtx {
            docker: self.docker,
            images: self.images,
            test: self.test,
            prefix: self.prefix.clone(),
            sim_sysctls: self.sim_sysctls,
            nets: self.nets,
            turns: self.turns,
        }
    }
}

async fn wait_for_end(ctx: &RunOnce<'_>, res: &Resources) -> Ending {
    let id = |r: Role| res.id(r).unwrap_or_default().to_string();
    let (client, server, sim) = (id(Role::Client), id(Role::Server), id(Role::Sim));
    tokio::select! {
        _ = container::wait_exit(ctx.docker, &client) => Ending::Client,
        _ = container::process_gone(ctx.docker, &client) => Ending::Client,
        _ = container::wait_exit(ctx.docker, &server) => Ending::Server,
        _ = container::wait_exit(ctx.docker, &sim) => Ending::Sim,
        _ = tokio::time::sleep(ctx.test.timeout) => Ending::Timeout,
    }
}
