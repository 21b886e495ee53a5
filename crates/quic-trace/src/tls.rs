//! TLS 1.3 handshake messages carried in CRYPTO frames: reassembly per packet number
//! space and direction (out of order, retransmitted), then the facts the interop
//! checks need from ClientHello, ServerHello, EncryptedExtensions and Certificate.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::bytes::{HexBytes, Reader};

/// One QUIC transport parameter (RFC 9000 §18) with its raw value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TransportParameter {
    pub id: u64,
    pub value: HexBytes,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct TransportParameters(pub Vec<TransportParameter>);

impl TransportParameters {
    fn parse(data: &[u8]) -> Option<TransportParameters> {
        let mut r = Reader::new(data);
        let mut out = Vec::new();
        while !r.is_empty() {
            let id = r.varint()?;
            let len = r.varint_len()?;
            out.push(TransportParameter {
                id,
                value: r.bytes(len)?.into(),
            });
        }
        Some(TransportParameters(out))
    }

    pub fn contains(&self, id: u64) -> bool {
        self.0.iter().any(|p| p.id == id)
    }

    /// The value of an integer-valued parameter.
    pub fn integer(&self, id: u64) -> Option<u64> {
        let p = self.0.iter().find(|p| p.id == id)?;
        Reader::new(&p.value.0).varint()
    }

    pub fn initial_max_streams_bidi(&self) -> Option<u64> {
        self.integer(0x08)
    }

