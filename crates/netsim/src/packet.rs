//! Reading and rewriting IPv4/IPv6 packets with a UDP or TCP payload: just the
//! fields the simulator needs, with checksums kept valid after every change.
//!
//! Not `wirecap::ip`, which reads captures: a forwarded packet is rewritten
//! in place, so its lengths must fit the buffer exactly, while a capture
//! reader must tolerate offloaded frames (zero lengths) and walk IPv6
//! extension headers to find a datagram.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

pub const PROTO_TCP: u8 = 6;
pub const PROTO_UDP: u8 = 17;

/// Where the interesting parts of an IP packet are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IpInfo {
    pub src: IpAddr,
    pub dst: IpAddr,
    /// Transport protocol (IPv6: the first next-header; extension headers are not followed).
    pub protocol: u8,
    /// Offset of the transport header.
    pub l4_offset: usize,
    /// Length of the IP packet according to its header (may be less than the buffer).
    pub total_len: usize,
}

/// Why a buffer is not a packet the simulator can work with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PacketError {
    Truncated,
    BadVersion(u8),
    BadHeaderLength,
}

impl std::error::Error for PacketError {}

impl std::fmt::Display for PacketError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PacketError::Truncated => write!(f, "packet shorter than its headers say"),
            PacketError::BadVersion(v) => write!(f, "IP version {v} is neither 4 nor 6"),
            PacketError::BadHeaderLength => write!(f, "IPv4 header length below 20 bytes"),
        }
    }
}

/// Parses the IP header at the start of `packet`.
pub fn parse_ip(packet: &[u8]) -> Result<IpInfo, PacketError> {
    let first: u8 = *packet.first().ok_or(PacketError::Truncated)?;
    match first >> 4 {
        4 => parse_ipv4(packet),
        6 => parse_ipv6(packet),
        other => Err(PacketError::BadVersion(other)),
    }
}

fn parse_ipv4(packet: &[u8]) -> Result<IpInfo, PacketError> {
    if packet.len() < 20 {
        return Err(PacketError::Truncated);
    }
    let header_len: usize = usize::from(packet[0] & 0x0f) * 4;
    if header_len < 20 {
        return Err(PacketError::BadHeaderLength);
    }
    let total_len: usize = usize::from(u16::from_be_bytes([packet[2], packet[3]]));
    if total_len < header_len || total_len > packet.len() {
        return Err(PacketError::Truncated);
    }
    Ok(IpInfo {
        src: IpAddr::V4(Ipv4Addr::new(
            packet[12], packet[13], packet[14], packet[15],
        )),
        dst: IpAddr::V4(Ipv4Addr::new(
            packet[16], packet[17], packet[18], packet[19],
        )),
        protocol: packet[9],
        l4_offset: header_len,
        total_len,
    })
}

fn parse_ipv6(packet: &[u8]) -> Result<IpInfo, PacketError> {
    if packet.len() < 40 {
        return Err(PacketError::Truncated);
    }
    let payload_len: usize = usize::from(u16::from_be_bytes([packet[4], packet[5]]));
    let total_len: usize = 40 + payload_len;
    if total_len > packet.len() {
        return Err(PacketError::Truncated);
    }
    let src: [u8; 16] = packet[8..24]
        .try_into()
        .map_err(|_| PacketError::Truncated)?;
    let dst: [u8; 16] = packet[24..40]
        .try_into()
        .map_err(|_| PacketError::Truncated)?;
    Ok(IpInfo {
        src: IpAddr::V6(Ipv6Addr::from(src)),
        dst: IpAddr::V6(Ipv6Addr::from(dst)),
        protocol: packet[6],
        l4_offset: 40,
        total_len,
    })
}

/// The UDP payload range of `packet`, if it is a complete UDP datagram.
pub fn udp_payload_range(packet: &[u8], info: &IpInfo) -> Option<std::ops::Range<usize>> {
    if info.protocol != PROTO_UDP || info.total_len < info.l4_offset + 8 {
        return None;
    }
    Some(info.l4_offset + 8..info.total_len).filter(|range| range.end <= packet.len())
}

