//! One QUIC packet of a datagram: its header read, its connection found,
//! decrypted where the key log allows, its frames and TLS messages parsed.

use std::collections::hash_map::Entry;

use crate::bytes::HexBytes;
use crate::cid::ConnectionId;
use crate::connection::{feed_crypto, Conn};
use crate::frame::{parse_frames, Frame};
use crate::header::{Header, LongHeader, Parsed};
use crate::keys::{self, Level};
use crate::packet::{Direction, PacketType, QuicPacket};
use crate::protection::{compatible_version, unprotect, Form, OpenError, Opened};
use crate::tls::CryptoStream;
use crate::version::{self, LongType};

use super::{base_packet, header_dcid, Datagram, Decoder};

impl Decoder<'_> {
    pub(super) fn long_packet(
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
    pub(super) fn retry_packet(
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
        c.retry_scids.push(scid.to_vec());
        // A server may answer each of a client's retransmitted Initials with a
        // Retry; the client follows one (RFC 9000 §17.2.5.2), which its next
        // Initial's DCID names (see `follow_retry`). Until then, the first.
        if c.retry_scids.len() == 1 {
            restart_initial(c, scid);
        }
        self.register_cid(scid, conn, Direction::ClientToServer);
        p
    }

    /// A client Initial sent to another Retry's SCID than the one assumed:
    /// the client followed that Retry, so Initial keys derive from it.
    fn follow_retry(&mut self, conn: usize, dir: Direction, dcid: &[u8]) {
        let c = &mut self.conns[conn];
        if dir == Direction::ClientToServer
            && c.initial_dcid != dcid
            && c.retry_scids.iter().any(|scid: &Vec<u8>| scid == dcid)
        {
            restart_initial(c, dcid);
        }
    }

    /// An Initial, 0-RTT or Handshake packet.
    pub(super) fn protected_long_packet(
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
        if level == Level::Initial {
            self.follow_retry(conn, dir, dcid);
        }
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

    pub(super) fn note_long_header(
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

    pub(super) fn short_packet(
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
    pub(super) fn decrypt_into(
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
            Err(why) => {
                self.auth_failed = why.is_auth_failure();
                p.undecryptable = Some(why.to_string());
            }
        }
        self.scratch = scratch;
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn open(
        &mut self,
        conn: usize,
        dir: Direction,
        level: Level,
        version: u32,
        packet: &mut [u8],
        pn_offset: usize,
        form: Form,
    ) -> Result<Opened, OpenError> {
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

/// Initial keys derive from `dcid` from now on. The server kept no state
/// across the Retry, so the client's CRYPTO data restarts at offset 0 and
/// may carry a new ClientHello.
fn restart_initial(c: &mut Conn, dcid: &[u8]) {
    c.initial_dcid = dcid.to_vec();
    c.crypto[Direction::ClientToServer.index()][0] = CryptoStream::default();
    c.keys.retain(|(level, _, _), _| *level != Level::Initial);
}
