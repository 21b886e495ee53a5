//! Builds the images a run needs (base, sim, endpoint, iperf) from nothing,
//! and finds or builds the implementations' images.
//!
//! Every image is labelled with a hash of its inputs (recipe files, the
//! simulator binary, parent image IDs), so a stale image is rebuilt rather
//! than used; builds are serialised across processes by a lock file.

mod base;
mod context;
mod docker;
mod error;
mod hash;
mod lock;
mod recipes;
mod resolve;
mod runner;
mod sim_binary;
mod suite;

#[cfg(test)]
mod add_backports_tests;

pub use base::{bootstrap_image, BASE_IMAGE};
pub use context::{from_images, BuildContext};
pub use docker::{connect, image_id, pull, ImageId, PROJECT_LABEL};
pub use error::ImagesError;
pub use hash::INPUTS_LABEL;
pub use recipes::{ENDPOINT_IMAGE, IPERF_IMAGE, SIM_IMAGE};
pub use resolve::{
    build_context, build_implementation, build_source, local_build_tag,
    resolve_implementation_image, BuildSource, ImageOrigin, Resolution,
};
pub use runner::{
    ensure_endpoint_image, ensure_runner_images, ensure_runner_images_with, ImageAction,
    RunnerImageOptions,
};
pub use sim_binary::{locate as locate_sim_binary, SIM_BINARY_ENV};
pub use suite::Suite;
