//! One pass over a capture: datagrams → QUIC packets, matched to connections by
//! connection ID and 4-tuple, decrypted where keys allow, frames and TLS parsed.

use std::collections::hash_map::Entry;
use std::net::SocketAddr;

use crate::bytes::HexBytes;
use crate::capture::{for_each_frame, CapturedFrame};
use crate::cid::ConnectionId;
use crate::connection::{feed_crypto, Conn};
use crate::error::TraceError;
use crate::fasthash::FastMap;
use crate::frame::{parse_frames, Frame};
use crate::header::{self, Header, LongHeader, Parsed};
use crate::ip::{udp_datagram, UdpDatagram};
use crate::keylog::KeyLog;
use crate::keys::{self, Level};
use crate::link::ip_payload;
use crate::packet::{Direction, PacketType, QuicPacket, Trace};
use crate::protection::{compatible_version, initial_authenticates, unprotect, Form, Opened};
use crate::tls::CryptoStream;
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
            let packet = match short_conn {
                Some(found) => self.short_packet(ctx, packet_bytes, &parsed, found),
                None => self.long_packet(ctx, packet_bytes, &parsed),
            };
            let auth_failed = packet.as_ref().is_some_and(|p| {
                !p.decrypted && p.undecryptable.as_deref().is_some_and(is_auth_failure)
            });
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
            if let Some(&(conn, dir)) = buf.get(1..1 + len).and_then(|dcid| self.cids.get(dcid)) {
                let fixed_bit_optional = self.conns[conn].fixed_bit_optional(dir);
                return header::parse_short(buf, len, fixed_bit_optional)
                    .map(|p| (p, Some((conn, dir))));
            }
        }
        let (conn, dir) = *self.tuples.get(&(ctx.src, ctx.dst))?;
        let c = &self.conns[conn];
        let len = forced_len.or(c.cid_len[dir.index()]).unwrap_or(0);
        header::parse_short(buf, len, c.fixed_bit_optional(dir)).map(|p| (p, Some((conn, dir))))
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
                let ty = PacketType::VersionNegotiation;
                let mut p = base_packet(ctx, found, ty, 0, dcid, Some(scid), bytes.len());
                p.supported_versions = versions.clone();
                Some(p)
            }
            Header::Retry {
                version,
                dcid,
                scid,
                token,
            } => Some(self.retry_packet(ctx, bytes, *version, dcid, scid, token)),
            Header::Long(long) => Some(self.protected_long_packet(ctx, bytes, long)),
            Header::UnknownVersion {
                version,
                dcid,
                scid,
            } => {
                let found = self.locate_long(ctx, *version, dcid, None);
                let ty = PacketType::UnknownVersion;
                let mut p = base_packet(ctx, found, ty, *version, dcid, Some(scid), bytes.len());
                p.payload_length = bytes.len() - (7 + dcid.len() + scid.len());
                Some(p)
            }
            Header::Short { .. } => None,
        }
    }

    /// A Retry: checks its integrity tag and restarts the client's Initial state.
    fn retry_packet(
        &mut self,
        ctx: &Datagram,
        bytes: &[u8],
        version: u32,
        dcid: &[u8],
        scid: &[u8],
        token: &[u8],
    ) -> QuicPacket {
        let found = self.locate_long(ctx, version, dcid, None);
        let ty = PacketType::Retry;
        let mut p = base_packet(ctx, found, ty, version, dcid, Some(scid), bytes.len());
        p.token = Some(token.into());
        let (Some((conn, _)), Some(params)) = (found, version::params(version)) else {
            return p;
        };
        let c = &mut self.conns[conn];
        let odcid = c.info.original_dcid.as_slice();
        p.retry_tag_valid = Some(crate::crypto::retry_tag_valid(params, odcid, bytes));
        c.initial_dcid = scid.to_vec();
        // The server kept no state, so the client's CRYPTO data restarts at offset 0
        // and may carry a new ClientHello.
        c.crypto[Direction::ClientToServer.index()][0] = CryptoStream::default();
        c.keys.retain(|(level, _, _), _| *level != Level::Initial);
        self.register_cid(scid, conn, Direction::ClientToServer);
        p
    }

    /// An Initial, 0-RTT or Handshake packet.
    fn protected_long_packet(
        &mut self,
        ctx: &Datagram,
        bytes: &[u8],
        header: &LongHeader<'_>,
    ) -> QuicPacket {
        let LongHeader {
            version,
            kind,
            dcid,
            scid,
            token,
            pn_offset,
        } = *header;
        let initial = (kind == LongType::Initial).then_some((bytes, pn_offset));
        let found = self.locate_long(ctx, version, dcid, initial);
        let (ty, level) = match kind {
            LongType::Initial => (PacketType::Initial, Level::Initial),
            LongType::ZeroRtt => (PacketType::ZeroRtt, Level::ZeroRtt),
            _ => (PacketType::Handshake, Level::Handshake),
        };
        let mut p = base_packet(ctx, found, ty, version, dcid, Some(scid), bytes.len());
        p.token = token.map(HexBytes::from);
        p.payload_length = bytes.len() - pn_offset;
        let Some((conn, dir)) = found else {
            p.undecryptable = Some(
                "the packet belongs to no connection whose client Initial was captured".into(),
            );
            return p;
        };
        self.note_long_header(ctx, conn, dir, version, scid);
        self.decrypt_into(
            &mut p,
            conn,
            dir,
            level,
            version,
            bytes,
            pn_offset,
            Form::Long,
        );
        p
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
        let form = if self.conns[conn].loss_bits(dir) {
            Form::ShortWithLossBits
        } else {
            Form::Short
        };
        self.decrypt_into(
            &mut p,
            conn,
            dir,
            Level::OneRtt,
            version,
            bytes,
            1 + dcid.len(),
            form,
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
        form: Form,
    ) {
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.clear();
        scratch.extend_from_slice(bytes);
        let mut result = self.open(conn, dir, level, version, &mut scratch, pn_offset, form);
        if result.is_err() && level == Level::Initial {
            // aioquic's client keeps protecting its Initials with the first version's
            // keys after compatible version negotiation; accept what authenticates.
            if let Some(other) = compatible_version(version) {
                scratch.clear();
                scratch.extend_from_slice(bytes);
                if let Ok(opened) =
                    self.open(conn, dir, level, other, &mut scratch, pn_offset, form)
                {
                    result = Ok(opened);
                }
            }
        }
        match result {
            Ok(opened) => {
                p.pn = Some(opened.pn);
                p.decrypted = true;
                p.plain_length = opened.plain_len;
                if form != Form::Long {
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
        form: Form,
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
        let opened = unprotect(keys, *largest, packet, pn_offset, form)?;
        *largest = Some(largest.map_or(opened.pn, |l| l.max(opened.pn)));
        Ok(opened)
    }
}

fn is_auth_failure(why: &str) -> bool {
    why.starts_with("payload authentication failed") || why.starts_with("the packet is too short")
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connection::conn_with_parameters;
    use crate::crypto::Suite;
    use crate::keys::DirKeys;
    use crate::protection::protect;

    type Params = &'static [(u64, &'static [u8])];

    const SECRET: [u8; 32] = [9; 32];
    const CLIENT_CID: [u8; 4] = [0xc1; 4];
    const GREASE_QUIC_BIT: Params = &[(0x2ab2, &[])];
    const SENDS_LOSS_BITS: Params = &[(0x1057, &[1])];
    const READS_LOSS_BITS: Params = &[(0x1057, &[0])];
    const PING: [u8; 4] = [0x01, 0, 0, 0];

    /// A server→client 1-RTT packet with packet number 7 carrying a PING.
    fn server_packet(first: u8, form: Form) -> Vec<u8> {
        let header = [&[first][..], &CLIENT_CID, &[7]].concat();
        protect(&SECRET, &header, 5, 7, &PING, form)
    }

    fn decode_alone(datagram: &[u8]) -> Vec<QuicPacket> {
        let (keylog, options) = (KeyLog::default(), Options::default());
        let mut d = Decoder::new(&keylog, &options);
        let ctx = Datagram {
            frame: 1,
            time_ns: 0,
            src: "10.0.0.1:4433".parse().unwrap(),
            dst: "10.0.0.2:443".parse().unwrap(),
            ecn: 0,
            len: datagram.len(),
        };
        d.packets_in(&ctx, datagram);
        d.packets
    }

    #[test]
    fn a_long_header_of_unknown_version_shows_its_cids() {
        let mut datagram = vec![0xc0, 0x1a, 0x2a, 0x3a, 0x4a, 2, 0xd1, 0xd2, 1, 0x51];
        datagram.resize(1200, 0x5a);
        let got = decode_alone(&datagram);
        assert_eq!(got.len(), 1);
        let p = &got[0];
        assert_eq!(p.packet_type, PacketType::UnknownVersion);
        assert_eq!(p.version, 0x1a2a_3a4a);
        assert_eq!(p.dcid.as_slice(), &[0xd1, 0xd2]);
        assert_eq!(p.scid.map(|c| c.as_slice().to_vec()), Some(vec![0x51]));
        assert_eq!((p.length, p.payload_length), (1200, 1190));
        assert!(!p.decrypted && p.undecryptable.is_none() && p.connection.is_none());
    }

    #[test]
    fn unknown_version_bytes_after_a_packet_are_padding() {
        let mut datagram = crate::rfc_vectors::vectors()["v1_long_client_encrypted_packet"].clone();
        datagram.extend([0xc0, 0x1a, 0x2a, 0x3a, 0x4a, 0, 0, 0, 0]);
        let got = decode_alone(&datagram);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].packet_type, PacketType::Initial);
        assert!(got[0].decrypted, "{:?}", got[0].undecryptable);
    }

    /// Decodes one server→client datagram of a connection whose 1-RTT keys are known
    /// and whose endpoints advertised these transport parameters.
    fn decode_from_server(client: Params, server: Params, datagram: &[u8]) -> Vec<QuicPacket> {
        let (keylog, options) = (KeyLog::default(), Options::default());
        let mut d = Decoder::new(&keylog, &options);
        let mut conn = conn_with_parameters(Some(client), Some(server));
        let keys = DirKeys::from_secret(Suite::Aes128Gcm, version::VERSION_1, &SECRET).unwrap();
        let slot = (Level::OneRtt, Direction::ServerToClient, version::VERSION_1);
        conn.keys.insert(slot, keys);
        let (client_addr, server_addr) = (conn.info.client.unwrap(), conn.info.server.unwrap());
        d.conns.push(conn);
        d.register_cid(&CLIENT_CID, 0, Direction::ServerToClient);
        let ctx = Datagram {
            frame: 1,
            time_ns: 0,
            src: server_addr,
            dst: client_addr,
            ecn: 0,
            len: datagram.len(),
        };
        d.packets_in(&ctx, datagram);
        d.packets
    }

    #[test]
    fn greased_fixed_bit_is_accepted_towards_an_endpoint_that_advertised_it() {
        let packet = server_packet(0x00, Form::Short);
        assert_eq!(packet[0] & 0xc0, 0, "the fixed bit is not protected");
        let got = decode_from_server(GREASE_QUIC_BIT, &[], &packet);
        assert_eq!(got.len(), 1);
        assert!(got[0].decrypted, "{:?}", got[0].undecryptable);
        assert_eq!(got[0].packet_type, PacketType::OneRtt);
        assert_eq!(got[0].pn, Some(7));
        assert_eq!(got[0].frames[0], Frame::Ping);
        // RFC 9287: only the receiver's parameter allows the sender to clear the bit.
        assert!(decode_from_server(&[], GREASE_QUIC_BIT, &packet).is_empty());
        assert!(decode_from_server(&[], &[], &packet).is_empty());
    }

    #[test]
    fn loss_bits_change_the_short_header_mask_once_negotiated() {
        let packet = server_packet(0x58, Form::ShortWithLossBits);
        let got = decode_from_server(READS_LOSS_BITS, SENDS_LOSS_BITS, &packet);
        assert!(got[0].decrypted, "{:?}", got[0].undecryptable);
        assert_eq!(got[0].pn, Some(7));
        let got = decode_from_server(&[], SENDS_LOSS_BITS, &packet);
        assert!(!got[0].decrypted);
        // A sender that only reads loss bits protects the reserved bits as usual.
        let plain = server_packet(0x40, Form::Short);
        let got = decode_from_server(SENDS_LOSS_BITS, READS_LOSS_BITS, &plain);
        assert!(got[0].decrypted, "{:?}", got[0].undecryptable);
    }
}
