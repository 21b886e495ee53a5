//! Docker build contexts: a set of files assembled in memory (from embedded
//! recipes or a directory), hashed and written as a deterministic tar.

use std::path::Path;

use super::hash::ContentHash;
use super::ImagesError;

/// One entry of a build context, with a relative, `/`-separated path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ContextEntry {
    File {
        path: String,
        mode: u32,
        content: Vec<u8>,
    },
    Dir {
        path: String,
    },
    Symlink {
        path: String,
        target: String,
    },
}

impl ContextEntry {
    fn path(&self) -> &str {
        match self {
            ContextEntry::File { path, .. }
            | ContextEntry::Dir { path }
            | ContextEntry::Symlink { path, .. } => path,
        }
    }
}

/// The files `docker build` sees.
#[derive(Clone, Debug, Default)]
pub struct BuildContext {
    entries: Vec<ContextEntry>,
}

impl BuildContext {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a regular file; a later file with the same path replaces it.
    pub fn add_file(&mut self, path: &str, mode: u32, content: Vec<u8>) -> &mut Self {
        self.entries
            .retain(|entry: &ContextEntry| entry.path() != path);
        self.entries.push(ContextEntry::File {
            path: path.to_string(),
            mode,
            content,
        });
        self
    }

    /// Adds a directory (needed for a directory that may stay empty).
    pub fn add_dir(&mut self, path: &str) -> &mut Self {
        self.entries.push(ContextEntry::Dir {
            path: path.to_string(),
        });
        self
    }

    /// Reads a whole directory tree. Entries are sorted by path so the tar
    /// and the hash do not depend on the order the file system lists them in.
    pub fn from_dir(dir: &Path) -> Result<Self, ImagesError> {
        let mut context = BuildContext::new();
        let mut budget = ContextBudget {
            root: dir,
            left: CONTEXT_LIMIT,
        };
        read_dir_into(dir, "", &mut context.entries, &mut budget)?;
        if context.entries.is_empty() {
            return Err(ImagesError::Context(format!("{} is empty", dir.display())));
        }
        Ok(context)
    }

    pub fn entries(&self) -> &[ContextEntry] {
        &self.entries
    }

    /// The content of a file in the context, if present.
    pub fn file(&self, wanted: &str) -> Option<&[u8]> {
        self.entries
            .iter()
            .find_map(|entry: &ContextEntry| match entry {
                ContextEntry::File { path, content, .. } if path == wanted => {
                    Some(content.as_slice())
                }
                _ => None,
            })
    }

    /// Hash of every entry's path, kind, mode and content, in path order.
    pub fn content_hash(&self) -> ContentHash {
        let mut hash = ContentHash::new();
        for entry in self.sorted_entries() {
            match entry {
                ContextEntry::File {
                    path,
                    mode,
                    content,
                } => {
                    hash.add(&format!("file {path} {mode:o}"), content);
                }
                ContextEntry::Dir { path } => {
                    hash.add(&format!("dir {path}"), b"");
                }
                ContextEntry::Symlink { path, target } => {
                    hash.add(&format!("symlink {path}"), target.as_bytes());
                }
            }
        }
        hash
    }

    /// A tar of the context with fixed owners and times, so equal contexts
    /// give equal tars (and Docker's build cache can hit).
    pub fn to_tar(&self) -> Result<Vec<u8>, ImagesError> {
        let mut builder = tar::Builder::new(Vec::new());
        for entry in self.sorted_entries() {
            append_entry(&mut builder, entry).map_err(|e: std::io::Error| {
                ImagesError::io(format!("add {} to the build context tar", entry.path()), e)
            })?;
        }
        builder
            .into_inner()
            .map_err(|e: std::io::Error| ImagesError::io("finish the build context tar", e))
    }

    fn sorted_entries(&self) -> Vec<&ContextEntry> {
        let mut sorted: Vec<&ContextEntry> = self.entries.iter().collect();
        sorted.sort_by(|a: &&ContextEntry, b: &&ContextEntry| a.path().cmp(b.path()));
        sorted
    }
}

