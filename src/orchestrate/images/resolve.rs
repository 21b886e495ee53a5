//! Finding the image an implementation runs in: present locally, else
//! pulled, else built from its registry entry's `"build"` context, else
//! unavailable with the reason.

use std::path::{Path, PathBuf};

use bollard::Docker;

use super::context::BuildContext;
use super::docker::{self, ImageId};
use super::lock::BuildLock;
use super::runner::{self, ImageAction};
use super::ImagesError;

/// How an implementation's image was obtained.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImageOrigin {
    Local,
    Pulled,
    Built,
}

/// The outcome of [`resolve_implementation_image`].
#[derive(Clone, Debug, PartialEq)]
pub enum Resolution {
    Available {
        /// The reference to start containers from.
        image: String,
        id: ImageId,
        origin: ImageOrigin,
    },
    Unavailable {
        reason: String,
    },
}

/// Build contexts of the implementations this project ships, embedded so an
/// installed runner can build them without the source tree; `build.rs`
/// generates the table from `implementations/`.
type EmbeddedFile = (&'static str, u32, &'static [u8]);
const EMBEDDED: &[(&str, &[EmbeddedFile])] =
    include!(concat!(env!("OUT_DIR"), "/embedded_contexts.rs"));

/// Where a `"build"` value points.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BuildSource {
    Dir(PathBuf),
    Embedded(&'static str),
}

/// Resolves a registry `"build"` value: an absolute path, a path relative to
/// `base_dir` (the registry file's directory), or one of the contexts
/// embedded in the binary.
pub fn build_source(build: &str, base_dir: &Path) -> Result<BuildSource, ImagesError> {
    let path = Path::new(build);
    let candidate = if path.is_absolute() {
        path.to_path_buf()
    } else {
        base_dir.join(path)
    };
    if candidate.is_dir() {
        return inside(&candidate, base_dir, path.is_absolute())
            .map(|()| BuildSource::Dir(candidate));
    }
    let normalized = build.trim_start_matches("./").trim_end_matches('/');
    EMBEDDED
        .iter()
        .find(|(name, _)| *name == normalized)
        .map(|(name, _)| BuildSource::Embedded(name))
        .ok_or_else(|| {
            ImagesError::Context(format!(
                "there is no build context directory at {}",
                candidate.display()
            ))
        })
}

/// A relative context must not leave `base_dir` through a symbolic link
/// (the registry's own check refuses `..`); an absolute one is the
/// caller's explicit choice (tests build fixtures that way).
fn inside(candidate: &Path, base_dir: &Path, absolute: bool) -> Result<(), ImagesError> {
    if absolute {
        return Ok(());
    }
    let resolve = |p: &Path| {
        p.canonicalize()
            .map_err(|e| ImagesError::io(format!("resolve {}", p.display()), e))
    };
    let (real, base) = (resolve(candidate)?, resolve(base_dir)?);
    if real.starts_with(&base) {
        Ok(())
    } else {
        Err(ImagesError::Context(format!(
            "{} leads to {}, outside {}",
            candidate.display(),
            real.display(),
            base.display()
        )))
    }
}

impl BuildSource {
    fn context(&self) -> Result<BuildContext, ImagesError> {
        match self {
            BuildSource::Dir(dir) => BuildContext::from_dir(dir),
            BuildSource::Embedded(name) => {
                let files = EMBEDDED
                    .iter()
                    .find(|(candidate, _)| candidate == name)
                    .map(|(_, files)| *files)
                    .unwrap_or_default();
                let mut context = BuildContext::new();
                let mut dirs: Vec<&str> = files
                    .iter()
                    .flat_map(|(path, _, _)| ancestors(path))
                    .collect();
                dirs.sort();
                dirs.dedup();
                // As in a directory read, so both give the same inputs hash.
                for dir in dirs {
                    context.add_dir(dir);
                }
                for (path, mode, content) in files {
                    context.add_file(path, *mode, content.to_vec());
                }
                Ok(context)
            }
        }
    }
}

/// The directories above a `/`-separated relative path: `a/b/c` gives `a`
/// and `a/b`.
fn ancestors(path: &str) -> impl Iterator<Item = &str> {
    path.match_indices('/').map(move |(at, _)| &path[..at])
}

