//! The one error type of the images module: every variant renders as one
//! sentence that tells the user what went wrong and, where possible, why.

use std::fmt;

/// Why an image could not be found, pulled, bootstrapped or built.
#[derive(Debug)]
pub enum ImagesError {
    /// The Docker daemon could not be reached or refused the API version.
    DockerUnreachable(String),
    /// A Docker API call failed.
    Docker {
        what: String,
        source: bollard::errors::Error,
    },
    /// `docker build` ran and one of its steps failed.
    BuildFailed {
        tag: String,
        step: String,
        message: String,
        output_tail: String,
    },
    /// The base image could neither be pulled nor bootstrapped.
    Bootstrap(String),
    /// The interop-sim binary could not be found or packaged.
    SimBinary(String),
    /// A build context directory could not be read or is not buildable.
    Context(String),
    /// A local file operation failed.
    Io {
        what: String,
        source: std::io::Error,
    },
}

impl ImagesError {
    pub(crate) fn docker(what: impl Into<String>, source: bollard::errors::Error) -> Self {
        ImagesError::Docker {
            what: what.into(),
            source,
        }
    }

    pub(crate) fn io(what: impl Into<String>, source: std::io::Error) -> Self {
        ImagesError::Io {
            what: what.into(),
            source,
        }
    }
}

impl fmt::Display for ImagesError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImagesError::DockerUnreachable(why) => {
                write!(f, "cannot talk to the Docker daemon: {why}")
            }
            ImagesError::Docker { what, source } => write!(f, "Docker failed to {what}: {source}"),
            ImagesError::BuildFailed {
                tag,
                step,
                message,
                output_tail,
            } => {
                write!(f, "building image {tag} failed at {step}: {message}")?;
                if !output_tail.is_empty() {
                    write!(f, "\n--- last build output ---\n{output_tail}")?;
                }
                Ok(())
            }
            ImagesError::Bootstrap(why) => write!(f, "cannot create the base image: {why}"),
            ImagesError::SimBinary(why) => write!(f, "cannot package the simulator: {why}"),
            ImagesError::Context(why) => write!(f, "cannot use the build context: {why}"),
            ImagesError::Io { what, source } => write!(f, "cannot {what}: {source}"),
        }
    }
}

impl std::error::Error for ImagesError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ImagesError::Docker { source, .. } => Some(source),
            ImagesError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}
