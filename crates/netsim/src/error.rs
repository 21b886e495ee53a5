//! The simulator's run-time errors: what stopped it, one sentence each for
//! its console (the runner quotes the last line in a failed trial's
//! reason), with the system's error as the source. Parse errors of the
//! scenario and the configuration have their own types.

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;

use crate::gso::GsoError;
use crate::iface::IfaceError;

#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("cannot set up signal handling: {0}")]
    Signals(#[source] io::Error),
    #[error(transparent)]
    Interfaces(#[from] IfaceError),
    #[error("cannot find the two sides of the link: {0}")]
    NoSides(#[source] IfaceError),
    #[error("kernel IP forwarding is on ({key} = 1) and cannot be turned off from inside; start the sim container with sysctls {sysctls}")]
    KernelForwarding { key: String, sysctls: String },
    #[error("cannot capture on {iface} (needs NET_RAW): {source}")]
    Capture { iface: String, source: io::Error },
    #[error("cannot open raw sockets on {iface} (needs NET_RAW): {source}")]
    RawSocket { iface: String, source: io::Error },
    #[error("cannot create trace file {}: {source}", path.display())]
    CreateTrace { path: PathBuf, source: io::Error },
    #[error("cannot listen on TCP port {port}: {source}")]
    Listen { port: u16, source: io::Error },
    #[error("cannot make the TCP listener non-blocking: {0}")]
    NonBlocking(#[source] io::Error),
    #[error("WAITFORSERVER={0:?} is not host:port")]
    NotHostPort(String),
    #[error("WAITFORSERVER={0:?} has no valid port")]
    BadPort(String),
    #[error("cannot resolve {host:?} (WAITFORSERVER={target}); it is neither an address nor in /etc/hosts")]
    Unresolved { host: String, target: String },
    #[error("cannot open a UDP socket to probe {target}: {source}")]
    ProbeSocket { target: String, source: io::Error },
    #[error("the server at {target} ({addr}) sent no Version Negotiation within {seconds} s (WAITFORSERVER)")]
    ServerSilent {
        target: String,
        addr: SocketAddr,
        seconds: f64,
    },
    #[error("waiting for packets failed: {0}")]
    Poll(#[source] io::Error),
    #[error("capturing on {iface} failed: {source}")]
    Receive { iface: String, source: io::Error },
    #[error("writing the {side} trace failed: {source}")]
    WriteTrace {
        side: &'static str,
        source: io::Error,
    },
}

/// Why one captured packet cannot be forwarded; it is dropped with a note.
#[derive(Debug, thiserror::Error)]
pub enum OffloadError {
    #[error("{len}-byte offload packet of unsupported type {kind}")]
    Unsupported { len: usize, kind: u8 },
    #[error("{len}-byte offload packet cannot be split: {source}")]
    Split { len: usize, source: GsoError },
}
