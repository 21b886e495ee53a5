//! Copying files out of containers. Endpoints are untrusted: what they
//! wrote comes as a tar stream from the engine (no bind mounts, so no
//! root-owned files on the host), bounded in size, and only plain files and
//! directories are ever written out or compared; links, devices and FIFOs
//! are reported, never followed.

use std::fs::File;
use std::io::{self, Read, Seek, Write};
use std::path::{Component, Path, PathBuf};

use bollard::query_parameters::DownloadFromContainerOptions;
use bollard::Docker;
use futures_util::StreamExt;

use super::DockerError;

/// Streams `path` of a container into an anonymous temp file, failing when
/// it grows past `limit` bytes (a hostile endpoint can write endlessly).
pub async fn download(
    docker: &Docker,
    container: &str,
    path: &str,
    limit: u64,
) -> Result<File, DockerError> {
    let opts = DownloadFromContainerOptions {
        path: path.to_string(),
    };
    let mut stream = docker.download_from_container(container, Some(opts));
    let mut file = tempfile::tempfile().map_err(DockerError::TempFile)?;
    let mut total: u64 = 0;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|source| DockerError::CopyOut {
            path: path.to_string(),
            source,
        })?;
        total += chunk.len() as u64;
        if total > limit {
            return Err(DockerError::TooLarge {
                path: path.to_string(),
                mib: limit >> 20,
            });
        }
        file.write_all(&chunk).map_err(DockerError::WriteTemp)?;
    }
    file.rewind().map_err(DockerError::WriteTemp)?;
    Ok(file)
}

/// A tar entry's path below its top directory (`logs/a/b` → `a/b`), or None
/// if it is the top directory itself or tries to leave it.
fn inner_path(path: &Path) -> Option<PathBuf> {
    let mut parts = path
        .components()
        .filter(|c| !matches!(c, Component::CurDir));
    if !matches!(parts.next()?, Component::Normal(_)) {
        return None;
    }
    let rest: PathBuf = parts.collect();
    let safe = rest.components().all(|c| matches!(c, Component::Normal(_)));
    (safe && !rest.as_os_str().is_empty()).then_some(rest)
}

/// What kind of thing a tar entry is, for messages.
fn kind_name(t: tar::EntryType) -> &'static str {
    match t {
        tar::EntryType::Symlink => "a symlink",
        tar::EntryType::Link => "a hard link",
        tar::EntryType::Directory => "a directory",
        tar::EntryType::Fifo => "a FIFO",
        tar::EntryType::Char | tar::EntryType::Block => "a device",
        _ => "not a regular file",
    }
}

/// Writes the plain files and directories of a tar of one directory into
/// `dest`; returns notes about what was left out.
pub fn extract(tar_file: File, dest: &Path) -> Result<Vec<String>, DockerError> {
    let mut notes = Vec::new();
    let mut archive = tar::Archive::new(tar_file);
    let entries = archive.entries().map_err(DockerError::Archive)?;
    for entry in entries {
        let mut entry = entry.map_err(DockerError::ArchiveEntry)?;
        let raw = entry
            .path()
            .map_err(DockerError::ArchiveEntry)?
            .into_owned();
        let Some(rel) = inner_path(&raw) else {
            continue;
        };
        let target = dest.join(&rel);
        match entry.header().entry_type() {
            tar::EntryType::Directory => {
                std::fs::create_dir_all(&target).map_err(write_error(&target))?;
            }
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                if let Some(parent) = target.parent() {
                    std::fs::create_dir_all(parent).map_err(write_error(parent))?;
                }
                let mut out = File::create(&target).map_err(write_error(&target))?;
                io::copy(&mut entry, &mut out).map_err(write_error(&target))?;
            }
            other => notes.push(format!("left out {}: {}", rel.display(), kind_name(other))),
        }
    }
    Ok(notes)
}

fn write_error(path: &Path) -> impl FnOnce(io::Error) -> DockerError + '_ {
    move |source| DockerError::Write {
        path: path.to_path_buf(),
        source,
    }
}

