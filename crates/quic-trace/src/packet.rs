//! The analysis result: typed QUIC packets in capture order, and per-connection facts.

use std::net::SocketAddr;

use serde::Serialize;

use crate::bytes::HexBytes;
use crate::cid::ConnectionId;
use crate::frame::Frame;
use crate::tls::TlsSummary;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum PacketType {
    #[serde(rename = "initial")]
    Initial,
    #[serde(rename = "0rtt")]
    ZeroRtt,
    #[serde(rename = "handshake")]
    Handshake,
    #[serde(rename = "retry")]
    Retry,
    #[serde(rename = "vn")]
    VersionNegotiation,
    #[serde(rename = "1rtt")]
    OneRtt,
    /// A long header of a version the decoder does not know (a client's probe for
    /// Version Negotiation, say): version and CIDs only, never decrypted.
    #[serde(rename = "unknown_version")]
    UnknownVersion,
}

impl PacketType {
    pub fn name(self) -> &'static str {
        match self {
            PacketType::Initial => "initial",
            PacketType::ZeroRtt => "0rtt",
            PacketType::Handshake => "handshake",
            PacketType::Retry => "retry",
            PacketType::VersionNegotiation => "vn",
            PacketType::OneRtt => "1rtt",
            PacketType::UnknownVersion => "unknown_version",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum Direction {
    #[serde(rename = "client_to_server")]
    ClientToServer,
    #[serde(rename = "server_to_client")]
    ServerToClient,
}

impl Direction {
    pub fn reverse(self) -> Direction {
        match self {
            Direction::ClientToServer => Direction::ServerToClient,
            Direction::ServerToClient => Direction::ClientToServer,
        }
    }

    pub(crate) fn index(self) -> usize {
        match self {
            Direction::ClientToServer => 0,
            Direction::ServerToClient => 1,
        }
    }
}

/// One QUIC packet (coalesced packets are separate values).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuicPacket {
    /// 1-based index of the captured frame that carried it.
    pub frame: u64,
    /// Capture time, nanoseconds since the Unix epoch.
    pub time_ns: u64,
    pub src: SocketAddr,
    pub dst: SocketAddr,
    /// IP ECN bits: 0 not-ECT, 1 ECT(1), 2 ECT(0), 3 CE.
    pub ecn: u8,
    /// UDP payload size of the datagram this packet came in.
    pub datagram_len: usize,
    /// Index of the connection in `Trace::connections`, when known.
    pub connection: Option<usize>,
    pub direction: Option<Direction>,
    pub packet_type: PacketType,
    /// The long header's version; for 1-RTT packets the connection's version.
    pub version: u32,
    pub dcid: ConnectionId,
    /// None for short headers.
    pub scid: Option<ConnectionId>,
    /// Initial packets' token (possibly empty) and Retry packets' token.
    pub token: Option<HexBytes>,
    /// Retry only: whether the integrity tag matched the client's original DCID.
    pub retry_tag_valid: Option<bool>,
    /// Version Negotiation only.
    pub supported_versions: Vec<u32>,
    /// Bytes this packet occupies in the datagram.
    pub length: usize,
    /// Bytes after the header fields readable without keys: packet number, encrypted
    /// payload and tag. The zerortt check falls back to it when keys are missing.
    pub payload_length: usize,
    /// Bytes of decrypted frames (0 when not decrypted); what Wireshark shows as the
    /// payload when it has the keys.
    pub plain_length: usize,
    pub pn: Option<u64>,
    /// 1-RTT only, when header protection could be removed.
    pub key_phase: Option<u8>,
    pub decrypted: bool,
    /// Why a protected packet could not be decrypted.
    pub undecryptable: Option<String>,
    pub frames: Vec<Frame>,
    /// Why the frame list ended early (unknown frame type, malformed frame).
    pub frames_stopped: Option<String>,
}

impl QuicPacket {
    pub fn time_secs(&self) -> f64 {
        self.time_ns as f64 / 1e9
    }

    /// Total bytes of STREAM frame data in this packet.
    pub fn stream_bytes(&self) -> usize {
        self.frames
            .iter()
            .map(|f| {
                if let Frame::Stream { length, .. } = f {
                    *length
                } else {
                    0
                }
            })
            .sum()
    }
}

/// Facts about one connection, gathered over the whole trace.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ConnectionInfo {
    /// The client's first Destination CID.
    pub original_dcid: ConnectionId,
    /// Client and server addresses of the first packet.
    pub client: Option<SocketAddr>,
    pub server: Option<SocketAddr>,
    /// Versions seen in the client's and the server's long headers, in order of first use.
    pub client_versions: Vec<u32>,
    pub server_versions: Vec<u32>,
    pub tls: TlsSummary,
    /// True when the key log had secrets for this connection's ClientHello random.
    pub keys_found: bool,
    /// Packets that the key log's secrets decrypted (Handshake, 0-RTT and
    /// 1-RTT; Initial keys come from the DCID, not the key log). Secrets
    /// that match the random but decrypt nothing leave this at 0.
    pub decrypted_with_keys: u64,
}

/// The whole analysis of one capture.
#[derive(Clone, Debug, Default)]
pub struct Trace {
    pub packets: Vec<QuicPacket>,
    pub connections: Vec<ConnectionInfo>,
    /// Problems with the capture as a whole (a truncated tail, for instance).
    pub warnings: Vec<String>,
    /// Captured frames that carried no QUIC packet (other protocols, stray UDP).
    pub skipped_frames: u64,
}
