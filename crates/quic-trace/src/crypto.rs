//! QUIC packet protection keys (RFC 9001 §5): HKDF-Expand-Label, Initial secrets,
//! AEAD and header protection keys per cipher suite, key updates. ring does the
//! cryptography (see docs/trace.md for why).

use ring::aead::{self, quic, Aad, LessSafeKey, Nonce, UnboundKey};
use ring::hkdf::{self, KeyType, Prk, Salt};

use crate::version::VersionParams;

/// The TLS 1.3 cipher suites QUIC uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Suite {
    Aes128Gcm,
    Aes256Gcm,
    Chacha20Poly1305,
}

impl Suite {
    pub fn from_code(code: u16) -> Option<Suite> {
        match code {
            0x1301 => Some(Suite::Aes128Gcm),
            0x1302 => Some(Suite::Aes256Gcm),
            0x1303 => Some(Suite::Chacha20Poly1305),
            _ => None,
        }
    }

    pub fn code(self) -> u16 {
        match self {
            Suite::Aes128Gcm => 0x1301,
            Suite::Aes256Gcm => 0x1302,
            Suite::Chacha20Poly1305 => 0x1303,
        }
    }

    fn hkdf(self) -> hkdf::Algorithm {
        match self {
            Suite::Aes256Gcm => hkdf::HKDF_SHA384,
            _ => hkdf::HKDF_SHA256,
        }
    }

    /// Length of the traffic secrets this suite's hash produces.
    pub fn secret_len(self) -> usize {
        match self {
            Suite::Aes256Gcm => 48,
            _ => 32,
        }
    }

    fn aead(self) -> &'static aead::Algorithm {
        match self {
            Suite::Aes128Gcm => &aead::AES_128_GCM,
            Suite::Aes256Gcm => &aead::AES_256_GCM,
            Suite::Chacha20Poly1305 => &aead::CHACHA20_POLY1305,
        }
    }

    fn hp(self) -> &'static quic::Algorithm {
        match self {
            Suite::Aes128Gcm => &quic::AES_128,
            Suite::Aes256Gcm => &quic::AES_256,
            Suite::Chacha20Poly1305 => &quic::CHACHA20,
        }
    }
}

/// An output length for ring's HKDF, which wants a type rather than a number.
struct OkmLen(usize);

impl KeyType for OkmLen {
    fn len(&self) -> usize {
        self.0
    }
}

/// HKDF-Expand-Label (RFC 8446 §7.1) with an empty context.
pub fn expand_label(
    algorithm: hkdf::Algorithm,
    secret: &[u8],
    label: &[u8],
    len: usize,
) -> Vec<u8> {
    expand_from_prk(&Prk::new_less_safe(algorithm, secret), label, len)
}

fn expand_from_prk(prk: &Prk, label: &[u8], len: usize) -> Vec<u8> {
    let length = (len as u16).to_be_bytes();
    let label_len = [(6 + label.len()) as u8];
    let info: [&[u8]; 5] = [&length, &label_len, b"tls13 ", label, &[0]];
    let mut out = vec![0u8; len];
    // Expansion only fails for lengths above 255 hash blocks, which QUIC never asks.
    if let Ok(okm) = prk.expand(&info, OkmLen(len)) {
        let _ = okm.fill(&mut out);
    }
    out
}

/// The client and server Initial secrets for a client's first Destination CID.
pub fn initial_secrets(params: &VersionParams, dcid: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let prk = Salt::new(hkdf::HKDF_SHA256, &params.initial_salt).extract(dcid);
    (
        expand_from_prk(&prk, b"client in", 32),
        expand_from_prk(&prk, b"server in", 32),
    )
}

/// Header protection key: fixed for a packet number space, never updated.
pub struct HeaderKey(quic::HeaderProtectionKey);

impl HeaderKey {
    /// The five mask bytes for a 16-byte sample.
    pub fn mask(&self, sample: &[u8]) -> Option<[u8; 5]> {
        self.0.new_mask(sample).ok()
    }
}