/// Source and destination ports of a UDP or TCP packet.
pub fn ports(packet: &[u8], info: &IpInfo) -> Option<(u16, u16)> {
    if info.protocol != PROTO_UDP && info.protocol != PROTO_TCP {
        return None;
    }
    let at: usize = info.l4_offset;
    let header: &[u8] = packet.get(at..at + 4)?;
    Some((
        u16::from_be_bytes([header[0], header[1]]),
        u16::from_be_bytes([header[2], header[3]]),
    ))
}

/// True for a QUIC Version Negotiation packet (long header, version 0).
pub fn is_version_negotiation(udp_payload: &[u8]) -> bool {
    udp_payload.len() > 5 && udp_payload[0] & 0x80 != 0 && udp_payload[1..5] == [0, 0, 0, 0]
}

/// Rewrites the source address (same family as the packet's).
pub fn set_src_addr(packet: &mut [u8], addr: IpAddr) {
    write_addr(packet, addr, 12, 8);
}

/// Rewrites the destination address (same family as the packet's).
pub fn set_dst_addr(packet: &mut [u8], addr: IpAddr) {
    write_addr(packet, addr, 16, 24);
}

fn write_addr(packet: &mut [u8], addr: IpAddr, v4_at: usize, v6_at: usize) {
    match addr {
        IpAddr::V4(a) if packet.len() >= 20 => {
            packet[v4_at..v4_at + 4].copy_from_slice(&a.octets())
        }
        IpAddr::V6(a) if packet.len() >= 40 => {
            packet[v6_at..v6_at + 16].copy_from_slice(&a.octets())
        }
        _ => {}
    }
}

/// Rewrites the transport source port (UDP or TCP).
pub fn set_src_port(packet: &mut [u8], info: &IpInfo, port: u16) {
    if let Some(field) = packet.get_mut(info.l4_offset..info.l4_offset + 2) {
        field.copy_from_slice(&port.to_be_bytes());
    }
}

/// Rewrites the transport destination port (UDP or TCP).
pub fn set_dst_port(packet: &mut [u8], info: &IpInfo, port: u16) {
    if let Some(field) = packet.get_mut(info.l4_offset + 2..info.l4_offset + 4) {
        field.copy_from_slice(&port.to_be_bytes());
    }
}

/// Recomputes the IPv4 header checksum.
pub fn fix_ipv4_header_checksum(packet: &mut [u8]) {
    if packet.len() < 20 || packet[0] >> 4 != 4 {
        return;
    }
    let header_len: usize = (usize::from(packet[0] & 0x0f) * 4).min(packet.len());
    packet[10] = 0;
    packet[11] = 0;
    let sum: u16 = finish(add_bytes(0, &packet[..header_len]));
    packet[10..12].copy_from_slice(&sum.to_be_bytes());
}

/// Recomputes the UDP or TCP checksum over the pseudo header and the segment.
/// An IPv4 UDP datagram sent without checksum (zero) keeps none. Returns false
/// when the packet is neither UDP nor TCP or is too short.
pub fn fix_l4_checksum(packet: &mut [u8], info: &IpInfo) -> bool {
    let field: usize = match info.protocol {
        PROTO_UDP => 6,
        PROTO_TCP => 16,
        _ => return false,
    };
    let start: usize = info.l4_offset;
    let end: usize = info.total_len.min(packet.len());
    if end < start + field + 2 {
        return false;
    }
    let is_v4_udp: bool = info.protocol == PROTO_UDP && info.src.is_ipv4();
    if is_v4_udp && packet[start + field] == 0 && packet[start + field + 1] == 0 {
        return true;
    }
    packet[start + field] = 0;
    packet[start + field + 1] = 0;
    let mut sum: u64 = pseudo_header_sum(info, (end - start) as u32);
    sum = add_bytes(sum, &packet[start..end]);
    let mut checksum: u16 = finish(sum);
    if checksum == 0 && info.protocol == PROTO_UDP {
        checksum = 0xffff;
    }
    packet[start + field..start + field + 2].copy_from_slice(&checksum.to_be_bytes());
    true
}

