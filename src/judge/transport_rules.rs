//! Rules about packet-level behaviour: key updates, ECN, the amplification
//! limit, QUIC v2 and IPv6.

use std::collections::BTreeMap;

use quic_trace::{Frame, PacketType, QuicPacket};

use super::common::{version_list, versions, QUIC_V1, QUIC_V2};
use super::stop::{ensure, RuleResult};
use super::traces::Side;

const ECT1: u8 = 1;
const ECT0: u8 = 2;
const CE: u8 = 3;

/// Handshake CRYPTO bytes the 9-certificate chain must reach.
pub const MIN_SERVER_HANDSHAKE_CRYPTO: u64 = 7500;

/// Both endpoints sent 1-RTT packets with key phase 1.
pub fn expect_key_update(client_side: &Side, server_side: &Side) -> RuleResult {
    let phase1 = |ps: &mut dyn Iterator<Item = &QuicPacket>| -> (usize, usize) {
        let mut counts = (0, 0);
        for p in ps.filter(|p| p.packet_type == PacketType::OneRtt) {
            match p.key_phase {
                Some(1) => counts.1 += 1,
                Some(_) => counts.0 += 1,
                None => {}
            }
        }
        counts
    };
    let client = phase1(&mut client_side.client_sent());
    let server = phase1(&mut server_side.server_sent());
    ensure(client.1 > 0 && server.1 > 0, || {
        format!(
            "expected 1-RTT packets with key phase 1 from both sides; the client sent {} with phase 0 and {} with phase 1, the server {} and {}",
            client.0, client.1, server.0, server.1
        )
    })
}

/// Per datagram: one ECN codepoint per IP packet, as the IP layer counts.
fn ecn_counts<'a>(packets: impl Iterator<Item = &'a QuicPacket>) -> [usize; 4] {
    let mut seen: BTreeMap<u64, u8> = BTreeMap::new();
    for p in packets {
        seen.insert(p.frame, p.ecn & 3);
    }
    let mut counts = [0; 4];
    for ecn in seen.values() {
        counts[*ecn as usize] += 1;
    }
    counts
}

fn has_ack_ecn<'a>(mut packets: impl Iterator<Item = &'a QuicPacket>) -> bool {
    packets.any(|p| {
        p.frames
            .iter()
            .any(|f| matches!(f, Frame::Ack { ecn: Some(_), .. }))
    })
}

/// One side's ECN problem, if any: no marks, CE marks, or no ACK-ECN from
/// the peer.
fn ecn_problem(who: &str, marks: [usize; 4], peer: &str, peer_acks_ecn: bool) -> Option<String> {
    if marks[ECT0 as usize] + marks[ECT1 as usize] == 0 {
        return Some(format!("the {who} marked no packet ECT(0) or ECT(1)"));
    }
    if !peer_acks_ecn {
        return Some(format!("the {peer} sent no ACK frame with ECN counts"));
    }
    if marks[CE as usize] > 0 {
        return Some(format!(
            "the {who} marked {} packets CE (and {} ECT(0), {} ECT(1))",
            marks[CE as usize], marks[ECT0 as usize], marks[ECT1 as usize]
        ));
    }
    None
}

/// Each side marked its packets ECT and the other acknowledged with ECN counts.
pub fn expect_ecn(client_side: &Side, server_side: &Side) -> RuleResult {
    let client_marks = ecn_counts(client_side.client_sent());
    let client_acks = has_ack_ecn(client_side.client_sent());
    let server_marks = ecn_counts(server_side.server_sent());
    let server_acks = has_ack_ecn(server_side.server_sent());
    let problems: Vec<String> = [
        ecn_problem("client", client_marks, "server", server_acks),
        ecn_problem("server", server_marks, "client", client_acks),
    ]
    .into_iter()
    .flatten()
    .collect();
    ensure(problems.is_empty(), || problems.join("; "))
}

