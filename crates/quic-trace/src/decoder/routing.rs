//! Which connection and direction a packet belongs to: by connection ID,
//! else by 4-tuple, learning both as connections appear.

use crate::connection::Conn;
use crate::header::{self, Parsed};
use crate::packet::Direction;
use crate::protection::initial_authenticates;

use super::{Datagram, Decoder};

impl Decoder<'_> {
    /// Finds the connection of a short-header packet: by a known DCID, else by the
    /// 4-tuple (zero-length CIDs, or a DCID not yet announced).
    pub(super) fn locate_short<'b>(
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

    pub(super) fn register_cid(&mut self, cid: &[u8], conn: usize, dir: Direction) {
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

    pub(super) fn register_path(&mut self, ctx: &Datagram, conn: usize, dir: Direction) {
        if self.tuples.get(&(ctx.src, ctx.dst)) == Some(&(conn, dir)) {
            return;
        }
        self.tuples.insert((ctx.src, ctx.dst), (conn, dir));
        self.tuples
            .insert((ctx.dst, ctx.src), (conn, dir.reverse()));
    }

    /// The connection and direction of a long-header packet, creating a connection for
    /// a client's first Initial.
    pub(super) fn locate_long(
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
}
