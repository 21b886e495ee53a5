//! Splitting of segmentation-offload "super packets" (UDP GSO, TCP TSO) into
//! wire-sized packets, as the sender's NIC would have done. Endpoints that keep
//! offloads on hand such packets to the simulator over veth.

use crate::packet::{
    fix_ipv4_header_checksum, fix_l4_checksum, parse_ip, IpInfo, PacketError, PROTO_TCP, PROTO_UDP,
};

/// Kind of offload the kernel reported for a received packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GsoKind {
    Udp,
    Tcp,
}

/// Why an offload super-packet cannot be split.
#[derive(Debug, thiserror::Error)]
pub enum GsoError {
    #[error("segment size 0")]
    ZeroSegment,
    #[error(transparent)]
    Packet(#[from] PacketError),
    #[error("offload type {kind:?} does not match IP protocol {protocol}")]
    Mismatch { kind: GsoKind, protocol: u8 },
    #[error("UDP header truncated")]
    UdpTruncated,
    #[error("TCP header truncated")]
    TcpTruncated,
}

/// Splits `packet` into packets carrying at most `segment_size` payload bytes each.
pub fn segment(
    packet: &[u8],
    kind: GsoKind,
    segment_size: usize,
) -> Result<Vec<Vec<u8>>, GsoError> {
    if segment_size == 0 {
        return Err(GsoError::ZeroSegment);
    }
    let info: IpInfo = parse_ip(packet)?;
    let packet: &[u8] = &packet[..info.total_len];
    match (kind, info.protocol) {
        (GsoKind::Udp, PROTO_UDP) => segment_udp(packet, &info, segment_size),
        (GsoKind::Tcp, PROTO_TCP) => segment_tcp(packet, &info, segment_size),
        _ => Err(GsoError::Mismatch {
            kind,
            protocol: info.protocol,
        }),
    }
}

fn segment_udp(packet: &[u8], info: &IpInfo, size: usize) -> Result<Vec<Vec<u8>>, GsoError> {
    let header_end: usize = info.l4_offset + 8;
    if packet.len() < header_end {
        return Err(GsoError::UdpTruncated);
    }
    let headers: &[u8] = &packet[..header_end];
    let mut out: Vec<Vec<u8>> = Vec::new();
    for (index, chunk) in packet[header_end..].chunks(size).enumerate() {
        let mut piece: Vec<u8> = Vec::with_capacity(header_end + chunk.len());
        piece.extend_from_slice(headers);
        piece.extend_from_slice(chunk);
        let udp_len: u16 = (8 + chunk.len()) as u16;
        piece[info.l4_offset + 4..info.l4_offset + 6].copy_from_slice(&udp_len.to_be_bytes());
        // A GSO datagram's checksum field holds only a partial sum; force a real one.
        piece[info.l4_offset + 6] = 0xff;
        finish_piece(&mut piece, info, index)?;
        out.push(piece);
    }
    Ok(out)
}

fn segment_tcp(packet: &[u8], info: &IpInfo, size: usize) -> Result<Vec<Vec<u8>>, GsoError> {
    let at: usize = info.l4_offset;
    let data_offset: usize = usize::from(packet.get(at + 12).copied().unwrap_or(0) >> 4) * 4;
    let header_end: usize = at + data_offset;
    if data_offset < 20 || packet.len() < header_end {
        return Err(GsoError::TcpTruncated);
    }
    let headers: &[u8] = &packet[..header_end];
    let first_seq: u32 = u32::from_be_bytes([
        packet[at + 4],
        packet[at + 5],
        packet[at + 6],
        packet[at + 7],
    ]);
    let flags: u8 = packet[at + 13];
    let chunks: Vec<&[u8]> = packet[header_end..].chunks(size).collect();
    let last: usize = chunks.len().saturating_sub(1);
    let mut out: Vec<Vec<u8>> = Vec::with_capacity(chunks.len());
    for (index, chunk) in chunks.into_iter().enumerate() {
        let mut piece: Vec<u8> = Vec::with_capacity(header_end + chunk.len());
        piece.extend_from_slice(headers);
        piece.extend_from_slice(chunk);
        let seq: u32 = first_seq.wrapping_add((index * size) as u32);
        piece[at + 4..at + 8].copy_from_slice(&seq.to_be_bytes());
        // FIN and PSH belong to the last segment only, CWR to the first only.
        let mut piece_flags: u8 = flags;
        if index != last {
            piece_flags &= !(0x01 | 0x08);
        }
        if index != 0 {
            piece_flags &= !0x80;
        }
        piece[at + 13] = piece_flags;
        finish_piece(&mut piece, info, index)?;
        out.push(piece);
    }
    Ok(out)
}

/// Sets the IP length (and IPv4 id) of one segment and recomputes its checksums.
fn finish_piece(piece: &mut [u8], info: &IpInfo, index: usize) -> Result<(), GsoError> {
    let len: usize = piece.len();
    if info.src.is_ipv4() {
        piece[2..4].copy_from_slice(&(len as u16).to_be_bytes());
        let id: u16 = u16::from_be_bytes([piece[4], piece[5]]).wrapping_add(index as u16);
        piece[4..6].copy_from_slice(&id.to_be_bytes());
        fix_ipv4_header_checksum(piece);
    } else {
        piece[4..6].copy_from_slice(&((len - 40) as u16).to_be_bytes());
    }
    let piece_info: IpInfo = parse_ip(piece)?;
    fix_l4_checksum(piece, &piece_info);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::testing::{l4_packet, udp_packet};
    use crate::packet::{l4_checksum_ok, udp_payload_range};
    use std::net::IpAddr;

    fn addr(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn udp_super_datagram_is_split_by_segment_size() {
        let payload: Vec<u8> = (0..3000u32).map(|i| i as u8).collect();
        let packet: Vec<u8> = udp_packet(addr("fd00::1"), addr("fd00::2"), 4433, 443, &payload);
        let pieces: Vec<Vec<u8>> = segment(&packet, GsoKind::Udp, 1200).unwrap();
        assert_eq!(pieces.len(), 3);
        let mut joined: Vec<u8> = Vec::new();
        for piece in &pieces {
            let info: IpInfo = parse_ip(piece).unwrap();
            assert!(l4_checksum_ok(piece, &info));
            joined.extend_from_slice(&piece[udp_payload_range(piece, &info).unwrap()]);
        }
        assert_eq!(joined, payload);
        assert_eq!(pieces[2].len(), 40 + 8 + 600);
    }

    #[test]
    fn tcp_super_segment_advances_sequence_numbers() {
        let mut segment_bytes: Vec<u8> = vec![0; 20];
        segment_bytes[0..2].copy_from_slice(&5201u16.to_be_bytes());
        segment_bytes[4..8].copy_from_slice(&1000u32.to_be_bytes());
        segment_bytes[12] = 5 << 4;
        segment_bytes[13] = 0x18 | 0x01; // PSH ACK FIN
        segment_bytes.extend(std::iter::repeat_n(7u8, 2500));
        let packet: Vec<u8> = l4_packet(
            addr("10.0.0.1"),
            addr("10.0.0.2"),
            PROTO_TCP,
            &segment_bytes,
        );
        let pieces: Vec<Vec<u8>> = segment(&packet, GsoKind::Tcp, 1000).unwrap();
        assert_eq!(pieces.len(), 3);
        let seqs: Vec<u32> = pieces
            .iter()
            .map(|p| u32::from_be_bytes([p[24], p[25], p[26], p[27]]))
            .collect();
        assert_eq!(seqs, vec![1000, 2000, 3000]);
        assert_eq!(pieces[0][33], 0x10);
        assert_eq!(pieces[2][33], 0x19);
        for piece in &pieces {
            let info: IpInfo = parse_ip(piece).unwrap();
            assert!(l4_checksum_ok(piece, &info));
        }
    }

    #[test]
    fn mismatched_kind_is_an_error() {
        let packet: Vec<u8> = udp_packet(addr("10.0.0.1"), addr("10.0.0.2"), 1, 2, b"abc");
        assert!(segment(&packet, GsoKind::Tcp, 100).is_err());
        assert!(segment(&packet, GsoKind::Udp, 0).is_err());
        assert!(segment(&[0x45, 0], GsoKind::Udp, 10).is_err());
    }
}
