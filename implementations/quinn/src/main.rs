//! A plain hq-interop endpoint around quinn, for the interop runner: the
//! server serves /www on UDP 443, the client fetches $REQUESTS into
//! /downloads. run_endpoint.sh admits only the TESTCASE values handled here.

use std::net::SocketAddr;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use quinn::crypto::rustls::{QuicClientConfig, QuicServerConfig};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

const ALPN: &[u8] = b"hq-interop";
const MAX_REQUEST: usize = 64 * 1024;
const MAX_BODY: usize = 1 << 30;

#[tokio::main]
async fn main() {
    // As PID 1 of its container the program gets no default SIGTERM action:
    // without this, `docker stop` waits for its timeout and kills it.
    tokio::spawn(async {
        if let Ok(mut term) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            term.recv().await;
            std::process::exit(0);
        }
    });
    let testcase = std::env::var("TESTCASE").unwrap_or_default();
    let result = match std::env::var("ROLE").as_deref() {
        Ok("server") => server(&testcase).await,
        Ok("client") => client(&testcase).await,
        _ => Err(anyhow!("ROLE must be client or server")),
    };
    if let Err(e) = result {
        eprintln!("quinn endpoint: {e:#}");
        std::process::exit(1);
    }
}

fn transport() -> Arc<quinn::TransportConfig> {
    let mut transport = quinn::TransportConfig::default();
    transport.max_idle_timeout(Some(Duration::from_secs(30).try_into().expect("30 s fits")));
    Arc::new(transport)
}

/// The client's TLS suites: for chacha20 it offers ChaCha20-Poly1305 alone.
fn client_provider(testcase: &str) -> rustls::crypto::CryptoProvider {
    let mut provider = rustls::crypto::ring::default_provider();
    if testcase == "chacha20" {
        provider.cipher_suites =
            vec![rustls::crypto::ring::cipher_suite::TLS13_CHACHA20_POLY1305_SHA256];
    }
    provider
}

async fn server(testcase: &str) -> Result<()> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter("/certs/cert.pem")
        .context("read /certs/cert.pem")?
        .collect::<Result<_, _>>()
        .context("parse /certs/cert.pem")?;
    let key = PrivateKeyDer::from_pem_file("/certs/priv.key").context("read /certs/priv.key")?;
    // The server offers every suite: a chacha20 client's offer decides.
    let provider = rustls::crypto::ring::default_provider();
    let mut tls = rustls::ServerConfig::builder_with_provider(Arc::new(provider))
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .with_no_client_auth()
        .with_single_cert(certs, key)?;
    tls.alpn_protocols = vec![ALPN.to_vec()];
    tls.key_log = Arc::new(rustls::KeyLogFile::new());
    // QUIC allows only 0 or u32::MAX; the latter lets resumed clients send 0-RTT.
    tls.max_early_data_size = u32::MAX;
    let mut config = quinn::ServerConfig::with_crypto(Arc::new(QuicServerConfig::try_from(tls)?));
    config.transport_config(transport());
    let endpoint = quinn::Endpoint::server(config, "[::]:443".parse()?)?;
    eprintln!("quinn server: listening on {}", endpoint.local_addr()?);
    while let Some(incoming) = endpoint.accept().await {
        if testcase == "retry" && !incoming.remote_address_validated() {
            incoming
                .retry()
                .map_err(|_| anyhow!("cannot send a Retry"))?;
            continue;
        }
        tokio::spawn(async move {
            if let Err(e) = serve_connection(incoming).await {
                eprintln!("quinn server: connection: {e:#}");
            }
        });
    }
    Ok(())
}

async fn serve_connection(incoming: quinn::Incoming) -> Result<()> {
    let connecting = incoming.accept()?;
    // On a server this always succeeds; it lets requests sent in 0-RTT be
    // answered before the handshake completes.
    let connection = match connecting.into_0rtt() {
        Ok((connection, _)) => connection,
        Err(connecting) => connecting.await?,
    };
    eprintln!(
        "quinn server: connection from {}",
        connection.remote_address()
    );
    loop {
        match connection.accept_bi().await {
            Ok((send, recv)) => {
                tokio::spawn(async move {
                    if let Err(e) = serve_request(send, recv).await {
                        eprintln!("quinn server: request: {e:#}");
                    }
                });
            }
            Err(quinn::ConnectionError::ApplicationClosed(_))
            | Err(quinn::ConnectionError::ConnectionClosed(_))
            | Err(quinn::ConnectionError::LocallyClosed) => return Ok(()),
            Err(e) => return Err(e.into()),
        }
    }
}

async fn serve_request(mut send: quinn::SendStream, mut recv: quinn::RecvStream) -> Result<()> {
    let request = recv.read_to_end(MAX_REQUEST).await?;
    let line = std::str::from_utf8(&request)?
        .lines()
        .next()
        .unwrap_or_default();
    let path = line
        .strip_prefix("GET ")
        .ok_or_else(|| anyhow!("not an HTTP/0.9 GET: {line:?}"))?
        .trim();
    let file = below(Path::new("/www"), path)?;
    let body = tokio::fs::read(&file)
        .await
        .with_context(|| format!("read {}", file.display()))?;
    send.write_all(&body).await?;
    send.finish()?;
    // Keep the stream until the peer has everything.
    let _ = send.stopped().await;
    Ok(())
}

/// `root` joined with a request path, refusing anything that leaves it.
fn below(root: &Path, path: &str) -> Result<PathBuf> {
    let relative = Path::new(path.trim_start_matches('/'));
    if relative.as_os_str().is_empty()
        || relative
            .components()
            .any(|c| !matches!(c, Component::Normal(_)))
    {
        bail!("refusing path {path:?}");
    }
    Ok(root.join(relative))
}

