//! Real captures of aioquic 1.7.2 on loopback (recipe in docs/trace.md), each with the
//! facts the interop checks rely on.

use std::path::PathBuf;

use quic_trace::{analyze, Direction, Frame, KeyLog, Options, PacketType, QuicPacket, Trace};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn load(capture: &str, keys: &[&str]) -> Trace {
    let bytes = std::fs::read(fixture(capture)).unwrap();
    let paths: Vec<PathBuf> = keys.iter().map(|k| fixture(k)).collect();
    let keylog = KeyLog::from_files(&paths).unwrap();
    analyze(&bytes, &keylog, &Options::default()).unwrap()
}

fn of_type(t: &Trace, ty: PacketType) -> Vec<&QuicPacket> {
    t.packets.iter().filter(|p| p.packet_type == ty).collect()
}

fn assert_all_decrypted(t: &Trace) {
    for p in &t.packets {
        if !matches!(
            p.packet_type,
            PacketType::Retry | PacketType::VersionNegotiation
        ) {
            assert!(
                p.decrypted,
                "frame {} {:?} not decrypted: {:?}",
                p.frame, p.packet_type, p.undecryptable
            );
            assert!(
                p.frames_stopped.is_none(),
                "frame {}: {:?}",
                p.frame,
                p.frames_stopped
            );
        }
    }
}

#[test]
fn v1_ethernet_pcap() {
    let t = load("aioquic-v1.pcap", &["aioquic-v1.client.keys"]);
    assert_eq!(t.packets.len(), 13);
    assert_all_decrypted(&t);
    assert_eq!(t.connections.len(), 1);
    let c = &t.connections[0];
    assert_eq!(c.server_versions, vec![1]);
    assert_eq!(c.tls.server_hello.as_ref().unwrap().cipher_suite, 0x1302);
    assert!(c.tls.certificate.is_some());
    assert!(c.tls.server_handshake_crypto_bytes > 600);
    let ee = c.tls.encrypted_extensions.as_ref().unwrap();
    assert_eq!(ee.alpn.as_deref(), Some("hq-interop"));
    assert!(ee
        .transport_parameters
        .as_ref()
        .unwrap()
        .initial_max_streams_bidi()
        .is_some());
    // aioquic pads Initial datagrams with random bytes after the packet: not a packet.
    let first = &t.packets[0];
    assert_eq!(first.datagram_len, 1200);
    assert!(first.length < 1200);
    assert_eq!(t.packets.iter().filter(|p| p.frame == 1).count(), 1);
    let server_stream: usize = t
        .packets
        .iter()
        .filter(|p| p.direction == Some(Direction::ServerToClient))
        .map(QuicPacket::stream_bytes)
        .sum();
    assert_eq!(server_stream, 3000);
}

#[test]
fn ipv6_nanosecond_pcap_with_http3() {
    let t = load(
        "aioquic-v6-h3-nanos.pcap",
        &["aioquic-v6-h3-nanos.client.keys"],
    );
    assert_all_decrypted(&t);
    assert!(t.packets[0].src.is_ipv6());
    assert_ne!(t.packets[0].time_ns % 1000, 0, "nanosecond resolution kept");
    let alpn = t.connections[0]
        .tls
        .encrypted_extensions
        .as_ref()
        .unwrap()
        .alpn
        .clone();
    assert_eq!(alpn.as_deref(), Some("h3"));
}

#[test]
fn v2_compatible_negotiation_pcapng() {
    let t = load("aioquic-v2.pcapng", &["aioquic-v2.client.keys"]);
    assert_all_decrypted(&t);
    let c = &t.connections[0];
    assert_eq!(c.client_versions, vec![1, 0x6b3343cf]);
    assert_eq!(c.server_versions, vec![0x6b3343cf]);
    assert!(of_type(&t, PacketType::Handshake)
        .iter()
        .all(|p| p.version == 0x6b3343cf));
    assert!(of_type(&t, PacketType::OneRtt)
        .iter()
        .all(|p| p.version == 0x6b3343cf));
}

