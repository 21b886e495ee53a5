//! A conversation of UDP payloads wrapped in a minimal raw-IP pcap, so the QUIC header,
//! coalescing, connection tracking and Initial decryption see arbitrary datagrams.
//! Input: repeated [u16 big-endian: top bit = server→client, low 15 bits = length]
//! followed by that many bytes; whatever cannot be split that way is one last datagram.
#![no_main]

use libfuzzer_sys::fuzz_target;
use quic_trace::{analyze, KeyLog, Options};

fn record(out: &mut Vec<u8>, payload: &[u8], to_client: bool) {
    let (a, b) = if to_client {
        ([10, 0, 0, 2], [10, 0, 0, 1])
    } else {
        ([10, 0, 0, 1], [10, 0, 0, 2])
    };
    let (sport, dport): (u16, u16) = if to_client { (443, 4660) } else { (4660, 443) };
    let udp_len = (8 + payload.len()).min(0xffff) as u16;
    let ip_len = (20 + udp_len as usize).min(0xffff) as u16;
    let mut ip = vec![0x45, 0, 0, 0, 0, 0, 0, 0, 64, 17, 0, 0];
    ip[2..4].copy_from_slice(&ip_len.to_be_bytes());
    ip.extend_from_slice(&a);
    ip.extend_from_slice(&b);
    ip.extend_from_slice(&sport.to_be_bytes());
    ip.extend_from_slice(&dport.to_be_bytes());
    ip.extend_from_slice(&udp_len.to_be_bytes());
    ip.extend_from_slice(&[0, 0]);
    ip.extend_from_slice(payload);
    for word in [1u32, 0, ip.len() as u32, ip.len() as u32] {
        out.extend_from_slice(&word.to_le_bytes());
    }
    out.extend_from_slice(&ip);
}

fuzz_target!(|data: &[u8]| {
    let mut pcap = Vec::new();
    for word in [0xa1b2_c3d4u32, 0x0004_0002, 0, 0, 0xffff, 101] {
        pcap.extend_from_slice(&word.to_le_bytes());
    }
    let mut rest = data;
    while rest.len() >= 2 {
        let head = u16::from_be_bytes([rest[0], rest[1]]);
        let len = usize::from(head & 0x7fff);
        let Some(payload) = rest.get(2..2 + len) else { break };
        record(&mut pcap, payload, head & 0x8000 != 0);
        rest = &rest[2 + len..];
    }
    if !rest.is_empty() {
        record(&mut pcap, rest, false);
    }
    let _ = analyze(&pcap, &KeyLog::default(), &Options::default());
});
