//! Rules about the TLS handshake: ClientHello retransmissions, cipher
//! suites, transport parameters, Retry tokens, resumption and 0-RTT.

use std::collections::BTreeSet;

use quic_trace::{Frame, PacketType, QuicPacket};

use super::stop::{ensure, RuleResult};
use super::traces::Side;

const TLS_CHACHA20_POLY1305_SHA256: u16 = 0x1303;

/// Client Initials that start a ClientHello (CRYPTO at offset 0), so
/// retransmissions count (longrtt).
pub fn expect_client_hellos(client_side: &Side, at_least: usize) -> RuleResult {
    let count = client_side
        .client_sent()
        .filter(|p| p.packet_type == PacketType::Initial)
        .filter(|p| {
            p.frames
                .iter()
                .any(|f| matches!(f, Frame::Crypto { offset: 0, .. }))
        })
        .count();
    ensure(count >= at_least, || {
        format!("expected the client to send at least {at_least} ClientHellos, saw {count}")
    })
}

/// Every ClientHello offers exactly TLS_CHACHA20_POLY1305_SHA256.
pub fn expect_only_chacha20(client_side: &Side) -> RuleResult {
    let offered: BTreeSet<u16> = client_side
        .trace
        .connections
        .iter()
        .flat_map(|c| &c.tls.client_hellos)
        .flat_map(|ch| ch.cipher_suites.iter().copied())
        .collect();
    ensure(
        offered.len() == 1 && offered.contains(&TLS_CHACHA20_POLY1305_SHA256),
        || {
            let list: Vec<String> = offered.iter().map(|s| format!("{s:#06x}")).collect();
            format!(
                "expected the client to offer only TLS_CHACHA20_POLY1305_SHA256 (0x1303), it offered {}",
                if list.is_empty() { "no ClientHello at all".to_string() } else { list.join(", ") }
            )
        },
    )
}

/// The server's initial_max_streams_bidi was seen and is at most `limit`.
pub fn expect_stream_limit(client_side: &Side, limit: u64) -> RuleResult {
    let seen: Vec<u64> = client_side
        .trace
        .connections
        .iter()
        .filter_map(|c| c.tls.encrypted_extensions.as_ref())
        .filter_map(|ee| ee.transport_parameters.as_ref())
        .filter_map(|tp| tp.initial_max_streams_bidi())
        .collect();
    if seen.is_empty() {
        return Err("could not find the server's initial_max_streams_bidi in its decrypted Handshake packets".to_string().into());
    }
    let max = seen.iter().copied().max().unwrap_or(0);
    ensure(max <= limit, || {
        format!("the server set initial_max_streams_bidi to {max}, more than {limit}")
    })
}

/// A Retry carried a token, and a later client Initial used one with a
/// packet number above every token-less Initial's.
pub fn expect_retry_used(client_side: &Side) -> RuleResult {
    let mut tokens: Vec<&[u8]> = Vec::new();
    for p in client_side
        .server_sent()
        .filter(|p| p.packet_type == PacketType::Retry)
    {
        match p.token.as_ref().filter(|t| !t.0.is_empty()) {
            Some(t) => tokens.push(&t.0),
            None => {
                return Err(
                    format!("the server's Retry (frame {}) carries no token", p.frame).into(),
                )
            }
        }
    }
    if tokens.is_empty() {
        return Err("the server sent no Retry packet".to_string().into());
    }
    let mut highest_tokenless: Option<u64> = None;
    for p in client_side
        .client_sent()
        .filter(|p| p.packet_type == PacketType::Initial)
    {
        let token = p.token.as_ref().map_or(&[][..], |t| &t.0[..]);
        let Some(pn) = p.pn else {
            continue;
        };
        if token.is_empty() {
            highest_tokenless = highest_tokenless.max(Some(pn));
            continue;
        }
        if highest_tokenless.is_some_and(|h| pn <= h) {
            return Err(format!(
                "the client's Initial with a token (frame {}) reused packet number {pn} after a token-less Initial",
                p.frame
            )
            .into());
        }
        if tokens.contains(&token) {
            return Ok(());
        }
    }
    Err("no client Initial carried the token of the server's Retry"
        .to_string()
        .into())
}

/// The first connection's server sent a Certificate, the last one did not.
pub fn expect_resumed_without_certificate(client_side: &Side) -> RuleResult {
    let handshakes: Vec<&quic_trace::ConnectionInfo> = client_side
        .trace
        .connections
        .iter()
        .filter(|c| c.tls.server_hello.is_some())
        .collect();
    let (Some(first), Some(second)) = (handshakes.first(), handshakes.last()) else {
        return Err("no completed handshake found in the client-side trace"
            .to_string()
            .into());
    };
    if handshakes.len() < 2 {
        return Err("only one handshake found in the client-side trace"
            .to_string()
            .into());
    }
    for (name, c) in [("first", first), ("second", second)] {
        if !c.keys_found {
            return Err(format!("the key log has no secrets for the {name} connection, so its Handshake packets cannot be decrypted").into());
        }
    }
    ensure(first.tls.certificate.is_some(), || {
        "the server sent no Certificate in the first handshake".into()
    })?;
    ensure(second.tls.certificate.is_none(), || {
        "the server sent a Certificate in the second handshake, so the session was not resumed"
            .into()
    })
}

/// Payload bytes as Wireshark counts them: decrypted frames when the keys
/// are known, else the protected bytes.
fn payload_size(p: &QuicPacket) -> usize {
    if p.decrypted {
        p.plain_length
    } else {
        p.payload_length
    }
}

/// The client sent 0-RTT data and at most `max_1rtt` bytes of 1-RTT payload.
pub fn expect_zero_rtt(client_side: &Side, max_1rtt: f64) -> RuleResult {
    let zero: usize = client_side
        .trace
        .packets
        .iter()
        .filter(|p| p.packet_type == PacketType::ZeroRtt)
        .map(payload_size)
        .sum();
    let one: usize = client_side
        .client_sent()
        .filter(|p| p.packet_type == PacketType::OneRtt)
        .map(payload_size)
        .sum();
    ensure(zero > 0, || "the client sent no 0-RTT data".into())?;
    ensure(one as f64 <= max_1rtt, || {
        format!("the client sent {one} bytes in 1-RTT packets (and {zero} in 0-RTT), more than {max_1rtt}")
    })
}