/// The tag a locally built implementation image gets.
pub fn local_build_tag(implementation: &str) -> String {
    let name: String = implementation
        .chars()
        .map(|c: char| {
            let c = c.to_ascii_lowercase();
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '-'
            }
        })
        .collect();
    format!("interop-runner/impl-{}:latest", name.trim_matches('-'))
}

/// The tag a registry entry's local build gets: its own `image` when that
/// already names a project build (`interop-runner/impl-…`), so one name in
/// both registries (e.g. `aiopquic`, QUIC and WebTransport, two contexts)
/// keeps two images; otherwise [`local_build_tag`].
pub fn entry_build_tag(implementation: &str, image: &str) -> String {
    if image.starts_with("interop-runner/impl-") {
        image.to_string()
    } else {
        local_build_tag(implementation)
    }
}

/// Builds an implementation's build context directory as `tag` (skipped when
/// an image built from the same inputs exists), streaming build output to
/// `progress`. Runner images it builds FROM are made first.
pub async fn build_context(
    docker: &Docker,
    tag: &str,
    dir: &Path,
    progress: &mut (dyn FnMut(&str) + Send),
) -> Result<ImageId, ImagesError> {
    let context = BuildContext::from_dir(dir)?;
    build_prepared(docker, tag, context, progress)
        .await
        .map(|(id, _)| id)
}

async fn build_prepared(
    docker: &Docker,
    tag: &str,
    context: BuildContext,
    progress: &mut (dyn FnMut(&str) + Send),
) -> Result<(ImageId, ImageAction), ImagesError> {
    let dockerfile = context
        .file("Dockerfile")
        .map(|bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned())
        .ok_or_else(|| ImagesError::Context(format!("the context for {tag} has no Dockerfile")))?;
    for suite in runner::suites_needed(&dockerfile) {
        runner::ensure_endpoint_image(docker, suite, progress).await?;
    }
    let _lock = BuildLock::acquire(progress).await?;
    runner::ensure_built(docker, tag, context, progress).await
}

/// Builds an implementation's `"build"` context (a directory, or one of the
/// contexts embedded in the binary) as [`local_build_tag`], whether or not
/// its registry image could be pulled; unchanged inputs reuse the image.
/// Returns the tag and what was done.
pub async fn build_implementation(
    docker: &Docker,
    implementation: &str,
    build: &str,
    base_dir: &Path,
    progress: &mut (dyn FnMut(&str) + Send),
) -> Result<(String, ImageAction), ImagesError> {
    let tag = local_build_tag(implementation);
    let context = build_source(build, base_dir)?.context()?;
    let (_, action) = build_prepared(docker, &tag, context, progress).await?;
    Ok((tag, action))
}

/// Finds or makes the image for an implementation: `image` if present
/// locally, else pulled, else built from `build` (a registry `"build"` value,
/// resolved against `base_dir`). Only Docker being unreachable is an error;
/// anything else that prevents an image is an `Unavailable` with the reason.
pub async fn resolve_implementation_image(
    docker: &Docker,
    implementation: &str,
    image: &str,
    build: Option<&str>,
    base_dir: &Path,
    progress: &mut (dyn FnMut(&str) + Send),
) -> Result<Resolution, ImagesError> {
    // An entry whose image is the project's own build tag (names with no
    // published image) must be checked against its inputs, not taken as is.
    let tag = entry_build_tag(implementation, image);
    if let Some(build) = build.filter(|_| image == tag) {
        return build_or_unavailable(docker, &tag, build, base_dir, progress)
            .await
            .map(|outcome| outcome.into_resolution(|e| format!("building {build} failed: {e}")));
    }
    if let Some(id) = docker::image_id(docker, image).await? {
        return Ok(Resolution::Available {
            image: image.to_string(),
            id,
            origin: ImageOrigin::Local,
        });
    }
    let pull_error = match docker::pull(docker, image, progress).await {
        Ok(()) => {
            if let Some(id) = docker::image_id(docker, image).await? {
                return Ok(Resolution::Available {
                    image: image.to_string(),
                    id,
                    origin: ImageOrigin::Pulled,
                });
            }
            "the pull reported success but the image is absent".to_string()
        }
        Err(why) => why.to_string(),
    };
    let Some(build) = build else {
        return Ok(Resolution::Unavailable {
            reason: format!("{image} is not present and cannot be pulled ({pull_error}), and {implementation} has no build context"),
        });
    };
    progress(&format!(
        "cannot pull {image} ({pull_error}); building {implementation} from {build}"
    ));
    build_or_unavailable(docker, &tag, build, base_dir, progress)
        .await
        .map(|outcome| {
            outcome.into_resolution(|e| {
                format!("{image} cannot be pulled ({pull_error}) and building {build} failed: {e}")
            })
        })
}

