//! One pass over a capture: datagrams → QUIC packets, matched to connections by
//! connection ID and 4-tuple, decrypted where keys allow, frames and TLS parsed.

mod packets;
mod routing;
#[cfg(test)]
mod tests;

use std::net::SocketAddr;

use crate::capture::{for_each_frame, CapturedFrame};
use crate::cid::ConnectionId;
use crate::connection::Conn;
use crate::error::TraceError;
use crate::fasthash::FastMap;
use crate::header::{self, Header, LongHeader};
use crate::ip::{udp_datagram, UdpDatagram};
use crate::keylog::KeyLog;
use crate::keys::{self};
use crate::link::ip_payload;
use crate::packet::{Direction, PacketType, QuicPacket, Trace};

/// What the caller knows about the capture.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Server addresses; port 0 matches any port. Empty: the sender of a
    /// connection's first Initial is taken to be the client.
    pub server_addrs: Vec<SocketAddr>,
}

impl Options {
    fn is_server(&self, addr: SocketAddr) -> bool {
        self.server_addrs
            .iter()
            .any(|s| s.ip() == addr.ip() && (s.port() == 0 || s.port() == addr.port()))
    }
}

/// Reads a capture and analyses every QUIC packet in it.
pub fn analyze(capture: &[u8], keylog: &KeyLog, options: &Options) -> Result<Trace, TraceError> {
    let mut decoder = Decoder::new(keylog, options);
    // About one QUIC packet per kilobyte of capture in bulk transfers.
    decoder.packets.reserve(capture.len() / 1024);
    let warning = for_each_frame(capture, |frame| decoder.frame(&frame))?;
    let mut trace = decoder.finish();
    trace.warnings.extend(warning);
    Ok(trace)
}

/// Facts of the datagram every packet in it shares.
#[derive(Clone, Copy)]
struct Datagram {
    frame: u64,
    time_ns: u64,
    src: SocketAddr,
    dst: SocketAddr,
    ecn: u8,
    len: usize,
}

struct Decoder<'k> {
    keylog: &'k KeyLog,
    options: &'k Options,
    conns: Vec<Conn>,
    /// DCID → (connection, direction of the packets that carry it).
    cids: FastMap<Vec<u8>, (usize, Direction)>,
    tuples: FastMap<(SocketAddr, SocketAddr), (usize, Direction)>,
    /// Known non-zero CID lengths, longest first, for short-header lookups.
    cid_lens: Vec<usize>,
    packets: Vec<QuicPacket>,
    skipped: u64,
    /// GSO super-datagrams split into their segments.
    gso_split: u64,
    scratch: Vec<u8>,
    /// The last packet's keys were there but did not open it.
    auth_failed: bool,
}