fn append_entry(builder: &mut tar::Builder<Vec<u8>>, entry: &ContextEntry) -> std::io::Result<()> {
    let mut header = tar::Header::new_gnu();
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(0);
    match entry {
        ContextEntry::File {
            path,
            mode,
            content,
        } => {
            header.set_entry_type(tar::EntryType::Regular);
            header.set_mode(*mode);
            header.set_size(content.len() as u64);
            builder.append_data(&mut header, path, content.as_slice())
        }
        ContextEntry::Dir { path } => {
            header.set_entry_type(tar::EntryType::Directory);
            header.set_mode(0o755);
            header.set_size(0);
            builder.append_data(&mut header, format!("{path}/"), std::io::empty())
        }
        ContextEntry::Symlink { path, target } => {
            header.set_entry_type(tar::EntryType::Symlink);
            header.set_mode(0o777);
            header.set_size(0);
            builder.append_link(&mut header, path, target)
        }
    }
}

/// The most bytes of files a build context may hold: a registry entry can
/// name any directory, and the whole context is held in memory as a tar.
pub const CONTEXT_LIMIT: u64 = 256 << 20;

/// What is left of [`CONTEXT_LIMIT`] while a directory is read.
struct ContextBudget<'a> {
    root: &'a Path,
    left: u64,
}

fn read_dir_into(
    dir: &Path,
    prefix: &str,
    out: &mut Vec<ContextEntry>,
    budget: &mut ContextBudget,
) -> Result<(), ImagesError> {
    let listing = std::fs::read_dir(dir).map_err(|e: std::io::Error| {
        ImagesError::io(format!("read directory {}", dir.display()), e)
    })?;
    let mut children: Vec<std::fs::DirEntry> =
        listing
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e: std::io::Error| {
                ImagesError::io(format!("read directory {}", dir.display()), e)
            })?;
    children.sort_by_key(|child: &std::fs::DirEntry| child.file_name());
    for child in children {
        let name = child.file_name().into_string().map_err(|name| {
            ImagesError::Context(format!(
                "file name {name:?} in {} is not UTF-8",
                dir.display()
            ))
        })?;
        let rel = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}/{name}")
        };
        read_entry(&child.path(), rel, out, budget)?;
    }
    Ok(())
}

fn read_entry(
    path: &Path,
    rel: String,
    out: &mut Vec<ContextEntry>,
    budget: &mut ContextBudget,
) -> Result<(), ImagesError> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::symlink_metadata(path)
        .map_err(|e: std::io::Error| ImagesError::io(format!("inspect {}", path.display()), e))?;
    let kind = meta.file_type();
    if kind.is_symlink() {
        let target = std::fs::read_link(path).map_err(|e: std::io::Error| {
            ImagesError::io(format!("read link {}", path.display()), e)
        })?;
        out.push(ContextEntry::Symlink {
            path: rel,
            target: target.to_string_lossy().into_owned(),
        });
    } else if kind.is_dir() {
        out.push(ContextEntry::Dir { path: rel.clone() });
        read_dir_into(path, &rel, out, budget)?;
    } else if kind.is_file() {
        budget.left = budget.left.checked_sub(meta.len()).ok_or_else(|| {
            ImagesError::Context(format!(
                "{} holds more than {} MiB of files",
                budget.root.display(),
                CONTEXT_LIMIT >> 20
            ))
        })?;
        let content = std::fs::read(path)
            .map_err(|e: std::io::Error| ImagesError::io(format!("read {}", path.display()), e))?;
        out.push(ContextEntry::File {
            path: rel,
            mode: meta.permissions().mode() & 0o7777,
            content,
        });
    } else {
        return Err(ImagesError::Context(format!(
            "{} is neither a file, a directory nor a symlink",
            path.display()
        )));
    }
    Ok(())
}

