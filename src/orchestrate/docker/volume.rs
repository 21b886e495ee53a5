//! Reading a stopped container's volume straight from the engine's host
//! directory, when this process runs beside the engine and may read it:
//! the same tar the engine would stream, made locally in a fraction of
//! the time. Endpoints are untrusted, so the walk never follows a link:
//! links, devices and FIFOs become entries of their kind with no content,
//! which the readers of the tar report and never follow. Only containers
//! whose processes are all gone are read this way (nothing writes while
//! the walk runs).

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Seek};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use bollard::Docker;

/// The host directories behind container `id`'s mounts, by the path they
/// are mounted at, that can be read from here (none when the engine runs
/// elsewhere or this process may not read its directory).
pub async fn host_dirs(docker: &Docker, id: &str) -> HashMap<String, PathBuf> {
    let mounts = match docker.inspect_container(id, None).await {
        Ok(inspect) => inspect.mounts.unwrap_or_default(),
        Err(_) => return HashMap::new(),
    };
    mounts
        .into_iter()
        .filter_map(|m| Some((m.destination?, PathBuf::from(m.source?))))
        .filter(|(_, dir)| std::fs::read_dir(dir).is_ok())
        .collect()
}

/// A tar of `dir` with every entry under `top/` (as the engine names
/// them), or an error when it would hold more than `limit` bytes.
pub fn tar_of(dir: &Path, top: &str, limit: u64) -> io::Result<File> {
    let mut builder = tar::Builder::new(tempfile::tempfile()?);
    let mut total = 0u64;
    add_dir(&mut builder, dir, Path::new(top), limit, &mut total)?;
    let mut file = builder.into_inner()?;
    file.rewind()?;
    Ok(file)
}

fn add_dir(
    b: &mut tar::Builder<File>,
    dir: &Path,
    name: &Path,
    limit: u64,
    total: &mut u64,
) -> io::Result<()> {
    append_empty(b, name, tar::EntryType::Directory)?;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        let inner = name.join(entry.file_name());
        // symlink_metadata: the link itself, never what it points to.
        let meta = std::fs::symlink_metadata(&path)?;
        let kind = meta.file_type();
        if kind.is_dir() {
            add_dir(b, &path, &inner, limit, total)?;
        } else if kind.is_file() {
            *total += meta.len();
            if *total > limit {
                return Err(io::Error::other(format!("more than {} MiB", limit >> 20)));
            }
            let mut file = std::fs::OpenOptions::new()
                .read(true)
                .custom_flags(libc::O_NOFOLLOW)
                .open(&path)?;
            b.append_file(&inner, &mut file)?;
        } else if kind.is_symlink() {
            append_empty(b, &inner, tar::EntryType::Symlink)?;
        } else {
            append_empty(b, &inner, tar::EntryType::Fifo)?;
        }
    }
    Ok(())
}

fn append_empty(b: &mut tar::Builder<File>, name: &Path, kind: tar::EntryType) -> io::Result<()> {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    h.set_mode(if kind == tar::EntryType::Directory {
        0o755
    } else {
        0o644
    });
    h.set_size(0);
    b.append_data(&mut h, name, io::empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::orchestrate::docker::archive::{self, Expected};

    #[test]
    fn a_local_tar_reads_like_the_engines() {
        let vol = tempfile::tempdir().unwrap();
        std::fs::create_dir(vol.path().join("sub")).unwrap();
        std::fs::write(vol.path().join("a"), b"hello").unwrap();
        std::fs::write(vol.path().join("sub/b"), b"world").unwrap();
        let src = tempfile::tempdir().unwrap();
        let expected: Vec<Expected> = [("a", "hello"), ("sub/b", "world")]
            .iter()
            .map(|(n, d)| {
                let p = src.path().join(n.replace('/', "_"));
                std::fs::write(&p, d).unwrap();
                Expected {
                    name: n.to_string(),
                    source: p,
                }
            })
            .collect();
        let tar = tar_of(vol.path(), "downloads", 1 << 20).unwrap();
        archive::check_downloads(tar, &expected, None).unwrap();

        // A link to a host file is an entry of its own, never followed.
        std::os::unix::fs::symlink("/etc/passwd", vol.path().join("c")).unwrap();
        let tar = tar_of(vol.path(), "downloads", 1 << 20).unwrap();
        let e = archive::check_downloads(tar, &expected, None).unwrap_err();
        assert_eq!(e.to_string(), "unexpected file c in /downloads");
        let out = tempfile::tempdir().unwrap();
        let tar = tar_of(vol.path(), "logs", 1 << 20).unwrap();
        let notes = archive::extract(tar, out.path()).unwrap();
        assert_eq!(notes, vec!["left out c: a symlink".to_string()]);
        assert_eq!(std::fs::read(out.path().join("sub/b")).unwrap(), b"world");
        assert!(!out.path().join("c").exists());

        assert!(tar_of(vol.path(), "logs", 4).is_err(), "over the limit");
    }
}
