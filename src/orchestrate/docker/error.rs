//! The one error type of the docker module: an Engine API call, or copying
//! out of a container, that failed. Each variant renders as one sentence
//! naming the object; bollard's (or the file system's) error is the source.

use std::path::PathBuf;

use bollard::errors::Error as Bollard;

use crate::orchestrate::images::ImagesError;

#[derive(Debug, thiserror::Error)]
pub enum DockerError {
    /// The engine could not be reached or speaks no API version we know.
    #[error(transparent)]
    Connect(#[from] ImagesError),
    #[error("cannot list containers: {0}")]
    ListContainers(#[source] Bollard),
    #[error("cannot list networks: {0}")]
    ListNetworks(#[source] Bollard),
    #[error("cannot create container {host} from {image}: {source}")]
    CreateContainer {
        host: String,
        image: String,
        source: Bollard,
    },
    #[error("cannot attach {host} to its second network: {source}")]
    AttachNetwork { host: String, source: Bollard },
    #[error("cannot start the {what} container: {source}")]
    Start { what: String, source: Bollard },
    #[error("cannot send {signal} to a container: {source}")]
    Signal { signal: String, source: Bollard },
    #[error("waiting for the container failed: {0}")]
    Wait(#[source] Bollard),
    #[error("the engine ended the wait without an exit code")]
    WaitEnded,
    #[error("cannot create network {name}: {source}")]
    CreateNetwork { name: String, source: Bollard },
    #[error("no free pair of subnets in 193.167.0.0/16: too many trials at once, or leftovers of other runs")]
    NoFreeSubnets,
    #[error("cannot copy {path} out of the container: {source}")]
    CopyOut { path: String, source: Bollard },
    #[error("{path} holds more than {mib} MiB; stopped copying")]
    TooLarge { path: String, mib: u64 },
    #[error("cannot create a temp file: {0}")]
    TempFile(#[source] std::io::Error),
    #[error("cannot write a temp file: {0}")]
    WriteTemp(#[source] std::io::Error),
    #[error("unreadable archive: {0}")]
    Archive(#[source] std::io::Error),
    #[error("unreadable archive entry: {0}")]
    ArchiveEntry(#[source] std::io::Error),
    #[error("{}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl DockerError {
    /// The HTTP status the engine answered with, when it answered.
    pub fn status(&self) -> Option<u16> {
        let source = match self {
            DockerError::ListContainers(s)
            | DockerError::ListNetworks(s)
            | DockerError::Wait(s)
            | DockerError::CopyOut { source: s, .. }
            | DockerError::CreateContainer { source: s, .. }
            | DockerError::AttachNetwork { source: s, .. }
            | DockerError::Start { source: s, .. }
            | DockerError::Signal { source: s, .. }
            | DockerError::CreateNetwork { source: s, .. } => s,
            _ => return None,
        };
        status_of(source)
    }
}

/// The HTTP status of an engine error, if it came with one.
pub fn status_of(e: &Bollard) -> Option<u16> {
    match e {
        Bollard::DockerResponseServerError { status_code, .. } => Some(*status_code),
        _ => None,
    }
}
