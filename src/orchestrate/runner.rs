//! Runs trials: one per call, from any thread (the harness runs them on
//! libtest's threads, the command line on its own). Owns the Docker
//! connection, the runner images, and per-process caches of resolved
//! implementation images and compliance checks, and writes each trial's
//! `output.txt` and `trial.json`.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bollard::Docker;
use tokio::sync::OnceCell;
use tokio::task::JoinHandle;

use crate::catalog::registry::Implementation;
use crate::catalog::testcases::Protocol;
use crate::front::config::OutputOptions;
use crate::layout::{Layout, Role};
use crate::orchestrate::ahead::Lookahead;
use crate::orchestrate::background::Background;
use crate::orchestrate::docker::pool::NetPool;
use crate::orchestrate::error::{self, RunnerError};
use crate::orchestrate::gate::{self, MachineGate};
use crate::orchestrate::images::{self, Resolution};
use crate::orchestrate::trial::{self, Images, RunOnce, Staged, TrialLog};
use crate::outcome::run::{self, PlannedRun, RunLine};
use crate::outcome::{epoch_now, MeasurementValue, Outcome, TrialRecord};
use crate::plan::Trial;

/// What every trial of the process shares once Docker is ready.
struct Shared {
    docker: Docker,
}

type Cached<T> = Arc<OnceCell<error::Shared<T>>>;

/// The once-computed slot for `key`; concurrent trials wait on one answer.
fn cache_cell<K: std::hash::Hash + Eq, T>(
    map: &Mutex<HashMap<K, Cached<T>>>,
    key: K,
) -> Result<Cached<T>, RunnerError> {
    let mut m = map.lock().map_err(|_| RunnerError::Poisoned)?;
    Ok(m.entry(key).or_default().clone())
}

/// How a trial ended: judged, or never run for want of an image.
enum RunEnd {
    Judged(Outcome, String),
    ImageUnavailable(String),
}

/// A resolved implementation image.
#[derive(Debug, Clone)]
struct ImplImage {
    image: String,
    id: String,
}

pub struct Runner {
    rt: tokio::runtime::Runtime,
    core: Arc<Core>,
}

/// Everything of the runner but its runtime, shared with the tasks that
/// set trials up ahead of their turn.
struct Core {
    opts: OutputOptions,
    multi_protocol: bool,
    shared: OnceCell<error::Shared<Shared>>,
    seq: AtomicU64,
    impl_images: Mutex<HashMap<String, Cached<ImplImage>>>,
    compliance: Mutex<HashMap<(String, Role), Cached<trial::Compliance>>>,
    /// Tests share the machine, measurements have it alone.
    gate: MachineGate,
    /// This process's run file, once `begin_run` opened it.
    run_file: Mutex<Option<std::fs::File>>,
    /// Where the built-in registry's `"build"` paths are relative to (a
    /// loaded registry's entries carry their file's directory).
    build_base: PathBuf,
    /// Network pairs made ahead of the trials that take them.
    nets: Arc<NetPool>,
    /// Teardowns of finished runs.
    afterwards: Background,
    /// Which trials to set up ahead, and those set up (by position).
    lookahead: Mutex<Lookahead>,
    staged: Mutex<HashMap<usize, JoinHandle<Option<Staged>>>>,
    /// Trials run so far (a retry runs one again).
    ran: Mutex<std::collections::HashSet<String>>,
    turns: trial::StartTurns,
}

impl Runner {
    pub fn new(opts: OutputOptions, multi_protocol: bool) -> Runner {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a tokio runtime can be built");
        rt.spawn(crate::orchestrate::cleanup::on_signal_clean_and_exit());
        let core = Arc::new(Core {
            opts,
            multi_protocol,
            shared: OnceCell::new(),
            seq: AtomicU64::new(0),
            impl_images: Mutex::default(),
            compliance: Mutex::default(),
            gate: MachineGate::default(),
            run_file: Mutex::default(),
            build_base: PathBuf::from(env!("CARGO_MANIFEST_DIR")),
            nets: Arc::default(),
            afterwards: Background::default(),
            lookahead: Mutex::new(Lookahead::none()),
            staged: Mutex::default(),
            ran: Mutex::default(),
            turns: trial::StartTurns::default(),
        });
        Runner { rt, core }
    }