#[test]
fn chacha20_linux_cooked() {
    let t = load("aioquic-chacha20.pcap", &["aioquic-chacha20.client.keys"]);
    assert_all_decrypted(&t);
    let tls = &t.connections[0].tls;
    assert!(tls
        .client_hellos
        .iter()
        .all(|ch| ch.cipher_suites == vec![0x1303]));
    assert_eq!(tls.server_hello.as_ref().unwrap().cipher_suite, 0x1303);
}

#[test]
fn aes256_linux_cooked_v2() {
    let t = load("aioquic-aes256.pcap", &["aioquic-aes256.client.keys"]);
    assert_all_decrypted(&t);
    assert_eq!(
        t.connections[0]
            .tls
            .server_hello
            .as_ref()
            .unwrap()
            .cipher_suite,
        0x1302
    );
}

#[test]
fn retry_token_and_tag() {
    let t = load(
        "aioquic-retry.pcap",
        &["aioquic-retry.server.keys", "aioquic-retry.client.keys"],
    );
    assert_all_decrypted(&t);
    let retry = of_type(&t, PacketType::Retry);
    assert_eq!(retry.len(), 1);
    assert_eq!(retry[0].retry_tag_valid, Some(true));
    let token = retry[0].token.clone().unwrap();
    assert!(!token.0.is_empty());
    let client_initials: Vec<&QuicPacket> = of_type(&t, PacketType::Initial)
        .into_iter()
        .filter(|p| p.direction == Some(Direction::ClientToServer))
        .collect();
    assert_eq!(
        client_initials[0].token.as_ref().map(|t| t.0.len()),
        Some(0)
    );
    assert_eq!(client_initials[1].token.as_ref(), Some(&token));
    assert!(client_initials[1].pn > client_initials[0].pn);
}

/// A real run through the simulator: quic-go's server answered both of the
/// ngtcp2 client's first Initials with a Retry; the client followed the
/// first, as RFC 9000 §17.2.5.2 says, and its next Initial names it.
#[test]
fn the_client_follows_the_first_of_two_retries() {
    let t = load(
        "ngtcp2-quicgo-two-retries.pcap",
        &["ngtcp2-quicgo-two-retries.server.keys"],
    );
    assert_all_decrypted(&t);
    let retries = of_type(&t, PacketType::Retry);
    assert_eq!(retries.len(), 2);
    let followed = retries[0].scid.unwrap();
    assert_ne!(Some(&followed), retries[1].scid.as_ref());
    let after: Vec<&QuicPacket> = of_type(&t, PacketType::Initial)
        .into_iter()
        .filter(|p| {
            p.direction == Some(Direction::ClientToServer)
                && p.token.as_ref().is_some_and(|t| !t.0.is_empty())
        })
        .collect();
    assert!(!after.is_empty(), "a client Initial carries a Retry token");
    assert_eq!(after[0].dcid, followed);
    assert_eq!(after[0].token, retries[0].token);
}

#[test]
fn resumption_and_zero_rtt() {
    let t = load(
        "aioquic-resumption-0rtt.pcapng",
        &["aioquic-resumption-0rtt.client.keys"],
    );
    assert_all_decrypted(&t);
    assert_eq!(t.connections.len(), 2);
    assert!(t.connections[0].tls.certificate.is_some());
    assert!(t.connections[1].tls.certificate.is_none());
    assert!(
        t.connections[1]
            .tls
            .server_hello
            .as_ref()
            .unwrap()
            .psk_accepted
    );
    let zero_rtt = of_type(&t, PacketType::ZeroRtt);
    assert!(!zero_rtt.is_empty());
    assert!(zero_rtt
        .iter()
        .all(|p| p.connection == Some(1) && p.stream_bytes() > 0));
}

#[test]
fn resumption_without_keys_exposes_payload_lengths() {
    let t = load("aioquic-resumption-0rtt.pcapng", &[]);
    let zero_rtt = of_type(&t, PacketType::ZeroRtt);
    assert!(!zero_rtt.is_empty());
    for p in zero_rtt {
        assert!(!p.decrypted && p.pn.is_none());
        assert!(p.payload_length > 16);
        assert!(p.undecryptable.as_deref().unwrap().contains("key log"));
    }
}

