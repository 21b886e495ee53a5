//! The judge on real captures (crates/quic-trace/tests/fixtures, loopback, so
//! both sides share one capture) and on synthetic traces for the arithmetic.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use crate::analyse::{analyse, Capture, Inputs, KeyLogFile};
use crate::layout::{Layout, Role};

use quic_trace::{ConnectionId, Frame, PacketType, QuicPacket, Trace};

use super::*;
use crate::catalog::testcases::{find, Protocol};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("crates/quic-trace/tests/fixtures")
        .join(name)
}

/// A run held in memory: `capture` as both traces (loopback fixtures) and
/// `keys` as the client's key log. No files: the analysis is pure.
struct Run {
    client: Option<Vec<u8>>,
    server: Option<Vec<u8>>,
    keys: Option<Vec<u8>>,
}

impl Run {
    fn new(capture: Option<&str>, keys: Option<&[u8]>) -> Run {
        let bytes = capture.map(|c| std::fs::read(fixture(c)).unwrap());
        Run {
            client: bytes.clone(),
            server: bytes,
            keys: keys.map(<[u8]>::to_vec),
        }
    }

    fn with_fixture_keys(capture: &str, keys: &str) -> Run {
        Run::new(Some(capture), Some(&std::fs::read(fixture(keys)).unwrap()))
    }

    fn analysis(&self) -> Analysis {
        let layout = Layout::new("/run");
        let capture = |path: PathBuf, bytes: &Option<Vec<u8>>| Capture {
            name: path.strip_prefix("/run").unwrap().display().to_string(),
            bytes: bytes
                .clone()
                .ok_or_else(|| std::io::Error::from(std::io::ErrorKind::NotFound)),
            path,
        };
        analyse(Inputs {
            keylogs: self
                .keys
                .iter()
                .map(|bytes| KeyLogFile {
                    role: Role::Client,
                    path: layout.keylog(Role::Client),
                    bytes: bytes.clone(),
                })
                .collect(),
            client: capture(layout.client_side_trace(), &self.client),
            server: capture(layout.server_side_trace(), &self.server),
            server_addrs: Vec::new(),
        })
    }

    fn evidence(&self, file_bytes: u64) -> Evidence {
        Evidence {
            file_count: 1,
            file_bytes,
            ..Default::default()
        }
    }
}

fn judge_named(name: &str, run: &Run) -> Verdict {
    let t = find(Protocol::Quic, name).unwrap();
    judge(t, &run.evidence(150_000), &run.analysis())
}

fn assert_outcome(v: &Verdict, want: Outcome, reason_part: &str) {
    assert_eq!(v.outcome, want, "{v:?}");
    assert!(v.reason.contains(reason_part), "{:?}", v.reason);
}

#[test]
fn handshake_passes_on_a_plain_v1_capture() {
    let run = Run::with_fixture_keys("aioquic-v1.pcap", "aioquic-v1.client.keys");
    assert_outcome(&judge_named("handshake", &run), Outcome::Succeeded, "");
    assert_outcome(&judge_named("transfer", &run), Outcome::Succeeded, "");
}

#[test]
fn file_problems_fail_with_their_reason() {
    let run = Run::with_fixture_keys("aioquic-v1.pcap", "aioquic-v1.client.keys");
    let t = find(Protocol::Quic, "transfer").unwrap();
    let mut e = run.evidence(0);
    e.download_problem = Some("file x was not downloaded".into());
    assert_outcome(
        &judge(t, &e, &run.analysis()),
        Outcome::Failed,
        "file x was not downloaded",
    );
}

#[test]
fn retry_rule_and_handshake_forbidding_retry() {
    let run = Run::with_fixture_keys("aioquic-retry.pcap", "aioquic-retry.client.keys");
    assert_outcome(&judge_named("retry", &run), Outcome::Succeeded, "");
    assert_outcome(
        &judge_named("handshake", &run),
        Outcome::Failed,
        "expected no Retry",
    );
    let plain = Run::with_fixture_keys("aioquic-v1.pcap", "aioquic-v1.client.keys");
    assert_outcome(
        &judge_named("retry", &plain),
        Outcome::Failed,
        "no Retry packet",
    );
}