    /// The trials this process will run, in order, on `threads` threads:
    /// while one runs, the next ones are set up. One more than the threads:
    /// a setup takes about a second, longer than a short trial.
    pub fn set_order(&self, order: Vec<Trial>, threads: usize) {
        if let Ok(mut l) = self.core.lookahead.lock() {
            *l = Lookahead::new(order, threads + 1);
        }
    }

    pub fn log_dir_for(&self, trial: &Trial) -> PathBuf {
        self.core.log_dir_for(trial)
    }

    pub fn begin_run(&self, start_time: f64, plans: Vec<PlannedRun>) {
        self.core.begin_run(start_time, plans)
    }

    pub fn end_run(&self, end_time: f64) {
        self.core.end_run(end_time)
    }

    /// Runs one trial to its record; blocks the calling thread, also while
    /// a measurement has the machine (or, for a measurement, until it has).
    pub fn run(&self, trial: &Trial) -> TrialRecord {
        let core = &self.core;
        // Taken before the start time, so records of trials that shared the
        // machine overlap and a measurement's overlaps none.
        let _turn = core.gate.enter(gate::Use::of(trial.test));
        if trial.test.is_measurement() {
            // The teardowns of the tests before it, and any setup made
            // ahead, are part of the machine it must have to itself.
            self.rt.block_on(core.discard_staged());
            self.rt.block_on(core.afterwards.drained());
        }
        let ahead = core.begin(trial);
        self.rt.block_on(core.run(trial, ahead))
    }

    /// Removes whatever this process still owns (normally nothing).
    pub fn shutdown(&self) {
        let core = &self.core;
        self.rt.block_on(core.discard_staged());
        self.rt.block_on(core.afterwards.drained());
        if let Some(Ok(shared)) = core.shared.get() {
            let _ = self
                .rt
                .block_on(crate::orchestrate::docker::remove_own_objects(
                    &shared.docker,
                ));
        }
        crate::orchestrate::cleanup::remove_own_temp_dirs();
    }
}

impl Core {
    /// `<log dir>/[webtransport/]<server>_<client>/<test>`: a run with both
    /// protocols keeps WebTransport apart, a single-protocol run has the
    /// reference layout.
    pub fn log_dir_for(&self, trial: &Trial) -> PathBuf {
        let mut d = self.opts.log_dir.clone();
        if self.multi_protocol && trial.protocol == Protocol::WebTransport {
            d.push("webtransport");
        }
        d.join(trial.log_subdir())
    }

    /// Notes that `trial` begins; takes its setup made ahead, if any.
    fn begin(&self, trial: &Trial) -> Option<JoinHandle<Option<Staged>>> {
        let at = self.lookahead.lock().ok()?.begin(&trial.name())?;
        self.staged.lock().ok()?.remove(&at)
    }

    /// Sets the next trials up, each in a task of its own.
    fn stage_next(self: &Arc<Self>) {
        let next = match self.lookahead.lock() {
            Ok(mut l) => l.to_set_up(),
            Err(_) => return,
        };
        for (at, trial) in next {
            let core = Arc::clone(self);
            let task = tokio::spawn(async move { core.stage(&trial).await });
            if let Ok(mut staged) = self.staged.lock() {
                staged.insert(at, task);
            }
        }
    }