#[test]
fn key_update_both_directions() {
    let t = load("aioquic-keyupdate.pcap", &["aioquic-keyupdate.client.keys"]);
    assert_all_decrypted(&t);
    for dir in [Direction::ClientToServer, Direction::ServerToClient] {
        let phases: Vec<u8> = t
            .packets
            .iter()
            .filter(|p| p.direction == Some(dir))
            .filter_map(|p| p.key_phase)
            .collect();
        assert!(
            phases.contains(&0) && phases.contains(&1),
            "{dir:?}: {phases:?}"
        );
    }
    let acks_with_ranges = t
        .packets
        .iter()
        .flat_map(|p| &p.frames)
        .any(|f| matches!(f, Frame::Ack { ranges, .. } if ranges.len() > 1));
    assert!(acks_with_ranges);
}

#[test]
fn json_lines_have_the_documented_fields() {
    let mut out = Vec::new();
    let warnings = quic_trace::run_trace_command(
        &[fixture("aioquic-v1.pcap")],
        &[fixture("aioquic-v1.client.keys")],
        true,
        &mut out,
    )
    .unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    let text = String::from_utf8(out).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 13);
    let first = &lines[0];
    for key in [
        "frame",
        "time",
        "src",
        "dst",
        "ecn",
        "type",
        "version",
        "dcid",
        "scid",
        "decrypted",
        "pn",
        "frames",
    ] {
        assert!(first.get(key).is_some(), "missing {key}");
    }
    assert_eq!(first["type"], "initial");
    assert_eq!(first["version"], "0x00000001");
    assert_eq!(first["frames"][0]["type"], "crypto");
    let short = lines.iter().find(|l| l["type"] == "1rtt").unwrap();
    assert!(short["scid"].is_null());
    assert_eq!(short["key_phase"], 0);
}