/// True when the UDP or TCP checksum of the packet verifies (used by tests and
/// to decide whether a received packet needs fixing).
pub fn l4_checksum_ok(packet: &[u8], info: &IpInfo) -> bool {
    let start: usize = info.l4_offset;
    let end: usize = info.total_len.min(packet.len());
    if end < start + 8 {
        return false;
    }
    if info.protocol == PROTO_UDP
        && info.src.is_ipv4()
        && packet[start + 6] == 0
        && packet[start + 7] == 0
    {
        return true;
    }
    let sum: u64 = add_bytes(
        pseudo_header_sum(info, (end - start) as u32),
        &packet[start..end],
    );
    finish(sum) == 0
}

fn pseudo_header_sum(info: &IpInfo, l4_len: u32) -> u64 {
    let mut sum: u64 = 0;
    match (info.src, info.dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            sum = add_bytes(sum, &s.octets());
            sum = add_bytes(sum, &d.octets());
        }
        (s, d) => {
            sum = add_bytes(sum, &ip_octets16(s));
            sum = add_bytes(sum, &ip_octets16(d));
        }
    }
    sum + u64::from(info.protocol) + u64::from(l4_len)
}

fn ip_octets16(addr: IpAddr) -> [u8; 16] {
    match addr {
        IpAddr::V4(a) => a.to_ipv6_mapped().octets(),
        IpAddr::V6(a) => a.octets(),
    }
}

/// One's-complement sum of big-endian 16-bit words (odd tail padded with zero).
fn add_bytes(mut sum: u64, bytes: &[u8]) -> u64 {
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        let word: u64 = u64::from_be_bytes(chunk.try_into().unwrap_or([0; 8]));
        sum += (word >> 48) + ((word >> 32) & 0xffff) + ((word >> 16) & 0xffff) + (word & 0xffff);
    }
    let rest: &[u8] = chunks.remainder();
    let mut pairs = rest.chunks_exact(2);
    for pair in &mut pairs {
        sum += u64::from(u16::from_be_bytes([pair[0], pair[1]]));
    }
    if let [last] = pairs.remainder() {
        sum += u64::from(*last) << 8;
    }
    sum
}

