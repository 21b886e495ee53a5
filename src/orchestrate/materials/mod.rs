//! What a trial hands the endpoints: certificates, files to serve or send,
//! the `REQUESTS` and `PROTOCOLS` values, and what must arrive where.
//!
//! Input: a test case and a fresh directory. Output: [`Materials`], the
//! directories to mount and the values to pass, plus the expected downloads
//! the orchestrator checks after the run.

pub mod certs;
pub mod files;

use std::path::{Path, PathBuf};

use rand::seq::index::sample;
use rand::Rng;

use crate::catalog::testcases::{Protocol, TestCase, WtDirection, WtFlow};
use crate::orchestrate::docker::archive::Expected;

use files::slug;

/// Everything prepared for one run of a test.
#[derive(Debug, Clone, Default)]
pub struct Materials {
    pub certs: PathBuf,
    pub server_www: PathBuf,
    pub client_www: PathBuf,
    pub client_requests: String,
    pub server_requests: String,
    pub client_protocols: String,
    pub server_protocols: String,
    /// Files the client's /downloads must hold exactly.
    pub client_downloads: Vec<Expected>,
    /// Files the server's /downloads must hold exactly (WebTransport send).
    pub server_downloads: Vec<Expected>,
    /// WebTransport handshake: the protocol both sides must report.
    pub negotiated: Option<String>,
}