    /// One trial's setup ahead of its turn; `None` when it cannot be made
    /// (the trial then finds out why itself, at its turn).
    async fn stage(&self, trial: &Trial) -> Option<Staged> {
        let docker = &self.shared().await.ok()?.docker;
        let server = self.impl_image(docker, &trial.server).await.ok()?;
        let client = self.impl_image(docker, &trial.client).await.ok()?;
        let images = Images::with_endpoints(server.image, client.image);
        for (role, id) in [(Role::Server, &server.id), (Role::Client, &client.id)] {
            let answer = self.compliant(docker, &images, role, id).await.ok()?;
            if answer != trial::Compliance::Compliant {
                return None;
            }
        }
        let ctx = trial::StageCtx {
            docker,
            images: &images,
            test: trial.test,
            prefix: self.next_prefix(),
            sim_sysctls: netsim::SYSCTLS,
            nets: &self.nets,
            turns: &self.turns,
        };
        trial::stage(&ctx).await.ok()
    }

    /// Removes every setup made ahead that no trial took.
    async fn discard_staged(&self) {
        let tasks: Vec<_> = match self.staged.lock() {
            Ok(mut s) => s.drain().map(|(_, t)| t).collect(),
            Err(_) => return,
        };
        for task in tasks {
            if let (Ok(Some(staged)), Some(Ok(shared))) = (task.await, self.shared.get()) {
                trial::discard(&shared.docker, staged).await;
            }
        }
    }

    async fn run(
        self: &Arc<Self>,
        trial: &Trial,
        ahead: Option<JoinHandle<Option<Staged>>>,
    ) -> TrialRecord {
        let start = epoch_now();
        let dir = self.log_dir_for(trial);
        let log = Arc::new(TrialLog::new(self.opts.debug));
        log.line(format!("trial {}", trial.name()));
        let mut record = TrialRecord {
            protocol: trial.protocol,
            server: trial.server.name.clone(),
            client: trial.client.name.clone(),
            test: trial.test.name.to_string(),
            abbr: trial.test.abbr.to_string(),
            outcome: Outcome::Failed,
            reason: String::new(),
            measurement: None,
            start_time: start,
            end_time: start,
            images: BTreeMap::new(),
            unavailable: None,
            earlier_failures: Vec::new(),
            log_path: dir
                .strip_prefix(&self.opts.log_dir)
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
        };
        let again = self
            .ran
            .lock()
            .map(|mut r| !r.insert(trial.name()))
            .unwrap_or(true);
        if again {
            // This process's earlier run of it may still be writing there
            // after its verdict.
            self.afterwards.drained().await;
        }
        if dir.exists() {
            // A re-run replaces that trial's earlier logs, nothing else.
            let _ = std::fs::remove_dir_all(&dir);
        }
        let end = self.run_async(trial, &dir, &log, &mut record, ahead).await;
        record.end_time = epoch_now();
        let (outcome, reason, unavailable) = match end {
            RunEnd::Judged(o, r) => (o, r, false),
            RunEnd::ImageUnavailable(r) => (Outcome::Unsupported, r, true),
        };
        record.outcome = outcome;
        record.reason = reason;
        // A trial that never ran leaves a line in the run file, not a
        // directory (thousands of them on a machine that lacks images).
        if unavailable && self.append_to_run_file(&record) {
            return record;
        }
        log.line(format!(
            "result: {}{}",
            record.outcome,
            if record.reason.is_empty() {
                String::new()
            } else {
                format!(": {}", record.reason)
            }
        ));
        self.write_logs(&dir, &log, &record);
        record
    }

    fn write_logs(&self, dir: &Path, log: &TrialLog, record: &TrialRecord) {
        if record.outcome == Outcome::Unsupported {
            // As the reference: unsupported trials keep no logs, only the
            // record the matrix is rebuilt from.
            let _ = std::fs::remove_dir_all(dir);
        } else if let Err(e) = std::fs::write(Layout::new(dir).output(), log.text()) {
            eprintln!("cannot write {}: {e}", Layout::new(dir).output().display());
        }
        if let Err(e) = record.write_to_dir(dir) {
            eprintln!("cannot write the trial record in {}: {e}", dir.display());
        }
    }