#[test]
fn chacha20_only() {
    let run = Run::with_fixture_keys("aioquic-chacha20.pcap", "aioquic-chacha20.client.keys");
    assert_outcome(&judge_named("chacha20", &run), Outcome::Succeeded, "");
    let aes = Run::with_fixture_keys("aioquic-aes256.pcap", "aioquic-aes256.client.keys");
    assert_outcome(
        &judge_named("chacha20", &aes),
        Outcome::Failed,
        "offered 0x1302",
    );
}

#[test]
fn multiplexing_reads_the_stream_limit() {
    let run = Run::with_fixture_keys("aioquic-v1.pcap", "aioquic-v1.client.keys");
    let v = judge_named("multiplexing", &run);
    // aioquic announces 128 bidirectional streams.
    assert_outcome(&v, Outcome::Succeeded, "");
}

#[test]
fn keys_needed_without_key_log_is_unsupported() {
    let run = Run::new(Some("aioquic-v1.pcap"), None);
    assert_outcome(
        &judge_named("multiplexing", &run),
        Outcome::Unsupported,
        "key log",
    );
    assert_outcome(&judge_named("handshake", &run), Outcome::Succeeded, "");
    let no_label = Run::new(Some("aioquic-v1.pcap"), Some(b"CLIENT_RANDOM 00 00\n"));
    assert_outcome(
        &judge_named("keyupdate", &no_label),
        Outcome::Unsupported,
        "key log",
    );
}

#[test]
fn garbage_key_log_and_missing_trace_fail_clearly() {
    let garbage = Run::new(
        Some("aioquic-v1.pcap"),
        Some(b"SERVER_HANDSHAKE_TRAFFIC_SECRET not hex at all\n"),
    );
    assert_outcome(
        &judge_named("handshake", &garbage),
        Outcome::Failed,
        "key log is unreadable",
    );
    let missing = Run::new(None, None);
    assert_outcome(
        &judge_named("handshake", &missing),
        Outcome::Failed,
        "cannot read the packet trace",
    );
    let mut truncated = Run::new(None, None);
    truncated.server = Some(b"\xd4\xc3\xb2".to_vec());
    assert_outcome(
        &judge_named("handshake", &truncated),
        Outcome::Failed,
        "cannot analyse",
    );
}

#[test]
fn resumption_and_zero_rtt() {
    let run = Run::with_fixture_keys(
        "aioquic-resumption-0rtt.pcapng",
        "aioquic-resumption-0rtt.client.keys",
    );
    assert_outcome(&judge_named("resumption", &run), Outcome::Succeeded, "");
    assert_outcome(&judge_named("zerortt", &run), Outcome::Succeeded, "");
    assert_outcome(
        &judge_named("handshake", &run),
        Outcome::Failed,
        "expected 1 handshake, saw 2",
    );
    // Without keys the 0-RTT check falls back to the encrypted lengths.
    let no_keys = Run::new(Some("aioquic-resumption-0rtt.pcapng"), None);
    assert_outcome(&judge_named("zerortt", &no_keys), Outcome::Succeeded, "");
    assert_outcome(
        &judge_named("resumption", &no_keys),
        Outcome::Unsupported,
        "",
    );
    let one = Run::with_fixture_keys("aioquic-v1.pcap", "aioquic-v1.client.keys");
    assert_outcome(
        &judge_named("resumption", &one),
        Outcome::Failed,
        "expected 2 handshakes, saw 1",
    );
}

#[test]
fn key_update_seen_both_ways() {
    let run = Run::with_fixture_keys("aioquic-keyupdate.pcap", "aioquic-keyupdate.client.keys");
    assert_outcome(&judge_named("keyupdate", &run), Outcome::Succeeded, "");
    let plain = Run::with_fixture_keys("aioquic-v1.pcap", "aioquic-v1.client.keys");
    assert_outcome(
        &judge_named("keyupdate", &plain),
        Outcome::Failed,
        "key phase 1",
    );
}

