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
    /// A long header of a version this crate does not decode: only the
    /// version-independent fields (RFC 8999 §5.1) are known, and the packet's extent
    /// is not, so it takes the rest of the datagram.
    UnknownVersion {
        version: u32,
        dcid: &'a [u8],
        scid: &'a [u8],
    },
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

/// Parses a long-header packet at the start of `buf`; `None` if it is malformed or
/// truncated, or its CIDs are longer than QUIC v1/v2 allow.
/// The shortest packet number and payload that header protection can
/// sample: 4 bytes assumed for the packet number and a 16-byte sample.
pub const MIN_PROTECTED_LENGTH: usize = 4 + 16;

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
    let Some(params) = version::params(version) else {
        return Some(Parsed {
            header: Header::UnknownVersion {
                version,
                dcid,
                scid,
            },
            len: buf.len(),
        });
    };
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
    // Header protection samples 16 bytes starting 4 bytes after the packet
    // number's offset (RFC 9001 §5.4.2), so every real packet is at least
    // that long; shorter "packets" are padding, and counting them as
    // packets would let a few bytes of capture cost a packet record each.
    if length < MIN_PROTECTED_LENGTH {
        return None;
    }
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

/// Whether `first` can start a short-header packet. The fixed bit tells QUIC from
/// other traffic unless the receiver advertised grease_quic_bit (RFC 9287), which
/// lets the sender clear it.
pub fn is_short(first: u8, fixed_bit_optional: bool) -> bool {
    first & 0x80 == 0 && (fixed_bit_optional || first & 0x40 != 0)
}

/// A short-header packet fills the rest of the datagram.
pub fn parse_short(buf: &[u8], dcid_len: usize, fixed_bit_optional: bool) -> Option<Parsed<'_>> {
    if !is_short(*buf.first()?, fixed_bit_optional) {
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
        let p = [
            0xc3, 0xaa, 0xaa, 0xaa, 0xaa, 2, 0xd1, 0xd2, 1, 0x51, 0xee, 0xee,
        ];
        assert_eq!(
            parse_long(&p),
            Some(Parsed {
                header: Header::UnknownVersion {
                    version: 0xaaaa_aaaa,
                    dcid: &[0xd1, 0xd2],
                    scid: &[0x51]
                },
                len: 12
            })
        );
        assert!(parse_long(&p[..7]).is_none(), "cut inside the DCID");
        let mut long_cid = vec![0xc0, 0xaa, 0xaa, 0xaa, 0xaa, 21];
        long_cid.extend([0; 22]);
        assert!(parse_long(&long_cid).is_none());
        assert!(parse_long(&[0xc0, 0, 0, 0, 1, 4, 1]).is_none());
        assert!(parse_short(&[0x40, 1, 2], 8, false).is_none());
    }

    #[test]
    fn cleared_fixed_bit_only_where_grease_quic_bit_allows_it() {
        let packet = [0x01, 0xaa, 0xbb, 0, 0];
        assert!(parse_short(&packet, 2, false).is_none());
        let parsed = parse_short(&packet, 2, true).unwrap();
        assert_eq!(
            parsed.header,
            Header::Short {
                dcid: &[0xaa, 0xbb]
            }
        );
        assert_eq!(parsed.len, 5);
        assert!(parse_short(&[0x41, 0xaa, 0xbb], 2, false).is_some());
        assert!(parse_short(&[0xc1, 0xaa, 0xbb], 2, true).is_none());
    }
}