/// One URL of $REQUESTS.
struct Request {
    host: String,
    port: u16,
    path: String,
}

fn parse_requests(text: &str) -> Result<Vec<Request>> {
    text.split_whitespace()
        .map(|url| {
            let rest = url
                .strip_prefix("https://")
                .ok_or_else(|| anyhow!("not an https URL: {url}"))?;
            let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
            let (host, port) = match authority.rsplit_once(':') {
                Some((host, port)) => (host, port.parse().context("port")?),
                None => (authority, 443),
            };
            Ok(Request {
                host: host.trim_matches(['[', ']']).to_string(),
                port,
                path: format!("/{path}"),
            })
        })
        .collect()
}

async fn client(testcase: &str) -> Result<()> {
    let requests = parse_requests(&std::env::var("REQUESTS").unwrap_or_default())?;
    let first = requests
        .first()
        .ok_or_else(|| anyhow!("no REQUESTS given"))?;
    let target: SocketAddr = tokio::net::lookup_host((first.host.as_str(), first.port))
        .await?
        .next()
        .ok_or_else(|| anyhow!("{} does not resolve", first.host))?;
    let host = first.host.clone();
    let bind: SocketAddr = if target.is_ipv4() {
        "0.0.0.0:0".parse()?
    } else {
        "[::]:0".parse()?
    };
    let mut endpoint = quinn::Endpoint::client(bind)?;
    endpoint.set_default_client_config(client_config(testcase)?);
    let paths: Vec<&str> = requests.iter().map(|r| r.path.as_str()).collect();
    let client = Client {
        endpoint: &endpoint,
        target,
        host: &host,
        key_update: testcase == "keyupdate",
    };
    match testcase {
        "multiconnect" => {
            for path in &paths {
                client.session(&[path], false).await?;
            }
        }
        "resumption" | "zerortt" => {
            client.session(&paths[..1], false).await?;
            if paths.len() > 1 {
                client.session(&paths[1..], testcase == "zerortt").await?;
            }
        }
        _ => client.session(&paths, false).await?,
    }
    endpoint.wait_idle().await;
    Ok(())
}

fn client_config(testcase: &str) -> Result<quinn::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter("/certs/ca.pem").context("read /certs/ca.pem")? {
        roots.add(cert?)?;
    }
    let mut tls = rustls::ClientConfig::builder_with_provider(Arc::new(client_provider(testcase)))
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .with_root_certificates(roots)
        .with_no_client_auth();
    tls.alpn_protocols = vec![ALPN.to_vec()];
    tls.key_log = Arc::new(rustls::KeyLogFile::new());
    tls.enable_early_data = true;
    let tls = Arc::new(tls);
    // Initial packets always use AES-128-GCM, whatever the offered suites.
    let initial = rustls::crypto::ring::cipher_suite::TLS13_AES_128_GCM_SHA256
        .tls13()
        .and_then(|suite| suite.quic_suite())
        .ok_or_else(|| anyhow!("ring has no QUIC AES-128-GCM suite"))?;
    let quic = QuicClientConfig::with_initial(tls, initial)?;
    let mut config = quinn::ClientConfig::new(Arc::new(quic));
    config.transport_config(transport());
    Ok(config)
}

struct Client<'a> {
    endpoint: &'a quinn::Endpoint,
    target: SocketAddr,
    host: &'a str,
    key_update: bool,
}

impl Client<'_> {
    /// One connection fetching `paths` in parallel; with `early`, the
    /// requests go out as 0-RTT data when the session allows it.
    async fn session(&self, paths: &[&str], early: bool) -> Result<()> {
        let connecting = self.endpoint.connect(self.target, self.host)?;
        let (connection, zero_rtt) = if early {
            match connecting.into_0rtt() {
                Ok((connection, accepted)) => (connection, Some(accepted)),
                Err(connecting) => (connecting.await?, None),
            }
        } else {
            (connecting.await?, None)
        };
        if self.key_update {
            let connection = connection.clone();
            tokio::spawn(async move {
                // After the handshake is confirmed, while data still flows.
                tokio::time::sleep(Duration::from_millis(300)).await;
                connection.force_key_update();
            });
        }
        let fetched = fetch_all(&connection, paths).await;
        let fetched = match (fetched, zero_rtt) {
            // A server that rejected 0-RTT dropped those requests: ask again.
            (Err(e), Some(accepted)) => {
                if accepted.await {
                    Err(e)
                } else {
                    fetch_all(&connection, paths).await
                }
            }
            (result, _) => result,
        };
        connection.close(0u32.into(), b"done");
        fetched
    }
}

async fn fetch_all(connection: &quinn::Connection, paths: &[&str]) -> Result<()> {
    let tasks: Vec<_> = paths
        .iter()
        .map(|path| {
            let connection = connection.clone();
            let path = path.to_string();
            tokio::spawn(async move { fetch(&connection, &path).await })
        })
        .collect();
    for task in tasks {
        task.await??;
    }
    Ok(())
}

async fn fetch(connection: &quinn::Connection, path: &str) -> Result<()> {
    let (mut send, mut recv) = connection.open_bi().await?;
    send.write_all(format!("GET {path}\r\n").as_bytes()).await?;
    send.finish()?;
    let body = recv
        .read_to_end(MAX_BODY)
        .await
        .with_context(|| format!("download {path}"))?;
    let file = below(Path::new("/downloads"), path)?;
    tokio::fs::write(&file, body)
        .await
        .with_context(|| format!("write {}", file.display()))?;
    Ok(())
}
