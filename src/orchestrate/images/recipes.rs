//! The runner images' recipes, embedded in the binary so an installed runner
//! builds its images without the source tree.

use std::path::Path;

use super::context::BuildContext;
use super::suite::Suite;
use super::ImagesError;

/// One file of an embedded recipe.
pub struct RecipeFile {
    pub path: &'static str,
    pub mode: u32,
    pub content: &'static [u8],
}

/// An image the runner builds itself.
pub struct Recipe {
    /// The tag the image gets.
    pub image: &'static str,
    pub files: &'static [RecipeFile],
}

macro_rules! recipe_file {
    ($dir:literal, $name:literal, $mode:expr) => {
        RecipeFile {
            path: $name,
            mode: $mode,
            content: include_bytes!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/images/",
                $dir,
                "/",
                $name
            )),
        }
    };
}

pub const ENDPOINT_IMAGE: &str = "interop-runner/endpoint:latest";
pub const IPERF_IMAGE: &str = "interop-runner/iperf:latest";
pub const SIM_IMAGE: &str = "interop-runner/sim:latest";

pub const ENDPOINT: Recipe = Recipe {
    image: ENDPOINT_IMAGE,
    files: &[
        recipe_file!("endpoint", "Dockerfile", 0o644),
        recipe_file!("endpoint", "setup.sh", 0o755),
        recipe_file!("endpoint", "wait-for-it.sh", 0o755),
        recipe_file!("endpoint", "run_endpoint.sh", 0o755),
        recipe_file!("endpoint", "add-backports.sh", 0o755),
    ],
};

pub const IPERF: Recipe = Recipe {
    image: IPERF_IMAGE,
    files: &[
        recipe_file!("iperf", "Dockerfile", 0o644),
        recipe_file!("iperf", "run_iperf.sh", 0o755),
    ],
};

pub const SIM: Recipe = Recipe {
    image: SIM_IMAGE,
    files: &[recipe_file!("sim", "Dockerfile", 0o644)],
};

/// The endpoint recipe for `suite`: the same files, built FROM that
/// suite's base. The recipe on disk names bookworm's base, so it stays
/// buildable by hand.
pub fn endpoint_context(suite: Suite) -> Result<BuildContext, ImagesError> {
    let mut context = ENDPOINT.context();
    let dockerfile = context
        .file("Dockerfile")
        .map(|bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned())
        .ok_or_else(|| ImagesError::Context("the endpoint recipe has no Dockerfile".to_string()))?;
    let bookworm_from = format!("FROM {}", Suite::Bookworm.base_image());
    if !dockerfile.contains(&bookworm_from) {
        return Err(ImagesError::Context(format!(
            "the endpoint recipe no longer starts {bookworm_from}"
        )));
    }
    let rewritten = dockerfile.replacen(&bookworm_from, &format!("FROM {}", suite.base_image()), 1);
    context.add_file("Dockerfile", 0o644, rewritten.into_bytes());
    Ok(context)
}

impl Recipe {
    /// The embedded files as a build context.
    pub fn context(&self) -> BuildContext {
        let mut context = BuildContext::new();
        for file in self.files {
            context.add_file(file.path, file.mode, file.content.to_vec());
        }
        context
    }
}

/// Debian's directory for locally added certificate authorities.
pub const LOCAL_CA_DIR: &str = "/usr/local/share/ca-certificates";

/// Adds the host's locally trusted CA certificates (`*.crt` files directly
/// in `ca_dir`) as `local-ca/`, which the endpoint image installs. Behind a
/// TLS-intercepting proxy this is what lets builds reach package registries;
/// elsewhere the directory stays empty.
pub fn add_local_cas(ca_dir: &Path, context: &mut BuildContext) -> Result<usize, ImagesError> {
    context.add_dir("local-ca");
    let listing = match std::fs::read_dir(ca_dir) {
        Ok(listing) => listing,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(ImagesError::io(format!("list {}", ca_dir.display()), e)),
    };
    let mut paths: Vec<std::path::PathBuf> = listing
        .filter_map(|entry| entry.ok().map(|e: std::fs::DirEntry| e.path()))
        .filter(|path: &std::path::PathBuf| {
            path.is_file() && path.extension().is_some_and(|ext| ext == "crt")
        })
        .collect();
    paths.sort();
    for path in &paths {
        let content = std::fs::read(path)
            .map_err(|e: std::io::Error| ImagesError::io(format!("read {}", path.display()), e))?;
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or_else(|| ImagesError::Context(format!("{} has no UTF-8 name", path.display())))?;
        context.add_file(&format!("local-ca/{name}"), 0o644, content);
    }
    Ok(paths.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recipes_have_dockerfiles_built_from_project_images() {
        for recipe in [&ENDPOINT, &IPERF, &SIM] {
            let context = recipe.context();
            let dockerfile = context.file("Dockerfile").expect("Dockerfile");
            let text = std::str::from_utf8(dockerfile).unwrap();
            let from = super::super::context::from_images(text);
            assert!(
                from.iter()
                    .all(|image: &String| image.starts_with("interop-runner/")),
                "{} builds FROM {from:?}",
                recipe.image
            );
        }
    }

    #[test]
    fn endpoint_context_builds_on_the_suites_base() {
        for suite in Suite::ALL {
            let context = endpoint_context(suite).unwrap();
            let text = String::from_utf8(context.file("Dockerfile").unwrap().to_vec()).unwrap();
            assert_eq!(
                super::super::context::from_images(&text),
                vec![suite.base_image().to_string()]
            );
            assert!(context.file("setup.sh").is_some());
        }
    }

    #[test]
    fn scripts_are_executable_in_context() {
        let context = ENDPOINT.context();
        let setup = context
            .entries()
            .iter()
            .find_map(|entry| match entry {
                super::super::context::ContextEntry::File { path, mode, .. }
                    if path == "setup.sh" =>
                {
                    Some(*mode)
                }
                _ => None,
            })
            .unwrap();
        assert_eq!(setup, 0o755);
    }

    #[test]
    fn local_cas_are_collected_sorted_and_filtered() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("b.crt"), "B").unwrap();
        std::fs::write(dir.path().join("a.crt"), "A").unwrap();
        std::fs::write(dir.path().join("notes.txt"), "ignored").unwrap();
        let mut context = BuildContext::new();
        assert_eq!(add_local_cas(dir.path(), &mut context).unwrap(), 2);
        assert_eq!(context.file("local-ca/a.crt"), Some(&b"A"[..]));
        assert_eq!(context.file("local-ca/b.crt"), Some(&b"B"[..]));
        assert_eq!(context.file("local-ca/notes.txt"), None);
    }

    #[test]
    fn missing_ca_dir_gives_empty_local_ca() {
        let mut context = BuildContext::new();
        assert_eq!(
            add_local_cas(Path::new("/nonexistent-ca-dir"), &mut context).unwrap(),
            0
        );
        assert!(context.entries().iter().any(
            |e| matches!(e, super::super::context::ContextEntry::Dir { path } if path == "local-ca")
        ));
    }
}