fn finish(mut sum: u64) -> u16 {
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// Decrements the IPv4 TTL / IPv6 hop limit as a router does; false when it
/// has run out (the packet must then be dropped).
pub fn decrement_hop_limit(packet: &mut [u8]) -> bool {
    let at: usize = match packet.first().map(|b| b >> 4) {
        Some(4) if packet.len() >= 20 => 8,
        Some(6) if packet.len() >= 40 => 7,
        _ => return false,
    };
    if packet[at] <= 1 {
        return false;
    }
    packet[at] -= 1;
    if at == 8 {
        fix_ipv4_header_checksum(packet);
    }
    true
}

#[cfg(test)]
pub mod testing {
    //! Builders of well-formed packets for unit tests.
    use super::*;

    pub fn udp_packet(src: IpAddr, dst: IpAddr, sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
        l4_packet(src, dst, PROTO_UDP, &udp_segment(sport, dport, payload))
    }

    pub fn udp_segment(sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
        let mut segment: Vec<u8> = Vec::new();
        segment.extend_from_slice(&sport.to_be_bytes());
        segment.extend_from_slice(&dport.to_be_bytes());
        segment.extend_from_slice(&((payload.len() + 8) as u16).to_be_bytes());
        segment.extend_from_slice(&[0x12, 0x34]);
        segment.extend_from_slice(payload);
        segment
    }

    pub fn l4_packet(src: IpAddr, dst: IpAddr, protocol: u8, segment: &[u8]) -> Vec<u8> {
        let mut packet: Vec<u8> = match (src, dst) {
            (IpAddr::V4(s), IpAddr::V4(d)) => {
                let mut h: Vec<u8> = vec![0x45, 0, 0, 0, 0, 1, 0x40, 0, 64, protocol, 0, 0];
                h[2..4].copy_from_slice(&((20 + segment.len()) as u16).to_be_bytes());
                h.extend_from_slice(&s.octets());
                h.extend_from_slice(&d.octets());
                h
            }
            (IpAddr::V6(s), IpAddr::V6(d)) => {
                let mut h: Vec<u8> = vec![0x60, 0, 0, 0, 0, 0, protocol, 64];
                h[4..6].copy_from_slice(&(segment.len() as u16).to_be_bytes());
                h.extend_from_slice(&s.octets());
                h.extend_from_slice(&d.octets());
                h
            }
            _ => panic!("mixed address families"),
        };
        packet.extend_from_slice(segment);
        fix_ipv4_header_checksum(&mut packet);
        let info: IpInfo = parse_ip(&packet).expect("built packet parses");
        fix_l4_checksum(&mut packet, &info);
        packet
    }
}

#[cfg(test)]
mod tests {
    use super::testing::*;
    use super::*;

    fn v4(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn parses_and_checksums_ipv4_udp() {
        let packet: Vec<u8> = udp_packet(
            v4("193.167.0.100"),
            v4("193.167.100.100"),
            5000,
            443,
            b"hello",
        );
        let info: IpInfo = parse_ip(&packet).unwrap();
        assert_eq!(info.protocol, PROTO_UDP);
        assert_eq!(ports(&packet, &info), Some((5000, 443)));
        assert!(l4_checksum_ok(&packet, &info));
        assert_eq!(
            &packet[udp_payload_range(&packet, &info).unwrap()],
            b"hello"
        );
    }

    #[test]
    fn ipv6_rewrite_keeps_checksum_valid() {
        let mut packet: Vec<u8> = udp_packet(
            v4("fd00:cafe:cafe::100"),
            v4("fd00:cafe:cafe:100::100"),
            5000,
            443,
            b"odd-length payload",
        );
        let info: IpInfo = parse_ip(&packet).unwrap();
        set_src_addr(&mut packet, v4("fd00:cafe:cafe::77"));
        set_src_port(&mut packet, &info, 6000);
        let info: IpInfo = parse_ip(&packet).unwrap();
        assert!(!l4_checksum_ok(&packet, &info));
        fix_l4_checksum(&mut packet, &info);
        assert!(l4_checksum_ok(&packet, &info));
        assert_eq!(info.src, v4("fd00:cafe:cafe::77"));
    }

    #[test]
    fn known_ipv4_header_checksum() {
        // Example header from RFC 1071 discussions (checksum 0xb861).
        let mut header: Vec<u8> = vec![
            0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0x00, 0x00, 0xc0, 0xa8,
            0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7,
        ];
        header.resize(0x73, 0);
        fix_ipv4_header_checksum(&mut header);
        assert_eq!(&header[10..12], &[0xb8, 0x61]);
    }

    #[test]
    fn bad_packets_are_errors() {
        assert_eq!(parse_ip(&[]), Err(PacketError::Truncated));
        assert_eq!(parse_ip(&[0x45, 0, 0]), Err(PacketError::Truncated));
        assert_eq!(parse_ip(&[0x25; 40]), Err(PacketError::BadVersion(2)));
        let mut packet: Vec<u8> = udp_packet(v4("10.0.0.1"), v4("10.0.0.2"), 1, 2, b"x");
        packet[2] = 0xff;
        assert_eq!(parse_ip(&packet), Err(PacketError::Truncated));
    }

    #[test]
    fn version_negotiation_detection() {
        assert!(is_version_negotiation(&[0x80, 0, 0, 0, 0, 8]));
        assert!(!is_version_negotiation(&[0xc0, 0, 0, 0, 1, 8]));
        assert!(!is_version_negotiation(&[0x40, 0, 0, 0, 0, 8]));
        assert!(!is_version_negotiation(&[0x80, 0, 0, 0, 0]));
    }

    #[test]
    fn hop_limit() {
        let mut packet: Vec<u8> = udp_packet(v4("10.0.0.1"), v4("10.0.0.2"), 1, 2, b"x");
        assert!(decrement_hop_limit(&mut packet));
        assert_eq!(packet[8], 63);
        let mut copy: Vec<u8> = packet.clone();
        fix_ipv4_header_checksum(&mut copy);
        assert_eq!(copy, packet);
        packet[8] = 1;
        assert!(!decrement_hop_limit(&mut packet));
    }
}
