//! Why a run's traces could not be analysed: one sentence each, the reason
//! a trial fails with. Cloneable (sources behind `Arc`) because one broken
//! key log is the reason for both traces.

use std::path::PathBuf;
use std::sync::Arc;

use quic_trace::TraceError;

use crate::layout::Role;

#[derive(Debug, Clone, thiserror::Error)]
pub enum AnalysisError {
    #[error("cannot read the packet trace {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: Arc<std::io::Error>,
    },
    #[error("cannot analyse the packet trace {}: {source}", path.display())]
    Analyse {
        path: PathBuf,
        source: Arc<TraceError>,
    },
    #[error("the {role}'s key log is unreadable: {source}")]
    KeyLog { role: Role, source: Arc<TraceError> },
}