#[test]
fn ecn_marks_and_ack_counts() {
    let go = Run::with_fixture_keys("quicgo-transfer.pcap", "quicgo-transfer.client.keys");
    assert_outcome(&judge_named("ecn", &go), Outcome::Succeeded, "");
    let ce = Run::with_fixture_keys("aioquic-ecn-nft.pcap", "aioquic-ecn-nft.client.keys");
    let v = judge_named("ecn", &ce);
    assert_eq!(v.outcome, Outcome::Failed, "{v:?}");
    let plain = Run::with_fixture_keys("aioquic-v1.pcap", "aioquic-v1.client.keys");
    assert_outcome(
        &judge_named("ecn", &plain),
        Outcome::Failed,
        "marked no packet",
    );
}

#[test]
fn v2_versions() {
    let run = Run::with_fixture_keys("aioquic-v2.pcapng", "aioquic-v2.client.keys");
    assert_outcome(&judge_named("v2", &run), Outcome::Succeeded, "");
    assert_outcome(
        &judge_named("handshake", &run),
        Outcome::Failed,
        "0x6b3343cf",
    );
    let v1 = Run::with_fixture_keys("aioquic-v1.pcap", "aioquic-v1.client.keys");
    assert_outcome(
        &judge_named("v2", &v1),
        Outcome::Failed,
        "do not include QUIC v2",
    );
}

#[test]
fn ipv6_only_from_the_server() {
    let v6 = Run::with_fixture_keys(
        "aioquic-v6-h3-nanos.pcap",
        "aioquic-v6-h3-nanos.client.keys",
    );
    assert_outcome(&judge_named("ipv6", &v6), Outcome::Succeeded, "");
    let v4 = Run::with_fixture_keys("aioquic-v1.pcap", "aioquic-v1.client.keys");
    assert_outcome(&judge_named("ipv6", &v4), Outcome::Failed, "over IPv4");
}

#[test]
fn rebinding_is_validated() {
    let port = Run::with_fixture_keys(
        "aioquic-rebind-relay.pcap",
        "aioquic-rebind-relay.client.keys",
    );
    assert_outcome(&judge_named("rebind-port", &port), Outcome::Succeeded, "");
    assert_outcome(
        &judge_named("rebind-addr", &port),
        Outcome::Failed,
        "only one client address",
    );
    let addr = Run::with_fixture_keys(
        "aioquic-rebind-addr-relay.pcap",
        "aioquic-rebind-addr-relay.client.keys",
    );
    assert_outcome(&judge_named("rebind-addr", &addr), Outcome::Succeeded, "");
    let plain = Run::with_fixture_keys("aioquic-v1.pcap", "aioquic-v1.client.keys");
    assert_outcome(
        &judge_named("rebind-port", &plain),
        Outcome::Failed,
        "only one path",
    );
}

#[test]
fn goodput_from_server_one_rtt_times() {
    let run = Run::with_fixture_keys("quicgo-transfer.pcap", "quicgo-transfer.client.keys");
    let v = judge_named("goodput", &run);
    assert_eq!(v.outcome, Outcome::Succeeded, "{v:?}");
    let kbps = v.value.unwrap();
    assert!(kbps > 0.0 && kbps.is_finite(), "{kbps}");
}

// ---- synthetic traces ----

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

const CLIENT: &str = "10.0.0.1:5000";
const SERVER: &str = "10.0.1.1:443";

fn packet(frame: u64, src: &str, dst: &str, ty: PacketType, size: usize) -> QuicPacket {
    QuicPacket {
        frame,
        time_ns: frame * 1_000_000,
        src: addr(src),
        dst: addr(dst),
        ecn: 0,
        datagram_len: size,
        connection: Some(0),
        direction: None,
        packet_type: ty,
        version: 1,
        dcid: ConnectionId::new(&[1, 2, 3, 4]).unwrap(),
        scid: None,
        token: None,
        retry_tag_valid: None,
        supported_versions: Vec::new(),
        length: size,
        payload_length: size,
        plain_length: 0,
        pn: Some(frame),
        key_phase: None,
        decrypted: true,
        undecryptable: None,
        frames: Vec::new(),
        frames_stopped: None,
    }
}