    pub fn initial_max_streams_uni(&self) -> Option<u64> {
        self.integer(0x09)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ClientHello {
    pub random: HexBytes,
    pub cipher_suites: Vec<u16>,
    pub alpn: Vec<String>,
    pub transport_parameters: Option<TransportParameters>,
    /// A pre_shared_key extension was sent (a resumption attempt).
    pub offers_psk: bool,
    pub early_data: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ServerHello {
    pub random: HexBytes,
    pub cipher_suite: u16,
    /// The server accepted a PSK (the session resumed).
    pub psk_accepted: bool,
    /// This is a HelloRetryRequest, not a real ServerHello.
    pub hello_retry_request: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EncryptedExtensions {
    pub alpn: Option<String>,
    pub transport_parameters: Option<TransportParameters>,
    pub early_data_accepted: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct CertificateInfo {
    /// Length of the Certificate message body in bytes.
    pub length: usize,
    pub certificates: usize,
}

/// The TLS facts of one connection.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct TlsSummary {
    /// Each distinct ClientHello (retransmissions of the same bytes count once).
    pub client_hellos: Vec<ClientHello>,
    pub server_hello: Option<ServerHello>,
    pub hello_retry_request: bool,
    pub encrypted_extensions: Option<EncryptedExtensions>,
    /// The server's Certificate message, when the Handshake data was readable.
    pub certificate: Option<CertificateInfo>,
    /// Handshake message type numbers in the order they were completed, per sender.
    pub client_messages: Vec<u8>,
    pub server_messages: Vec<u8>,
    /// Highest end offset of server CRYPTO data in the Handshake space.
    pub server_handshake_crypto_bytes: u64,
}

impl TlsSummary {
    /// The ClientHello random, once the first 38 bytes of client Initial CRYPTO data
    /// are in.
    pub fn client_random(&self) -> Option<[u8; 32]> {
        self.client_hellos
            .first()
            .and_then(|ch| ch.random.0.clone().try_into().ok())
    }
}

/// Reassembles one CRYPTO stream and splits it into handshake messages.
#[derive(Debug, Default)]
pub struct CryptoStream {
    assembled: Vec<u8>,
    pending: BTreeMap<u64, Vec<u8>>,
    parsed: usize,
}

/// Stop buffering beyond this; a real handshake is far smaller.
const MAX_CRYPTO: u64 = 1 << 20;

impl CryptoStream {
    /// Adds a chunk and returns the handshake messages (type, body) it completed.
    pub fn add(&mut self, offset: u64, data: &[u8]) -> Vec<(u8, Vec<u8>)> {
        let have = self.assembled.len() as u64;
        let end = offset.saturating_add(data.len() as u64);
        if end > have && end <= MAX_CRYPTO {
            let skip = have.saturating_sub(offset) as usize;
            let start = offset.max(have);
            let slot = self.pending.entry(start).or_default();
            if slot.len() < data.len() - skip {
                *slot = data[skip..].to_vec();
            }
        }
        self.drain_pending();
        self.take_messages()
    }

    /// The first `n` contiguous bytes, if that many have arrived.
    pub fn prefix(&self, n: usize) -> Option<&[u8]> {
        self.assembled.get(..n)
    }

    fn drain_pending(&mut self) {
        while let Some((&start, _)) = self.pending.first_key_value() {
            let have = self.assembled.len() as u64;
            if start > have {
                break;
            }
            let chunk = self.pending.pop_first().map(|(_, c)| c).unwrap_or_default();
            let skip = (have - start) as usize;
            if chunk.len() > skip {
                self.assembled.extend_from_slice(&chunk[skip..]);
            }
        }
    }

    fn take_messages(&mut self) -> Vec<(u8, Vec<u8>)> {
        let mut out = Vec::new();
        loop {
            let mut r = Reader::new(&self.assembled[self.parsed..]);
            let (Some(t), Some(body)) = (r.u8(), r.vec24()) else {
                break;
            };
            out.push((t, body.to_vec()));
            self.parsed += r.position();
        }
        out
    }
}

pub const CLIENT_HELLO: u8 = 1;
pub const SERVER_HELLO: u8 = 2;
pub const ENCRYPTED_EXTENSIONS: u8 = 8;
pub const CERTIFICATE: u8 = 11;

const EXT_ALPN: u16 = 16;
const EXT_PRE_SHARED_KEY: u16 = 41;
const EXT_EARLY_DATA: u16 = 42;
const EXT_QUIC_TP: u16 = 0x39;
const EXT_QUIC_TP_DRAFT: u16 = 0xffa5;
/// The ServerHello random that marks a HelloRetryRequest (RFC 8446 §4.1.3).
const HRR_RANDOM: [u8; 32] = [
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
];

/// Walks an extensions block, calling `f(type, data)` for each.
fn each_extension<'a>(block: &'a [u8], mut f: impl FnMut(u16, &'a [u8])) -> Option<()> {
    let mut r = Reader::new(block);
    while !r.is_empty() {
        let t = r.u16()?;
        f(t, r.vec16()?);
    }
    Some(())
}

fn alpn_list(data: &[u8]) -> Vec<String> {
    let mut r = Reader::new(data);
    let mut out = Vec::new();
    if let Some(list) = r.vec16() {
        let mut names = Reader::new(list);
        while let Some(name) = names.vec8() {
            out.push(String::from_utf8_lossy(name).into_owned());
        }
    }
    out
}

pub fn parse_client_hello(body: &[u8]) -> Option<ClientHello> {
    let mut r = Reader::new(body);
    r.u16()?;
    let random = r.bytes(32)?;
    r.vec8()?;
    let suites = r.vec16()?;
    r.vec8()?;
    let mut ch = ClientHello {
        random: random.into(),
        cipher_suites: suites
            .chunks_exact(2)
            .map(|c| u16::from_be_bytes([c[0], c[1]]))
            .collect(),
        alpn: Vec::new(),
        transport_parameters: None,
        offers_psk: false,
        early_data: false,
    };
    if let Some(block) = r.vec16() {
        each_extension(block, |t, data| match t {
            EXT_ALPN => ch.alpn = alpn_list(data),
            EXT_QUIC_TP | EXT_QUIC_TP_DRAFT => {
                ch.transport_parameters = TransportParameters::parse(data)
            }
            EXT_PRE_SHARED_KEY => ch.offers_psk = true,
            EXT_EARLY_DATA => ch.early_data = true,
            _ => {}
        });
    }
    Some(ch)
}

pub fn parse_server_hello(body: &[u8]) -> Option<ServerHello> {
    let mut r = Reader::new(body);
    r.u16()?;
    let random = r.bytes(32)?;
    r.vec8()?;
    let cipher_suite = r.u16()?;
    r.u8()?;
    let mut psk_accepted = false;
    if let Some(block) = r.vec16() {
        each_extension(block, |t, _| psk_accepted |= t == EXT_PRE_SHARED_KEY);
    }
    Some(ServerHello {
        random: random.into(),
        cipher_suite,
        psk_accepted,
        hello_retry_request: random == HRR_RANDOM,
    })
}

pub fn parse_encrypted_extensions(body: &[u8]) -> Option<EncryptedExtensions> {
    let mut r = Reader::new(body);
    let mut ee = EncryptedExtensions {
        alpn: None,
        transport_parameters: None,
        early_data_accepted: false,
    };
    each_extension(r.vec16()?, |t, data| match t {
        EXT_ALPN => ee.alpn = alpn_list(data).into_iter().next(),
        EXT_QUIC_TP | EXT_QUIC_TP_DRAFT => {
            ee.transport_parameters = TransportParameters::parse(data)
        }
        EXT_EARLY_DATA => ee.early_data_accepted = true,
        _ => {}
    })?;
    Some(ee)
}

pub fn parse_certificate(body: &[u8]) -> Option<CertificateInfo> {
    let mut r = Reader::new(body);
    r.vec8()?;
    let mut list = Reader::new(r.vec24()?);
    let mut certificates = 0;
    while !list.is_empty() {
        list.vec24()?;
        list.vec16()?;
        certificates += 1;
    }
    Some(CertificateInfo {
        length: body.len(),
        certificates,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_of_order_and_retransmitted_chunks_reassemble() {
        let msg = [CLIENT_HELLO, 0, 0, 3, 7, 8, 9, SERVER_HELLO, 0, 0, 0];
        let mut s = CryptoStream::default();
        assert!(s.add(4, &msg[4..]).is_empty());
        let done = s.add(0, &msg[..6]);
        assert_eq!(
            done,
            vec![(CLIENT_HELLO, vec![7, 8, 9]), (SERVER_HELLO, vec![])]
        );
        assert!(s.add(0, &msg).is_empty());
    }

    #[test]
    fn transport_parameter_integers() {
        let tp = TransportParameters::parse(&[0x08, 0x02, 0x43, 0xe8, 0x01, 0x01, 0x1e]).unwrap();
        assert_eq!(tp.initial_max_streams_bidi(), Some(1000));
        assert_eq!(tp.integer(0x01), Some(30));
        assert_eq!(tp.initial_max_streams_uni(), None);
    }
}
