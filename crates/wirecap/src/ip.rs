//! IPv4 / IPv6 (with extension headers) and UDP: find the UDP datagram in an IP packet,
//! with its addresses and the IP ECN field. Non-UDP traffic and IP fragments after the
//! first yield `None`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// A UDP datagram with the IP facts a QUIC analysis needs.
#[derive(Clone, Debug)]
pub struct UdpDatagram<'a> {
    pub src: SocketAddr,
    pub dst: SocketAddr,
    /// The two ECN bits of the IP header: 0 not-ECT, 1 ECT(1), 2 ECT(0), 3 CE.
    pub ecn: u8,
    pub payload: &'a [u8],
}

const PROTO_UDP: u8 = 17;

pub fn udp_datagram(packet: &[u8]) -> Option<UdpDatagram<'_>> {
    match packet.first()? >> 4 {
        4 => ipv4(packet),
        6 => ipv6(packet),
        _ => None,
    }
}

fn ipv4(p: &[u8]) -> Option<UdpDatagram<'_>> {
    let header_len = usize::from(p.first()? & 0x0f) * 4;
    let total_len = usize::from(u16::from_be_bytes([*p.get(2)?, *p.get(3)?]));
    let fragment = u16::from_be_bytes([*p.get(6)?, *p.get(7)?]) & 0x1fff;
    if header_len < 20 || fragment != 0 || *p.get(9)? != PROTO_UDP {
        return None;
    }
    let src = IpAddr::V4(Ipv4Addr::from(<[u8; 4]>::try_from(p.get(12..16)?).ok()?));
    let dst = IpAddr::V4(Ipv4Addr::from(<[u8; 4]>::try_from(p.get(16..20)?).ok()?));
    // Offloaded captures may show total_len 0; trust the captured bytes then.
    let end = if total_len >= header_len {
        total_len.min(p.len())
    } else {
        p.len()
    };
    udp(src, dst, p[1] & 0x03, p.get(header_len..end)?)
}

fn ipv6(p: &[u8]) -> Option<UdpDatagram<'_>> {
    let fixed = p.get(..40)?;
    let traffic_class = ((fixed[0] & 0x0f) << 4) | (fixed[1] >> 4);
    let payload_len = usize::from(u16::from_be_bytes([fixed[4], fixed[5]]));
    let src = IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(&fixed[8..24]).ok()?));
    let dst = IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(&fixed[24..40]).ok()?));
    let end = if payload_len == 0 {
        p.len()
    } else {
        (40 + payload_len).min(p.len())
    };
    let mut next = fixed[6];
    let mut at = 40;
    loop {
        match next {
            PROTO_UDP => return udp(src, dst, traffic_class & 0x03, p.get(at..end)?),
            // Hop-by-hop, routing, destination options, mobility: length in 8-octet units.
            0 | 43 | 60 | 135 => {
                next = *p.get(at)?;
                at += (usize::from(*p.get(at + 1)?) + 1) * 8;
            }
            44 => {
                let offset = u16::from_be_bytes([*p.get(at + 2)?, *p.get(at + 3)?]) >> 3;
                if offset != 0 {
                    return None;
                }
                next = *p.get(at)?;
                at += 8;
            }
            // Authentication header: length in 4-octet units, minus 2.
            51 => {
                next = *p.get(at)?;
                at += (usize::from(*p.get(at + 1)?) + 2) * 4;
            }
            _ => return None,
        }
    }
}

fn udp(src: IpAddr, dst: IpAddr, ecn: u8, seg: &[u8]) -> Option<UdpDatagram<'_>> {
    let header = seg.get(..8)?;
    let sport = u16::from_be_bytes([header[0], header[1]]);
    let dport = u16::from_be_bytes([header[2], header[3]]);
    let len = usize::from(u16::from_be_bytes([header[4], header[5]]));
    let end = if len >= 8 {
        len.min(seg.len())
    } else {
        seg.len()
    };
    Some(UdpDatagram {
        src: SocketAddr::new(src, sport),
        dst: SocketAddr::new(dst, dport),
        ecn,
        payload: &seg[8..end],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_udp_with_ecn() {
        let mut p = vec![
            0x45, 0x02, 0, 31, 0, 0, 0x40, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
        ];
        p.extend_from_slice(&[0x01, 0xbb, 0x30, 0x39, 0, 11, 0, 0, b'a', b'b', b'c']);
        let d = udp_datagram(&p).unwrap();
        assert_eq!(d.src.to_string(), "10.0.0.1:443");
        assert_eq!(d.dst.to_string(), "10.0.0.2:12345");
        assert_eq!(d.ecn, 2);
        assert_eq!(d.payload, b"abc");
    }

    #[test]
    fn ipv6_extension_header_then_udp() {
        let mut p = vec![0x60, 0x30, 0, 0, 0, 19, 0, 64];
        p.extend_from_slice(&[0; 15]);
        p.push(1);
        p.extend_from_slice(&[0; 15]);
        p.push(2);
        // Destination options header, 8 bytes, next header UDP.
        p.extend_from_slice(&[17, 0, 1, 4, 0, 0, 0, 0]);
        p.extend_from_slice(&[0, 1, 0, 2, 0, 11, 0, 0, 1, 2, 3]);
        let d = udp_datagram(&p).unwrap();
        assert_eq!(d.src.to_string(), "[::1]:1");
        assert_eq!(d.ecn, 3);
        assert_eq!(d.payload, &[1, 2, 3]);
    }

    #[test]
    fn tcp_is_skipped() {
        let p = vec![
            0x45, 0, 0, 20, 0, 0, 0, 0, 64, 6, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2,
        ];
        assert!(udp_datagram(&p).is_none());
    }
}
