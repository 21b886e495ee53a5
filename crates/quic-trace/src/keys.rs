//! Key schedule of one connection: which secret protects which packets, derived lazily
//! from the Initial DCID or the key log, with 1-RTT key phase generations.

use crate::crypto::{self, AeadKey, HeaderKey, Suite};
use crate::keylog::{KeyLog, Secrets};
use crate::packet::Direction;
use crate::tls::TlsSummary;
use crate::version::{self, VersionParams};

/// Why no keys can be made for a packet; each renders as the packet's
/// `undecryptable` reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyError {
    UnsupportedVersion(u32),
    SecretDoesNotFit(u16),
    NoClientHello,
    NoKeyLog,
    NoEntry,
    NoSecret(&'static str),
    ServerSuite(u16),
    NoMatchingSuite,
}

impl std::fmt::Display for KeyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeyError::UnsupportedVersion(v) => write!(f, "version {v:#010x} is not supported"),
            KeyError::SecretDoesNotFit(s) => {
                write!(f, "the logged secret does not fit cipher suite {s:#06x}")
            }
            KeyError::NoClientHello => {
                f.write_str("the ClientHello was not captured, so the key log entry is unknown")
            }
            KeyError::NoKeyLog => f.write_str("no key log was given"),
            KeyError::NoEntry => {
                f.write_str("the key log has no entry for this connection's ClientHello random")
            }
            KeyError::NoSecret(label) => {
                write!(f, "the key log has no {label} for this connection")
            }
            KeyError::ServerSuite(s) => write!(
                f,
                "the server chose cipher suite {s:#06x}, which QUIC does not use"
            ),
            KeyError::NoMatchingSuite => {
                f.write_str("no offered cipher suite matches the logged secret")
            }
        }
    }
}

impl std::error::Error for KeyError {}

/// Encryption levels; 0-RTT and 1-RTT share the application packet number space.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Level {
    Initial,
    ZeroRtt,
    Handshake,
    OneRtt,
}

impl Level {
    pub fn space(self) -> usize {
        match self {
            Level::Initial => 0,
            Level::Handshake => 1,
            Level::ZeroRtt | Level::OneRtt => 2,
        }
    }
}

/// Keys of one direction at one level. `phases[g]` is key generation `g`; only 1-RTT
/// ever has more than one.
pub struct DirKeys {
    pub header: HeaderKey,
    phases: Vec<AeadKey>,
    current: usize,
    params: &'static VersionParams,
    /// Derived before the ServerHello was seen, so the cipher suite was inferred.
    pub suite_guessed: bool,
}

impl DirKeys {
    /// Keys straight from a traffic secret (tests and tools that hold secrets).
    pub fn from_secret(suite: Suite, version: u32, secret: &[u8]) -> Option<DirKeys> {
        let params = version::params(version)?;
        let (header, aead) = crypto::keys_from_secret(suite, params, secret)?;
        Some(DirKeys {
            header,
            phases: vec![aead],
            current: 0,
            params,
            suite_guessed: false,
        })
    }

    /// Decrypts a payload in place, choosing the key generation by the key phase bit
    /// (RFC 9001 §6); returns the plaintext length.
    pub fn open(
        &mut self,
        key_phase: u8,
        pn: u64,
        header: &[u8],
        payload: &mut [u8],
    ) -> Option<usize> {
        if (self.current & 1) as u8 == key_phase {
            return self.phases[self.current].open(pn, header, payload);
        }
        // A phase change: the peer updated keys, or this is a late packet of the
        // previous phase. Failed attempts may clobber the buffer, so keep a copy.
        let saved = payload.to_vec();
        let next = self.current + 1;
        if self.phases.len() == next {
            let key = self.phases[self.current].next_phase(self.params)?;
            self.phases.push(key);
        }
        if let Some(n) = self.phases[next].open(pn, header, payload) {
            self.current = next;
            return Some(n);
        }
        payload.copy_from_slice(&saved);
        let previous = self.current.checked_sub(1)?;
        self.phases[previous].open(pn, header, payload)
    }
}

/// Derives the keys for `level` in direction `dir` under `version`.
pub fn derive(
    level: Level,
    dir: Direction,
    version: u32,
    initial_dcid: &[u8],
    tls: &TlsSummary,
    keylog: &KeyLog,
) -> Result<DirKeys, KeyError> {
    let params = version::params(version).ok_or(KeyError::UnsupportedVersion(version))?;
    let (suite, secret) = if level == Level::Initial {
        let (client, server) = crypto::initial_secrets(params, initial_dcid);
        (
            Suite::Aes128Gcm,
            if dir == Direction::ClientToServer {
                client
            } else {
                server
            },
        )
    } else {
        let secret = logged_secret(level, dir, tls, keylog)?;
        (choose_suite(tls, secret.len())?, secret)
    };
    let (header, aead) = crypto::keys_from_secret(suite, params, &secret)
        .ok_or(KeyError::SecretDoesNotFit(suite.code()))?;
    Ok(DirKeys {
        header,
        phases: vec![aead],
        current: 0,
        params,
        suite_guessed: level != Level::Initial && tls.server_hello.is_none(),
    })
}