    async fn shared(&self) -> Result<&Shared, RunnerError> {
        let r = self
            .shared
            .get_or_init(|| async {
                let started: Result<Shared, RunnerError> = async {
                let docker = crate::orchestrate::docker::connect().await?;
                let swept = crate::orchestrate::docker::sweep_dead_runs(&docker).await?;
                let dirs = crate::orchestrate::cleanup::sweep_dead_temp_dirs();
                if swept + dirs > 0 {
                    eprintln!("interop-runner: removed {swept} Docker object(s) and {dirs} temporary directories left by runs that are gone");
                }
                let mut progress = |line: &str| eprintln!("images: {line}");
                let actions = images::ensure_runner_images(&docker, &mut progress).await?;
                for a in actions {
                    if !matches!(a, images::ImageAction::Present { .. }) {
                        eprintln!("images: {a}");
                    }
                }
                if let Some(note) = trial::probe_memlock(&docker, images::ENDPOINT_IMAGE).await? {
                    eprintln!("interop-runner: {note}");
                }
                Ok(Shared { docker })
                }
                .await;
                started.map_err(Arc::new)
            })
            .await;
        // The first failure is kept; later trials report the same.
        r.as_ref().map_err(|e| RunnerError::CannotStart(e.clone()))
    }

    async fn impl_image(&self, docker: &Docker, imp: &Implementation) -> error::Shared<ImplImage> {
        let cell = cache_cell(&self.impl_images, format!("{}={}", imp.name, imp.image))?;
        cell.get_or_init(|| async {
            let mut progress = |line: &str| eprintln!("{}: {line}", imp.name);
            let r = images::resolve_implementation_image(
                docker,
                &imp.name,
                &imp.image,
                imp.build.as_deref(),
                imp.build_base.as_deref().unwrap_or(&self.build_base),
                &mut progress,
            )
            .await
            .map_err(|e| Arc::new(e.into()))?;
            match r {
                Resolution::Available { image, id, .. } => Ok(ImplImage {
                    image,
                    id: id.to_string(),
                }),
                Resolution::Unavailable { reason } => {
                    Err(Arc::new(RunnerError::ImageUnavailable(reason)))
                }
            }
        })
        .await
        .clone()
    }

    async fn compliant(
        &self,
        docker: &Docker,
        images: &Images,
        role: Role,
        image_id: &str,
    ) -> error::Shared<trial::Compliance> {
        let cell = cache_cell(&self.compliance, (image_id.to_string(), role))?;
        cell.get_or_init(|| async {
            if let Some(known) = compliance_cache::load(image_id, role.name()) {
                return Ok(known);
            }
            let prefix = self.next_prefix();
            let result =
                trial::check_compliance(docker, images, role, &prefix, netsim::SYSCTLS).await;
            if let Ok(c) = &result {
                compliance_cache::store(image_id, role.name(), c);
            }
            result.map_err(|e| Arc::new(e.into()))
        })
        .await
        .clone()
    }

    fn next_prefix(&self) -> String {
        format!(
            "interop-{}-{}",
            std::process::id(),
            self.seq.fetch_add(1, Ordering::SeqCst)
        )
    }

