use super::*;
use crate::connection::conn_with_parameters;
use crate::crypto::Suite;
use crate::frame::Frame;
use crate::keys::DirKeys;
use crate::keys::Level;
use crate::protection::{protect, Form};
use crate::version;

type Params = &'static [(u64, &'static [u8])];

const SECRET: [u8; 32] = [9; 32];
const CLIENT_CID: [u8; 4] = [0xc1; 4];
const GREASE_QUIC_BIT: Params = &[(0x2ab2, &[])];
const SENDS_LOSS_BITS: Params = &[(0x1057, &[1])];
const READS_LOSS_BITS: Params = &[(0x1057, &[0])];
const PING: [u8; 4] = [0x01, 0, 0, 0];

/// A server→client 1-RTT packet with packet number 7 carrying a PING.
fn server_packet(first: u8, form: Form) -> Vec<u8> {
    let header = [&[first][..], &CLIENT_CID, &[7]].concat();
    protect(&SECRET, &header, 5, 7, &PING, form)
}

fn decode_alone(datagram: &[u8]) -> Vec<QuicPacket> {
    let (keylog, options) = (KeyLog::default(), Options::default());
    let mut d = Decoder::new(&keylog, &options);
    let ctx = Datagram {
        frame: 1,
        time_ns: 0,
        src: "10.0.0.1:4433".parse().unwrap(),
        dst: "10.0.0.2:443".parse().unwrap(),
        ecn: 0,
        len: datagram.len(),
    };
    d.packets_in(&ctx, datagram);
    d.packets
}

#[test]
fn coalesced_headers_too_short_to_protect_are_padding_not_packets() {
    // 8-byte Handshake "packets" (no CIDs, a Length of 1): each once cost a
    // packet record of about 300 bytes, 40 times the capture.
    let tiny = [0xe0, 0, 0, 0, 1, 0, 0, 1];
    let datagram: Vec<u8> = tiny.iter().copied().cycle().take(1200).collect();
    assert!(decode_alone(&datagram).is_empty());
    let mut valid_len = [0xe0, 0, 0, 0, 1, 0, 0, 20].to_vec();
    valid_len.resize(8 + 20, 0x11);
    let datagram: Vec<u8> = valid_len.iter().copied().cycle().take(1200).collect();
    let got = decode_alone(&datagram);
    let bytes = got.len() * std::mem::size_of::<QuicPacket>();
    assert!(
        bytes <= 12 * datagram.len(),
        "{} packets, {bytes} bytes of records for a {}-byte datagram",
        got.len(),
        datagram.len()
    );
}

#[test]
fn a_long_header_of_unknown_version_shows_its_cids() {
    let mut datagram = vec![0xc0, 0x1a, 0x2a, 0x3a, 0x4a, 2, 0xd1, 0xd2, 1, 0x51];
    datagram.resize(1200, 0x5a);
    let got = decode_alone(&datagram);
    assert_eq!(got.len(), 1);
    let p = &got[0];
    assert_eq!(p.packet_type, PacketType::UnknownVersion);
    assert_eq!(p.version, 0x1a2a_3a4a);
    assert_eq!(p.dcid.as_slice(), &[0xd1, 0xd2]);
    assert_eq!(p.scid.map(|c| c.as_slice().to_vec()), Some(vec![0x51]));
    assert_eq!((p.length, p.payload_length), (1200, 1190));
    assert!(!p.decrypted && p.undecryptable.is_none() && p.connection.is_none());
}

#[test]
fn unknown_version_bytes_after_a_packet_are_padding() {
    let mut datagram = crate::rfc_vectors::vectors()["v1_long_client_encrypted_packet"].clone();
    datagram.extend([0xc0, 0x1a, 0x2a, 0x3a, 0x4a, 0, 0, 0, 0]);
    let got = decode_alone(&datagram);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].packet_type, PacketType::Initial);
    assert!(got[0].decrypted, "{:?}", got[0].undecryptable);
}

/// Decodes one server→client datagram of a connection whose 1-RTT keys are known
/// and whose endpoints advertised these transport parameters.
fn decode_from_server(client: Params, server: Params, datagram: &[u8]) -> Vec<QuicPacket> {
    let (keylog, options) = (KeyLog::default(), Options::default());
    let mut d = Decoder::new(&keylog, &options);
    let mut conn = conn_with_parameters(Some(client), Some(server));
    let keys = DirKeys::from_secret(Suite::Aes128Gcm, version::VERSION_1, &SECRET).unwrap();
    let slot = (Level::OneRtt, Direction::ServerToClient, version::VERSION_1);
    conn.keys.insert(slot, keys);
    let (client_addr, server_addr) = (conn.info.client.unwrap(), conn.info.server.unwrap());
    d.conns.push(conn);
    d.register_cid(&CLIENT_CID, 0, Direction::ServerToClient);
    let ctx = Datagram {
        frame: 1,
        time_ns: 0,
        src: server_addr,
        dst: client_addr,
        ecn: 0,
        len: datagram.len(),
    };
    d.packets_in(&ctx, datagram);
    d.packets
}

#[test]
fn greased_fixed_bit_is_accepted_towards_an_endpoint_that_advertised_it() {
    let packet = server_packet(0x00, Form::Short);
    assert_eq!(packet[0] & 0xc0, 0, "the fixed bit is not protected");
    let got = decode_from_server(GREASE_QUIC_BIT, &[], &packet);
    assert_eq!(got.len(), 1);
    assert!(got[0].decrypted, "{:?}", got[0].undecryptable);
    assert_eq!(got[0].packet_type, PacketType::OneRtt);
    assert_eq!(got[0].pn, Some(7));
    assert_eq!(got[0].frames[0], Frame::Ping);
    // RFC 9287: only the receiver's parameter allows the sender to clear the bit.
    assert!(decode_from_server(&[], GREASE_QUIC_BIT, &packet).is_empty());
    assert!(decode_from_server(&[], &[], &packet).is_empty());
}

#[test]
fn loss_bits_change_the_short_header_mask_once_negotiated() {
    let packet = server_packet(0x58, Form::ShortWithLossBits);
    let got = decode_from_server(READS_LOSS_BITS, SENDS_LOSS_BITS, &packet);
    assert!(got[0].decrypted, "{:?}", got[0].undecryptable);
    assert_eq!(got[0].pn, Some(7));
    let got = decode_from_server(&[], SENDS_LOSS_BITS, &packet);
    assert!(!got[0].decrypted);
    // A sender that only reads loss bits protects the reserved bits as usual.
    let plain = server_packet(0x40, Form::Short);
    let got = decode_from_server(SENDS_LOSS_BITS, READS_LOSS_BITS, &plain);
    assert!(got[0].decrypted, "{:?}", got[0].undecryptable);
}
