//! Nothing leaks: temporary directories are named after the process that
//! owns them, so a later run can remove what a killed one left; Ctrl-C and
//! SIGTERM remove this process's Docker objects and directories before it
//! exits.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};

const PREFIX: &str = "interop-runner-";

/// A fresh temporary directory owned by this process.
pub fn temp_dir() -> std::io::Result<tempfile::TempDir> {
    tempfile::Builder::new()
        .prefix(&format!("{PREFIX}{}-", std::process::id()))
        .tempdir()
}

fn owned_temp_dirs(remove_if: impl Fn(u32) -> bool) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().to_string();
            let pid: u32 = name.strip_prefix(PREFIX)?.split('-').next()?.parse().ok()?;
            remove_if(pid).then(|| e.path())
        })
        .collect()
}

fn alive(pid: u32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

/// Removes temporary directories of processes that are gone.
pub fn sweep_dead_temp_dirs() -> usize {
    let dead = owned_temp_dirs(|pid| !alive(pid));
    dead.iter()
        .filter(|d| std::fs::remove_dir_all(d).is_ok())
        .count()
}

/// Removes this process's temporary directories.
pub fn remove_own_temp_dirs() {
    let me = std::process::id();
    for d in owned_temp_dirs(|pid| pid == me) {
        let _ = std::fs::remove_dir_all(d);
    }
}

/// Set by the signal thread, read by the harness after the trials: a flag
/// that changes, not state made once, hence an atomic and not a OnceCell.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// True once SIGINT or SIGTERM arrived; the handler is cleaning up.
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// Called by a front end that finished: if an interruption is being
/// cleaned up, let the handler finish and exit the process (130) instead of
/// returning an exit code of a run cut short.
pub fn wait_if_interrupted() {
    if interrupted() {
        std::thread::sleep(std::time::Duration::from_secs(120));
        std::process::exit(130);
    }
}

/// On SIGINT or SIGTERM: remove this process's containers, networks and
/// temporary directories, then exit 130. Spawned on the runner's runtime.
pub async fn on_signal_clean_and_exit() {
    use tokio::signal::unix::{signal, SignalKind};
    let Ok(mut term) = signal(SignalKind::terminate()) else {
        return;
    };
    let Ok(mut int) = signal(SignalKind::interrupt()) else {
        return;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
    INTERRUPTED.store(true, Ordering::SeqCst);
    eprintln!(
        "interop-runner: interrupted; removing this run's containers, networks and temporary files"
    );
    if let Ok(docker) = crate::orchestrate::docker::connect().await {
        remove_until_quiet(&docker).await;
    }
    remove_own_temp_dirs();
    std::process::exit(130);
}

/// Trial threads may still have a create request in flight when the signal
/// arrives; its container appears after the first sweep. So sweep again
/// until a pass a moment later finds nothing (a few passes at most).
async fn remove_until_quiet(docker: &bollard::Docker) {
    const PASSES: usize = 5;
    const SETTLE: std::time::Duration = std::time::Duration::from_millis(500);
    for pass in 0..PASSES {
        let removed = crate::orchestrate::docker::remove_own_objects(docker).await;
        if pass > 0 && matches!(removed, Ok(0)) {
            return;
        }
        tokio::time::sleep(SETTLE).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_temp_dirs_are_found_and_dead_ones_swept() {
        let mine = temp_dir().unwrap();
        let me = std::process::id();
        assert!(owned_temp_dirs(|pid| pid == me).contains(&mine.path().to_path_buf()));
        // a directory named after a pid that cannot exist
        let dead = std::env::temp_dir().join(format!("{PREFIX}4000000000-x"));
        std::fs::create_dir_all(dead.join("sub")).unwrap();
        assert!(sweep_dead_temp_dirs() >= 1);
        assert!(!dead.exists());
        assert!(mine.path().exists(), "a live process's directory stays");
    }
}
