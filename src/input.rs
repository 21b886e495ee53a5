//! Reading a file that a user named or an endpoint wrote: registries, key
//! logs, captures, trial records, result.json shards. Such a path may name
//! a FIFO (a read would block forever), a device (`/dev/zero` would fill
//! memory) or a file far larger than anything the runner expects, so only
//! regular files are read, and never beyond a bound.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Registries, records, result.json files and key logs: text a person or
/// the runner wrote, far below this.
pub const TEXT_LIMIT: u64 = 64 << 20;

/// Packet captures: the simulator's traces of a 25 MiB transfer are about
/// 30 MiB per side; measurements at gigabit rates are larger.
pub const CAPTURE_LIMIT: u64 = 2 << 30;

#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("{} is {kind}, not a regular file", path.display())]
    NotRegular { path: PathBuf, kind: &'static str },
    #[error("{} is larger than the {} MiB this runner reads from such a file", path.display(), limit >> 20)]
    TooLarge { path: PathBuf, limit: u64 },
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{} is not UTF-8 text", path.display())]
    NotText { path: PathBuf },
}

impl InputError {
    fn io(path: &Path, source: std::io::Error) -> InputError {
        InputError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// What kind of file system object `meta` describes, for the error.
fn kind_of(meta: &std::fs::Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    let t = meta.file_type();
    if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_char_device() || t.is_block_device() {
        "a device"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_symlink() {
        "a symbolic link"
    } else {
        "not a plain file"
    }
}

/// Reads a regular file (following symbolic links, as a user's path may
/// be one) of at most `limit` bytes.
pub fn read_bytes(path: &Path, limit: u64) -> Result<Vec<u8>, InputError> {
    let meta = std::fs::metadata(path).map_err(|e| InputError::io(path, e))?;
    if !meta.is_file() {
        return Err(InputError::NotRegular {
            path: path.to_path_buf(),
            kind: kind_of(&meta),
        });
    }
    // The size is checked on the open file too: the path may have been
    // swapped between the two calls, and a file may grow while read.
    let file = File::open(path).map_err(|e| InputError::io(path, e))?;
    let opened = file.metadata().map_err(|e| InputError::io(path, e))?;
    if !opened.is_file() {
        return Err(InputError::NotRegular {
            path: path.to_path_buf(),
            kind: kind_of(&opened),
        });
    }
    let too_large = || InputError::TooLarge {
        path: path.to_path_buf(),
        limit,
    };
    if opened.len() > limit {
        return Err(too_large());
    }
    let mut buf = Vec::with_capacity(opened.len() as usize);
    file.take(limit + 1)
        .read_to_end(&mut buf)
        .map_err(|e| InputError::io(path, e))?;
    if buf.len() as u64 > limit {
        return Err(too_large());
    }
    Ok(buf)
}

/// Reads a regular UTF-8 text file of at most `limit` bytes.
pub fn read_text(path: &Path, limit: u64) -> Result<String, InputError> {
    String::from_utf8(read_bytes(path, limit)?).map_err(|_| InputError::NotText {
        path: path.to_path_buf(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fifo_is_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("registry.json");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let e = read_text(&fifo, TEXT_LIMIT).unwrap_err();
        assert!(
            matches!(e, InputError::NotRegular { kind: "a FIFO", .. }),
            "{e}"
        );
        assert!(
            e.to_string().ends_with("is a FIFO, not a regular file"),
            "{e}"
        );
    }

    #[test]
    fn a_device_and_a_directory_are_refused() {
        let e = read_bytes(Path::new("/dev/zero"), TEXT_LIMIT).unwrap_err();
        assert!(
            matches!(
                e,
                InputError::NotRegular {
                    kind: "a device",
                    ..
                }
            ),
            "{e}"
        );
        let dir = tempfile::tempdir().unwrap();
        let e = read_bytes(dir.path(), TEXT_LIMIT).unwrap_err();
        assert!(
            matches!(
                e,
                InputError::NotRegular {
                    kind: "a directory",
                    ..
                }
            ),
            "{e}"
        );
    }

    #[test]
    fn a_file_over_the_bound_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("big");
        std::fs::write(&p, vec![b'x'; 1025]).unwrap();
        let e = read_bytes(&p, 1024).unwrap_err();
        assert!(matches!(e, InputError::TooLarge { limit: 1024, .. }), "{e}");
        assert_eq!(read_bytes(&p, 1025).unwrap().len(), 1025);
    }

    #[test]
    fn text_must_be_utf8_and_a_missing_file_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("bin");
        std::fs::write(&p, [0xff, 0xfe]).unwrap();
        assert!(matches!(
            read_text(&p, TEXT_LIMIT),
            Err(InputError::NotText { .. })
        ));
        let e = read_text(&dir.path().join("nope"), TEXT_LIMIT).unwrap_err();
        assert!(matches!(e, InputError::Io { .. }), "{e}");
    }
}
