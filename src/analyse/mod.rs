//! Stage 4, analysis: reads a run directory once, the simulator's two
//! traces and the endpoints' key logs, into an [`Analysis`] the judge reads
//! without touching the disk.
//!
//! Input: the run's [`Layout`] and the server's addresses. Output: each
//! trace decoded and decrypted (or why not), and which key log was used.
//! [`load`] does the reading; [`analyse`] is pure and takes bytes, so tests
//! need no files.
//!
//! Both traces are decoded up front even when a rule reads one: decoding
//! runs at about 2.4 GB/s (docs/trace.md), 5 ms for a 10 MiB transfer,
//! which is far below the cost of a second pass over the run directory.

mod error;
mod keylog;
mod probe;

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use quic_trace::{analyze, KeyLog, Options, Trace};

use crate::layout::{Layout, Role};

pub use error::AnalysisError;
pub use keylog::choose_keylog;
pub use probe::drop_probe_traffic;

/// A run's traces and key log, read once.
#[derive(Debug)]
pub struct Analysis {
    /// The endpoint whose key log decrypted the traces; `None` when neither
    /// wrote one with a handshake secret.
    pub keylog: Result<Option<Role>, AnalysisError>,
    /// The client's side of the link.
    pub client: Result<Trace, AnalysisError>,
    /// The server's side of the link.
    pub server: Result<Trace, AnalysisError>,
}

/// One capture as read from the run directory.
#[derive(Debug)]
pub struct Capture {
    /// The file, for messages.
    pub path: PathBuf,
    /// Its path inside the run directory, for warnings.
    pub name: String,
    pub bytes: std::io::Result<Vec<u8>>,
}

/// An endpoint's key log as read from the run directory.
#[derive(Debug, Clone)]
pub struct KeyLogFile {
    pub role: Role,
    pub path: PathBuf,
    pub bytes: Vec<u8>,
}

/// Everything [`analyse`] reads.
#[derive(Debug)]
pub struct Inputs {
    /// The key logs that exist, the client's first (the contract's
    /// preference).
    pub keylogs: Vec<KeyLogFile>,
    pub client: Capture,
    pub server: Capture,
    pub server_addrs: Vec<IpAddr>,
}

/// Reads the run directory and analyses it.
pub fn load(run: &Layout, server_addrs: &[IpAddr]) -> Analysis {
    let capture = |path: PathBuf| Capture {
        name: path
            .strip_prefix(run.root())
            .unwrap_or(&path)
            .display()
            .to_string(),
        bytes: read_capture(&path),
        path,
    };
    let keylogs = [Role::Client, Role::Server]
        .into_iter()
        .filter_map(|role| {
            let path = run.keylog(role);
            // One too large to be a key log counts as none.
            let bytes = crate::input::read_bytes(&path, crate::input::TEXT_LIMIT).ok()?;
            Some(KeyLogFile { role, path, bytes })
        })
        .collect();
    analyse(Inputs {
        keylogs,
        client: capture(run.client_side_trace()),
        server: capture(run.server_side_trace()),
        server_addrs: server_addrs.to_vec(),
    })
}

/// A capture, bounded like every file an endpoint or the simulator wrote;
/// a missing one keeps its `NotFound` so the judge can say so.
fn read_capture(path: &std::path::Path) -> std::io::Result<Vec<u8>> {
    use crate::input::{read_bytes, InputError, CAPTURE_LIMIT};
    read_bytes(path, CAPTURE_LIMIT).map_err(|e| match e {
        InputError::Io { source, .. } => source,
        other => std::io::Error::new(std::io::ErrorKind::InvalidData, other),
    })
}

/// Decodes and decrypts both captures with the preferred key log.
pub fn analyse(inputs: Inputs) -> Analysis {
    let keylog = choose_keylog(&inputs.keylogs);
    let (client, server) = match &keylog {
        Ok(chosen) => {
            let empty = KeyLog::default();
            let log = chosen.as_ref().map_or(&empty, |(_, log)| log);
            let options = Options {
                server_addrs: inputs
                    .server_addrs
                    .iter()
                    .map(|ip| SocketAddr::new(*ip, 0))
                    .collect(),
            };
            (
                decode(&inputs.client, log, &options),
                decode(&inputs.server, log, &options),
            )
        }
        // A key log that claims to be one but does not parse fails every
        // rule with its own reason.
        Err(e) => (Err(e.clone()), Err(e.clone())),
    };
    Analysis {
        keylog: keylog.map(|chosen| chosen.map(|(role, _)| role)),
        client,
        server,
    }
}

fn decode(capture: &Capture, keylog: &KeyLog, options: &Options) -> Result<Trace, AnalysisError> {
    let path = || capture.path.clone();
    let bytes = capture.bytes.as_ref().map_err(|e| AnalysisError::Read {
        path: path(),
        source: Arc::new(std::io::Error::new(e.kind(), e.to_string())),
    })?;
    let mut trace = analyze(bytes, keylog, options).map_err(|e| AnalysisError::Analyse {
        path: path(),
        source: Arc::new(e),
    })?;
    drop_probe_traffic(&mut trace, &capture.name);
    Ok(trace)
}

#[cfg(test)]
mod tests;
