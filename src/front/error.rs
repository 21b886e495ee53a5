//! What the front ends print before exiting with code 2: one sentence,
//! after "interop-runner: " or "interop harness: ".

use std::path::PathBuf;

use crate::catalog::registry::RegistryError;
use crate::orchestrate::docker::DockerError;
use crate::orchestrate::images::ImagesError;
use crate::plan::PlanError;
use crate::report::ReportError;

#[derive(Debug, thiserror::Error)]
pub enum FrontError {
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error(transparent)]
    Report(#[from] ReportError),
    #[error(transparent)]
    Docker(#[from] DockerError),
    #[error(transparent)]
    Images(#[from] ImagesError),
    #[error(transparent)]
    Trace(#[from] quic_trace::TraceError),
    #[error("unknown protocol \"{0}\": use quic or webtransport")]
    UnknownProtocol(String),
    #[error("INTEROP_PROTOCOL=\"{0}\" is not one of quic, webtransport, all")]
    UnknownProtocolVariable(String),
    #[error("INTEROP_REPLACE: {0}")]
    Replace(#[source] PlanError),
    #[error(
        "{what}=\"{value}\" is not a yes/no value: use 1, true, yes or on, or 0, false, no or off"
    )]
    BadSwitch { what: String, value: String },
    #[error("{name} is not valid UTF-8 (\"{value}\"); names and paths given to the runner must be UTF-8")]
    NotUtf8 { name: String, value: String },
    #[error("log directory {} already exists", .0.display())]
    LogDirExists(PathBuf),
    #[error("no trial records (trial.json) under {}", .0.display())]
    NoRecords(PathBuf),
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("INTEROP_RETRIES=\"{0}\" is not a number of retries")]
    Retries(String),
    /// The async runtime could not start.
    #[error("{0}")]
    Runtime(#[source] std::io::Error),
}