    async fn run_async(
        self: &Arc<Self>,
        trial: &Trial,
        dir: &Path,
        log: &Arc<TrialLog>,
        record: &mut TrialRecord,
        ahead: Option<JoinHandle<Option<Staged>>>,
    ) -> RunEnd {
        let shared = match self.shared().await {
            Ok(s) => s,
            Err(e) => return RunEnd::Judged(Outcome::Failed, e.to_string()),
        };
        let docker = &shared.docker;
        let mut images = Images::with_endpoints(String::new(), String::new());
        for (role, imp) in [(Role::Server, &trial.server), (Role::Client, &trial.client)] {
            match self.impl_image(docker, imp).await {
                Ok(i) => {
                    log.line(format!("{role} image {} ({})", i.image, i.id));
                    record.images.insert(role.to_string(), i.id.clone());
                    if role == Role::Server {
                        images.server = i.image;
                    } else {
                        images.client = i.image;
                    }
                }
                Err(e) => {
                    record.unavailable = Some(imp.name.clone());
                    return RunEnd::ImageUnavailable(format!("{} ({role}): {e}", imp.name));
                }
            }
        }
        // Made only now: a trial whose image cannot be had leaves none.
        if let Err(e) = std::fs::create_dir_all(dir) {
            return RunEnd::Judged(
                Outcome::Failed,
                format!("cannot create the log directory {}: {e}", dir.display()),
            );
        }
        for role in Role::ENDPOINTS {
            let id = record.images.get(role.name()).cloned().unwrap_or_default();
            match self.compliant(docker, &images, role, &id).await {
                Ok(trial::Compliance::Compliant) => log.line(format!(
                    "{role} is compliant (exit code 127 for an unknown test case)"
                )),
                Ok(trial::Compliance::NotCompliant(why)) => {
                    log.line(format!("compliance check: {why}"));
                    let imp = if role == Role::Server {
                        &trial.server
                    } else {
                        &trial.client
                    };
                    record.unavailable = Some(imp.name.clone());
                    return RunEnd::Judged(
                        Outcome::Unsupported,
                        format!("{} ({role}) skipped: not compliant: {why}", imp.name),
                    );
                }
                Err(e) => {
                    return RunEnd::Judged(
                        Outcome::Failed,
                        format!("the {role} compliance check could not run: {e}"),
                    )
                }
            }
        }
        let waiting = std::time::Instant::now();
        let ahead = match ahead {
            Some(task) => task.await.ok().flatten().map(|mut s| {
                s.waited = waiting.elapsed();
                s
            }),
            None => None,
        };
        let (outcome, reason) = self
            .repetitions(trial, docker, &images, dir, log, record, ahead)
            .await;
        RunEnd::Judged(outcome, reason)
    }

    /// Starts this process's run file in the log directory: the plans, so
    /// `report` can rebuild the matrix exactly as this run prints it.
    pub fn begin_run(&self, start_time: f64, plans: Vec<PlannedRun>) {
        let name = run::run_file_name(start_time, std::process::id());
        let opened = run::open_for_append(&self.opts.log_dir, &name).and_then(|mut f| {
            run::append(&mut f, &RunLine::Plan { start_time, plans })?;
            Ok(f)
        });
        match opened {
            Ok(f) => {
                if let Ok(mut slot) = self.run_file.lock() {
                    *slot = Some(f);
                }
            }
            Err(e) => eprintln!(
                "interop-runner: cannot write the run file {name} in {}: {e}",
                self.opts.log_dir.display()
            ),
        }
    }

    /// Closes the run file with the time the run's results carry.
    pub fn end_run(&self, end_time: f64) {
        let Ok(mut slot) = self.run_file.lock() else {
            return;
        };
        if let Some(mut f) = slot.take() {
            if let Err(e) = run::append(&mut f, &RunLine::End { end_time }) {
                eprintln!("interop-runner: cannot finish the run file: {e}");
            }
        }
    }

    /// Whether the record went into the run file (false without one).
    fn append_to_run_file(&self, record: &TrialRecord) -> bool {
        let Ok(mut slot) = self.run_file.lock() else {
            return false;
        };
        slot.as_mut()
            .is_some_and(|f| run::append(f, &RunLine::Trial(Box::new(record.clone()))).is_ok())
    }

