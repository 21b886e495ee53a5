//! RFC 9001 Appendix A and RFC 9369 Appendix A test vectors run through the same
//! unprotect path the decoder uses.

use std::collections::HashMap;

use crate::bytes::unhex;
use crate::crypto::{self, Suite};
use crate::header::{parse_long, Header, LongHeader};
use crate::keys::DirKeys;
use crate::protection::{unprotect, Form};
use crate::version::{self, VERSION_1, VERSION_2};

pub(crate) fn vectors() -> HashMap<String, Vec<u8>> {
    include_str!("../tests/fixtures/rfc/vectors.txt")
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once(' '))
        .map(|(k, v)| (k.to_string(), unhex(v).expect("vector hex")))
        .collect()
}

fn initial_keys(version: u32, client: bool) -> DirKeys {
    let params = version::params(version).unwrap();
    let (c, s) = crypto::initial_secrets(params, &unhex("8394c8f03e515708").unwrap());
    DirKeys::from_secret(Suite::Aes128Gcm, version, if client { &c } else { &s }).unwrap()
}

fn check_long(tag: &str, side: &str, version: u32) {
    let v = vectors();
    let mut packet = v[&format!("{tag}_long_{side}_encrypted_packet")].clone();
    let plain_header = &v[&format!("{tag}_long_{side}_plain_header")];
    let plain_payload = &v[&format!("{tag}_long_{side}_plain_payload")];
    let Header::Long(LongHeader { pn_offset, .. }) = parse_long(&packet).unwrap().header else {
        panic!("not a long header")
    };
    let mut keys = initial_keys(version, side == "client");
    let opened = unprotect(&mut keys, None, &mut packet, pn_offset, Form::Long).unwrap();
    assert_eq!(&packet[..opened.payload_start], &plain_header[..]);
    let plain = &packet[opened.payload_start..opened.payload_start + opened.plain_len];
    assert_eq!(&plain[..plain_payload.len()], &plain_payload[..]);
    assert!(
        plain[plain_payload.len()..].iter().all(|b| *b == 0),
        "the rest is PADDING"
    );
}

#[test]
fn v1_client_initial() {
    check_long("v1", "client", VERSION_1);
}

#[test]
fn v1_server_initial() {
    check_long("v1", "server", VERSION_1);
}

#[test]
fn v2_client_initial() {
    check_long("v2", "client", VERSION_2);
}

#[test]
fn v2_server_initial() {
    check_long("v2", "server", VERSION_2);
}

/// Client Initial key, IV and header protection key for DCID 8394c8f03e515708.
fn check_client_initial_keys(version: u32, labels: [&[u8]; 3], expected: [&str; 3]) {
    let params = version::params(version).unwrap();
    let (client, _) = crypto::initial_secrets(params, &unhex("8394c8f03e515708").unwrap());
    for (label, (len, want)) in labels.iter().zip([16, 12, 16].into_iter().zip(expected)) {
        let got = crypto::expand_label(ring::hkdf::HKDF_SHA256, &client, label, len);
        assert_eq!(
            crate::bytes::hex(&got),
            want,
            "{version:#x} {}",
            String::from_utf8_lossy(label)
        );
    }
}

#[test]
fn initial_keys_match_the_specifications() {
    let v1_labels: [&[u8]; 3] = [b"quic key", b"quic iv", b"quic hp"];
    // RFC 9001 A.1
    let v1 = [
        "1f369613dd76d5467730efcbe3b1a22d",
        "fa044b2f42a3fd3b46fb255c",
        "9f50449e04a0e810283a1e9933adedd2",
    ];
    check_client_initial_keys(VERSION_1, v1_labels, v1);
    // RFC 9369 A.1
    let v2 = [
        "8b1a0bc121284290a29e0971b5cd045d",
        "91f73e2351d8fa91660e909f",
        "45b95e15235d6f45a6b19cbcb0294ba9",
    ];
    check_client_initial_keys(VERSION_2, [b"quicv2 key", b"quicv2 iv", b"quicv2 hp"], v2);
    // draft-ietf-quic-tls-29 A.1
    let d29 = [
        "175257a31eb09dea9366d8bb79ad80ba",
        "6b26114b9cba2b63a9e8dd4f",
        "9ddd12c994c0698b89374a9c077a3077",
    ];
    check_client_initial_keys(version::DRAFT_29, v1_labels, d29);
}

fn check_chacha(tag: &str, version: u32) {
    let v = vectors();
    let secret = unhex("9ac312a7f877468ebe69422748ad00a15443f18203a07d6060f688f30f21632b").unwrap();
    let mut keys = DirKeys::from_secret(Suite::Chacha20Poly1305, version, &secret).unwrap();
    let mut packet = v[&format!("{tag}_chacha20_client_encrypted_packet")].clone();
    let expected_pn = 654_360_564;
    let opened = unprotect(
        &mut keys,
        Some(expected_pn - 1),
        &mut packet,
        1,
        Form::Short,
    )
    .unwrap();
    assert_eq!(opened.pn, expected_pn);
    assert_eq!(
        &packet[..opened.payload_start],
        &v[&format!("{tag}_chacha20_client_plain_header")][..]
    );
    assert_eq!(
        &packet[opened.payload_start..opened.payload_start + opened.plain_len],
        &[0x01]
    );
}

#[test]
fn v1_chacha20_short_header() {
    check_chacha("v1", VERSION_1);
}

#[test]
fn v2_chacha20_short_header() {
    check_chacha("v2", VERSION_2);
}

#[test]
fn retry_integrity_tags() {
    let v = vectors();
    let odcid = &v["odcid"];
    for (tag, version) in [("v1", VERSION_1), ("v2", VERSION_2)] {
        let mut retry = v[&format!("{tag}_retry")].clone();
        let params = version::params(version).unwrap();
        let parsed = parse_long(&retry).unwrap();
        assert!(
            matches!(
                parsed.header,
                Header::Retry {
                    token: b"token",
                    ..
                }
            ),
            "{tag}: {:?}",
            parsed.header
        );
        assert!(crypto::retry_tag_valid(params, odcid, &retry), "{tag}");
        let last = retry.len() - 1;
        retry[last] ^= 1;
        assert!(
            !crypto::retry_tag_valid(params, odcid, &retry),
            "{tag} damaged"
        );
    }
}

#[test]
fn damaged_payload_is_reported_not_guessed() {
    let v = vectors();
    let mut packet = v["v1_long_client_encrypted_packet"].clone();
    let last = packet.len() - 1;
    packet[last] ^= 0x80;
    let mut keys = initial_keys(VERSION_1, true);
    let err = unprotect(&mut keys, None, &mut packet, 26, Form::Long)
        .err()
        .unwrap();
    assert!(err.is_auth_failure());
    assert!(err.to_string().contains("authentication failed"), "{err}");
}
