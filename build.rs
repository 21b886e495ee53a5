//! Embeds every build context under `implementations/` into the runner, so
//! an installed runner builds the local implementations without the source
//! tree. Generated rather than listed by hand: adding an implementation is a
//! new directory, nothing in `src/`.

use std::fmt::Write as _;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

fn main() {
    let root =
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let implementations = root.join("implementations");
    // A directory makes cargo rescan everything below it for changes.
    println!("cargo:rerun-if-changed={}", implementations.display());
    let mut out = String::from("&[\n");
    for context in sorted_children(&implementations)
        .into_iter()
        .filter(|p| p.is_dir())
    {
        let name = context
            .file_name()
            .and_then(|n| n.to_str())
            .expect("UTF-8 context name");
        writeln!(out, "    (\"implementations/{name}\", &[").unwrap();
        let mut files = Vec::new();
        collect_files(&context, "", &mut files);
        for (rel, path, mode) in files {
            writeln!(
                out,
                "        ({rel:?}, 0o{mode:o}, include_bytes!({:?})),",
                path.display().to_string()
            )
            .unwrap();
        }
        out.push_str("    ]),\n");
    }
    out.push_str("]\n");
    let dest = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"))
        .join("embedded_contexts.rs");
    std::fs::write(&dest, out).expect("write embedded_contexts.rs");
}

fn sorted_children(dir: &Path) -> Vec<PathBuf> {
    let Ok(listing) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut children: Vec<PathBuf> = listing.filter_map(|e| e.ok().map(|e| e.path())).collect();
    children.sort();
    children
}

/// Regular files below `dir` as (relative path, absolute path, mode); the
/// modes keep the executable bits the Dockerfiles rely on.
fn collect_files(dir: &Path, prefix: &str, out: &mut Vec<(String, PathBuf, u32)>) {
    for path in sorted_children(dir) {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .expect("UTF-8 file name")
            .to_string();
        let rel = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}/{name}")
        };
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        if meta.is_dir() {
            collect_files(&path, &rel, out);
        } else if meta.is_file() {
            out.push((rel, path, meta.permissions().mode() & 0o7777));
        }
    }
}