/// The images a Dockerfile builds FROM, without references to its own stages
/// and without `scratch`.
pub fn from_images(dockerfile: &str) -> Vec<String> {
    let mut stages: Vec<String> = Vec::new();
    let mut images: Vec<String> = Vec::new();
    for line in dockerfile.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        if words.first().map(|w: &&str| w.eq_ignore_ascii_case("FROM")) != Some(true) {
            continue;
        }
        let rest: Vec<&str> = words[1..]
            .iter()
            .copied()
            .filter(|w: &&str| !w.starts_with("--"))
            .collect();
        let Some(image) = rest.first() else { continue };
        if !stages.iter().any(|s: &String| s == image) && *image != "scratch" {
            images.push(image.to_string());
        }
        if rest.len() >= 3 && rest[1].eq_ignore_ascii_case("AS") {
            stages.push(rest[2].to_string());
        }
    }
    images
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tar_names(tar_bytes: &[u8]) -> Vec<(String, u32, Vec<u8>)> {
        let mut archive = tar::Archive::new(tar_bytes);
        archive
            .entries()
            .unwrap()
            .map(|entry| {
                let mut entry = entry.unwrap();
                let name = entry.path().unwrap().to_string_lossy().into_owned();
                let mode = entry.header().mode().unwrap();
                let mut content = Vec::new();
                std::io::Read::read_to_end(&mut entry, &mut content).unwrap();
                (name, mode, content)
            })
            .collect()
    }

    #[test]
    fn tar_holds_files_sorted_with_modes() {
        let mut context = BuildContext::new();
        context.add_file("run.sh", 0o755, b"#!/bin/sh\n".to_vec());
        context.add_file("Dockerfile", 0o644, b"FROM x\n".to_vec());
        context.add_dir("local-ca");
        let entries = tar_names(&context.to_tar().unwrap());
        assert_eq!(
            entries,
            vec![
                ("Dockerfile".to_string(), 0o644, b"FROM x\n".to_vec()),
                ("local-ca/".to_string(), 0o755, Vec::new()),
                ("run.sh".to_string(), 0o755, b"#!/bin/sh\n".to_vec()),
            ]
        );
    }

    #[test]
    fn equal_contexts_give_equal_tars_and_hashes() {
        let mut a = BuildContext::new();
        a.add_file("b", 0o644, b"2".to_vec())
            .add_file("a", 0o644, b"1".to_vec());
        let mut b = BuildContext::new();
        b.add_file("a", 0o644, b"1".to_vec())
            .add_file("b", 0o644, b"2".to_vec());
        assert_eq!(a.to_tar().unwrap(), b.to_tar().unwrap());
        assert_eq!(a.content_hash().finish(), b.content_hash().finish());
    }

    #[test]
    fn mode_change_changes_hash() {
        let mut a = BuildContext::new();
        a.add_file("run.sh", 0o644, b"x".to_vec());
        let mut b = BuildContext::new();
        b.add_file("run.sh", 0o755, b"x".to_vec());
        assert_ne!(a.content_hash().finish(), b.content_hash().finish());
    }

    #[test]
    fn replacing_a_file_keeps_one_entry() {
        let mut context = BuildContext::new();
        context.add_file("a", 0o644, b"old".to_vec());
        context.add_file("a", 0o644, b"new".to_vec());
        assert_eq!(context.entries().len(), 1);
        assert_eq!(context.file("a"), Some(&b"new"[..]));
    }

    #[test]
    fn a_context_over_the_bound_is_refused_before_it_is_read() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("Dockerfile"), "FROM x\n").unwrap();
        // Sparse: the bound is checked on the size, before any byte is read.
        let f = std::fs::File::create(dir.path().join("huge")).unwrap();
        f.set_len(CONTEXT_LIMIT + 1).unwrap();
        let e = BuildContext::from_dir(dir.path()).unwrap_err().to_string();
        assert!(e.contains("more than 256 MiB"), "{e}");
    }

    #[test]
    fn from_dir_reads_tree_with_modes_and_links() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("Dockerfile"), "FROM x\n").unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("sub/run.sh"), "echo\n").unwrap();
        std::fs::set_permissions(
            dir.path().join("sub/run.sh"),
            std::fs::Permissions::from_mode(0o755),
        )
        .unwrap();
        std::os::unix::fs::symlink("run.sh", dir.path().join("sub/link")).unwrap();
        let context = BuildContext::from_dir(dir.path()).unwrap();
        let names: Vec<(String, u32, Vec<u8>)> = tar_names(&context.to_tar().unwrap());
        let paths: Vec<&str> = names.iter().map(|(n, _, _)| n.as_str()).collect();
        assert_eq!(paths, vec!["Dockerfile", "sub/", "sub/link", "sub/run.sh"]);
        assert_eq!(names[3].1, 0o755);
        assert_eq!(names[3].2, b"echo\n");
    }

    #[test]
    fn from_dir_rejects_missing_and_empty_dirs() {
        let dir = tempfile::tempdir().unwrap();
        assert!(BuildContext::from_dir(dir.path()).is_err());
        assert!(BuildContext::from_dir(&dir.path().join("nope")).is_err());
    }

    #[test]
    fn from_images_skips_stages_and_flags() {
        let dockerfile = "\
# comment FROM nothing
FROM --platform=linux/amd64 interop-runner/endpoint:latest AS build
RUN make
from build as second
FROM scratch
FROM interop-runner/base:bookworm
COPY --from=build /out /out
";
        assert_eq!(
            from_images(dockerfile),
            vec![
                "interop-runner/endpoint:latest".to_string(),
                "interop-runner/base:bookworm".to_string()
            ]
        );
    }
}
