//! The images every run needs: base, endpoint, iperf and sim, each rebuilt
//! when anything it is built from changed.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Instant;

use bollard::Docker;

use super::base;
use super::context::BuildContext;
use super::docker::{self, ImageId, PROJECT_LABEL};
use super::hash::INPUTS_LABEL;
use super::lock::BuildLock;
use super::recipes::{self, Recipe};
use super::suite::Suite;
use super::{sim_binary, ImagesError};

/// What `ensure_*` did for one image.
#[derive(Clone, Debug, PartialEq)]
pub enum ImageAction {
    /// Already there and up to date.
    Present { image: String },
    /// Pulled from a registry (and tagged as `image`).
    Pulled { image: String, from: String },
    /// Created from nothing with debootstrap.
    Bootstrapped { image: String, seconds: f64 },
    /// Built (or rebuilt because its inputs changed).
    Built { image: String, seconds: f64 },
}

impl fmt::Display for ImageAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImageAction::Present { image } => write!(f, "{image}: up to date"),
            ImageAction::Pulled { image, from } => write!(f, "{image}: pulled {from}"),
            ImageAction::Bootstrapped { image, seconds } => {
                write!(
                    f,
                    "{image}: bootstrapped with debootstrap in {seconds:.0} s"
                )
            }
            ImageAction::Built { image, seconds } => write!(f, "{image}: built in {seconds:.0} s"),
        }
    }
}

/// Where the sim image's binary comes from.
#[derive(Clone, Debug, Default)]
pub struct RunnerImageOptions {
    /// The `interop-sim` binary; `None` looks next to the running executable
    /// (see [`sim_binary::locate`]).
    pub sim_binary: Option<PathBuf>,
}

/// Builds whatever runner image is missing or stale, finding the simulator
/// binary next to the running executable.
pub async fn ensure_runner_images(
    docker: &Docker,
    progress: &mut (dyn FnMut(&str) + Send),
) -> Result<Vec<ImageAction>, ImagesError> {
    ensure_runner_images_with(docker, &RunnerImageOptions::default(), progress).await
}

/// [`ensure_runner_images`] with an explicit simulator binary.
pub async fn ensure_runner_images_with(
    docker: &Docker,
    options: &RunnerImageOptions,
    progress: &mut (dyn FnMut(&str) + Send),
) -> Result<Vec<ImageAction>, ImagesError> {
    // Fail on a missing binary before any slow build.
    let sim = sim_binary::locate(options.sim_binary.as_deref())?;
    let _lock = BuildLock::acquire(progress).await?;
    let mut actions: Vec<ImageAction> =
        vec![base::ensure_base(docker, Suite::Bookworm, progress).await?];
    actions.push(ensure_endpoint_locked(docker, Suite::Bookworm, progress).await?);
    actions.push(ensure_recipe(docker, &recipes::IPERF, recipes::IPERF.context(), progress).await?);
    let mut sim_context = recipes::SIM.context();
    sim_binary::add_to_context(&sim, &mut sim_context)?;
    progress(&format!("simulator binary: {}", sim.display()));
    actions.push(ensure_recipe(docker, &recipes::SIM, sim_context, progress).await?);
    Ok(actions)
}

/// One suite's base and endpoint images only: what implementation build
/// contexts need.
pub async fn ensure_endpoint_image(
    docker: &Docker,
    suite: Suite,
    progress: &mut (dyn FnMut(&str) + Send),
) -> Result<Vec<ImageAction>, ImagesError> {
    let _lock = BuildLock::acquire(progress).await?;
    let base = base::ensure_base(docker, suite, progress).await?;
    let endpoint = ensure_endpoint_locked(docker, suite, progress).await?;
    Ok(vec![base, endpoint])
}

async fn ensure_endpoint_locked(
    docker: &Docker,
    suite: Suite,
    progress: &mut (dyn FnMut(&str) + Send),
) -> Result<ImageAction, ImagesError> {
    let mut context = recipes::endpoint_context(suite)?;
    let cas = recipes::add_local_cas(Path::new(recipes::LOCAL_CA_DIR), &mut context)?;
    if cas > 0 {
        progress(&format!(
            "the endpoint image will trust {cas} local CA certificate(s) from {}",
            recipes::LOCAL_CA_DIR
        ));
    }
    let (_, action) = ensure_built(docker, suite.endpoint_image(), context, progress).await?;
    Ok(action)
}

