//! NSS key log files (SSLKEYLOGFILE): TLS 1.3 traffic secrets keyed by the
//! ClientHello random. Several files merge into one map, so client and server logs
//! (or logs of several runs) can be given together.

use std::collections::HashMap;
use std::path::Path;

use crate::bytes::unhex;
use crate::error::TraceError;

/// The TLS 1.3 secrets of one connection that QUIC packet protection uses.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Secrets {
    pub client_early: Option<Vec<u8>>,
    pub client_handshake: Option<Vec<u8>>,
    pub server_handshake: Option<Vec<u8>>,
    pub client_application: Option<Vec<u8>>,
    pub server_application: Option<Vec<u8>>,
}

#[derive(Clone, Debug, Default)]
pub struct KeyLog {
    entries: HashMap<[u8; 32], Secrets>,
}

impl KeyLog {
    /// Reads and merges key log files.
    pub fn from_files(paths: &[impl AsRef<Path>]) -> Result<KeyLog, TraceError> {
        let mut log = KeyLog::default();
        for path in paths {
            let path = path.as_ref();
            let bytes = wirecap::input::read_bytes(path, wirecap::input::TEXT_LIMIT)?;
            log.add_text(&bytes, &path.display().to_string())?;
        }
        Ok(log)
    }

    /// Adds the lines of one key log; `name` only serves error messages.
    pub fn add_text(&mut self, bytes: &[u8], name: &str) -> Result<(), TraceError> {
        for (number, raw) in bytes.split(|b| *b == b'\n').enumerate() {
            let bad = |why: &str| TraceError::BadKeyLog {
                path: name.to_string(),
                line: number + 1,
                why: why.to_string(),
            };
            let line = std::str::from_utf8(raw)
                .map_err(|_| bad("it is not text"))?
                .trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let fields: Vec<&str> = line.split_ascii_whitespace().collect();
            let [label, random, secret] = fields[..] else {
                return Err(bad("expected three fields: label, client random, secret"));
            };
            let random: [u8; 32] = unhex(random)
                .and_then(|r| r.try_into().ok())
                .ok_or_else(|| bad("the client random is not 32 bytes of hex"))?;
            let secret = unhex(secret).ok_or_else(|| bad("the secret is not hex"))?;
            let entry = self.entries.entry(random).or_default();
            let slot = match label {
                "CLIENT_EARLY_TRAFFIC_SECRET" => &mut entry.client_early,
                "CLIENT_HANDSHAKE_TRAFFIC_SECRET" => &mut entry.client_handshake,
                "SERVER_HANDSHAKE_TRAFFIC_SECRET" => &mut entry.server_handshake,
                "CLIENT_TRAFFIC_SECRET_0" => &mut entry.client_application,
                "SERVER_TRAFFIC_SECRET_0" => &mut entry.server_application,
                // TLS 1.2 randoms, exporter and later-generation secrets play no part.
                _ => continue,
            };
            *slot = Some(secret);
        }
        Ok(())
    }

    pub fn get(&self, client_random: &[u8; 32]) -> Option<&Secrets> {
        self.entries.get(client_random)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// True when some connection's handshake can be decrypted (the contract's test
    /// for "a valid key log").
    pub fn has_handshake_secret(&self) -> bool {
        self.entries.values().any(|s| s.server_handshake.is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RANDOM: &str = "8736c00e60744b57db4a8fde797ec11aace5de3f16e7110c44de29a8d451ee3c";

    #[test]
    fn parses_and_merges() {
        let mut log = KeyLog::default();
        log.add_text(
            format!("# comment\nSERVER_HANDSHAKE_TRAFFIC_SECRET {RANDOM} 0a0b\n").as_bytes(),
            "a",
        )
        .unwrap();
        log.add_text(
            format!("CLIENT_TRAFFIC_SECRET_0 {RANDOM} 0c\nEXPORTER_SECRET {RANDOM} 00\n")
                .as_bytes(),
            "b",
        )
        .unwrap();
        let random: [u8; 32] = unhex(RANDOM).unwrap().try_into().unwrap();
        let s = log.get(&random).unwrap();
        assert_eq!(s.server_handshake.as_deref(), Some(&[0x0a, 0x0b][..]));
        assert_eq!(s.client_application.as_deref(), Some(&[0x0c][..]));
        assert!(log.has_handshake_secret());
    }

    #[test]
    fn garbage_is_rejected_with_the_line() {
        let mut log = KeyLog::default();
        let err = log
            .add_text(b"# ok\nthis is not a key log\n", "k.log")
            .unwrap_err();
        assert!(err.to_string().contains("k.log line 2"), "{err}");
        assert!(log.add_text(&[0xff, 0xfe, 0x00], "bin").is_err());
        assert!(log
            .add_text(
                format!("CLIENT_TRAFFIC_SECRET_0 {RANDOM} zz\n").as_bytes(),
                "x"
            )
            .is_err());
    }
}
