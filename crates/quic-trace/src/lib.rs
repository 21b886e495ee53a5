//! Packet-trace analysis: pcap/pcapng reading, QUIC v1/v2 decoding and decryption.
//!
//! Data flows one way: capture bytes → link layer → IP/UDP → QUIC headers → packet
//! protection removed with Initial or key-log secrets → frames and TLS messages →
//! [`Trace`] (a `Vec<QuicPacket>` plus per-connection facts) for the checks to filter.

pub mod bytes;
pub mod cid;
pub mod command;
mod connection;
pub mod crypto;
pub mod decoder;
pub mod error;
mod fasthash;
pub mod frame;
pub mod header;
pub mod keylog;
pub mod keys;
pub mod output;
pub mod packet;
mod protection;
pub mod tls;
pub mod version;

/// The capture codec lives in the workspace's `wirecap` crate; its modules
/// keep their old paths here.
pub use wirecap::{capture, ip, link};

pub use cid::ConnectionId;
pub use command::{run_trace_command, run_trace_command_with};
pub use decoder::{analyze, Options};
pub use error::TraceError;
pub use frame::{EcnCounts, Frame};
pub use keylog::KeyLog;
pub use packet::{ConnectionInfo, Direction, PacketType, QuicPacket, Trace};
pub use tls::TlsSummary;

#[cfg(test)]
mod rfc_vectors;