/// Why the downloads are not what was served: a trial's reason to fail.
#[derive(Debug, thiserror::Error)]
pub enum DownloadProblem {
    #[error("the downloads could not be read: {0}")]
    Unreadable(#[source] io::Error),
    #[error("unexpected file {0} in /downloads")]
    Unexpected(String),
    #[error("downloaded {name} is {kind}, not a regular file")]
    NotRegular { name: String, kind: &'static str },
    #[error("source of {name}: {source}")]
    Source { name: String, source: io::Error },
    #[error("downloaded file {name} has {got} bytes, expected {want}")]
    Size { name: String, got: u64, want: u64 },
    #[error("downloaded file {name} differs from the served file at byte {at}")]
    Differs { name: String, at: u64 },
    #[error("cannot compare {name}: {source}")]
    Compare { name: String, source: io::Error },
    #[error("file {name} was not downloaded ({missing} of {total} files missing)")]
    Missing {
        name: String,
        missing: usize,
        total: usize,
    },
    #[error("{}: {source}", path.display())]
    Save { path: PathBuf, source: io::Error },
}

/// A file the client (or server) must have received.
#[derive(Debug, Clone)]
pub struct Expected {
    /// Relative to /downloads, e.g. `file` or `endpoint/file`.
    pub name: String,
    pub source: PathBuf,
}

fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// Compares two readers byte by byte; returns the first differing offset.
fn first_difference(mut a: impl Read, mut b: impl Read) -> io::Result<Option<u64>> {
    let mut ba = vec![0u8; 64 * 1024];
    let mut bb = vec![0u8; 64 * 1024];
    let mut offset = 0u64;
    loop {
        let na = read_full(&mut a, &mut ba)?;
        let nb = read_full(&mut b, &mut bb)?;
        let common = na.min(nb);
        if let Some(i) = (0..common).find(|i| ba[*i] != bb[*i]) {
            return Ok(Some(offset + i as u64));
        }
        if na != nb {
            return Ok(Some(offset + common as u64));
        }
        if na == 0 {
            return Ok(None);
        }
        offset += na as u64;
    }
}

/// Checks a tar of /downloads: exactly the expected files, each a plain
/// file byte-identical to its source. With `save_to`, the plain files are
/// also written there. Returns the reason of the first problem.
pub fn check_downloads(
    tar_file: File,
    expected: &[Expected],
    save_to: Option<&Path>,
) -> Result<(), DownloadProblem> {
    let mut seen = vec![false; expected.len()];
    let mut archive = tar::Archive::new(tar_file);
    let entries = archive.entries().map_err(DownloadProblem::Unreadable)?;
    for entry in entries {
        let mut entry = entry.map_err(DownloadProblem::Unreadable)?;
        let raw = entry
            .path()
            .map_err(DownloadProblem::Unreadable)?
            .into_owned();
        let Some(rel) = inner_path(&raw) else {
            continue;
        };
        let name = rel.to_string_lossy().to_string();
        let kind = entry.header().entry_type();
        let index = expected.iter().position(|e| e.name == name);
        // Directories don't count (as in the reference), unless one stands
        // where a file is expected; files inside them do.
        if kind == tar::EntryType::Directory && index.is_none() {
            continue;
        }
        let Some(i) = index else {
            return Err(DownloadProblem::Unexpected(name));
        };
        if !matches!(kind, tar::EntryType::Regular | tar::EntryType::Continuous) {
            return Err(DownloadProblem::NotRegular {
                name,
                kind: kind_name(kind),
            });
        }
        seen[i] = true;
        let want = std::fs::metadata(&expected[i].source)
            .map_err(|source| DownloadProblem::Source {
                name: name.clone(),
                source,
            })?
            .len();
        let got = entry.header().size().unwrap_or(0);
        if got != want {
            return Err(DownloadProblem::Size { name, got, want });
        }
        if let Some(dir) = save_to {
            save_copy(&mut entry, dir, &rel)?;
            let saved = File::open(dir.join(&rel)).map_err(|source| DownloadProblem::Save {
                path: dir.join(&rel),
                source,
            })?;
            compare(saved, &expected[i].source, &name)?;
        } else {
            compare(&mut entry, &expected[i].source, &name)?;
        }
    }
    if let Some(i) = seen.iter().position(|s| !s) {
        let missing = seen.iter().filter(|s| !**s).count();
        return Err(DownloadProblem::Missing {
            name: expected[i].name.clone(),
            missing,
            total: expected.len(),
        });
    }
    Ok(())
}

fn save_copy(entry: &mut impl Read, dir: &Path, rel: &Path) -> Result<(), DownloadProblem> {
    let target = dir.join(rel);
    let failed = |path: &Path| {
        let path = path.to_path_buf();
        move |source| DownloadProblem::Save { path, source }
    };
    if let Some(parent) = target.parent() {
        std::fs::create_dir_all(parent).map_err(failed(parent))?;
    }
    let mut out = File::create(&target).map_err(failed(&target))?;
    io::copy(entry, &mut out).map_err(failed(&target))?;
    Ok(())
}

fn compare(got: impl Read, source: &Path, name: &str) -> Result<(), DownloadProblem> {
    let name = name.to_string();
    let src = File::open(source).map_err(|source| DownloadProblem::Source {
        name: name.clone(),
        source,
    })?;
    match first_difference(io::BufReader::new(src), got) {
        Ok(None) => Ok(()),
        Ok(Some(at)) => Err(DownloadProblem::Differs { name, at }),
        Err(source) => Err(DownloadProblem::Compare { name, source }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds a tar like the engine sends for `/downloads`.
    fn tar_of(entries: &[(&str, tar::EntryType, &[u8])]) -> File {
        let mut b = tar::Builder::new(tempfile::tempfile().unwrap());
        for (path, kind, data) in entries {
            let mut h = tar::Header::new_gnu();
            h.set_entry_type(*kind);
            h.set_mode(0o644);
            h.set_size(if *kind == tar::EntryType::Regular {
                data.len() as u64
            } else {
                0
            });
            if *kind == tar::EntryType::Symlink {
                h.set_link_name("/etc/passwd").unwrap();
            }
            b.append_data(
                &mut h,
                path,
                if *kind == tar::EntryType::Regular {
                    *data
                } else {
                    &[][..]
                },
            )
            .unwrap();
        }
        let mut f = b.into_inner().unwrap();
        f.rewind().unwrap();
        f
    }

    fn sources(dir: &Path, files: &[(&str, &[u8])]) -> Vec<Expected> {
        files
            .iter()
            .map(|(n, d)| {
                let p = dir.join(n.replace('/', "_"));
                std::fs::write(&p, d).unwrap();
                Expected {
                    name: n.to_string(),
                    source: p,
                }
            })
            .collect()
    }

    use tar::EntryType::{Directory as D, Fifo, Regular as R, Symlink};

    #[test]
    fn identical_files_pass() {
        let dir = tempfile::tempdir().unwrap();
        let exp = sources(dir.path(), &[("a", b"hello"), ("b", b"")]);
        let t = tar_of(&[
            ("downloads", D, b""),
            ("downloads/a", R, b"hello"),
            ("downloads/b", R, b""),
        ]);
        check_downloads(t, &exp, None).unwrap();
    }

    #[test]
    fn problems_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let exp = sources(dir.path(), &[("a", b"hello"), ("b", b"world")]);
        let cases: Vec<(File, &str)> = vec![
            (
                tar_of(&[("downloads/a", R, b"hellO"), ("downloads/b", R, b"world")]),
                "downloaded file a differs from the served file at byte 4",
            ),
            (
                tar_of(&[("downloads/a", R, b"hell"), ("downloads/b", R, b"world")]),
                "downloaded file a has 4 bytes, expected 5",
            ),
            (
                tar_of(&[("downloads/a", R, b"hello")]),
                "file b was not downloaded",
            ),
            (
                tar_of(&[
                    ("downloads/a", R, b"hello"),
                    ("downloads/b", R, b"world"),
                    ("downloads/c", R, b"x"),
                ]),
                "unexpected file c in /downloads",
            ),
            (
                tar_of(&[("downloads/a", Symlink, b""), ("downloads/b", R, b"world")]),
                "downloaded a is a symlink, not a regular file",
            ),
            (
                tar_of(&[("downloads/a", Fifo, b""), ("downloads/b", R, b"world")]),
                "downloaded a is a FIFO, not a regular file",
            ),
            (
                tar_of(&[("downloads/a", D, b""), ("downloads/b", R, b"world")]),
                "downloaded a is a directory, not a regular file",
            ),
            (
                tar_of(&[("downloads/x", D, b""), ("downloads/x/a", R, b"hello")]),
                "unexpected file x/a in /downloads",
            ),
        ];
        for (t, want) in cases {
            let err = check_downloads(t, &exp, None).unwrap_err().to_string();
            assert!(err.starts_with(want), "got {err:?}, want {want:?}");
        }
    }

    #[test]
    fn nested_expected_files_and_saving() {
        let dir = tempfile::tempdir().unwrap();
        let save = tempfile::tempdir().unwrap();
        let exp = sources(dir.path(), &[("ep/a", b"data")]);
        let t = tar_of(&[
            ("downloads", D, b""),
            ("downloads/ep", D, b""),
            ("downloads/ep/a", R, b"data"),
        ]);
        check_downloads(t, &exp, Some(save.path())).unwrap();
        assert_eq!(std::fs::read(save.path().join("ep/a")).unwrap(), b"data");
    }

    #[test]
    fn extract_keeps_plain_files_only_and_stays_inside() {
        let dest = tempfile::tempdir().unwrap();
        let t = tar_of(&[
            ("logs", D, b""),
            ("logs/keys.log", R, b"CLIENT_RANDOM x"),
            ("logs/qlog", D, b""),
            ("logs/qlog/a.qlog", R, b"{}"),
            ("logs/evil", Symlink, b""),
        ]);
        let notes = extract(t, dest.path()).unwrap();
        assert_eq!(
            std::fs::read(dest.path().join("keys.log")).unwrap(),
            b"CLIENT_RANDOM x"
        );
        assert!(dest.path().join("qlog/a.qlog").is_file());
        assert!(!dest.path().join("evil").exists());
        assert_eq!(notes, vec!["left out evil: a symlink"]);
    }

    #[test]
    fn paths_that_leave_the_directory_are_ignored() {
        assert_eq!(
            inner_path(Path::new("logs/a/b")),
            Some(PathBuf::from("a/b"))
        );
        assert_eq!(inner_path(Path::new("logs")), None);
        assert_eq!(inner_path(Path::new("logs/../etc/passwd")), None);
        assert_eq!(
            inner_path(Path::new("/logs/x")),
            None,
            "root component then logs"
        );
    }

    #[test]
    fn first_difference_handles_lengths() {
        assert_eq!(first_difference(&b"abc"[..], &b"abc"[..]).unwrap(), None);
        assert_eq!(first_difference(&b"abc"[..], &b"abd"[..]).unwrap(), Some(2));
        assert_eq!(
            first_difference(&b"abc"[..], &b"abcd"[..]).unwrap(),
            Some(3)
        );
    }
}