fn side(trace: &Trace) -> Side<'_> {
    const IPS: &[std::net::IpAddr] = &[std::net::IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 1, 1))];
    Side::new(trace, IPS)
}

fn trace(packets: Vec<QuicPacket>) -> Trace {
    Trace {
        packets,
        ..Default::default()
    }
}

#[test]
fn amplification_limit_arithmetic() {
    let ini = PacketType::Initial;
    let hs = PacketType::Handshake;
    // 1200 received allows 3600; 3500 sent is fine.
    let ok = trace(vec![
        packet(1, CLIENT, SERVER, ini, 1200),
        packet(2, SERVER, CLIENT, hs, 1200),
        packet(3, SERVER, CLIENT, hs, 1200),
        packet(4, SERVER, CLIENT, hs, 1100),
        packet(5, CLIENT, SERVER, hs, 100),
        packet(6, SERVER, CLIENT, hs, 1200),
    ]);
    assert_eq!(
        transport_rules::expect_amplification_limit(&side(&ok)),
        Ok(())
    );
    // 4800 sent for 1200 received reaches 4×.
    let mut bad = ok.clone();
    bad.packets.insert(4, packet(4, SERVER, CLIENT, hs, 1300));
    bad.packets.insert(5, packet(4, SERVER, CLIENT, hs, 1300));
    bad.packets[4].frame = 41;
    bad.packets[5].frame = 42;
    let err = transport_rules::expect_amplification_limit(&side(&bad)).unwrap_err();
    assert!(
        matches!(&err, Stop::Failed(r) if r.contains("amplification limit")),
        "{err:?}"
    );
    let mut vn = ok.clone();
    vn.packets[1].packet_type = PacketType::VersionNegotiation;
    assert!(transport_rules::expect_amplification_limit(&side(&vn)).is_err());
}

#[test]
fn goodput_arithmetic() {
    let one = PacketType::OneRtt;
    // 1 MB over 1 s (first to last server 1-RTT packet) is 8000 kbps.
    let mut a = packet(1, SERVER, CLIENT, one, 1000);
    a.time_ns = 2_000_000_000;
    let mut b = packet(2, SERVER, CLIENT, one, 1000);
    b.time_ns = 3_000_000_000;
    let c = packet(3, CLIENT, SERVER, one, 100);
    let t = trace(vec![a, c, b]);
    let kbps = goodput::goodput_kbps(&side(&t), 1_000_000).unwrap();
    assert!((kbps - 8000.0).abs() < 1e-6, "{kbps}");
    let lone = trace(vec![packet(1, SERVER, CLIENT, one, 1000)]);
    assert!(goodput::goodput_kbps(&side(&lone), 1).is_err());
}

#[test]
fn migration_needs_a_new_dcid() {
    let one = PacketType::OneRtt;
    let moved = "10.0.0.1:6000";
    let mut first = packet(1, CLIENT, SERVER, one, 100);
    first.dcid = ConnectionId::new(&[9]).unwrap();
    let mut same = packet(2, moved, SERVER, one, 100);
    same.dcid = first.dcid;
    let t = trace(vec![first.clone(), same.clone()]);
    let err = paths::expect_new_dcid_on_migration(&side(&t)).unwrap_err();
    assert!(
        matches!(&err, Stop::Failed(r) if r.contains("reused DCID")),
        "{err:?}"
    );
    let mut fresh = same;
    fresh.dcid = ConnectionId::new(&[7]).unwrap();
    let t = trace(vec![first, fresh]);
    assert_eq!(paths::expect_new_dcid_on_migration(&side(&t)), Ok(()));
}

