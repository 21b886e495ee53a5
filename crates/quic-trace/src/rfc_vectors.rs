//! RFC 9001 Appendix A and RFC 9369 Appendix A test vectors run through the same
//! unprotect path the decoder uses.

use std::collections::HashMap;

use crate::bytes::unhex;
use crate::crypto::{self, Suite};
use crate::header::{parse_long, Header, LongHeader};
use crate::keys::DirKeys;
use crate::protection::unprotect;
use crate::version::{self, VERSION_1, VERSION_2};

fn vectors() -> HashMap<String, Vec<u8>> {
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
    let opened = unprotect(&mut keys, None, &mut packet, pn_offset, true).unwrap();
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

#[test]
fn initial_keys_match_rfc9001_a1() {
    // Client key/iv/hp of RFC 9001 A.1, checked by expanding the client secret.
    let params = version::params(VERSION_1).unwrap();
    let (client, _) = crypto::initial_secrets(params, &unhex("8394c8f03e515708").unwrap());
    let key = crypto::expand_label(ring::hkdf::HKDF_SHA256, &client, b"quic key", 16);
    let iv = crypto::expand_label(ring::hkdf::HKDF_SHA256, &client, b"quic iv", 12);
    let hp = crypto::expand_label(ring::hkdf::HKDF_SHA256, &client, b"quic hp", 16);
    assert_eq!(crate::bytes::hex(&key), "1f369613dd76d5467730efcbe3b1a22d");
    assert_eq!(crate::bytes::hex(&iv), "fa044b2f42a3fd3b46fb255c");
    assert_eq!(crate::bytes::hex(&hp), "9f50449e04a0e810283a1e9933adedd2");
}

fn check_chacha(tag: &str, version: u32) {
    let v = vectors();
    let secret = unhex("9ac312a7f877468ebe69422748ad00a15443f18203a07d6060f688f30f21632b").unwrap();
    let mut keys = DirKeys::from_secret(Suite::Chacha20Poly1305, version, &secret).unwrap();
    let mut packet = v[&format!("{tag}_chacha20_client_encrypted_packet")].clone();
    let expected_pn = 654_360_564;
    let opened = unprotect(&mut keys, Some(expected_pn - 1), &mut packet, 1, false).unwrap();
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
    let err = unprotect(&mut keys, None, &mut packet, 26, true)
        .err()
        .unwrap();
    assert!(err.contains("authentication failed"), "{err}");
}
