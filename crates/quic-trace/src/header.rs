//! The parts of a QUIC packet header that are readable without keys (RFC 8999,
//! RFC 9000 §17): form, version, connection IDs, token, length.

use crate::bytes::Reader;
use crate::version::{self, LongType};

/// A header as far as it can be read before header protection is removed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Header<'a> {
    VersionNegotiation {
        dcid: &'a [u8],
        scid: &'a [u8],
        versions: Vec<u32>,
    },
    Retry {
        version: u32,
        dcid: &'a [u8],
        scid: &'a [u8],
        token: &'a [u8],
    },
    /// Initial, 0-RTT or Handshake.
    Long(LongHeader<'a>),
    Short {
        dcid: &'a [u8],
    },
}

/// The header of an Initial, 0-RTT or Handshake packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LongHeader<'a> {
    pub version: u32,
    pub kind: LongType,
    pub dcid: &'a [u8],
    pub scid: &'a [u8],
    /// Initial packets only.
    pub token: Option<&'a [u8]>,
    /// Where the protected packet number starts, counted from the packet start.
    pub pn_offset: usize,
}

/// A parsed header plus how many bytes of the datagram the packet occupies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Parsed<'a> {
    pub header: Header<'a>,
    pub len: usize,
}

/// The largest connection ID QUIC v1/v2 allow.
const MAX_CID: usize = 20;

/// Parses a long-header packet at the start of `buf`; `None` if it is not one this
/// crate understands (unknown version, malformed, truncated).
pub fn parse_long(buf: &[u8]) -> Option<Parsed<'_>> {
    let mut r = Reader::new(buf);
    let first = r.u8()?;
    if first & 0x80 == 0 {
        return None;
    }
    let version = r.u32()?;
    let dcid = r.vec8()?;
    let scid = r.vec8()?;
    // QUIC v1/v2 CIDs fit 20 bytes; a longer one (only legal in Version Negotiation
    // for other versions) is not something this crate decodes.
    if dcid.len() > MAX_CID || scid.len() > MAX_CID {
        return None;
    }
    if version == 0 {
        let list = r.rest();
        if list.is_empty() || !list.len().is_multiple_of(4) {
            return None;
        }
        let versions = list
            .chunks_exact(4)
            .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        return Some(Parsed {
            header: Header::VersionNegotiation {
                dcid,
                scid,
                versions,
            },
            len: buf.len(),
        });
    }
    let params = version::params(version)?;
    if dcid.len() > MAX_CID || scid.len() > MAX_CID {
        return None;
    }
    let kind = params.long_type(first);
    if kind == LongType::Retry {
        let token_len = r.remaining().checked_sub(16)?;
        let token = r.bytes(token_len)?;
        return Some(Parsed {
            header: Header::Retry {
                version,
                dcid,
                scid,
                token,
            },
            len: buf.len(),
        });
    }
    let token = if kind == LongType::Initial {
        let token_len = r.varint_len()?;
        Some(r.bytes(token_len)?)
    } else {
        None
    };
    let length = r.varint_len()?;
    let pn_offset = r.position();
    let len = pn_offset
        .checked_add(length)
        .filter(|end| *end <= buf.len())?;
    Some(Parsed {
        header: Header::Long(LongHeader {
            version,
            kind,
            dcid,
            scid,
            token,
            pn_offset,
        }),
        len,
    })
}

/// A short-header packet fills the rest of the datagram.
pub fn parse_short(buf: &[u8], dcid_len: usize) -> Option<Parsed<'_>> {
    let first = *buf.first()?;
    if first & 0xc0 != 0x40 {
        return None;
    }
    let dcid = buf.get(1..1 + dcid_len)?;
    Some(Parsed {
        header: Header::Short { dcid },
        len: buf.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_negotiation() {
        let p = [
            0x80, 0, 0, 0, 0, 1, 0xaa, 0, 0, 0, 0, 1, 0x6b, 0x33, 0x43, 0xcf,
        ];
        let parsed = parse_long(&p).unwrap();
        assert_eq!(
            parsed.header,
            Header::VersionNegotiation {
                dcid: &[0xaa],
                scid: &[],
                versions: vec![1, version::VERSION_2]
            }
        );
    }

    #[test]
    fn unknown_version_and_truncation() {
        assert!(parse_long(&[0xc0, 0x57, 0x41, 0x49, 0x54, 0, 0]).is_none());
        assert!(parse_long(&[0xc0, 0, 0, 0, 1, 4, 1]).is_none());
        assert!(parse_short(&[0x40, 1, 2], 8).is_none());
    }
}
