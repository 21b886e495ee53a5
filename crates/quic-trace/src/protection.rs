//! Removing QUIC packet protection (RFC 9001 §5): header protection, packet number
//! recovery, AEAD.

use crate::keylog::KeyLog;
use crate::keys::{self, DirKeys, Level};
use crate::packet::Direction;
use crate::version;

/// Why a packet's protection could not be removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OpenError {
    Keys(keys::KeyError),
    NoSample,
    NoMask,
    PacketNumberCut,
    Authentication,
}

impl OpenError {
    /// The packet is not what its header claims (a damaged packet, or
    /// bytes that are no packet at all): the keys were there.
    pub(crate) fn is_auth_failure(self) -> bool {
        matches!(self, OpenError::NoSample | OpenError::Authentication)
    }
}

impl std::fmt::Display for OpenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            OpenError::Keys(e) => return e.fmt(f),
            OpenError::NoSample => "the packet is too short for a header protection sample",
            OpenError::NoMask => "header protection could not be removed",
            OpenError::PacketNumberCut => "the packet number is cut short",
            OpenError::Authentication => {
                "payload authentication failed: wrong keys or a damaged packet"
            }
        })
    }
}

impl From<keys::KeyError> for OpenError {
    fn from(e: keys::KeyError) -> OpenError {
        OpenError::Keys(e)
    }
}

/// Which header form a packet has, as far as header protection cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Form {
    Long,
    Short,
    /// A short header whose reserved bits (0x18) carry loss bits
    /// (draft-ferrieuxhamchaoui-quic-lossbits §5): observers on the path must read
    /// them, so header protection does not cover them.
    ShortWithLossBits,
}

impl Form {
    /// The first-byte bits header protection covers (RFC 9001 §5.4.1).
    fn protected_bits(self) -> u8 {
        match self {
            Form::Long => 0x0f,
            Form::Short => 0x1f,
            Form::ShortWithLossBits => 0x07,
        }
    }
}

/// Result of removing packet protection.
pub(crate) struct Opened {
    pub(crate) pn: u64,
    pub(crate) key_phase: u8,
    pub(crate) payload_start: usize,
    pub(crate) plain_len: usize,
}

/// Removes header protection, recovers the packet number and decrypts the payload in
/// place (RFC 9001 §5.3–5.4).
pub(crate) fn unprotect(
    keys: &mut DirKeys,
    largest: Option<u64>,
    packet: &mut [u8],
    pn_offset: usize,
    form: Form,
) -> Result<Opened, OpenError> {
    let sample = packet
        .get(pn_offset + 4..pn_offset + 20)
        .ok_or(OpenError::NoSample)?;
    let mask = keys.header.mask(sample).ok_or(OpenError::NoMask)?;
    packet[0] ^= mask[0] & form.protected_bits();
    let pn_len = usize::from(packet[0] & 0x03) + 1;
    let mut truncated: u64 = 0;
    for i in 0..pn_len {
        let b = packet
            .get_mut(pn_offset + i)
            .ok_or(OpenError::PacketNumberCut)?;
        *b ^= mask[1 + i];
        truncated = (truncated << 8) | u64::from(*b);
    }
    let pn = decode_pn(largest, truncated, pn_len * 8);
    let key_phase = if form == Form::Long {
        0
    } else {
        (packet[0] >> 2) & 1
    };
    let payload_start = pn_offset + pn_len;
    let (head, payload) = packet.split_at_mut(payload_start);
    let plain_len = keys
        .open(key_phase, pn, head, payload)
        .ok_or(OpenError::Authentication)?;
    Ok(Opened {
        pn,
        key_phase,
        payload_start,
        plain_len,
    })
}

