//! Rules about paths: port and address rebinding and connection migration.

use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr};

use quic_trace::{ConnectionId, Frame, QuicPacket};

use super::stop::{ensure, RuleResult};
use super::traces::Side;

type Path = (SocketAddr, SocketAddr);

/// The first packet of each datagram, so coalesced packets count once.
fn first_of_datagrams<'a>(packets: impl Iterator<Item = &'a QuicPacket>) -> Vec<&'a QuicPacket> {
    let mut out: Vec<&QuicPacket> = Vec::new();
    for p in packets {
        if out.last().is_none_or(|l| l.frame != p.frame) {
            out.push(p);
        }
    }
    out
}

/// Calls `on_new` with the first datagram on each path not seen before (the
/// reference's walk: a return to an old path is not a new one).
fn walk_paths<'a>(
    firsts: &[&'a QuicPacket],
    mut on_new: impl FnMut(&'a QuicPacket, Path) -> RuleResult,
) -> Result<BTreeSet<Path>, super::stop::Stop> {
    let mut paths: BTreeSet<Path> = BTreeSet::new();
    let mut last: Option<Path> = None;
    for p in firsts {
        let cur = (p.src, p.dst);
        match last {
            None => last = Some(cur),
            Some(l) if l != cur && !paths.contains(&cur) => {
                paths.insert(l);
                last = Some(cur);
                on_new(p, cur)?;
            }
            _ => {}
        }
    }
    paths.extend(last);
    Ok(paths)
}

/// The server used more than one path, opened each new one with a
/// PATH_CHALLENGE, and the client answered every challenge.
pub fn expect_path_validation(client_side: &Side, server_side: &Side) -> RuleResult {
    let firsts = first_of_datagrams(server_side.server_sent());
    let mut challenges: Vec<Vec<u8>> = Vec::new();
    let paths = walk_paths(&firsts, |p, path| {
        let found: Vec<Vec<u8>> = server_side
            .trace
            .packets
            .iter()
            .filter(|q| q.frame == p.frame)
            .flat_map(|q| &q.frames)
            .filter_map(|f| match f {
                Frame::PathChallenge { data } => Some(data.0.clone()),
                _ => None,
            })
            .collect();
        ensure(!found.is_empty(), || {
            format!(
                "the server's first packet on the new path {} → {} (frame {}) carries no PATH_CHALLENGE",
                path.0, path.1, p.frame
            )
        })?;
        challenges.extend(found);
        Ok(())
    })?;
    ensure(paths.len() > 1, || {
        "the server used only one path; the rebinding did not happen or was not noticed".into()
    })?;
    let responses: BTreeSet<Vec<u8>> = client_side
        .client_sent()
        .flat_map(|p| &p.frames)
        .filter_map(|f| match f {
            Frame::PathResponse { data } => Some(data.0.clone()),
            _ => None,
        })
        .collect();
    let unanswered: Vec<String> = challenges
        .iter()
        .filter(|c| !responses.contains(*c))
        .map(|c| c.iter().map(|b| format!("{b:02x}")).collect())
        .collect();
    ensure(unanswered.is_empty(), || {
        format!(
            "the client answered no PATH_RESPONSE to the server's PATH_CHALLENGE {}",
            unanswered.join(", ")
        )
    })
}

/// The server sent to more than one client address.
pub fn expect_several_client_addresses(server_side: &Side) -> RuleResult {
    let ips: BTreeSet<IpAddr> = server_side.server_sent().map(|p| p.dst.ip()).collect();
    ensure(ips.len() > 1, || {
        format!(
            "the server sent to only one client address ({}); the address rebinding did not happen or was not noticed",
            ips.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(", ")
        )
    })
}

/// The client's first packet on each new path uses a DCID it had not used
/// on the previous path.
pub fn expect_new_dcid_on_migration(client_side: &Side) -> RuleResult {
    let firsts = first_of_datagrams(client_side.client_sent());
    let mut dcid: Option<ConnectionId> = firsts.first().map(|p| p.dcid);
    walk_paths(&firsts, |p, path| {
        let previous = dcid.replace(p.dcid);
        ensure(previous != Some(p.dcid), || {
            format!(
                "the client's first packet on the new path {} → {} (frame {}) reused DCID {}",
                path.0, path.1, p.frame, p.dcid
            )
        })
    })?;
    Ok(())
}
