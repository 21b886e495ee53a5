//! A machine-wide lock around image builds, so two runners starting at once
//! do not both build (and race to tag) the same images.

use std::fs::File;
use std::os::unix::io::AsRawFd;
use std::path::PathBuf;

use super::ImagesError;

/// Held while images are checked and built; released on drop (closing the
/// file drops the flock), also when a build fails.
pub struct BuildLock {
    _file: File,
}

pub fn lock_path() -> PathBuf {
    std::env::temp_dir().join("interop-runner-images.lock")
}

impl BuildLock {
    /// Waits until no other process holds the lock.
    pub async fn acquire(
        progress: &mut (dyn FnMut(&str) + Send),
    ) -> Result<BuildLock, ImagesError> {
        Self::acquire_at(lock_path(), progress).await
    }

    /// Waits for the lock kept in the file at `path`.
    pub async fn acquire_at(
        path: PathBuf,
        progress: &mut (dyn FnMut(&str) + Send),
    ) -> Result<BuildLock, ImagesError> {
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e: std::io::Error| {
                ImagesError::io(format!("open lock file {}", path.display()), e)
            })?;
        if try_lock(&file, libc::LOCK_EX | libc::LOCK_NB).is_ok() {
            return Ok(BuildLock { _file: file });
        }
        progress(&format!(
            "another process is building images (lock {}); waiting for it",
            path.display()
        ));
        let file =
            tokio::task::spawn_blocking(move || try_lock(&file, libc::LOCK_EX).map(|()| file))
                .await
                .map_err(|e| {
                    ImagesError::io("wait for the image build lock", std::io::Error::other(e))
                })?
                .map_err(|e: std::io::Error| {
                    ImagesError::io(format!("lock {}", path.display()), e)
                })?;
        Ok(BuildLock { _file: file })
    }
}

fn try_lock(file: &File, operation: libc::c_int) -> std::io::Result<()> {
    loop {
        // SAFETY: flock on a file descriptor we own; no memory is passed.
        let result = unsafe { libc::flock(file.as_raw_fd(), operation) };
        if result == 0 {
            return Ok(());
        }
        let error = std::io::Error::last_os_error();
        if error.kind() != std::io::ErrorKind::Interrupted {
            return Err(error);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn second_holder_waits_for_the_first() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lock");
        let second_path = path.clone();
        let mut quiet = |_: &str| {};
        let first = BuildLock::acquire_at(path, &mut quiet).await.unwrap();
        let (sender, mut receiver) = tokio::sync::oneshot::channel::<()>();
        let waiter = tokio::spawn(async move {
            let mut messages: Vec<String> = Vec::new();
            let mut record = |m: &str| messages.push(m.to_string());
            let _second = BuildLock::acquire_at(second_path, &mut record)
                .await
                .unwrap();
            let _ = sender.send(());
            messages
        });
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        assert!(receiver.try_recv().is_err(), "lock was granted twice");
        drop(first);
        let messages = waiter.await.unwrap();
        assert!(messages.iter().any(|m: &String| m.contains("waiting")));
    }
}