impl<'k> Decoder<'k> {
    fn new(keylog: &'k KeyLog, options: &'k Options) -> Decoder<'k> {
        Decoder {
            keylog,
            options,
            conns: Vec::new(),
            cids: FastMap::default(),
            tuples: FastMap::default(),
            cid_lens: Vec::new(),
            packets: Vec::new(),
            skipped: 0,
            gso_split: 0,
            scratch: Vec::new(),
            auth_failed: false,
        }
    }

    fn finish(self) -> Trace {
        let keylog = self.keylog;
        let mut decrypted = vec![0u64; self.conns.len()];
        for p in &self.packets {
            let by_keylog = matches!(
                p.packet_type,
                PacketType::Handshake | PacketType::ZeroRtt | PacketType::OneRtt
            );
            if let (true, true, Some(c)) = (p.decrypted, by_keylog, p.connection) {
                if let Some(n) = decrypted.get_mut(c) {
                    *n += 1;
                }
            }
        }
        let connections = self
            .conns
            .into_iter()
            .zip(decrypted)
            .map(|(mut c, n)| {
                c.info.keys_found = keys::has_entry(&c.info.tls, keylog);
                c.info.decrypted_with_keys = n;
                c.info
            })
            .collect();
        let mut warnings = Vec::new();
        if self.gso_split > 0 {
            warnings.push(format!(
                "{} captured frames held several QUIC datagrams at once (sent with UDP segmentation offload and captured before segmentation); they were split by segment size",
                self.gso_split
            ));
        }
        Trace {
            packets: self.packets,
            connections,
            warnings,
            skipped_frames: self.skipped,
        }
    }

    fn frame(&mut self, frame: &CapturedFrame<'_>) {
        let datagram = ip_payload(frame.link_type, frame.data).and_then(udp_datagram);
        let before = self.packets.len();
        if let Some(d) = datagram {
            self.datagram(frame, &d);
        }
        if self.packets.len() == before {
            self.skipped += 1;
        }
    }

    fn datagram(&mut self, frame: &CapturedFrame<'_>, d: &UdpDatagram<'_>) {
        let ctx = Datagram {
            frame: frame.index,
            time_ns: frame.time_ns,
            src: d.src,
            dst: d.dst,
            ecn: d.ecn,
            len: d.payload.len(),
        };
        self.packets_in(&ctx, d.payload);
    }

    /// Walks the (possibly coalesced) packets of one datagram.
    fn packets_in(&mut self, ctx: &Datagram, payload: &[u8]) {
        let mut offset = 0;
        let mut first_dcid: Option<ConnectionId> = None;
        while offset < payload.len() {
            let buf = &payload[offset..];
            let located = if buf[0] & 0x80 != 0 {
                // Only a datagram's first packet can be of an unknown version: after a
                // packet of a known one, such "packets" are random padding.
                header::parse_long(buf)
                    .filter(|p| offset == 0 || !matches!(p.header, Header::UnknownVersion { .. }))
                    .map(|p| (p, None))
            } else {
                self.locate_short(ctx, buf, first_dcid.as_ref().map(ConnectionId::len))
            };
            // Bytes after the last packet that do not parse, or whose DCID differs
            // from the first packet's (RFC 9000 §12.2), are padding, not a packet.
            let Some((parsed, short_conn)) = located else {
                break;
            };
            let dcid = header_dcid(&parsed.header);
            if first_dcid.as_ref().is_some_and(|f| f.as_slice() != dcid) {
                break;
            }
            first_dcid.get_or_insert_with(|| ConnectionId::new(dcid).unwrap_or_default());
            let packet_bytes = &buf[..parsed.len];
            self.auth_failed = false;
            let packet = match short_conn {
                Some(found) => self.short_packet(ctx, packet_bytes, &parsed, found),
                None => self.long_packet(ctx, packet_bytes, &parsed),
            };
            let auth_failed = packet.is_some() && self.auth_failed;
            if auth_failed && offset == 0 {
                if let Some(found) = short_conn {
                    if self.split_gso(ctx, payload, dcid.len(), found) {
                        return;
                    }
                }
            }
            // A later "packet" that fails to decrypt with known keys is random
            // trailing padding (aioquic sends such), not a packet.
            if auth_failed && offset > 0 {
                break;
            }
            offset += parsed.len;
            match packet {
                Some(p) => self.packets.push(p),
                None => break,
            }
        }
    }

    /// A captured "datagram" may be a GSO super-datagram: several equal-size QUIC
    /// datagrams (the last one shorter) handed to the kernel at once and captured
    /// before segmentation. Finds the segment size whose first segment authenticates
    /// and decodes every segment as its own datagram.
    fn split_gso(
        &mut self,
        ctx: &Datagram,
        payload: &[u8],
        dcid_len: usize,
        found: (usize, Direction),
    ) -> bool {
        const MAX_ATTEMPTS: usize = 4096;
        let min_size = 1 + dcid_len + 4 + 16;
        let dcid = &payload[1..1 + dcid_len];
        let fixed_bit_optional = self.conns[found.0].fixed_bit_optional(found.1);
        let looks_like_start = |at: usize| {
            header::is_short(payload[at], fixed_bit_optional)
                && payload.get(at + 1..at + 1 + dcid_len) == Some(dcid)
        };
        let candidates = (min_size..payload.len())
            .filter(|size| (1..=(payload.len() - 1) / size).all(|k| looks_like_start(k * size)))
            .take(MAX_ATTEMPTS);
        for size in candidates {
            let first = &payload[..size];
            let Some(parsed) = header::parse_short(first, dcid_len, fixed_bit_optional) else {
                continue;
            };
            let Some(packet) =
                self.short_packet(&Datagram { len: size, ..*ctx }, first, &parsed, found)
            else {
                continue;
            };
            if !packet.decrypted {
                continue;
            }
            self.packets.push(packet);
            for segment in payload[size..].chunks(size) {
                self.packets_in(
                    &Datagram {
                        len: segment.len(),
                        ..*ctx
                    },
                    segment,
                );
            }
            self.gso_split += 1;
            return true;
        }
        false
    }
}

fn header_dcid<'b>(h: &Header<'b>) -> &'b [u8] {
    match h {
        Header::VersionNegotiation { dcid, .. }
        | Header::Retry { dcid, .. }
        | Header::Long(LongHeader { dcid, .. })
        | Header::UnknownVersion { dcid, .. }
        | Header::Short { dcid } => dcid,
    }
}

fn base_packet(
    ctx: &Datagram,
    found: Option<(usize, Direction)>,
    packet_type: PacketType,
    version: u32,
    dcid: &[u8],
    scid: Option<&[u8]>,
    length: usize,
) -> QuicPacket {
    QuicPacket {
        frame: ctx.frame,
        time_ns: ctx.time_ns,
        src: ctx.src,
        dst: ctx.dst,
        ecn: ctx.ecn,
        datagram_len: ctx.len,
        connection: found.map(|f| f.0),
        direction: found.map(|f| f.1),
        packet_type,
        version,
        dcid: ConnectionId::new(dcid).unwrap_or_default(),
        scid: scid.and_then(ConnectionId::new),
        token: None,
        retry_tag_valid: None,
        supported_versions: Vec::new(),
        length,
        payload_length: 0,
        plain_length: 0,
        pn: None,
        key_phase: None,
        decrypted: false,
        undecryptable: None,
        frames: Vec::new(),
        frames_stopped: None,
    }
}