#[test]
fn path_challenge_must_open_each_new_path_and_be_answered() {
    let one = PacketType::OneRtt;
    let moved = "10.0.0.1:6000";
    let data = quic_trace::bytes::HexBytes::from(&[1u8, 2, 3, 4, 5, 6, 7, 8][..]);
    let mut challenge = packet(2, SERVER, moved, one, 100);
    challenge.frames = vec![Frame::PathChallenge { data: data.clone() }];
    let server = trace(vec![packet(1, SERVER, CLIENT, one, 100), challenge.clone()]);
    let mut response = packet(3, CLIENT, SERVER, one, 100);
    response.frames = vec![Frame::PathResponse { data }];
    let answered = trace(vec![response]);
    assert_eq!(
        paths::expect_path_validation(&side(&answered), &side(&server)),
        Ok(())
    );
    let silent = trace(vec![packet(3, CLIENT, SERVER, one, 100)]);
    assert!(paths::expect_path_validation(&side(&silent), &side(&server)).is_err());
    let mut unchallenged = server.clone();
    unchallenged.packets[1].frames.clear();
    let err = paths::expect_path_validation(&side(&answered), &side(&unchallenged)).unwrap_err();
    assert!(
        matches!(&err, Stop::Failed(r) if r.contains("no PATH_CHALLENGE")),
        "{err:?}"
    );
}

#[test]
fn webtransport_protocol_negotiation() {
    let t = find(Protocol::WebTransport, "handshake").unwrap();
    let none = Run::new(None, None).analysis();
    let n = |c: Option<&str>, s: Option<&str>| Evidence {
        negotiated: Some(Negotiated {
            expected: "b".into(),
            client: c.map(Into::into),
            server: s.map(Into::into),
        }),
        ..Default::default()
    };
    assert_eq!(
        judge(t, &n(Some("a"), Some("b")), &none).reason,
        "the client negotiated \"a\", expected \"b\""
    );
    assert_eq!(
        judge(t, &n(Some("b"), None), &none).reason,
        "the server wrote no negotiated_protocol.txt in /downloads"
    );
    let run = Run::with_fixture_keys("aioquic-v1.pcap", "aioquic-v1.client.keys");
    let ok = n(Some("b\n"), Some("b"));
    assert_eq!(judge(t, &ok, &run.analysis()).outcome, Outcome::Succeeded);
}

fn crypto_initial(frame: u64, src: &str, dst: &str) -> QuicPacket {
    let mut p = packet(frame, src, dst, PacketType::Initial, 1200);
    p.frames = vec![Frame::Crypto {
        offset: 0,
        length: 300,
    }];
    p
}

#[test]
fn client_hello_retransmissions_count() {
    let once = trace(vec![crypto_initial(1, CLIENT, SERVER)]);
    let err = handshake_rules::expect_client_hellos(&side(&once), 2).unwrap_err();
    assert!(
        matches!(&err, Stop::Failed(r) if r.contains("saw 1")),
        "{err:?}"
    );
    let twice = trace(vec![
        crypto_initial(1, CLIENT, SERVER),
        crypto_initial(2, SERVER, CLIENT),
        crypto_initial(3, CLIENT, SERVER),
    ]);
    assert_eq!(
        handshake_rules::expect_client_hellos(&side(&twice), 2),
        Ok(())
    );
}

#[test]
fn retry_token_reuse_with_reset_packet_number_fails() {
    let token = quic_trace::bytes::HexBytes::from(&[0xaa, 0xbb][..]);
    let mut retry = packet(2, SERVER, CLIENT, PacketType::Retry, 100);
    retry.token = Some(token.clone());
    let first = packet(1, CLIENT, SERVER, PacketType::Initial, 1200);
    let mut again = packet(3, CLIENT, SERVER, PacketType::Initial, 1200);
    again.token = Some(token);
    again.pn = Some(5);
    let good = trace(vec![first.clone(), retry.clone(), again.clone()]);
    assert_eq!(handshake_rules::expect_retry_used(&side(&good)), Ok(()));
    again.pn = Some(1);
    let reset = trace(vec![first, retry, again]);
    let err = handshake_rules::expect_retry_used(&side(&reset)).unwrap_err();
    assert!(
        matches!(&err, Stop::Failed(r) if r.contains("reused packet number")),
        "{err:?}"
    );
}