fn logged_secret(
    level: Level,
    dir: Direction,
    tls: &TlsSummary,
    keylog: &KeyLog,
) -> Result<Vec<u8>, KeyError> {
    if tls.client_hellos.is_empty() {
        return Err(KeyError::NoClientHello);
    }
    if keylog.is_empty() {
        return Err(KeyError::NoKeyLog);
    }
    let secrets = logged_entry(tls, keylog).ok_or(KeyError::NoEntry)?;
    let client = dir == Direction::ClientToServer;
    let (slot, label): (&Option<Vec<u8>>, &'static str) = match (level, client) {
        (Level::ZeroRtt, _) => (&secrets.client_early, "CLIENT_EARLY_TRAFFIC_SECRET"),
        (Level::Handshake, true) => (&secrets.client_handshake, "CLIENT_HANDSHAKE_TRAFFIC_SECRET"),
        (Level::Handshake, false) => (&secrets.server_handshake, "SERVER_HANDSHAKE_TRAFFIC_SECRET"),
        (_, true) => (&secrets.client_application, "CLIENT_TRAFFIC_SECRET_0"),
        (_, false) => (&secrets.server_application, "SERVER_TRAFFIC_SECRET_0"),
    };
    slot.clone().ok_or(KeyError::NoSecret(label))
}

/// The negotiated suite, or before the ServerHello (0-RTT) the first offered suite
/// whose hash matches the secret's length.
fn choose_suite(tls: &TlsSummary, secret_len: usize) -> Result<Suite, KeyError> {
    if let Some(sh) = &tls.server_hello {
        return Suite::from_code(sh.cipher_suite).ok_or(KeyError::ServerSuite(sh.cipher_suite));
    }
    let offered = tls
        .client_hellos
        .first()
        .map(|ch| ch.cipher_suites.clone())
        .unwrap_or_default();
    offered
        .into_iter()
        .filter_map(Suite::from_code)
        .find(|s| s.secret_len() == secret_len)
        .ok_or(KeyError::NoMatchingSuite)
}

/// The key log entry of the latest ClientHello that has one (a Retry or a
/// HelloRetryRequest can make the client send another).
fn logged_entry<'a>(tls: &TlsSummary, keylog: &'a KeyLog) -> Option<&'a Secrets> {
    tls.client_hellos
        .iter()
        .rev()
        .find_map(|ch| keylog.get(&ch.random.0.clone().try_into().ok()?))
}

/// True when a key log entry exists for the connection's ClientHello.
pub fn has_entry(tls: &TlsSummary, keylog: &KeyLog) -> bool {
    logged_entry(tls, keylog)
        .is_some_and(|s| s.server_handshake.is_some() || s.client_application.is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Seals `plain` under key generation `generation` derived from `secret`.
    fn sealed(secret: &[u8], generation: usize, pn: u64, plain: &[u8]) -> Vec<u8> {
        let params = version::params(version::VERSION_1).unwrap();
        let (_, mut key) = crypto::keys_from_secret(Suite::Aes128Gcm, params, secret).unwrap();
        for _ in 0..generation {
            key = key.next_phase(params).unwrap();
        }
        let mut payload = plain.to_vec();
        key.seal(pn, b"hdr", &mut payload);
        payload
    }

    #[test]
    fn key_phases_advance_and_late_packets_use_the_previous_keys() {
        let secret = [7u8; 32];
        let mut keys = DirKeys::from_secret(Suite::Aes128Gcm, version::VERSION_1, &secret).unwrap();
        // (generation the sender used, packet number)
        let sequence = [
            (0, 1),
            (1, 2),
            (0, 0),
            (1, 3),
            (2, 4),
            (1, 5),
            (2, 6),
            (3, 7),
        ];
        for (generation, pn) in sequence {
            let mut payload = sealed(&secret, generation, pn, b"frames");
            let phase = (generation & 1) as u8;
            let len = keys.open(phase, pn, b"hdr", &mut payload);
            assert_eq!(len, Some(6), "generation {generation} pn {pn}");
            assert_eq!(&payload[..6], b"frames");
        }
        assert_eq!(keys.current, 3);
    }

    #[test]
    fn wrong_keys_fail_without_moving_the_phase() {
        let mut keys =
            DirKeys::from_secret(Suite::Aes128Gcm, version::VERSION_1, &[7u8; 32]).unwrap();
        let mut payload = sealed(&[8u8; 32], 1, 1, b"frames");
        assert_eq!(keys.open(1, 1, b"hdr", &mut payload), None);
        assert_eq!(keys.current, 0);
    }
}