/// The server's Handshake CRYPTO data reached far enough to hold the chain.
pub fn expect_large_server_flight(server_side: &Side) -> RuleResult {
    let reach = server_side
        .server_sent()
        .filter(|p| p.packet_type == PacketType::Handshake)
        .flat_map(|p| &p.frames)
        .filter_map(|f| match f {
            Frame::Crypto { offset, length } => Some(offset + *length as u64),
            _ => None,
        })
        .max()
        .unwrap_or(0);
    ensure(reach >= MIN_SERVER_HANDSHAKE_CRYPTO, || {
        format!("the server sent only {reach} bytes of Handshake CRYPTO data, fewer than {MIN_SERVER_HANDSHAKE_CRYPTO}; did it use the provided certificate chain?")
    })
}

/// One UDP datagram: its first packet's type and who sent it.
struct Datagram {
    from_server: bool,
    size: usize,
    has_handshake: bool,
    first: PacketType,
}

fn datagrams(side: &Side) -> Vec<Datagram> {
    let mut out: Vec<Datagram> = Vec::new();
    let mut last_frame: Option<u64> = None;
    for p in &side.trace.packets {
        if last_frame == Some(p.frame) {
            if let Some(d) = out.last_mut() {
                d.has_handshake |= p.packet_type == PacketType::Handshake;
            }
            continue;
        }
        last_frame = Some(p.frame);
        out.push(Datagram {
            from_server: side.from_server(p),
            size: p.datagram_len,
            has_handshake: p.packet_type == PacketType::Handshake,
            first: p.packet_type,
        });
    }
    out
}

/// Until the client's first Handshake packet the server sends less than 4×
/// what it received (3–4× tolerated), and nobody sends Version Negotiation.
pub fn expect_amplification_limit(server_side: &Side) -> RuleResult {
    let (mut allowed, mut tolerated, mut received, mut sent) = (0i64, 0i64, 0i64, 0i64);
    for d in datagrams(server_side) {
        if d.first == PacketType::VersionNegotiation {
            return Err("a Version Negotiation packet was sent, none expected"
                .to_string()
                .into());
        }
        let size = d.size as i64;
        if !d.from_server {
            if d.has_handshake {
                return Ok(());
            }
            if d.first == PacketType::Initial {
                received += size;
                allowed += 3 * size;
                tolerated += 4 * size;
            }
            continue;
        }
        sent += size;
        if size >= tolerated {
            return Err(format!(
                "the server exceeded the amplification limit: it had sent {sent} bytes after receiving {received} before the client's first Handshake packet"
            )
            .into());
        }
        allowed -= size;
        tolerated -= size;
    }
    let _ = allowed;
    Err(
        "the client sent no Handshake packet in the server-side trace"
            .to_string()
            .into(),
    )
}

/// Client Initials include v1, server Initials v2, all Handshake packets v2.
pub fn expect_v2(client_side: &Side, server_side: &Side) -> RuleResult {
    let of = |side: &Side, server: bool, ty: PacketType| -> Vec<u32> {
        versions(
            side.trace
                .packets
                .iter()
                .filter(|p| side.from_server(p) == server && p.packet_type == ty),
        )
    };
    let client_initial = of(client_side, false, PacketType::Initial);
    ensure(client_initial.contains(&QUIC_V1), || {
        format!(
            "the client's Initials do not include QUIC v1 (saw {})",
            version_list(&client_initial)
        )
    })?;
    let server_initial = of(server_side, true, PacketType::Initial);
    ensure(server_initial.contains(&QUIC_V2), || {
        format!(
            "the server's Initials do not include QUIC v2 0x6b3343cf (saw {})",
            version_list(&server_initial)
        )
    })?;
    for (who, side, server) in [
        ("client", client_side, false),
        ("server", server_side, true),
    ] {
        let seen = of(side, server, PacketType::Handshake);
        ensure(seen == [QUIC_V2], || {
            format!(
                "expected all {who} Handshake packets to be QUIC v2 0x6b3343cf, saw {}",
                version_list(&seen)
            )
        })?;
    }
    Ok(())
}

/// The server sent no QUIC packet over IPv4.
pub fn expect_no_ipv4_from_server(server_side: &Side) -> RuleResult {
    let v4 = server_side
        .server_sent()
        .filter(|p| p.src.is_ipv4())
        .count();
    ensure(v4 == 0, || {
        format!("the server sent {v4} QUIC packets over IPv4, expected IPv6 only")
    })
}
