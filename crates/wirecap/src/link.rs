//! Link layers: strip the Ethernet / Linux cooked / raw framing and hand back the IP
//! packet. Anything that is not IP yields `None` and is skipped by the caller.

/// LINKTYPE_* values this crate understands.
pub const LINKTYPE_NULL: u32 = 0;
pub const LINKTYPE_ETHERNET: u32 = 1;
pub const LINKTYPE_RAW: u32 = 101;
pub const LINKTYPE_LINUX_SLL: u32 = 113;
pub const LINKTYPE_IPV4: u32 = 228;
pub const LINKTYPE_IPV6: u32 = 229;
pub const LINKTYPE_LINUX_SLL2: u32 = 276;
/// DLT_RAW as some systems number it.
const LINKTYPE_RAW_ALT: u32 = 12;

const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_IPV6: u16 = 0x86dd;
const ETHERTYPE_VLAN: [u16; 3] = [0x8100, 0x88a8, 0x9100];

/// The IP packet inside a link-layer frame, if it carries one.
pub fn ip_payload(link_type: u32, frame: &[u8]) -> Option<&[u8]> {
    match link_type {
        LINKTYPE_ETHERNET => ethernet(frame),
        LINKTYPE_LINUX_SLL => ip_if_ethertype(be16(frame, 14)?, frame.get(16..)?),
        LINKTYPE_LINUX_SLL2 => ip_if_ethertype(be16(frame, 0)?, frame.get(20..)?),
        LINKTYPE_RAW | LINKTYPE_RAW_ALT | LINKTYPE_IPV4 | LINKTYPE_IPV6 => Some(frame),
        // BSD loopback: a 4-byte address family in the writer's byte order; the IP
        // version nibble tells the rest.
        LINKTYPE_NULL => frame.get(4..),
        _ => None,
    }
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

fn ethernet(frame: &[u8]) -> Option<&[u8]> {
    let mut at = 12;
    let mut ethertype = be16(frame, at)?;
    while ETHERTYPE_VLAN.contains(&ethertype) {
        at += 4;
        ethertype = be16(frame, at)?;
    }
    ip_if_ethertype(ethertype, frame.get(at + 2..)?)
}

fn ip_if_ethertype(ethertype: u16, rest: &[u8]) -> Option<&[u8]> {
    matches!(ethertype, ETHERTYPE_IPV4 | ETHERTYPE_IPV6).then_some(rest)
}
