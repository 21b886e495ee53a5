//! The one error type of the crate: every variant says in one sentence what went wrong.

use std::fmt;

/// Why a trace could not be analysed at all (packets that merely fail to decode are
/// reported per packet, not here).
#[derive(Debug)]
pub enum TraceError {
    /// A file could not be read, or is no regular file, or is too large.
    Input(wirecap::input::InputError),
    /// The capture is neither pcap nor pcapng, or its header is damaged.
    NotACapture { what: String },
    /// A key log line could not be understood.
    BadKeyLog {
        path: String,
        line: usize,
        why: String,
    },
    /// Writing the output failed.
    Output(std::io::Error),
}

impl fmt::Display for TraceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TraceError::Input(e) => write!(f, "{e}"),
            TraceError::NotACapture { what } => write!(f, "not a pcap or pcapng capture: {what}"),
            TraceError::BadKeyLog { path, line, why } => {
                write!(
                    f,
                    "{path} line {line} is not a valid NSS key log line: {why}"
                )
            }
            TraceError::Output(e) => write!(f, "cannot write the trace output: {e}"),
        }
    }
}

impl std::error::Error for TraceError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            TraceError::Input(e) => Some(e),
            TraceError::Output(e) => Some(e),
            _ => None,
        }
    }
}

impl From<wirecap::input::InputError> for TraceError {
    fn from(e: wirecap::input::InputError) -> TraceError {
        TraceError::Input(e)
    }
}

impl From<wirecap::CaptureError> for TraceError {
    fn from(e: wirecap::CaptureError) -> TraceError {
        TraceError::NotACapture { what: e.what }
    }
}
