//! One UDP payload wrapped in a minimal raw-IP pcap, twice in both directions, so the
//! QUIC header, coalescing and connection-tracking code sees arbitrary bytes directly.
#![no_main]

use libfuzzer_sys::fuzz_target;
use quic_trace::{analyze, KeyLog, Options};

fn record(out: &mut Vec<u8>, payload: &[u8], reverse: bool) {
    let (a, b) = if reverse { ([10, 0, 0, 2], [10, 0, 0, 1]) } else { ([10, 0, 0, 1], [10, 0, 0, 2]) };
    let udp_len = (8 + payload.len()).min(0xffff) as u16;
    let ip_len = (20 + udp_len as usize).min(0xffff) as u16;
    let mut ip = vec![0x45, 0, 0, 0, 0, 0, 0, 0, 64, 17, 0, 0];
    ip[2..4].copy_from_slice(&ip_len.to_be_bytes());
    ip.extend_from_slice(&a);
    ip.extend_from_slice(&b);
    ip.extend_from_slice(&[0x12, 0x34, 0x01, 0xbb]);
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
    let half = data.len() / 2;
    record(&mut pcap, data, false);
    record(&mut pcap, &data[half..], true);
    record(&mut pcap, &data[..half], false);
    let _ = analyze(&pcap, &KeyLog::default(), &Options::default());
});
