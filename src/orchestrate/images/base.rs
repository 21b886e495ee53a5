//! The base images every other image is built FROM, one per [`Suite`]:
//! `debian:<codename>` when a registry is reachable, otherwise a minimal
//! Debian bootstrapped locally with debootstrap and imported through the
//! Docker API.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Instant;

use bollard::query_parameters::CreateImageOptions;
use bollard::Docker;
use futures_util::StreamExt;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};

use super::docker::{self, PROJECT_LABEL};
use super::suite::Suite;
use super::{ImageAction, ImagesError};

/// Bookworm's base image, which the runner's own images build on.
pub const BASE_IMAGE: &str = "interop-runner/base:bookworm";
const IMPORT_CHUNK: usize = 1 << 20;

/// Makes sure the base image of `suite` exists; returns what was done.
pub async fn ensure_base(
    docker: &Docker,
    suite: Suite,
    progress: &mut (dyn FnMut(&str) + Send),
) -> Result<ImageAction, ImagesError> {
    let image = suite.base_image();
    let upstream = suite.upstream_image();
    if docker::image_id(docker, image).await?.is_some() {
        return Ok(ImageAction::Present {
            image: image.to_string(),
        });
    }
    progress(&format!("{image} is missing; trying to pull {upstream}"));
    match docker::pull(docker, upstream, progress).await {
        Ok(()) => {
            docker::tag(docker, upstream, image).await?;
            return Ok(ImageAction::Pulled {
                image: image.to_string(),
                from: upstream.to_string(),
            });
        }
        Err(why) => progress(&format!(
            "cannot pull {upstream} ({why}); bootstrapping {image} with debootstrap instead"
        )),
    }
    let started = Instant::now();
    bootstrap_image(docker, suite, image, progress).await?;
    Ok(ImageAction::Bootstrapped {
        image: image.to_string(),
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Creates `image` from nothing: `debootstrap --variant=minbase <suite>`
/// into a temporary directory, then an import of that tree through the
/// Docker API. Installs debootstrap first on a Debian-like host without it.
pub async fn bootstrap_image(
    docker: &Docker,
    suite: Suite,
    image: &str,
    progress: &mut (dyn FnMut(&str) + Send),
) -> Result<(), ImagesError> {
    // SAFETY: geteuid has no preconditions and cannot fail.
    let is_root: bool = unsafe { libc::geteuid() } == 0;
    if !is_root {
        return Err(ImagesError::Bootstrap(format!(
            "debootstrap must run as root, so run this once as root (or load a {} image and tag it {image})",
            suite.upstream_image()
        )));
    }
    let debootstrap = match find_in_path("debootstrap") {
        Some(path) => path,
        None => install_debootstrap(progress).await?,
    };
    // Under /var/tmp: /tmp is often a small tmpfs, the tree is ~200 MB.
    let scratch_parent = Path::new("/var/tmp");
    let root = tempfile::Builder::new()
        .prefix("interop-runner-base-")
        .tempdir_in(if scratch_parent.is_dir() {
            scratch_parent
        } else {
            Path::new("/tmp")
        })
        .map_err(|e: std::io::Error| ImagesError::io("create a directory for debootstrap", e))?;
    progress(&format!(
        "running debootstrap --variant=minbase {suite} {} (about a minute)",
        root.path().display()
    ));
    let mut command = tokio::process::Command::new(&debootstrap);
    command
        .args(["--variant=minbase", suite.codename()])
        .arg(root.path());
    run_logged(command, "debootstrap", progress).await?;
    progress(&format!("importing the bootstrapped tree as {image}"));
    import_tree(docker, root.path(), image).await
}

/// Streams `tar -c` of the tree into the daemon's image import, so the
/// 200 MB archive never sits in memory.
async fn import_tree(docker: &Docker, root: &Path, image: &str) -> Result<(), ImagesError> {
    let mut child = tokio::process::Command::new("tar")
        .args(["--numeric-owner", "-C"])
        .arg(root)
        .args(["-c", "."])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e: std::io::Error| {
            ImagesError::io("start tar to archive the bootstrapped tree", e)
        })?;
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| ImagesError::Bootstrap("tar's output could not be captured".to_string()))?;
    let chunks = futures_util::stream::unfold(stdout, |mut out| async move {
        let mut buffer = vec![0u8; IMPORT_CHUNK];
        match out.read(&mut buffer).await {
            Ok(0) => None,
            Ok(n) => {
                buffer.truncate(n);
                Some((Ok(bytes::Bytes::from(buffer)), out))
            }
            Err(e) => Some((Err(e), out)),
        }
    });
    let (repo, tag) = docker::split_reference(image);
    let options = CreateImageOptions {
        from_src: Some("-".to_string()),
        repo: Some(repo.to_string()),
        tag: Some(tag.to_string()),
        changes: vec![
            format!("LABEL {PROJECT_LABEL}=1"),
            "CMD [\"/bin/bash\"]".to_string(),
        ],
        ..Default::default()
    };
    let body = bollard::body_try_stream(chunks);
    let mut stream = docker.create_image(Some(options), Some(body), None);
    let mut import_error: Option<String> = None;
    while let Some(item) = stream.next().await {
        if let Err(e) = item {
            import_error = Some(e.to_string());
        }
    }
    let status = child
        .wait_with_output()
        .await
        .map_err(|e: std::io::Error| ImagesError::io("wait for tar", e))?;
    if !status.status.success() {
        return Err(ImagesError::Bootstrap(format!(
            "tar of the bootstrapped tree failed: {}",
            String::from_utf8_lossy(&status.stderr).trim()
        )));
    }
    if let Some(why) = import_error {
        return Err(ImagesError::Bootstrap(format!(
            "Docker rejected the imported tree: {why}"
        )));
    }
    Ok(())
}

/// Installs debootstrap with apt-get on a Debian-like host; anywhere else the
/// user must install it.
async fn install_debootstrap(
    progress: &mut (dyn FnMut(&str) + Send),
) -> Result<PathBuf, ImagesError> {
    let apt_get = find_in_path("apt-get").filter(|_| Path::new("/etc/debian_version").exists());
    let Some(apt_get) = apt_get else {
        return Err(ImagesError::Bootstrap(
            "debootstrap is not installed and this is not a Debian/Ubuntu host with apt-get; install the package 'debootstrap'".to_string(),
        ));
    };
    progress("debootstrap is not installed; installing it with apt-get (package 'debootstrap')");
    let mut update = tokio::process::Command::new(&apt_get);
    update.args(["update", "-q"]);
    run_logged(update, "apt-get update", progress).await?;
    let mut install = tokio::process::Command::new(&apt_get);
    install
        .args([
            "install",
            "-y",
            "-q",
            "--no-install-recommends",
            "debootstrap",
        ])
        .env("DEBIAN_FRONTEND", "noninteractive");
    run_logged(install, "apt-get install debootstrap", progress).await?;
    find_in_path("debootstrap").ok_or_else(|| {
        ImagesError::Bootstrap("apt-get installed 'debootstrap' but it is not on PATH".to_string())
    })
}

/// Runs a command, forwarding each output line to progress; on failure the
/// error repeats the last lines.
async fn run_logged(
    mut command: tokio::process::Command,
    name: &str,
    progress: &mut (dyn FnMut(&str) + Send),
) -> Result<(), ImagesError> {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e: std::io::Error| ImagesError::io(format!("start {name}"), e))?;
    let stderr = child.stderr.take();
    // stderr is drained concurrently so a chatty command cannot block on it.
    let stderr_task = tokio::spawn(async move {
        let mut text = String::new();
        if let Some(mut err) = stderr {
            let _ = err.read_to_string(&mut text).await;
        }
        text
    });
    let mut tail = super::docker::OutputTail::default();
    if let Some(out) = child.stdout.take() {
        let mut lines = BufReader::new(out).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            progress(&format!("{name}: {line}"));
            tail.push(&line);
        }
    }
    let status = child
        .wait()
        .await
        .map_err(|e: std::io::Error| ImagesError::io(format!("wait for {name}"), e))?;
    let stderr_text = stderr_task.await.unwrap_or_default();
    tail.push(&stderr_text);
    if status.success() {
        return Ok(());
    }
    Err(ImagesError::Bootstrap(format!(
        "{name} failed ({status}); its last output:\n{}",
        tail.text()
    )))
}

/// The first executable named `program` on PATH.
pub fn find_in_path(program: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        // root's PATH may lack the sbin directories where debootstrap lives.
        .chain(["/usr/sbin", "/sbin"].map(PathBuf::from))
        .map(|dir: PathBuf| dir.join(program))
        .find(|candidate: &PathBuf| {
            std::fs::metadata(candidate)
                .map(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
                .unwrap_or(false)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn find_in_path_finds_sh_and_not_nonsense() {
        assert!(find_in_path("sh").is_some());
        assert!(find_in_path("definitely-not-a-program-interop").is_none());
    }
}
