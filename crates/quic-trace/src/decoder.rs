//! One pass over a capture: datagrams → QUIC packets, matched to connections by
//! connection ID and 4-tuple, decrypted where keys allow, frames and TLS parsed.

use std::collections::hash_map::Entry;
use std::net::SocketAddr;

use crate::bytes::HexBytes;
use crate::capture::{read_capture, CapturedFrame};
use crate::cid::ConnectionId;
use crate::error::TraceError;
use crate::fasthash::FastMap;
use crate::frame::{parse_frames, Frame};
use crate::header::{self, Header, Parsed};
use crate::ip::{udp_datagram, UdpDatagram};
use crate::keylog::KeyLog;
use crate::keys::{self, DirKeys, Level};
use crate::link::ip_payload;
use crate::packet::{ConnectionInfo, Direction, PacketType, QuicPacket, Trace};
use crate::tls::{self, CryptoStream};
use crate::version::{self, LongType};

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
    let capture = read_capture(capture)?;
    let mut decoder = Decoder::new(keylog, options);
    decoder.packets.reserve(capture.frames.len());
    for frame in &capture.frames {
        decoder.frame(frame);
    }
    let mut trace = decoder.finish();
    trace.warnings.extend(capture.warning);
    Ok(trace)
}

struct Conn {
    info: ConnectionInfo,
    /// The DCID Initial keys derive from: the client's first, or a Retry's SCID.
    initial_dcid: Vec<u8>,
    version: u32,
    /// DCID length of packets travelling in each direction.
    cid_len: [Option<usize>; 2],
    largest_pn: [[Option<u64>; 3]; 2],
    crypto: [[CryptoStream; 3]; 2],
    keys: FastMap<(Level, Direction, u32), DirKeys>,
}

impl Conn {
    fn new(original_dcid: &[u8], version: u32, client: SocketAddr, server: SocketAddr) -> Conn {
        Conn {
            info: ConnectionInfo {
                original_dcid: ConnectionId::new(original_dcid).unwrap_or_default(),
                client: Some(client),
                server: Some(server),
                ..ConnectionInfo::default()
            },
            initial_dcid: original_dcid.to_vec(),
            version,
            cid_len: [None; 2],
            largest_pn: [[None; 3]; 2],
            crypto: Default::default(),
            keys: FastMap::default(),
        }
    }
}

/// Facts of the datagram every packet in it shares.
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
    scratch: Vec<u8>,
}