    #[allow(clippy::too_many_arguments)]
    async fn repetitions(
        self: &Arc<Self>,
        trial: &Trial,
        docker: &Docker,
        images: &Images,
        dir: &Path,
        log: &Arc<TrialLog>,
        record: &mut TrialRecord,
        mut ahead: Option<Staged>,
    ) -> (Outcome, String) {
        let reps = trial.test.repetitions();
        let mut values = Vec::new();
        let mut cpu_saturated = Vec::new();
        for rep in 1..=reps {
            let run = if trial.test.is_measurement() {
                Layout::new(dir).repetition(rep)
            } else {
                Layout::new(dir)
            };
            if reps > 1 {
                log.line(format!("repetition {rep} of {reps}"));
            }
            let (started, cue) = trial::Started::pair();
            let core = Arc::clone(self);
            tokio::spawn(async move {
                // Set up while this one runs, not while it starts.
                let _ = cue.await;
                core.stage_next();
            });
            let ctx = RunOnce {
                docker,
                images,
                test: trial.test,
                prefix: self.next_prefix(),
                run,
                save_files: self.opts.save_files,
                sim_sysctls: netsim::SYSCTLS,
                log,
                nets: &self.nets,
                afterwards: &self.afterwards,
                started: &started,
                turns: &self.turns,
            };
            let report = trial::run_once(&ctx, ahead.take()).await;
            log.line(report.timings.to_string());
            if report.timings.cpu_saturated() {
                cpu_saturated.push(rep);
            }
            let v = report.verdict;
            if v.outcome != Outcome::Succeeded {
                let reason = if reps > 1 {
                    format!("repetition {rep}: {}", v.reason)
                } else {
                    v.reason
                };
                return (v.outcome, reason);
            }
            if trial.test.is_measurement() {
                match v.value {
                    Some(value) => values.push(value),
                    None => {
                        return (
                            Outcome::Failed,
                            format!("repetition {rep}: the check gave no measurement value"),
                        )
                    }
                }
            }
        }
        if trial.test.is_measurement() {
            let m = MeasurementValue {
                values,
                unit: "kbps".into(),
                cpu_saturated,
            };
            log.line(format!("{}: {}", trial.test.name, m.details()));
            record.measurement = Some(m);
        }
        (Outcome::Succeeded, String::new())
    }
}

/// Compliance depends only on the image, so the answer is kept across
/// processes, keyed by image ID and role (each harness process would
/// otherwise spend seconds re-checking every implementation).
mod compliance_cache {
    use std::path::PathBuf;

    use crate::orchestrate::trial::Compliance;

    fn path(image_id: &str, role: &str) -> PathBuf {
        let id: String = image_id
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .collect();
        std::env::temp_dir()
            .join("interop-runner-cache")
            .join(format!("compliance-{role}-{id}"))
    }

    pub fn load(image_id: &str, role: &str) -> Option<Compliance> {
        let text = std::fs::read_to_string(path(image_id, role)).ok()?;
        match text.split_once('\n') {
            Some(("compliant", _)) => Some(Compliance::Compliant),
            Some(("not-compliant", why)) => Some(Compliance::NotCompliant(why.trim().to_string())),
            _ => None,
        }
    }

    pub fn store(image_id: &str, role: &str, c: &Compliance) {
        let p = path(image_id, role);
        let text = match c {
            Compliance::Compliant => "compliant\n".to_string(),
            Compliance::NotCompliant(why) => format!("not-compliant\n{why}\n"),
        };
        // Written whole then renamed, so a concurrent reader never sees half.
        let tmp = p.with_extension(format!("tmp{}", std::process::id()));
        let ok = p
            .parent()
            .is_some_and(|d| std::fs::create_dir_all(d).is_ok())
            && std::fs::write(&tmp, text).is_ok();
        if ok {
            let _ = std::fs::rename(&tmp, &p);
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn answers_survive_and_are_keyed_by_image_and_role() {
            let id = format!("sha256:test{}", std::process::id());
            assert_eq!(load(&id, "server"), None);
            store(&id, "server", &Compliance::NotCompliant("exited 0".into()));
            store(&id, "client", &Compliance::Compliant);
            assert_eq!(
                load(&id, "server"),
                Some(Compliance::NotCompliant("exited 0".into()))
            );
            assert_eq!(load(&id, "client"), Some(Compliance::Compliant));
            let _ = std::fs::remove_file(path(&id, "server"));
            let _ = std::fs::remove_file(path(&id, "client"));
        }
    }
}
