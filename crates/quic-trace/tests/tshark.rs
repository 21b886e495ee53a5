//! Cross-check against Wireshark's dissector: for every captured frame, the same QUIC
//! packets (header forms, long packet types, packet numbers, key phases) and the same
//! frame types and IP ECN field. Ignored by default (it needs tshark); `--ignored` runs it and fails without tshark.

use std::path::{Path, PathBuf};
use std::process::Command;

use quic_trace::{analyze, Frame, KeyLog, Options, PacketType, QuicPacket};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// What both tools must agree on for one captured frame.
#[derive(Debug, PartialEq, Eq, Default)]
struct FrameFacts {
    forms: Vec<u8>,
    long_types: Vec<u8>,
    pns: Vec<u64>,
    key_phases: Vec<u8>,
    frame_types: Vec<&'static str>,
    ecn: Option<u8>,
}

fn tshark_available() -> bool {
    Command::new("tshark")
        .arg("-v")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn list<T: std::str::FromStr>(field: &str) -> Vec<T> {
    field
        .split(';')
        .filter(|s| !s.is_empty())
        .filter_map(|s| s.parse().ok())
        .collect()
}

fn frame_type_name(t: u64) -> &'static str {
    match t {
        0x00 => "padding",
        0x01 => "ping",
        0x02 | 0x03 => "ack",
        0x04 => "reset_stream",
        0x05 => "stop_sending",
        0x06 => "crypto",
        0x07 => "new_token",
        0x08..=0x0f => "stream",
        0x10 => "max_data",
        0x11 => "max_stream_data",
        0x12 | 0x13 => "max_streams",
        0x14 => "data_blocked",
        0x15 => "stream_data_blocked",
        0x16 | 0x17 => "streams_blocked",
        0x18 => "new_connection_id",
        0x19 => "retire_connection_id",
        0x1a => "path_challenge",
        0x1b => "path_response",
        0x1c | 0x1d => "connection_close",
        0x1e => "handshake_done",
        0x30 | 0x31 => "datagram",
        _ => "unknown",
    }
}

fn tshark_facts(capture: &Path, keys: &Path) -> Vec<(u64, FrameFacts)> {
    let out = Command::new("tshark")
        .arg("-r")
        .arg(capture)
        .arg("-o")
        .arg(format!("tls.keylog_file:{}", keys.display()))
        .args([
            "-Y",
            "quic",
            "-T",
            "fields",
            "-E",
            "occurrence=a",
            "-E",
            "aggregator=;",
        ])
        .args([
            "-e",
            "frame.number",
            "-e",
            "quic.header_form",
            "-e",
            "quic.long.packet_type",
        ])
        .args([
            "-e",
            "quic.packet_number",
            "-e",
            "quic.key_phase",
            "-e",
            "quic.frame_type",
        ])
        .args(["-e", "ip.dsfield.ecn", "-e", "ipv6.tclass.ecn"])
        .output()
        .expect("tshark runs");
    assert!(
        out.status.success(),
        "tshark failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|line| {
            let f: Vec<&str> = line.split('\t').collect();
            let frame_types = list::<u64>(f[5]).into_iter().map(frame_type_name).collect();
            let facts = FrameFacts {
                forms: list(f[1]),
                long_types: list(f[2]),
                pns: list(f[3]),
                key_phases: list(f[4]),
                frame_types,
                ecn: f[6].parse().ok().or_else(|| f[7].parse().ok()),
            };
            (f[0].parse().unwrap(), facts)
        })
        .collect()
}

fn long_type_v1(t: PacketType) -> Option<u8> {
    match t {
        PacketType::Initial => Some(0),
        PacketType::ZeroRtt => Some(1),
        PacketType::Handshake => Some(2),
        PacketType::Retry => Some(3),
        _ => None,
    }
}

fn our_facts(capture: &Path, keys: &Path) -> Vec<(u64, FrameFacts)> {
    let keylog = KeyLog::from_files(&[keys]).unwrap();
    let trace = analyze(
        &std::fs::read(capture).unwrap(),
        &keylog,
        &Options::default(),
    )
    .unwrap();
    let mut out: Vec<(u64, FrameFacts)> = Vec::new();
    for p in &trace.packets {
        if out.last().map(|(n, _)| *n) != Some(p.frame) {
            out.push((p.frame, FrameFacts::default()));
        }
        let facts = &mut out.last_mut().unwrap().1;
        add_packet(facts, p);
    }
    out
}

fn add_packet(facts: &mut FrameFacts, p: &QuicPacket) {
    facts
        .forms
        .push(u8::from(p.packet_type != PacketType::OneRtt));
    facts.long_types.extend(long_type_v1(p.packet_type));
    facts.pns.extend(p.pn);
    facts.key_phases.extend(p.key_phase);
    facts.frame_types.extend(p.frames.iter().map(Frame::name));
    facts.ecn = Some(p.ecn);
}

#[test]
#[ignore = "needs tshark 4.x, an independent dissector to compare with; run with --ignored where it is installed"]
fn same_packets_as_tshark() {
    assert!(
        tshark_available(),
        "tshark is not installed, so there is no independent dissector to compare with"
    );
    let cases = [
        ("aioquic-v1.pcap", "aioquic-v1.client.keys"),
        (
            "aioquic-v6-h3-nanos.pcap",
            "aioquic-v6-h3-nanos.client.keys",
        ),
        ("aioquic-chacha20.pcap", "aioquic-chacha20.client.keys"),
        ("aioquic-aes256.pcap", "aioquic-aes256.client.keys"),
        // Not aioquic-retry.pcap: aioquic sends a new ClientHello after a Retry and
        // tshark 4.0 keeps looking up the first one's random, so it decrypts nothing
        // past the Initials there (tests/fixtures.rs checks that capture instead).
        (
            "aioquic-resumption-0rtt.pcapng",
            "aioquic-resumption-0rtt.client.keys",
        ),
        ("aioquic-keyupdate.pcap", "aioquic-keyupdate.client.keys"),
        ("aioquic-ecn-nft.pcap", "aioquic-ecn-nft.client.keys"),
        (
            "aioquic-rebind-relay.pcap",
            "aioquic-rebind-relay.client.keys",
        ),
    ];
    let mut pairs: Vec<(PathBuf, PathBuf)> = cases
        .iter()
        .map(|(c, k)| (fixture(c), fixture(k)))
        .collect();
    // More captures to compare, e.g. a big transfer: QUIC_TRACE_TSHARK_EXTRA=cap.pcap:keys.log,...
    if let Ok(extra) = std::env::var("QUIC_TRACE_TSHARK_EXTRA") {
        for pair in extra.split(',').filter(|p| !p.is_empty()) {
            let (c, k) = pair
                .split_once(':')
                .expect("QUIC_TRACE_TSHARK_EXTRA entries are CAPTURE:KEYLOG");
            pairs.push((PathBuf::from(c), PathBuf::from(k)));
        }
    }
    for (capture, keys) in pairs {
        let theirs = tshark_facts(&capture, &keys);
        let ours = our_facts(&capture, &keys);
        assert!(!ours.is_empty());
        assert_eq!(
            ours.len(),
            theirs.len(),
            "{}: number of frames with QUIC",
            capture.display()
        );
        for ((n, a), (m, b)) in ours.iter().zip(&theirs) {
            assert_eq!(n, m, "{}", capture.display());
            assert_eq!(a, b, "{} frame {n}", capture.display());
        }
    }
}