/// Result of removing packet protection.
pub(crate) struct Opened {
    pub(crate) pn: u64,
    pub(crate) key_phase: u8,
    pub(crate) payload_start: usize,
    pub(crate) plain_len: usize,
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
            scratch: Vec::new(),
        }
    }

    fn finish(self) -> Trace {
        let keylog = self.keylog;
        let connections = self
            .conns
            .into_iter()
            .map(|mut c| {
                c.info.keys_found = keys::has_entry(&c.info.tls, keylog);
                c.info
            })
            .collect();
        Trace {
            packets: self.packets,
            connections,
            warnings: Vec::new(),
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
        let mut offset = 0;
        let mut first_dcid: Option<ConnectionId> = None;
        while offset < d.payload.len() {
            let buf = &d.payload[offset..];
            let located = if buf[0] & 0x80 != 0 {
                header::parse_long(buf).map(|p| (p, None))
            } else {
                self.locate_short(&ctx, buf, first_dcid.as_ref().map(ConnectionId::len))
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
            let packet = match short_conn {
                Some(found) => self.short_packet(&ctx, packet_bytes, &parsed, found),
                None => self.long_packet(&ctx, packet_bytes, &parsed),
            };
            let is_later = offset > 0;
            offset += parsed.len;
            match packet {
                // A later "packet" that fails to decrypt with known keys is random
                // trailing padding (aioquic sends such), not a packet.
                Some(p)
                    if is_later
                        && !p.decrypted
                        && p.undecryptable.as_deref().is_some_and(is_auth_failure) =>
                {
                    break
                }
                Some(p) => self.packets.push(p),
                None => break,
            }
        }
    }

    /// Finds the connection of a short-header packet: by a known DCID, else by the
    /// 4-tuple (zero-length CIDs, or a DCID not yet announced).
    fn locate_short<'b>(
        &self,
        ctx: &Datagram,
        buf: &'b [u8],
        forced_len: Option<usize>,
    ) -> Option<(Parsed<'b>, Option<(usize, Direction)>)> {
        let forced = forced_len.map(|n| [n]);
        let lens: &[usize] = match &forced {
            Some(one) => one,
            None => &self.cid_lens,
        };
        for &len in lens {
            if let Some(found) = buf.get(1..1 + len).and_then(|dcid| self.cids.get(dcid)) {
                return header::parse_short(buf, len).map(|p| (p, Some(*found)));
            }
        }
        let (conn, dir) = *self.tuples.get(&(ctx.src, ctx.dst))?;
        let len = forced_len
            .or(self.conns[conn].cid_len[dir.index()])
            .unwrap_or(0);
        header::parse_short(buf, len).map(|p| (p, Some((conn, dir))))
    }

    fn register_cid(&mut self, cid: &[u8], conn: usize, dir: Direction) {
        self.conns[conn].cid_len[dir.index()] = Some(cid.len());
        if cid.is_empty() {
            return;
        }
        self.cids.insert(cid.to_vec(), (conn, dir));
        if !self.cid_lens.contains(&cid.len()) {
            self.cid_lens.push(cid.len());
            self.cid_lens.sort_unstable_by(|a, b| b.cmp(a));
        }
    }

    fn register_path(&mut self, ctx: &Datagram, conn: usize, dir: Direction) {
        if self.tuples.get(&(ctx.src, ctx.dst)) == Some(&(conn, dir)) {
            return;
        }
        self.tuples.insert((ctx.src, ctx.dst), (conn, dir));
        self.tuples
            .insert((ctx.dst, ctx.src), (conn, dir.reverse()));
    }

    /// The connection and direction of a long-header packet, creating a connection for
    /// a client's first Initial.
    fn locate_long(
        &mut self,
        ctx: &Datagram,
        version: u32,
        dcid: &[u8],
        initial: Option<(&[u8], usize)>,
    ) -> Option<(usize, Direction)> {
        if let Some(found) = (!dcid.is_empty())
            .then(|| self.cids.get(dcid).copied())
            .flatten()
        {
            return Some(found);
        }
        // A client Initial opens a new connection only if it authenticates with the
        // Initial keys of its own DCID: a damaged packet or the server's Initial of a
        // connection whose start was not captured must not invent one.
        let opens = initial.is_some_and(|(bytes, pn_offset)| {
            !self.options.is_server(ctx.src)
                && initial_authenticates(version, dcid, bytes, pn_offset)
        });
        if !opens {
            return self.tuples.get(&(ctx.src, ctx.dst)).copied();
        }
        self.conns.push(Conn::new(dcid, version, ctx.src, ctx.dst));
        let conn = self.conns.len() - 1;
        self.register_cid(dcid, conn, Direction::ClientToServer);
        Some((conn, Direction::ClientToServer))
    }

    fn long_packet(
        &mut self,
        ctx: &Datagram,
        bytes: &[u8],
        parsed: &Parsed<'_>,
    ) -> Option<QuicPacket> {
        match &parsed.header {
            Header::VersionNegotiation {
                dcid,
                scid,
                versions,
            } => {
                let found = self.locate_long(ctx, 0, dcid, None);
                let mut p = base_packet(
                    ctx,
                    found,
                    PacketType::VersionNegotiation,
                    0,
                    dcid,
                    Some(scid),
                    bytes.len(),
                );
                p.supported_versions = versions.clone();
                Some(p)
            }
            Header::Retry {
                version,
                dcid,
                scid,
                token,
            } => {
                let found = self.locate_long(ctx, *version, dcid, None);
                let mut p = base_packet(
                    ctx,
                    found,
                    PacketType::Retry,
                    *version,
                    dcid,
                    Some(scid),
                    bytes.len(),
                );
                p.token = Some((*token).into());
                if let Some((conn, _)) = found {
                    let params = version::params(*version)?;
                    let c = &mut self.conns[conn];
                    p.retry_tag_valid = Some(crate::crypto::retry_tag_valid(
                        params,
                        c.info.original_dcid.as_slice(),
                        bytes,
                    ));
                    c.initial_dcid = scid.to_vec();
                    // The server kept no state, so the client's CRYPTO data restarts
                    // at offset 0 and may carry a new ClientHello.
                    c.crypto[Direction::ClientToServer.index()][0] = CryptoStream::default();
                    c.keys.retain(|(level, _, _), _| *level != Level::Initial);
                    self.register_cid(scid, conn, Direction::ClientToServer);
                }
                Some(p)
            }
            Header::Long {
                version,
                kind,
                dcid,
                scid,
                token,
                pn_offset,
            } => {
                let initial = (*kind == LongType::Initial).then_some((bytes, *pn_offset));
                let found = self.locate_long(ctx, *version, dcid, initial);
                let ty = match kind {
                    LongType::Initial => PacketType::Initial,
                    LongType::ZeroRtt => PacketType::ZeroRtt,
                    _ => PacketType::Handshake,
                };
                let mut p = base_packet(ctx, found, ty, *version, dcid, Some(scid), bytes.len());
                p.token = token.map(HexBytes::from);
                p.payload_length = bytes.len() - pn_offset;
                let Some((conn, dir)) = found else {
                    p.undecryptable = Some(
                        "the packet belongs to no connection whose client Initial was captured"
                            .into(),
                    );
                    return Some(p);
                };
                self.note_long_header(ctx, conn, dir, *version, scid);
                let level = match kind {
                    LongType::Initial => Level::Initial,
                    LongType::ZeroRtt => Level::ZeroRtt,
                    _ => Level::Handshake,
                };
                self.decrypt_into(&mut p, conn, dir, level, *version, bytes, *pn_offset, true);
                Some(p)
            }
            Header::Short { .. } => None,
        }
    }

    fn note_long_header(
        &mut self,
        ctx: &Datagram,
        conn: usize,
        dir: Direction,
        version: u32,
        scid: &[u8],
    ) {
        self.register_cid(scid, conn, dir.reverse());
        self.register_path(ctx, conn, dir);
        let c = &mut self.conns[conn];
        let versions = if dir == Direction::ClientToServer {
            &mut c.info.client_versions
        } else {
            &mut c.info.server_versions
        };
        if !versions.contains(&version) {
            versions.push(version);
        }
        if dir == Direction::ServerToClient || c.info.server_versions.is_empty() {
            c.version = version;
        }
    }

    fn short_packet(
        &mut self,
        ctx: &Datagram,
        bytes: &[u8],
        parsed: &Parsed<'_>,
        found: (usize, Direction),
    ) -> Option<QuicPacket> {
        let (conn, dir) = found;
        let dcid = header_dcid(&parsed.header);
        let version = self.conns[conn].version;
        let mut p = base_packet(
            ctx,
            Some(found),
            PacketType::OneRtt,
            version,
            dcid,
            None,
            bytes.len(),
        );
        p.payload_length = bytes.len() - 1 - dcid.len();
        self.decrypt_into(
            &mut p,
            conn,
            dir,
            Level::OneRtt,
            version,
            bytes,
            1 + dcid.len(),
            false,
        );
        // Only an authenticated packet may move the connection to a new path.
        if p.decrypted {
            self.register_path(ctx, conn, dir);
        }
        Some(p)
    }

    #[allow(clippy::too_many_arguments)]
    fn decrypt_into(
        &mut self,
        p: &mut QuicPacket,
        conn: usize,
        dir: Direction,
        level: Level,
        version: u32,
        bytes: &[u8],
        pn_offset: usize,
        long: bool,
    ) {
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.clear();
        scratch.extend_from_slice(bytes);
        let mut result = self.open(conn, dir, level, version, &mut scratch, pn_offset, long);
        if result.is_err() && level == Level::Initial {
            // aioquic's client keeps protecting its Initials with the first version's
            // keys after compatible version negotiation; accept what authenticates.
            if let Some(other) = compatible_version(version) {
                scratch.clear();
                scratch.extend_from_slice(bytes);
                if let Ok(opened) =
                    self.open(conn, dir, level, other, &mut scratch, pn_offset, long)
                {
                    result = Ok(opened);
                }
            }
        }
        match result {
            Ok(opened) => {
                p.pn = Some(opened.pn);
                p.decrypted = true;
                if !long {
                    p.key_phase = Some(opened.key_phase);
                }
                let plain = &scratch[opened.payload_start..opened.payload_start + opened.plain_len];
                let mut new_cids: Vec<ConnectionId> = Vec::new();
                let c = &mut self.conns[conn];
                let list = parse_frames(plain, |offset, data| {
                    feed_crypto(c, dir, level.space(), offset, data)
                });
                for f in &list.frames {
                    if let Frame::NewConnectionId { connection_id, .. } = f {
                        new_cids.push(*connection_id);
                    }
                }
                for cid in new_cids {
                    self.register_cid(cid.as_slice(), conn, dir.reverse());
                }
                p.frames = list.frames;
                p.frames_stopped = list.stopped;
            }
            Err(why) => p.undecryptable = Some(why),
        }
        self.scratch = scratch;
    }

    #[allow(clippy::too_many_arguments)]
    fn open(
        &mut self,
        conn: usize,
        dir: Direction,
        level: Level,
        version: u32,
        packet: &mut [u8],
        pn_offset: usize,
        long: bool,
    ) -> Result<Opened, String> {
        let keylog = self.keylog;
        let c = &mut self.conns[conn];
        let slot = (level, dir, version);
        // Keys made before the ServerHello named the suite are redone once it has.
        if c.info.tls.server_hello.is_some() && c.keys.get(&slot).is_some_and(|k| k.suite_guessed) {
            c.keys.remove(&slot);
        }
        let keys = match c.keys.entry(slot) {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(e) => e.insert(keys::derive(
                level,
                dir,
                version,
                &c.initial_dcid,
                &c.info.tls,
                keylog,
            )?),
        };
        let largest = &mut c.largest_pn[dir.index()][level.space()];
        let opened = unprotect(keys, *largest, packet, pn_offset, long)?;
        *largest = Some(largest.map_or(opened.pn, |l| l.max(opened.pn)));
        Ok(opened)
    }
}

