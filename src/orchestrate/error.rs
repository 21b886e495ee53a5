//! Why the runner could not carry out a trial before or around its run:
//! the engine, the images, the pre-checks. One sentence each, with the
//! underlying error as the source. Answers are cached for every trial of
//! the process, hence shared behind an `Arc`.

use std::sync::Arc;

use crate::orchestrate::docker::DockerError;
use crate::orchestrate::images::ImagesError;
use crate::orchestrate::trial::TrialError;

#[derive(Debug, thiserror::Error)]
pub enum RunnerError {
    #[error(transparent)]
    Docker(#[from] DockerError),
    #[error(transparent)]
    Images(#[from] ImagesError),
    #[error(transparent)]
    Trial(#[from] TrialError),
    #[error("image unavailable: {0}")]
    ImageUnavailable(String),
    #[error("the runner cannot start trials: {0}")]
    CannotStart(#[source] Arc<RunnerError>),
    /// A trial thread panicked while holding a cache lock.
    #[error("a cache of the runner is poisoned by a panicked trial")]
    Poisoned,
}

/// A cached answer, shared by the trials that wait on it.
pub type Shared<T> = Result<T, Arc<RunnerError>>;