/// A local build's result: only Docker being unreachable is an error of
/// the resolution itself.
enum BuildOutcome {
    Built { tag: String, id: ImageId },
    Failed(ImagesError),
}

impl BuildOutcome {
    fn into_resolution(self, reason: impl FnOnce(&ImagesError) -> String) -> Resolution {
        match self {
            BuildOutcome::Built { tag, id } => Resolution::Available {
                image: tag,
                id,
                origin: ImageOrigin::Built,
            },
            BuildOutcome::Failed(e) => Resolution::Unavailable { reason: reason(&e) },
        }
    }
}

async fn build_or_unavailable(
    docker: &Docker,
    tag: &str,
    build: &str,
    base_dir: &Path,
    progress: &mut (dyn FnMut(&str) + Send),
) -> Result<BuildOutcome, ImagesError> {
    let tag = tag.to_string();
    let built = match build_source(build, base_dir).and_then(|source| source.context()) {
        Ok(context) => build_prepared(docker, &tag, context, progress).await,
        Err(e) => Err(e),
    };
    match built {
        Ok((id, _)) => Ok(BuildOutcome::Built { tag, id }),
        Err(ImagesError::DockerUnreachable(why)) => Err(ImagesError::DockerUnreachable(why)),
        Err(e) => Ok(BuildOutcome::Failed(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_tags_are_valid_docker_names() {
        assert_eq!(
            local_build_tag("quic-go"),
            "interop-runner/impl-quic-go:latest"
        );
        assert_eq!(
            local_build_tag("AioQUIC"),
            "interop-runner/impl-aioquic:latest"
        );
        assert_eq!(
            local_build_tag("my impl/2"),
            "interop-runner/impl-my-impl-2:latest"
        );
    }

    #[test]
    fn an_entry_naming_its_own_build_keeps_that_tag() {
        // The same name in both registries must not share one image.
        assert_eq!(
            entry_build_tag("aiopquic", "interop-runner/impl-aiopquic-wt:latest"),
            "interop-runner/impl-aiopquic-wt:latest"
        );
        assert_eq!(
            entry_build_tag("quic-go", "martenseemann/quic-go-interop:latest"),
            "interop-runner/impl-quic-go:latest"
        );
    }

    #[test]
    fn build_source_prefers_directories() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("implementations/aioquic")).unwrap();
        assert_eq!(
            build_source("implementations/aioquic", dir.path()).unwrap(),
            BuildSource::Dir(dir.path().join("implementations/aioquic"))
        );
        let absolute = dir.path().join("implementations/aioquic");
        assert_eq!(
            build_source(absolute.to_str().unwrap(), Path::new("/elsewhere")).unwrap(),
            BuildSource::Dir(absolute)
        );
    }

    #[test]
    fn a_context_may_not_leave_its_registry_through_a_link() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path(), dir.path().join("escape")).unwrap();
        let e = build_source("escape", dir.path()).unwrap_err().to_string();
        assert!(e.contains("outside"), "{e}");
    }

    #[test]
    fn build_source_falls_back_to_embedded_contexts() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            build_source("./implementations/quic-go/", dir.path()).unwrap(),
            BuildSource::Embedded("implementations/quic-go")
        );
        let error = build_source("implementations/nope", dir.path()).unwrap_err();
        assert!(
            error.to_string().contains("implementations/nope"),
            "{error}"
        );
    }

    #[test]
    fn embedded_contexts_match_the_source_tree() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        for (name, _) in EMBEDDED {
            let embedded = BuildSource::Embedded(name).context().unwrap();
            let on_disk = BuildContext::from_dir(&root.join(name)).unwrap();
            assert_eq!(
                embedded.content_hash().finish(),
                on_disk.content_hash().finish(),
                "{name}: the embedded list is missing a file or a mode differs"
            );
        }
    }
}