/// Removes header protection, recovers the packet number and decrypts the payload in
/// place (RFC 9001 §5.3–5.4).
pub(crate) fn unprotect(
    keys: &mut DirKeys,
    largest: Option<u64>,
    packet: &mut [u8],
    pn_offset: usize,
    long: bool,
) -> Result<Opened, String> {
    let sample = packet
        .get(pn_offset + 4..pn_offset + 20)
        .ok_or("the packet is too short for a header protection sample")?;
    let mask = keys
        .header
        .mask(sample)
        .ok_or("header protection could not be removed")?;
    packet[0] ^= mask[0] & if long { 0x0f } else { 0x1f };
    let pn_len = usize::from(packet[0] & 0x03) + 1;
    let mut truncated: u64 = 0;
    for i in 0..pn_len {
        let b = packet
            .get_mut(pn_offset + i)
            .ok_or("the packet number is cut short")?;
        *b ^= mask[1 + i];
        truncated = (truncated << 8) | u64::from(*b);
    }
    let pn = decode_pn(largest, truncated, pn_len * 8);
    let key_phase = if long { 0 } else { (packet[0] >> 2) & 1 };
    let payload_start = pn_offset + pn_len;
    let (head, payload) = packet.split_at_mut(payload_start);
    let plain_len = keys
        .open(key_phase, pn, head, payload)
        .ok_or("payload authentication failed: wrong keys or a damaged packet")?;
    Ok(Opened {
        pn,
        key_phase,
        payload_start,
        plain_len,
    })
}