#[test]
fn bad_inputs_give_clear_errors() {
    let dir = std::env::temp_dir().join(format!("quic-trace-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let garbage = dir.join("garbage.pcap");
    std::fs::write(&garbage, b"definitely not a capture file").unwrap();
    let err =
        quic_trace::run_trace_command(std::slice::from_ref(&garbage), &[], true, &mut Vec::new())
            .unwrap_err();
    assert!(err.to_string().contains("not a pcap"), "{err}");
    let err = quic_trace::run_trace_command(
        &[fixture("aioquic-v1.pcap")],
        &[garbage],
        true,
        &mut Vec::new(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("line 1"), "{err}");
    let whole = std::fs::read(fixture("aioquic-v1.pcap")).unwrap();
    let cut = dir.join("cut.pcap");
    std::fs::write(&cut, &whole[..whole.len() - 30]).unwrap();
    let mut out = Vec::new();
    let warnings =
        quic_trace::run_trace_command(&[cut], &[fixture("aioquic-v1.client.keys")], true, &mut out)
            .unwrap();
    assert!(
        warnings.iter().any(|w| w.contains("truncated")),
        "{warnings:?}"
    );
    assert_eq!(String::from_utf8(out).unwrap().lines().count(), 12);
    let missing =
        quic_trace::run_trace_command(&[dir.join("nope.pcap")], &[], false, &mut Vec::new())
            .unwrap_err();
    assert!(missing.to_string().contains("cannot read"), "{missing}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn ecn_marks_per_packet() {
    // nft marked client packets ECT(0), server packets ECT(1), every fifth server packet CE.
    let t = load("aioquic-ecn-nft.pcap", &["aioquic-ecn-nft.client.keys"]);
    assert_all_decrypted(&t);
    let from = |d: Direction| {
        t.packets
            .iter()
            .filter(move |p| p.direction == Some(d))
            .map(|p| p.ecn)
    };
    assert!(from(Direction::ClientToServer).all(|e| e == 2));
    assert!(from(Direction::ServerToClient).all(|e| e == 1 || e == 3));
    assert!(from(Direction::ServerToClient).any(|e| e == 3));
}

#[test]
fn port_rebinding_keeps_the_connection() {
    let t = load(
        "aioquic-rebind-relay.pcap",
        &["aioquic-rebind-relay.client.keys"],
    );
    let paths = client_paths(&t);
    assert_eq!(paths.len(), 2);
    assert_eq!(
        paths
            .iter()
            .map(|a| a.ip())
            .collect::<std::collections::BTreeSet<_>>()
            .len(),
        1
    );
    assert_path_validated(&t);
}

#[test]
fn address_rebinding_keeps_the_connection() {
    let t = load(
        "aioquic-rebind-addr-relay.pcap",
        &["aioquic-rebind-addr-relay.client.keys"],
    );
    let paths = client_paths(&t);
    assert_eq!(
        paths
            .iter()
            .map(|a| a.ip())
            .collect::<std::collections::BTreeSet<_>>()
            .len(),
        2
    );
    assert_path_validated(&t);
}

fn client_paths(t: &Trace) -> std::collections::BTreeSet<std::net::SocketAddr> {
    assert_all_decrypted(t);
    assert_eq!(t.connections.len(), 1);
    t.packets
        .iter()
        .filter(|p| p.direction == Some(Direction::ClientToServer))
        .map(|p| p.src)
        .collect()
}

/// The server challenged the new path and the client answered with the same data.
fn assert_path_validated(t: &Trace) {
    let (challenge, data) = t
        .packets
        .iter()
        .flat_map(|p| p.frames.iter().map(move |f| (p, f)))
        .find_map(|(p, f)| match f {
            Frame::PathChallenge { data } => Some((p, data.clone())),
            _ => None,
        })
        .unwrap();
    assert_eq!(challenge.direction, Some(Direction::ServerToClient));
    assert_ne!(challenge.dst, t.packets[0].src, "sent on the new path");
    let answered = t
        .packets
        .iter()
        .flat_map(|p| &p.frames)
        .any(|f| matches!(f, Frame::PathResponse { data: d } if *d == data));
    assert!(answered);
}

#[test]
fn zero_length_connection_ids_use_the_four_tuple() {
    // aioquic patched to zero-length CIDs (as quic-go clients use for their own CIDs);
    // it also sends an invalid empty NEW_CONNECTION_ID, which the server rejects.
    let t = load("aioquic-zero-cid.pcap", &["aioquic-zero-cid.client.keys"]);
    assert_all_decrypted_except_frames(&t);
    let to_client: Vec<&QuicPacket> = of_type(&t, PacketType::OneRtt)
        .into_iter()
        .filter(|p| p.direction == Some(Direction::ServerToClient))
        .collect();
    assert!(!to_client.is_empty());
    assert!(to_client.iter().all(|p| p.dcid.is_empty() && p.decrypted));
    let malformed = t
        .packets
        .iter()
        .find_map(|p| p.frames_stopped.as_deref())
        .unwrap();
    assert!(malformed.contains("NEW_CONNECTION_ID"), "{malformed}");
}

fn assert_all_decrypted_except_frames(t: &Trace) {
    for p in &t.packets {
        assert!(
            p.decrypted,
            "frame {} {:?} not decrypted: {:?}",
            p.frame, p.packet_type, p.undecryptable
        );
    }
}

#[test]
fn damaged_client_initial_invents_no_connection() {
    let mut bytes = std::fs::read(fixture("aioquic-v1.pcap")).unwrap();
    // pcap header 24 + record header 16 + Ethernet 14 + IPv4 20 + UDP 8 = first QUIC byte.
    bytes[82 + 200] ^= 0x55;
    let keylog = KeyLog::from_files(&[fixture("aioquic-v1.client.keys")]).unwrap();
    let t = analyze(&bytes, &keylog, &Options::default()).unwrap();
    let first = &t.packets[0];
    assert_eq!(first.packet_type, PacketType::Initial);
    assert!(!first.decrypted && first.connection.is_none());
    assert!(first.undecryptable.is_some());
    assert!(t.connections.is_empty());
}

#[test]
fn quic_go_transfer_zero_length_cids_ecn_and_key_update() {
    // quic-go 0.46 interop client and server (tx offload off), 150 kB transfer.
    let t = load("quicgo-transfer.pcap", &["quicgo-transfer.client.keys"]);
    assert_all_decrypted(&t);
    let to_client: Vec<&QuicPacket> = of_type(&t, PacketType::OneRtt)
        .into_iter()
        .filter(|p| p.direction == Some(Direction::ServerToClient))
        .collect();
    assert!(to_client.len() > 20);
    assert!(to_client.iter().all(|p| p.dcid.is_empty()));
    let server_stream: usize = to_client.iter().map(|p| p.stream_bytes()).sum();
    assert_eq!(server_stream, 150_000);
    for dir in [Direction::ClientToServer, Direction::ServerToClient] {
        let sent: Vec<&QuicPacket> = t
            .packets
            .iter()
            .filter(|p| p.direction == Some(dir))
            .collect();
        assert!(sent.iter().any(|p| p.ecn == 2), "{dir:?} marks ECT(0)");
        assert!(sent.iter().all(|p| p.ecn != 3), "{dir:?} no CE");
        let ecn_acks = sent
            .iter()
            .flat_map(|p| &p.frames)
            .any(|f| matches!(f, Frame::Ack { ecn: Some(_), .. }));
        assert!(ecn_acks, "{dir:?} sends ACKs with ECN counts");
        assert!(
            sent.iter().any(|p| p.key_phase == Some(1)),
            "{dir:?} key phase 1"
        );
    }
}

#[test]
fn gso_super_datagrams_are_split() {
    // quic-go with tx offload on: the capture holds up to ~20 kB "datagrams" that the
    // kernel segmented only after tcpdump saw them.
    let t = load("quicgo-gso.pcap", &["quicgo-gso.client.keys"]);
    assert_all_decrypted(&t);
    assert!(
        t.warnings
            .iter()
            .any(|w| w.contains("segmentation offload")),
        "{:?}",
        t.warnings
    );
    let server_stream: usize = t
        .packets
        .iter()
        .filter(|p| p.direction == Some(Direction::ServerToClient))
        .map(QuicPacket::stream_bytes)
        .sum();
    assert_eq!(server_stream, 150_000);
    let packets_of_split_frames = t
        .packets
        .iter()
        .filter(|p| t.packets.iter().filter(|q| q.frame == p.frame).count() > 5)
        .count();
    assert!(packets_of_split_frames > 0);
    assert!(t.packets.iter().all(|p| p.datagram_len <= 1500));
}

#[test]
fn server_hint_decides_who_opens_connections() {
    let bytes = std::fs::read(fixture("aioquic-v1.pcap")).unwrap();
    let keylog = KeyLog::from_files(&[fixture("aioquic-v1.client.keys")]).unwrap();
    let right = Options {
        server_addrs: vec!["127.0.0.1:4433".parse().unwrap()],
    };
    let t = analyze(&bytes, &keylog, &right).unwrap();
    assert_eq!(t.connections.len(), 1);
    assert!(t.packets.iter().all(|p| p.decrypted));
    // Told that the client's address is the server's, nothing opens a connection.
    let wrong = Options {
        server_addrs: vec![t.packets[0].src],
    };
    let t = analyze(&bytes, &keylog, &wrong).unwrap();
    assert!(t.connections.is_empty());
    assert!(t
        .packets
        .iter()
        .all(|p| p.connection.is_none() && !p.decrypted));
}

#[test]
fn secrets_that_decrypt_nothing_are_not_called_found() {
    // The right client randoms with every secret's bytes flipped: the key
    // log "matches" but opens no packet, which the output must not hide.
    let text = std::fs::read_to_string(fixture("aioquic-v1.client.keys")).unwrap();
    let garbled: String = text
        .lines()
        .map(|l| {
            let mut f: Vec<String> = l.split(' ').map(str::to_string).collect();
            if f.len() == 3 {
                f[2] = f[2]
                    .chars()
                    .map(|c| if c == '0' { '1' } else { '0' })
                    .collect();
            }
            f.join(" ") + "\n"
        })
        .collect();
    let mut keylog = KeyLog::default();
    keylog.add_text(garbled.as_bytes(), "garbled").unwrap();
    let bytes = std::fs::read(fixture("aioquic-v1.pcap")).unwrap();
    let t = analyze(&bytes, &keylog, &Options::default()).unwrap();
    let c = &t.connections[0];
    assert!(c.keys_found);
    assert_eq!(c.decrypted_with_keys, 0);
    let mut out = Vec::new();
    quic_trace::output::write_text(&t, &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(!text.contains("(keys found)"), "{text}");
    assert!(text.contains("secrets decrypted no packet"), "{text}");

    let right = load("aioquic-v1.pcap", &["aioquic-v1.client.keys"]);
    assert!(right.connections[0].decrypted_with_keys > 0);
}
