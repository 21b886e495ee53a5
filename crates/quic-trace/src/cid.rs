//! Connection IDs stored inline (at most 20 bytes in QUIC v1/v2), so the per-packet
//! path allocates nothing for them.

use std::fmt;

use crate::bytes::hex;

#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct ConnectionId {
    len: u8,
    bytes: [u8; 20],
}

impl ConnectionId {
    /// `None` for more than 20 bytes.
    pub fn new(b: &[u8]) -> Option<ConnectionId> {
        let mut bytes = [0u8; 20];
        bytes.get_mut(..b.len())?.copy_from_slice(b);
        Some(ConnectionId {
            len: b.len() as u8,
            bytes,
        })
    }

    pub fn as_slice(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }

    pub fn len(&self) -> usize {
        usize::from(self.len)
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl fmt::Debug for ConnectionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex(self.as_slice()))
    }
}

impl fmt::Display for ConnectionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex(self.as_slice()))
    }
}

impl serde::Serialize for ConnectionId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex(self.as_slice()))
    }
}