/// Whether a packet decrypts as a client Initial under keys from its own DCID.
fn initial_authenticates(version: u32, dcid: &[u8], bytes: &[u8], pn_offset: usize) -> bool {
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
    unprotect(&mut keys, None, &mut copy, pn_offset, true).is_ok()
}

/// The version compatible version negotiation (RFC 9368) may switch to or from.
fn compatible_version(version: u32) -> Option<u32> {
    match version {
        version::VERSION_1 => Some(version::VERSION_2),
        version::VERSION_2 => Some(version::VERSION_1),
        _ => None,
    }
}

fn is_auth_failure(why: &str) -> bool {
    why.starts_with("payload authentication failed") || why.starts_with("the packet is too short")
}

fn header_dcid<'b>(h: &Header<'b>) -> &'b [u8] {
    match h {
        Header::VersionNegotiation { dcid, .. }
        | Header::Retry { dcid, .. }
        | Header::Long { dcid, .. }
        | Header::Short { dcid } => dcid,
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
        pn: None,
        key_phase: None,
        decrypted: false,
        undecryptable: None,
        frames: Vec::new(),
        frames_stopped: None,
    }
}

/// Feeds CRYPTO data to the connection's TLS reassembly and records what completes.
fn feed_crypto(c: &mut Conn, dir: Direction, space: usize, offset: u64, data: &[u8]) {
    let tls = &mut c.info.tls;
    if dir == Direction::ServerToClient && space == 1 {
        tls.server_handshake_crypto_bytes = tls
            .server_handshake_crypto_bytes
            .max(offset + data.len() as u64);
    }
    for (t, body) in c.crypto[dir.index()][space].add(offset, data) {
        let client = dir == Direction::ClientToServer;
        if client {
            tls.client_messages.push(t)
        } else {
            tls.server_messages.push(t)
        }
        match (client, t) {
            (true, tls::CLIENT_HELLO) => tls.client_hellos.extend(tls::parse_client_hello(&body)),
            (false, tls::SERVER_HELLO) => {
                if let Some(sh) = tls::parse_server_hello(&body) {
                    if sh.hello_retry_request {
                        tls.hello_retry_request = true;
                    } else {
                        tls.server_hello = Some(sh);
                    }
                }
            }
            (false, tls::ENCRYPTED_EXTENSIONS) => {
                tls.encrypted_extensions = tls::parse_encrypted_extensions(&body)
            }
            (false, tls::CERTIFICATE) => tls.certificate = tls::parse_certificate(&body),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packet_number_recovery_rfc_example() {
        assert_eq!(decode_pn(Some(0xa82f30ea), 0x9b32, 16), 0xa82f9b32);
        assert_eq!(decode_pn(None, 0, 8), 0);
        assert_eq!(decode_pn(Some(0xff), 0x02, 8), 0x102);
    }
}
