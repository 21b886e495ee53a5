//! Gathers what the judge needs from a finished run: the downloads checked
//! against their sources, the negotiated protocols, the addresses used.

use std::net::IpAddr;
use std::path::PathBuf;

use super::error::TrialError;
use super::resources::Resources;
use super::RunOnce;
use crate::judge::{Evidence, Negotiated};
use crate::layout::Role;
use crate::orchestrate::docker::archive::{self, Expected};
use crate::orchestrate::docker::net;
use crate::orchestrate::materials::Materials;

/// How much of /downloads is read: twice the expected files, and more.
pub(super) fn downloads_limit(expected: &[Expected]) -> u64 {
    expected
        .iter()
        .map(|e| std::fs::metadata(&e.source).map(|m| m.len()).unwrap_or(0))
        .sum::<u64>()
        * 2
        + (64 << 20)
}

pub(super) async fn check_side(
    ctx: &RunOnce<'_>,
    id: &str,
    expected: &[Expected],
    save: Option<PathBuf>,
    fetched: Option<std::fs::File>,
) -> Result<(), TrialError> {
    let tar = match fetched {
        Some(tar) => tar,
        None => archive::download(ctx.docker, id, "/downloads", downloads_limit(expected)).await?,
    };
    let expected = expected.to_vec();
    tokio::task::spawn_blocking(move || archive::check_downloads(tar, &expected, save.as_deref()))
        .await??;
    Ok(())
}

/// Reads one small file out of a container's /downloads.
pub(super) async fn read_small(ctx: &RunOnce<'_>, id: &str, path: &str) -> Option<String> {
    let tar = archive::download(ctx.docker, id, path, 64 * 1024)
        .await
        .ok()?;
    tokio::task::spawn_blocking(move || {
        let mut a = tar::Archive::new(tar);
        let mut entry = a.entries().ok()?.next()?.ok()?;
        if entry.header().entry_type() != tar::EntryType::Regular {
            return None;
        }
        let mut s = String::new();
        std::io::Read::read_to_string(&mut entry, &mut s).ok()?;
        Some(s)
    })
    .await
    .ok()
    .flatten()
}

/// The server's IPv4 and IPv6 addresses in this run.
pub(super) fn server_addrs(res: &Resources) -> Vec<IpAddr> {
    host_addrs(res, |s| s.right)
}

/// The endpoint addresses (`.100`) of one side's subnets.
fn host_addrs(res: &Resources, side: fn(&net::Subnets) -> u8) -> Vec<IpAddr> {
    res.nets
        .iter()
        .flat_map(|n| {
            [
                net::Subnets::v4(side(&n.subnets), 100),
                net::Subnets::v6(side(&n.subnets), 100),
            ]
        })
        .filter_map(|a| a.parse().ok())
        .collect()
}

pub(super) async fn gather(
    ctx: &RunOnce<'_>,
    m: &Materials,
    res: &Resources,
    fetched: Option<std::fs::File>,
) -> Evidence {
    let client = res.id(Role::Client).unwrap_or_default();
    let server = res.id(Role::Server).unwrap_or_default();
    let save = |side: Role| ctx.save_files.then(|| ctx.run.saved_downloads(side));
    let mut files = Ok(());
    if !m.client_downloads.is_empty() {
        files = check_side(
            ctx,
            client,
            &m.client_downloads,
            save(Role::Client),
            fetched,
        )
        .await;
    }
    if files.is_ok() && !m.server_downloads.is_empty() {
        files = check_side(ctx, server, &m.server_downloads, save(Role::Server), None).await;
    }
    let negotiated = match &m.negotiated {
        Some(expected) => Some(Negotiated {
            expected: expected.clone(),
            client: read_small(ctx, client, "/downloads/negotiated_protocol.txt").await,
            server: read_small(ctx, server, "/downloads/negotiated_protocol.txt").await,
        }),
        None => None,
    };
    let sizes = ctx.test.file_sizes();
    Evidence {
        download_problem: files.err().map(|e| e.to_string()),
        negotiated,
        server_addrs: host_addrs(res, |s| s.right),
        client_addrs: host_addrs(res, |s| s.left),
        file_count: sizes.len(),
        file_bytes: sizes.iter().sum(),
    }
}
