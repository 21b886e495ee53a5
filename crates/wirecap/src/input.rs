//! Reading a file that a user named or an endpoint wrote: registries, key
//! logs, captures, trial records, result.json shards. Such a path may name
//! a FIFO (a read would block forever), a device (`/dev/zero` would fill
//! memory) or a file far larger than anything a reader expects, so only
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

#[derive(Debug)]
pub enum InputError {
    /// A FIFO, device, directory or socket where a file was expected.
    NotRegular {
        path: PathBuf,
        kind: &'static str,
    },
    TooLarge {
        path: PathBuf,
        limit: u64,
    },
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    NotText {
        path: PathBuf,
    },
}

impl std::fmt::Display for InputError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            InputError::NotRegular { path, kind } => {
                write!(f, "{} is {kind}, not a regular file", path.display())
            }
            InputError::TooLarge { path, limit } => write!(
                f,
                "{} is larger than the {} MiB read from such a file",
                path.display(),
                limit >> 20
            ),
            InputError::Io { path, source } => {
                write!(f, "cannot read {}: {source}", path.display())
            }
            InputError::NotText { path } => write!(f, "{} is not UTF-8 text", path.display()),
        }
    }
}

impl std::error::Error for InputError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            InputError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
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

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("wirecap-input-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn a_fifo_is_refused_without_blocking() {
        let dir = scratch("fifo");
        let fifo = dir.join("registry.json");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
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
        let e = read_bytes(Path::new("/"), TEXT_LIMIT).unwrap_err();
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
        let dir = scratch("big");
        let p = dir.join("big");
        std::fs::write(&p, vec![b'x'; 1025]).unwrap();
        let e = read_bytes(&p, 1024).unwrap_err();
        assert!(matches!(e, InputError::TooLarge { limit: 1024, .. }), "{e}");
        assert_eq!(read_bytes(&p, 1025).unwrap().len(), 1025);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn text_must_be_utf8_and_a_missing_file_says_so() {
        let dir = scratch("text");
        let p = dir.join("bin");
        std::fs::write(&p, [0xff, 0xfe]).unwrap();
        assert!(matches!(
            read_text(&p, TEXT_LIMIT),
            Err(InputError::NotText { .. })
        ));
        let e = read_text(&dir.join("nope"), TEXT_LIMIT).unwrap_err();
        assert!(matches!(e, InputError::Io { .. }), "{e}");
        let _ = std::fs::remove_dir_all(dir);
    }
}