/// Why a test's materials could not be made: the trial fails with it.
#[derive(Debug, thiserror::Error)]
pub enum MaterialsError {
    #[error("cannot create {}: {source}", path.display())]
    Mkdir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    Certs(#[from] certs::CertError),
    #[error("cannot generate test files: {0}")]
    Files(#[source] std::io::Error),
}

fn mkdir(p: &Path) -> Result<(), MaterialsError> {
    std::fs::create_dir_all(p).map_err(|source| MaterialsError::Mkdir {
        path: p.to_path_buf(),
        source,
    })
}

/// Prepares `test` inside `dir` (a fresh temporary directory).
pub fn prepare(test: &TestCase, dir: &Path) -> Result<Materials, MaterialsError> {
    let mut m = Materials {
        certs: dir.join("certs"),
        server_www: dir.join("server_www"),
        client_www: dir.join("client_www"),
        ..Default::default()
    };
    for d in [&m.certs, &m.server_www, &m.client_www] {
        mkdir(d)?;
    }
    certs::generate(test.certs)
        .and_then(|c| c.write_to(&m.certs).map_err(certs::CertError::from))?;
    let prefix = test.url_host.url_prefix();
    match (test.protocol, test.flow) {
        (Protocol::Quic, _) => {
            let made = files::generate(test.files, &m.server_www).map_err(MaterialsError::Files)?;
            m.client_requests = made
                .iter()
                .map(|f| format!("{prefix}{}", f.name))
                .collect::<Vec<_>>()
                .join(" ");
            m.client_downloads = made
                .iter()
                .map(|f| Expected {
                    name: f.name.clone(),
                    source: m.server_www.join(&f.name),
                })
                .collect();
        }
        (Protocol::WebTransport, Some(WtFlow { direction, .. })) => {
            wt_transfer(test, direction, prefix, &mut m)?
        }
        (Protocol::WebTransport, _) => wt_handshake(prefix, &mut m)?,
    }
    Ok(m)
}

fn wt_transfer(
    test: &TestCase,
    direction: WtDirection,
    prefix: &str,
    m: &mut Materials,
) -> Result<(), MaterialsError> {
    let mut rng = rand::thread_rng();
    let endpoint = slug(&mut rng);
    let protocol = slug(&mut rng);
    m.client_protocols = protocol.clone();
    m.server_protocols = protocol;
    let (source_root, downloads) = match direction {
        WtDirection::Receive => (m.server_www.clone(), &mut m.client_downloads),
        WtDirection::Send => (m.client_www.clone(), &mut m.server_downloads),
    };
    mkdir(&m.server_www.join(&endpoint))?;
    mkdir(&m.client_www.join(&endpoint))?;
    let source_dir = source_root.join(&endpoint);
    let made = files::generate(test.files, &source_dir).map_err(MaterialsError::Files)?;
    let paths: Vec<String> = made
        .iter()
        .map(|f| format!("{endpoint}/{}", f.name))
        .collect();
    *downloads = made
        .iter()
        .zip(&paths)
        .map(|(f, p)| Expected {
            name: p.clone(),
            source: source_dir.join(&f.name),
        })
        .collect();
    match direction {
        WtDirection::Receive => {
            m.client_requests = paths
                .iter()
                .map(|p| format!("{prefix}{p}"))
                .collect::<Vec<_>>()
                .join(" ");
        }
        WtDirection::Send => {
            m.client_requests = format!("{prefix}{endpoint}");
            m.server_requests = paths.join(" ");
        }
    }
    Ok(())
}

/// Five random protocols per side, two of them shared and placed at the
/// same positions in swapped order, so the right choice (the client's first
/// shared one) differs from the server's first shared one.
pub fn protocol_lists(rng: &mut impl Rng) -> (Vec<String>, Vec<String>, String) {
    let mut unique = std::collections::HashSet::new();
    let mut fresh = |rng: &mut _| loop {
        let s = slug(rng);
        if unique.insert(s.clone()) {
            return s;
        }
    };
    let mut client: Vec<String> = (0..5).map(|_| fresh(rng)).collect();
    let mut server: Vec<String> = (0..5).map(|_| fresh(rng)).collect();
    let mut pos = sample(rng, 5, 2).into_vec();
    pos.sort_unstable();
    let shared = [fresh(rng), fresh(rng)];
    client[pos[0]] = shared[0].clone();
    client[pos[1]] = shared[1].clone();
    server[pos[0]] = shared[1].clone();
    server[pos[1]] = shared[0].clone();
    let expected = shared[0].clone();
    (client, server, expected)
}

fn wt_handshake(prefix: &str, m: &mut Materials) -> Result<(), MaterialsError> {
    let mut rng = rand::thread_rng();
    let endpoint = slug(&mut rng);
    mkdir(&m.server_www.join(&endpoint))?;
    m.client_requests = format!("{prefix}{endpoint}");
    let (client, server, expected) = protocol_lists(&mut rng);
    m.client_protocols = client.join(" ");
    m.server_protocols = server.join(" ");
    m.negotiated = Some(expected);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::testcases::find;

    #[test]
    fn quic_transfer_serves_files_and_requests_them() {
        let dir = tempfile::tempdir().unwrap();
        let m = prepare(find(Protocol::Quic, "transfer").unwrap(), dir.path()).unwrap();
        let urls: Vec<&str> = m.client_requests.split(' ').collect();
        assert_eq!(urls.len(), 3);
        assert!(urls.iter().all(|u| u.starts_with("https://server4:443/")));
        assert_eq!(m.client_downloads.len(), 3);
        assert!(m.client_downloads.iter().all(|e| e.source.is_file()));
        assert!(
            m.certs.join("cert.pem").is_file()
                && m.certs.join("priv.key").is_file()
                && m.certs.join("ca.pem").is_file()
        );
        assert!(m.server_requests.is_empty() && m.client_protocols.is_empty());
    }

    #[test]
    fn ipv6_and_migration_use_their_hosts() {
        let dir = tempfile::tempdir().unwrap();
        let m = prepare(
            find(Protocol::Quic, "ipv6").unwrap(),
            dir.path().join("a").as_path(),
        )
        .unwrap();
        assert!(m.client_requests.starts_with("https://server6:443/"));
        let m = prepare(
            find(Protocol::Quic, "connectionmigration").unwrap(),
            dir.path().join("b").as_path(),
        )
        .unwrap();
        assert!(m.client_requests.starts_with("https://server46:443/"));
    }

    #[test]
    fn webtransport_send_puts_files_on_the_client() {
        let dir = tempfile::tempdir().unwrap();
        let m = prepare(
            find(Protocol::WebTransport, "transfer-unidirectional-send").unwrap(),
            dir.path(),
        )
        .unwrap();
        assert_eq!(m.server_downloads.len(), 5);
        assert!(m.client_downloads.is_empty());
        assert!(m
            .server_downloads
            .iter()
            .all(|e| e.source.starts_with(&m.client_www)));
        let endpoint = m.server_downloads[0]
            .name
            .split('/')
            .next()
            .unwrap()
            .to_string();
        assert_eq!(m.client_requests, format!("https://server4:443/{endpoint}"));
        assert_eq!(m.server_requests.split(' ').count(), 5);
        assert_eq!(m.client_protocols, m.server_protocols);
    }

    #[test]
    fn webtransport_receive_requests_every_file() {
        let dir = tempfile::tempdir().unwrap();
        let m = prepare(
            find(Protocol::WebTransport, "transfer-datagram-receive").unwrap(),
            dir.path(),
        )
        .unwrap();
        assert_eq!(m.client_downloads.len(), 200);
        assert_eq!(m.client_requests.split(' ').count(), 200);
        assert!(m.server_requests.is_empty());
    }

    #[test]
    fn protocol_lists_share_two_in_swapped_order() {
        let mut rng = rand::thread_rng();
        for _ in 0..50 {
            let (c, s, expected) = protocol_lists(&mut rng);
            let shared: Vec<&String> = c.iter().filter(|p| s.contains(p)).collect();
            assert_eq!(shared.len(), 2);
            assert_eq!(*shared[0], expected, "the client's first shared protocol");
            let server_first = s.iter().find(|p| c.contains(p)).unwrap();
            assert_ne!(*server_first, expected, "server order is swapped");
        }
    }

    #[test]
    fn webtransport_handshake_expects_the_clients_first_shared_protocol() {
        let dir = tempfile::tempdir().unwrap();
        let m = prepare(
            find(Protocol::WebTransport, "handshake").unwrap(),
            dir.path(),
        )
        .unwrap();
        let expected = m.negotiated.clone().unwrap();
        assert!(m.client_protocols.split(' ').any(|p| p == expected));
        assert!(m.server_protocols.split(' ').any(|p| p == expected));
    }
}
