//! The checks most tests share: counting handshakes, the QUIC version of the
//! server's Initials, Retry packets.

use std::collections::BTreeSet;

use quic_trace::{output::version_string, ConnectionId, PacketType};

use super::stop::{ensure, RuleResult};
use super::traces::Side;

pub const QUIC_V1: u32 = 0x0000_0001;
pub const QUIC_V2: u32 = 0x6b33_43cf;

/// Distinct SCIDs of server-sent Initials: one per handshake.
pub fn handshake_scids(server_side: &Side) -> BTreeSet<ConnectionId> {
    server_side
        .server_sent()
        .filter(|p| p.packet_type == PacketType::Initial)
        .filter_map(|p| p.scid)
        .collect()
}

pub fn expect_handshakes(server_side: &Side, expected: usize) -> RuleResult {
    let scids = handshake_scids(server_side);
    ensure(scids.len() == expected, || {
        let list: Vec<String> = scids.iter().map(|c| c.to_string()).collect();
        format!(
            "expected {expected} handshake{}, saw {} (server Initial SCIDs: {})",
            if expected == 1 { "" } else { "s" },
            scids.len(),
            if list.is_empty() {
                "none".to_string()
            } else {
                list.join(", ")
            }
        )
    })
}

/// The versions of the packets of one type a side sent, in first-seen order.
pub fn versions<'a>(packets: impl Iterator<Item = &'a quic_trace::QuicPacket>) -> Vec<u32> {
    let mut out: Vec<u32> = Vec::new();
    for p in packets {
        if !out.contains(&p.version) {
            out.push(p.version);
        }
    }
    out
}

pub fn version_list(v: &[u32]) -> String {
    if v.is_empty() {
        return "none".into();
    }
    v.iter()
        .map(|x| version_string(*x))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Exactly one version in the server's Initials, and it is QUIC v1.
pub fn expect_version_1(server_side: &Side) -> RuleResult {
    let seen = versions(
        server_side
            .server_sent()
            .filter(|p| p.packet_type == PacketType::Initial),
    );
    ensure(seen == [QUIC_V1], || {
        format!(
            "expected exactly QUIC version 0x00000001 in the server's Initials, saw {}",
            version_list(&seen)
        )
    })
}

/// Any Retry in the client-side trace.
pub fn retries(client_side: &Side) -> usize {
    client_side
        .trace
        .packets
        .iter()
        .filter(|p| p.packet_type == PacketType::Retry)
        .count()
}