/// Payload protection of one direction at one key phase.
pub struct AeadKey {
    pub suite: Suite,
    aead: LessSafeKey,
    iv: [u8; 12],
    /// Kept so the next key phase can be derived (RFC 9001 §6.1).
    secret: Vec<u8>,
}

/// Both keys derived from a traffic secret; `None` when the secret's length does not
/// fit the suite (the key log and the negotiated suite disagree).
pub fn keys_from_secret(
    suite: Suite,
    params: &VersionParams,
    secret: &[u8],
) -> Option<(HeaderKey, AeadKey)> {
    if secret.len() != suite.secret_len() {
        return None;
    }
    let hp_key = expand_label(suite.hkdf(), secret, params.hp_label, suite.hp().key_len());
    let header = HeaderKey(quic::HeaderProtectionKey::new(suite.hp(), &hp_key).ok()?);
    Some((header, AeadKey::from_secret(suite, params, secret)?))
}

impl AeadKey {
    fn from_secret(suite: Suite, params: &VersionParams, secret: &[u8]) -> Option<AeadKey> {
        let alg = suite.hkdf();
        let key = expand_label(alg, secret, params.key_label, suite.aead().key_len());
        let iv: [u8; 12] = expand_label(alg, secret, params.iv_label, 12)
            .try_into()
            .ok()?;
        Some(AeadKey {
            suite,
            aead: LessSafeKey::new(UnboundKey::new(suite.aead(), &key).ok()?),
            iv,
            secret: secret.to_vec(),
        })
    }

    /// The keys of the next key phase (header protection is unaffected).
    pub fn next_phase(&self, params: &VersionParams) -> Option<AeadKey> {
        let secret = expand_label(
            self.suite.hkdf(),
            &self.secret,
            params.ku_label,
            self.secret.len(),
        );
        AeadKey::from_secret(self.suite, params, &secret)
    }

    /// Decrypts `payload` (ciphertext and tag) in place; returns the plaintext length.
    pub fn open(&self, pn: u64, header: &[u8], payload: &mut [u8]) -> Option<usize> {
        let mut nonce = self.iv;
        for (n, p) in nonce[4..].iter_mut().zip(pn.to_be_bytes()) {
            *n ^= p;
        }
        let nonce = Nonce::assume_unique_for_key(nonce);
        self.aead
            .open_in_place(nonce, Aad::from(header), payload)
            .ok()
            .map(|p| p.len())
    }

    /// Encrypts in place and appends the tag (tests build protected packets with it).
    #[cfg(test)]
    pub fn seal(&self, pn: u64, header: &[u8], payload: &mut Vec<u8>) {
        let mut nonce = self.iv;
        for (n, p) in nonce[4..].iter_mut().zip(pn.to_be_bytes()) {
            *n ^= p;
        }
        let nonce = Nonce::assume_unique_for_key(nonce);
        self.aead
            .seal_in_place_append_tag(nonce, Aad::from(header), payload)
            .expect("sealing a test payload");
    }
}

/// Checks a Retry packet's integrity tag (RFC 9001 §5.8) against the client's
/// original Destination CID.
pub fn retry_tag_valid(params: &VersionParams, odcid: &[u8], retry_packet: &[u8]) -> bool {
    let Some(split) = retry_packet.len().checked_sub(16) else {
        return false;
    };
    let mut pseudo = Vec::with_capacity(1 + odcid.len() + split);
    pseudo.push(odcid.len() as u8);
    pseudo.extend_from_slice(odcid);
    pseudo.extend_from_slice(&retry_packet[..split]);
    let Ok(key) = UnboundKey::new(&aead::AES_128_GCM, &params.retry_key) else {
        return false;
    };
    let key = LessSafeKey::new(key);
    let mut tag = retry_packet[split..].to_vec();
    let nonce = Nonce::assume_unique_for_key(params.retry_nonce);
    key.open_in_place(nonce, Aad::from(&pseudo[..]), &mut tag)
        .is_ok()
}