async fn ensure_recipe(
    docker: &Docker,
    recipe: &Recipe,
    context: BuildContext,
    progress: &mut (dyn FnMut(&str) + Send),
) -> Result<ImageAction, ImagesError> {
    let (_, action) = ensure_built(docker, recipe.image, context, progress).await?;
    Ok(action)
}

/// Builds `context` as `image` unless an image of that name was built from
/// exactly these inputs: the context's files plus the IDs of the local
/// images it builds FROM (a rebuilt parent makes its children stale).
pub(crate) async fn ensure_built(
    docker: &Docker,
    image: &str,
    context: BuildContext,
    progress: &mut (dyn FnMut(&str) + Send),
) -> Result<(ImageId, ImageAction), ImagesError> {
    let inputs = inputs_hash(docker, &context).await?;
    let existing = docker::inspect(docker, image).await?;
    if let Some((id, labels)) = &existing {
        if labels.get(INPUTS_LABEL) == Some(&inputs) {
            return Ok((
                id.clone(),
                ImageAction::Present {
                    image: image.to_string(),
                },
            ));
        }
        progress(&format!("{image} is out of date; rebuilding"));
    } else {
        progress(&format!("building {image}"));
    }
    let started = Instant::now();
    let tar = context.to_tar()?;
    let labels: HashMap<String, String> = HashMap::from([
        (PROJECT_LABEL.to_string(), "1".to_string()),
        (INPUTS_LABEL.to_string(), inputs),
    ]);
    let id = docker::build_tar(docker, image, tar, labels, progress).await?;
    if let Some((old_id, old_labels)) = existing {
        // Only our own images: a user's image of the same name is left alone.
        if old_id != id && old_labels.contains_key(PROJECT_LABEL) {
            docker::remove_if_unused(docker, &old_id).await;
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    progress(&format!("built {image} in {seconds:.0} s"));
    Ok((
        id,
        ImageAction::Built {
            image: image.to_string(),
            seconds,
        },
    ))
}

async fn inputs_hash(docker: &Docker, context: &BuildContext) -> Result<String, ImagesError> {
    let mut hash = context.content_hash();
    let dockerfile = context
        .file("Dockerfile")
        .ok_or_else(|| ImagesError::Context("it has no Dockerfile".to_string()))?;
    let dockerfile = String::from_utf8_lossy(dockerfile);
    for parent in super::context::from_images(&dockerfile) {
        let parent_id = docker::image_id(docker, &parent).await?.unwrap_or_default();
        hash.add(&format!("FROM {parent}"), parent_id.as_bytes());
    }
    Ok(hash.finish())
}

/// The suites whose base and endpoint images a Dockerfile builds on (the
/// iperf image counts as bookworm's endpoint).
pub(crate) fn suites_needed(dockerfile: &str) -> Vec<Suite> {
    let mut suites: Vec<Suite> = super::context::from_images(dockerfile)
        .iter()
        .filter_map(|image: &String| {
            if image == recipes::IPERF_IMAGE {
                Some(Suite::Bookworm)
            } else {
                Suite::of_image(image)
            }
        })
        .collect();
    suites.sort();
    suites.dedup();
    suites
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_dependency_is_detected() {
        assert_eq!(
            suites_needed("FROM interop-runner/endpoint:latest AS b\nFROM b\n"),
            vec![Suite::Bookworm]
        );
        assert_eq!(
            suites_needed(
                "FROM interop-runner/endpoint:trixie AS b\nFROM interop-runner/iperf:latest\n"
            ),
            vec![Suite::Bookworm, Suite::Trixie]
        );
        assert!(suites_needed("FROM debian:bookworm\n").is_empty());
    }

    #[test]
    fn actions_read_as_sentences() {
        let built = ImageAction::Built {
            image: "interop-runner/sim:latest".to_string(),
            seconds: 12.4,
        };
        assert_eq!(
            built.to_string(),
            "interop-runner/sim:latest: built in 12 s"
        );
    }
}
