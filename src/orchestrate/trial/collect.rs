//! Copies out what a run left: every container's console into the trial
//! log, each endpoint's /logs into the run directory, and (on failure, if
//! asked) the files that were served.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use bollard::Docker;

use super::console::{last_meaningful_line, SimCounters};
use super::error::TrialError;
use super::log::TrialLog;
use super::resources::Resources;
use super::RunOnce;
use crate::layout::{Layout, Role};
use crate::orchestrate::docker::archive;
use crate::orchestrate::docker::container;
use crate::orchestrate::docker::volume;
use crate::orchestrate::materials::Materials;

/// Log copies are capped: a runaway endpoint must not fill the disk.
const LOG_LIMIT: u64 = 2 << 30;
const CONSOLE_LIMIT: usize = 256 * 1024;
const STOP_GRACE: Duration = Duration::from_secs(2);
/// How long a simulator may take to complete its traces when asked; it
/// flushes two buffered files, so this is only reached when it is stuck.
const SIM_END_WAIT: Duration = Duration::from_secs(5);

/// What a failure's reason may quote from the consoles.
#[derive(Debug, Clone, Default)]
pub(super) struct Consoles {
    /// The simulator's last console line, which says why it stopped if it did.
    pub(super) sim_last_line: String,
    pub(super) server_last: Option<String>,
    pub(super) client_last: Option<String>,
    pub(super) sim: SimCounters,
}

/// What the containers said when they were done.
pub(super) struct Finished {
    pub(super) codes: Vec<(Role, Option<i64>)>,
    pub(super) consoles: Consoles,
    /// How long the client's process ran, by the engine's clock.
    pub(super) client_ran: Option<Duration>,
    /// The server was still running and was left so: the verdict does not
    /// read what it has yet to write. Its console so far.
    pub(super) server_left: Option<String>,
    /// The client's /downloads as the engine's tar, fetched alongside its
    /// /logs when the judge will check them.
    pub(super) client_downloads: Option<std::fs::File>,
}

/// What the finish may skip.
#[derive(Debug, Clone, Copy)]
pub(super) struct FinishPlan {
    /// The client ended the run: wait for the engine to note its exit
    /// instead of stopping it.
    pub(super) client_ended: bool,
    /// Copy the server's /logs without stopping it; it is stopped after
    /// the verdict (`after_verdict`).
    pub(super) leave_server: bool,
    /// Fetch the client's /downloads, up to this many bytes.
    pub(super) client_downloads: Option<u64>,
}

/// Stops every container and copies out its console and /logs, each
/// container on its own: the client's logs are copied while the server and
/// the simulator are still stopping.
pub(super) async fn finish_all(ctx: &RunOnce<'_>, res: &Resources, plan: FinishPlan) -> Finished {
    let each = res
        .containers
        .iter()
        .map(|(role, id)| finish_one(ctx, *role, id, plan));
    let mut done = Finished {
        codes: Vec::new(),
        consoles: Consoles::default(),
        client_ran: None,
        server_left: None,
        client_downloads: None,
    };
    for (role, (code, ran), console, downloads) in futures_util::future::join_all(each).await {
        if downloads.is_some() {
            done.client_downloads = downloads;
        }
        if role == Role::Client {
            done.client_ran = ran;
        }
        let left = role == Role::Server && plan.leave_server && code.is_none();
        if left {
            done.server_left = Some(console.clone());
        }
        let code_text = match (role, code) {
            (_, Some(c)) => c.to_string(),
            (Role::Sim | Role::Server, None) => {
                "none yet (still running; stopped after the verdict)".to_string()
            }
            (_, None) => "unknown".to_string(),
        };
        ctx.log.line(format!("{role} exit code: {code_text}"));
        ctx.log.block(&format!("{role} console"), &console);
        let seen = &mut done.consoles;
        match role {
            Role::Sim => {
                seen.sim_last_line = last_line(&console);
                seen.sim = SimCounters::parse(&console);
            }
            Role::Server => seen.server_last = last_meaningful_line(&console),
            Role::Client => seen.client_last = last_meaningful_line(&console),
            _ => {}
        }
        done.codes.push((role, code));
    }
    done
}

/// A stopped container's exit code and run time.
type Exit = (Option<i64>, Option<Duration>);

async fn finish_one(
    ctx: &RunOnce<'_>,
    role: Role,
    id: &str,
    plan: FinishPlan,
) -> (Role, Exit, String, Option<std::fs::File>) {
    let t0 = std::time::Instant::now();
    if role == Role::Server && plan.leave_server {
        if let Some((role, exit, console)) = copy_running(ctx, role, id).await {
            return (role, exit, console, None);
        }
    }
    if role == Role::Client && plan.client_ended {
        // Its process is gone; the engine is tidying up after it.
        let _ = tokio::time::timeout(STOP_GRACE, container::wait_exit(ctx.docker, id)).await;
    }
    if role == Role::Sim {
        if let Some(console) = end_sim(ctx, id).await {
            let local = volume::host_dirs(ctx.docker, id).await;
            let copied = collect_logs(ctx, role, id, &local).await;
            ctx.log.line(format!(
                "sim completed its traces after {:.2} s (still running, removed after the verdict), copied out after {:.2} s",
                copied.as_secs_f64(),
                t0.elapsed().as_secs_f64()
            ));
            return (role, (None, None), console, None);
        }
    }
    // Endpoints get a short grace after SIGTERM; a simulator that did not
    // answer its cue flushes its traces on SIGTERM.
    container::stop(ctx.docker, id, STOP_GRACE).await;
    let stopped = t0.elapsed();
    let local = volume::host_dirs(ctx.docker, id).await;
    let downloads = async {
        match plan.client_downloads.filter(|_| role == Role::Client) {
            Some(limit) => fetch(ctx.docker, id, "/downloads", limit, &local)
                .await
                .ok(),
            None => None,
        }
    };
    let (ended, console, _, downloads) = tokio::join!(
        container::ended(ctx.docker, id),
        container::console(ctx.docker, id, CONSOLE_LIMIT),
        collect_logs(ctx, role, id, &local),
        downloads
    );
    ctx.log.line(format!(
        "{role} stopped after {:.2} s, copied out after {:.2} s",
        stopped.as_secs_f64(),
        t0.elapsed().as_secs_f64()
    ));
    (role, ended, console, downloads)
}

