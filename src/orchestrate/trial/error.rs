//! Why a run could not be carried out (as opposed to a verdict on it): one
//! sentence, the engine's or the file system's error as the source. The
//! trial turns it into a failed verdict with that sentence as the reason.

use crate::orchestrate::docker::archive::DownloadProblem;
use crate::orchestrate::docker::DockerError;
use crate::orchestrate::materials::certs::CertError;
use crate::orchestrate::materials::MaterialsError;

#[derive(Debug, thiserror::Error)]
pub enum TrialError {
    #[error(transparent)]
    Docker(#[from] DockerError),
    #[error(transparent)]
    Downloads(#[from] DownloadProblem),
    #[error("cannot create a probe container: {0}")]
    Probe(#[source] bollard::errors::Error),
    /// A blocking task of the run died (it panicked or was cancelled).
    #[error("{0}")]
    Task(#[from] tokio::task::JoinError),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Certs(#[from] CertError),
    #[error("the runner panicked during the compliance check")]
    Panicked,
    #[error("cannot create a temporary directory: {0}")]
    TempDir(#[source] std::io::Error),
    #[error(transparent)]
    Materials(#[from] MaterialsError),
    #[error("the simulator set up ahead did not start within 15 s")]
    SimSilent,
    #[error("preparing the test files failed: {0}")]
    PrepareTask(#[source] tokio::task::JoinError),
}
