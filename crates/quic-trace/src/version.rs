//! What differs between QUIC versions: Initial salt, Retry integrity key, HKDF labels
//! and the long-header packet type numbering (RFC 9000/9001, RFC 9369).

pub const VERSION_1: u32 = 0x0000_0001;
pub const VERSION_2: u32 = 0x6b33_43cf;
pub const DRAFT_29: u32 = 0xff00_001d;

/// The long-header packet types, independent of how a version numbers them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LongType {
    Initial,
    ZeroRtt,
    Handshake,
    Retry,
}

/// Per-version constants of the packet protection.
#[derive(Debug)]
pub struct VersionParams {
    pub initial_salt: [u8; 20],
    pub retry_key: [u8; 16],
    pub retry_nonce: [u8; 12],
    pub key_label: &'static [u8],
    pub iv_label: &'static [u8],
    pub hp_label: &'static [u8],
    pub ku_label: &'static [u8],
    v2_types: bool,
}

const V1_PARAMS: VersionParams = VersionParams {
    initial_salt: [
        0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17, 0x9a, 0xe6, 0xa4, 0xc8, 0x0c,
        0xad, 0xcc, 0xbb, 0x7f, 0x0a,
    ],
    retry_key: [
        0xbe, 0x0c, 0x69, 0x0b, 0x9f, 0x66, 0x57, 0x5a, 0x1d, 0x76, 0x6b, 0x54, 0xe3, 0x68, 0xc8,
        0x4e,
    ],
    retry_nonce: [
        0x46, 0x15, 0x99, 0xd3, 0x5d, 0x63, 0x2b, 0xf2, 0x23, 0x98, 0x25, 0xbb,
    ],
    key_label: b"quic key",
    iv_label: b"quic iv",
    hp_label: b"quic hp",
    ku_label: b"quic ku",
    v2_types: false,
};

const V2_PARAMS: VersionParams = VersionParams {
    initial_salt: [
        0x0d, 0xed, 0xe3, 0xde, 0xf7, 0x00, 0xa6, 0xdb, 0x81, 0x93, 0x81, 0xbe, 0x6e, 0x26, 0x9d,
        0xcb, 0xf9, 0xbd, 0x2e, 0xd9,
    ],
    retry_key: [
        0x8f, 0xb4, 0xb0, 0x1b, 0x56, 0xac, 0x48, 0xe2, 0x60, 0xfb, 0xcb, 0xce, 0xad, 0x7c, 0xcc,
        0x92,
    ],
    retry_nonce: [
        0xd8, 0x69, 0x69, 0xbc, 0x2d, 0x7c, 0x6d, 0x99, 0x90, 0xef, 0xb0, 0x4a,
    ],
    key_label: b"quicv2 key",
    iv_label: b"quicv2 iv",
    hp_label: b"quicv2 hp",
    ku_label: b"quicv2 ku",
    v2_types: true,
};

const DRAFT_29_PARAMS: VersionParams = VersionParams {
    initial_salt: [
        0xaf, 0xbf, 0xec, 0x28, 0x99, 0x93, 0xd2, 0x4c, 0x9e, 0x97, 0x86, 0xf1, 0x9c, 0x61, 0x11,
        0xe0, 0x43, 0x90, 0xa8, 0x99,
    ],
    retry_key: [
        0xcc, 0xce, 0x18, 0x7e, 0xd0, 0x9a, 0x09, 0xd0, 0x57, 0x28, 0x15, 0x5a, 0x6c, 0xb9, 0x6b,
        0xe1,
    ],
    retry_nonce: [
        0xe5, 0x49, 0x30, 0xf9, 0x7f, 0x21, 0x36, 0xf0, 0x53, 0x0a, 0x8c, 0x1c,
    ],
    key_label: b"quic key",
    iv_label: b"quic iv",
    hp_label: b"quic hp",
    ku_label: b"quic ku",
    v2_types: false,
};

/// The constants of a version this crate can decrypt, `None` for any other.
pub fn params(version: u32) -> Option<&'static VersionParams> {
    match version {
        VERSION_1 => Some(&V1_PARAMS),
        VERSION_2 => Some(&V2_PARAMS),
        DRAFT_29 => Some(&DRAFT_29_PARAMS),
        _ => None,
    }
}

impl VersionParams {
    /// Maps the two type bits of a long header's first byte to the packet type.
    pub fn long_type(&self, first_byte: u8) -> LongType {
        let bits = (first_byte >> 4) & 0x03;
        let order = if self.v2_types {
            [
                LongType::Retry,
                LongType::Initial,
                LongType::ZeroRtt,
                LongType::Handshake,
            ]
        } else {
            [
                LongType::Initial,
                LongType::ZeroRtt,
                LongType::Handshake,
                LongType::Retry,
            ]
        };
        order[usize::from(bits)]
    }
}