/// Whether a packet decrypts as a client Initial under keys from its own DCID.
pub(crate) fn initial_authenticates(
    version: u32,
    dcid: &[u8],
    bytes: &[u8],
    pn_offset: usize,
) -> bool {
    let tls = crate::tls::TlsSummary::default();
    let Ok(mut keys) = keys::derive(
        Level::Initial,
        Direction::ClientToServer,
        version,
        dcid,
        &tls,
        &KeyLog::default(),
    ) else {
        return false;
    };
    let mut copy = bytes.to_vec();
    unprotect(&mut keys, None, &mut copy, pn_offset, Form::Long).is_ok()
}

/// The version compatible version negotiation (RFC 9368) may switch to or from.
pub(crate) fn compatible_version(version: u32) -> Option<u32> {
    match version {
        version::VERSION_1 => Some(version::VERSION_2),
        version::VERSION_2 => Some(version::VERSION_1),
        _ => None,
    }
}

/// Packet number recovery (RFC 9000 §A.3).
pub fn decode_pn(largest: Option<u64>, truncated: u64, bits: usize) -> u64 {
    let expected = largest.map_or(0, |l| l + 1);
    let win = 1u64 << bits;
    let hwin = win / 2;
    let candidate = (expected & !(win - 1)) | truncated;
    if candidate + hwin <= expected && candidate < (1u64 << 62) - win {
        candidate + win
    } else if candidate > expected + hwin && candidate >= win {
        candidate - win
    } else {
        candidate
    }
}

/// Protects a packet the way a sender does: `header` is the plain header up to and
/// including the packet number, which starts at `pn_offset`.
#[cfg(test)]
pub(crate) fn protect(
    secret: &[u8],
    header: &[u8],
    pn_offset: usize,
    pn: u64,
    frames: &[u8],
    form: Form,
) -> Vec<u8> {
    let params = version::params(version::VERSION_1).unwrap();
    let suite = crate::crypto::Suite::Aes128Gcm;
    let (hp, aead) = crate::crypto::keys_from_secret(suite, params, secret).unwrap();
    let mut payload = frames.to_vec();
    aead.seal(pn, header, &mut payload);
    let mut packet = [header, &payload].concat();
    let mask = hp.mask(&packet[pn_offset + 4..pn_offset + 20]).unwrap();
    packet[0] ^= mask[0] & form.protected_bits();
    for i in 0..usize::from(header[0] & 0x03) + 1 {
        packet[pn_offset + i] ^= mask[1 + i];
    }
    packet
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loss_bits_are_left_out_of_header_protection() {
        let secret = [7u8; 32];
        // Short header, both loss bits (0x18) set, key phase 0, 1-byte packet number.
        let header = [0x58, 0xaa, 0xbb, 0xcc, 0xdd, 0x2a];
        let frames = [0x01, 0x00, 0x00, 0x00];
        let packet = protect(&secret, &header, 5, 42, &frames, Form::ShortWithLossBits);
        assert_eq!(
            packet[0] & 0xf8,
            0x58,
            "fixed bit and loss bits in the clear"
        );
        let mut keys = DirKeys::from_secret(crate::crypto::Suite::Aes128Gcm, 1, &secret).unwrap();

        let mut plain = packet.clone();
        let opened =
            unprotect(&mut keys, Some(41), &mut plain, 5, Form::ShortWithLossBits).unwrap();
        assert_eq!(
            (opened.pn, opened.key_phase, opened.payload_start),
            (42, 0, 6)
        );
        assert_eq!(&plain[..6], &header);
        assert_eq!(&plain[6..6 + opened.plain_len], &frames);

        // The RFC 9001 mask would flip the loss bits into the header the AEAD covers.
        let mut wrong = packet.clone();
        let err = unprotect(&mut keys, Some(41), &mut wrong, 5, Form::Short)
            .err()
            .unwrap();
        assert_eq!(err, OpenError::Authentication);
    }

    #[test]
    fn packet_number_recovery_rfc_example() {
        assert_eq!(decode_pn(Some(0xa82f30ea), 0x9b32, 16), 0xa82f9b32);
        assert_eq!(decode_pn(None, 0, 8), 0);
        assert_eq!(decode_pn(Some(0xff), 0x02, 8), 0x102);
    }
}