#[test]
fn zero_rtt_limits_one_rtt_bytes() {
    let mut early = packet(1, CLIENT, SERVER, PacketType::ZeroRtt, 600);
    early.plain_length = 580;
    let mut late = packet(2, CLIENT, SERVER, PacketType::OneRtt, 1200);
    late.plain_length = 1100;
    let t = trace(vec![early.clone(), late.clone()]);
    assert_eq!(
        handshake_rules::expect_zero_rtt(&side(&t), 1000.0),
        Err(Stop::Failed(
            "the client sent 1100 bytes in 1-RTT packets (and 580 in 0-RTT), more than 1000".into()
        ))
    );
    assert_eq!(handshake_rules::expect_zero_rtt(&side(&t), 5000.0), Ok(()));
    // Undecrypted packets count with their protected length.
    late.decrypted = false;
    let t = trace(vec![early, late]);
    assert!(handshake_rules::expect_zero_rtt(&side(&t), 1150.0).is_err());
    let none = trace(vec![packet(2, CLIENT, SERVER, PacketType::OneRtt, 10)]);
    assert!(handshake_rules::expect_zero_rtt(&side(&none), 5000.0).is_err());
}

#[test]
fn multiconnect_counts_one_handshake_per_file() {
    let run = Run::with_fixture_keys(
        "aioquic-resumption-0rtt.pcapng",
        "aioquic-resumption-0rtt.client.keys",
    );
    let t = find(Protocol::Quic, "handshakeloss").unwrap();
    let mut e = run.evidence(0);
    e.file_count = 2;
    assert_outcome(&judge(t, &e, &run.analysis()), Outcome::Succeeded, "");
    e.file_count = 50;
    assert_outcome(
        &judge(t, &e, &run.analysis()),
        Outcome::Failed,
        "expected 50 handshakes, saw 2",
    );
}

#[test]
fn probe_answers_are_not_server_traffic() {
    // quic-go clients use zero-length SCIDs, like the VN to the probe's DCID.
    let empty = ConnectionId::new(&[]).unwrap_or_default();
    let mut initial = packet(8, CLIENT, SERVER, PacketType::Initial, 1200);
    initial.scid = Some(empty);
    initial.dcid = ConnectionId::new(&[5; 8]).unwrap();
    let mut vn = packet(
        9,
        SERVER,
        "10.0.1.2:35884",
        PacketType::VersionNegotiation,
        27,
    );
    vn.dcid = empty;
    vn.scid = Some(ConnectionId::new(&[6; 8]).unwrap());
    let mut t = trace(vec![initial.clone(), vn]);
    crate::analyse::drop_probe_traffic(&mut t, "x");
    assert_eq!(t.packets.len(), 1);
    assert_eq!(t.warnings.len(), 1);
    let mut answer = packet(9, SERVER, CLIENT, PacketType::VersionNegotiation, 27);
    answer.dcid = empty;
    answer.scid = Some(initial.dcid);
    let mut t = trace(vec![initial, answer]);
    crate::analyse::drop_probe_traffic(&mut t, "x");
    assert_eq!(t.packets.len(), 2);
}

#[test]
fn a_vn_answering_an_initial_of_unknown_version_belongs_to_the_test() {
    let mut first = packet(1, CLIENT, SERVER, PacketType::UnknownVersion, 1200);
    first.version = 0x1a2a_3a4a;
    first.dcid = ConnectionId::new(&[5; 8]).unwrap();
    first.scid = Some(ConnectionId::new(&[7; 8]).unwrap());
    let mut answer = packet(2, SERVER, CLIENT, PacketType::VersionNegotiation, 27);
    answer.dcid = ConnectionId::new(&[7; 8]).unwrap();
    answer.scid = Some(first.dcid);
    let mut t = trace(vec![first.clone(), answer.clone()]);
    crate::analyse::drop_probe_traffic(&mut t, "x");
    assert_eq!(t.packets.len(), 2);
    // The simulator's own probe is no Initial of the test, nor is its answer.
    first.version = 0x5741_4954;
    let mut t = trace(vec![first, answer]);
    crate::analyse::drop_probe_traffic(&mut t, "x");
    assert!(t.packets.is_empty());
}