/// The volumes of a container none of whose processes still writes that
/// can be read from here, by mount path; empty when the engine must
/// stream them (the container may still write, or the engine is elsewhere).
type Local = HashMap<String, PathBuf>;

/// A tar of `path` (a volume) of a container: made from the volume's
/// directory when `local` has it, else streamed by the engine.
async fn fetch(
    docker: &Docker,
    id: &str,
    path: &str,
    limit: u64,
    local: &Local,
) -> Result<std::fs::File, TrialError> {
    if let Some(dir) = local.get(path).cloned() {
        let top = path.trim_start_matches('/').to_string();
        let made = tokio::task::spawn_blocking(move || volume::tar_of(&dir, &top, limit)).await;
        if let Ok(Ok(file)) = made {
            return Ok(file);
        }
    }
    Ok(archive::download(docker, id, path, limit).await?)
}

/// A running container's console and /logs, without stopping it; `None`
/// when it is not running.
async fn copy_running(ctx: &RunOnce<'_>, role: Role, id: &str) -> Option<(Role, Exit, String)> {
    let t0 = std::time::Instant::now();
    container::host_pid(ctx.docker, id).await?;
    // Still running: only the engine's copy is safe to take.
    let engine_only = Local::new();
    let (console, _) = tokio::join!(
        container::console(ctx.docker, id, CONSOLE_LIMIT),
        collect_logs(ctx, role, id, &engine_only)
    );
    ctx.log.line(format!(
        "{role} still running, copied out after {:.2} s",
        t0.elapsed().as_secs_f64()
    ));
    Some((role, (None, None), console))
}

/// After the verdict: stops a server left running, copies its /logs again
/// (files it wrote on its way out, such as a qlog written when the last
/// connection is gone) and notes how it ended and what it said since.
pub(super) async fn after_verdict(
    docker: &Docker,
    id: &str,
    dest: Option<PathBuf>,
    console_before: &str,
    log: &TrialLog,
) {
    container::stop(docker, id, STOP_GRACE).await;
    let (code, _) = container::ended(docker, id).await;
    let console = container::console(docker, id, CONSOLE_LIMIT).await;
    log.line(format!(
        "server stopped after the verdict, exit code {}",
        code.map_or("unknown".to_string(), |c| c.to_string())
    ));
    let since = console.strip_prefix(console_before).unwrap_or(&console);
    if !since.trim().is_empty() {
        log.block("server console after the verdict", since);
    }
    if let Some(dest) = dest {
        let local = volume::host_dirs(docker, id).await;
        copy_logs(docker, log, Role::Server, id, dest, &local).await;
    }
}

/// Asks a running simulator to complete its traces (SIGUSR2) and waits
/// for it to say so: its traces can then be copied without stopping it,
/// which costs the engine a fifth of a second. Returns its console, or
/// `None` when it is not running or did not answer in time.
async fn end_sim(ctx: &RunOnce<'_>, id: &str) -> Option<String> {
    container::host_pid(ctx.docker, id).await?;
    container::signal(ctx.docker, id, "SIGUSR2").await.ok()?;
    container::follow_until(
        ctx.docker,
        id,
        |line| line == netsim::forwarder::TRACES_COMPLETE,
        CONSOLE_LIMIT,
        SIM_END_WAIT,
    )
    .await
}

/// One container's /logs copied into the run directory; returns when.
async fn collect_logs(ctx: &RunOnce<'_>, role: Role, id: &str, local: &Local) -> Duration {
    let t0 = std::time::Instant::now();
    if role.keeps_logs() {
        copy_logs(ctx.docker, ctx.log, role, id, ctx.run.logs(role), local).await;
    }
    t0.elapsed()
}

/// Copies a container's /logs into `dest`, noting what was left out or
/// why nothing could be copied.
async fn copy_logs(
    docker: &Docker,
    log: &TrialLog,
    role: Role,
    id: &str,
    dest: PathBuf,
    local: &Local,
) {
    let copied = match fetch(docker, id, "/logs", LOG_LIMIT, local).await {
        Ok(file) => tokio::task::spawn_blocking(move || archive::extract(file, &dest))
            .await
            .map_err(TrialError::from)
            .and_then(|r| r.map_err(TrialError::from)),
        Err(e) => Err(e),
    };
    match copied {
        Ok(notes) => notes
            .iter()
            .for_each(|n| log.line(format!("{role} logs: {n}"))),
        Err(e) => log.line(format!("{role} logs not copied: {e}")),
    }
}

pub(super) fn last_line(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .rfind(|l| !l.is_empty())
        .unwrap_or_default()
        .to_string()
}

pub(super) fn save_www(m: &Materials, run: &Layout, log: &TrialLog) {
    for (src, role) in [(&m.server_www, Role::Server), (&m.client_www, Role::Client)] {
        if let Err(e) = copy_tree(src, &run.saved_www(role)) {
            log.line(format!("could not save {role}_www: {e}"));
        }
    }
}

pub(super) fn copy_tree(src: &Path, dst: &Path) -> std::io::Result<()> {
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
