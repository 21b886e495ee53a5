//! A plain hq-interop endpoint around s2n-quic, for the interop runner: the
//! server serves /www on UDP 443, the client fetches $REQUESTS into
//! /downloads. run_endpoint.sh admits only the TESTCASE values handled here.

use std::net::SocketAddr;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use bytes::Bytes;
use s2n_quic::client::Connect;
use s2n_quic::provider::endpoint_limits::{ConnectionAttempt, Limiter, Outcome};
use s2n_quic::provider::limits::Limits;
use s2n_quic::provider::tls;
use s2n_quic::{Client, Server};
use tokio::io::AsyncWriteExt;

const ALPN: &str = "hq-interop";
const MAX_REQUEST: usize = 64 * 1024;

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
        eprintln!("s2n-quic endpoint: {e:#}");
        std::process::exit(1);
    }
}

fn limits() -> Result<Limits> {
    Ok(Limits::new().with_max_idle_timeout(Duration::from_secs(30))?)
}

/// Asks every new client for address validation: s2n-quic sends a Retry,
/// and admits an Initial that carries its token without asking again.
struct AlwaysRetry;

impl Limiter for AlwaysRetry {
    fn on_connection_attempt(&mut self, _: &ConnectionAttempt) -> Outcome {
        Outcome::retry()
    }
}

async fn server(testcase: &str) -> Result<()> {
    // with_key_logging writes to $SSLKEYLOGFILE when it is set.
    let tls = tls::default::Server::builder()
        .with_certificate(Path::new("/certs/cert.pem"), Path::new("/certs/priv.key"))?
        .with_application_protocols([ALPN])?
        .with_key_logging()?
        .build()?;
    // [::] with IPV6_V6ONLY off (s2n-quic's default) takes IPv4 too.
    let builder = Server::builder()
        .with_tls(tls)?
        .with_limits(limits()?)?
        .with_io("[::]:443")?;
    let mut server = if testcase == "retry" {
        builder.with_endpoint_limits(AlwaysRetry)?.start()?
    } else {
        builder.start()?
    };
    eprintln!("s2n-quic server: listening on {}", server.local_addr()?);
    while let Some(mut connection) = server.accept().await {
        eprintln!(
            "s2n-quic server: connection from {}",
            connection.remote_addr().map_or("?".into(), |a| a.to_string())
        );
        tokio::spawn(async move {
            loop {
                match connection.accept_bidirectional_stream().await {
                    Ok(Some(stream)) => {
                        tokio::spawn(async move {
                            if let Err(e) = serve_request(stream).await {
                                eprintln!("s2n-quic server: request: {e:#}");
                            }
                        });
                    }
                    Ok(None) => break,
                    Err(e) => {
                        eprintln!("s2n-quic server: connection: {e}");
                        break;
                    }
                }
            }
        });
    }
    Ok(())
}

async fn serve_request(mut stream: s2n_quic::stream::BidirectionalStream) -> Result<()> {
    let mut request = Vec::new();
    while let Some(chunk) = stream.receive().await? {
        request.extend_from_slice(&chunk);
        if request.len() > MAX_REQUEST {
            bail!("request longer than {MAX_REQUEST} bytes");
        }
    }
    let text = String::from_utf8_lossy(&request);
    let line = text.lines().next().unwrap_or_default();
    let path = line
        .strip_prefix("GET ")
        .ok_or_else(|| anyhow!("not an HTTP/0.9 GET: {line:?}"))?
        .trim();
    let file = below(Path::new("/www"), path)?;
    let body = tokio::fs::read(&file)
        .await
        .with_context(|| format!("read {}", file.display()))?;
    stream.send(Bytes::from(body)).await?;
    // Finishes the stream and waits until the peer has everything.
    stream.close().await?;
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

async fn client(testcase: &str) -> Result<()> {
    let requests = std::env::var("REQUESTS").unwrap_or_default();
    let mut authority = "";
    let mut paths = Vec::new();
    for url in requests.split_whitespace() {
        let rest = url
            .strip_prefix("https://")
            .ok_or_else(|| anyhow!("not an https URL: {url}"))?;
        let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
        authority = host;
        paths.push(format!("/{path}"));
    }
    if paths.is_empty() {
        bail!("no REQUESTS given");
    }
    let name = authority
        .rsplit_once(':')
        .map_or(authority, |(host, _)| host)
        .trim_matches(['[', ']'])
        .to_string();
    let target: SocketAddr = tokio::net::lookup_host(if authority.contains(':') {
        authority.to_string()
    } else {
        format!("{authority}:443")
    })
    .await?
    .next()
    .ok_or_else(|| anyhow!("{authority} does not resolve"))?;
    let bind = if target.is_ipv4() { "0.0.0.0:0" } else { "[::]:0" };
    let builder = Client::builder().with_limits(limits()?)?;
    let mut client = if testcase == "chacha20" {
        builder
            .with_tls(chacha20_tls()?)?
            .with_io(bind)?
            .start()?
    } else {
        let tls = tls::default::Client::builder()
            .with_certificate(Path::new("/certs/ca.pem"))?
            .with_application_protocols([ALPN])?
            .with_key_logging()?
            .build()?;
        builder.with_tls(tls)?.with_io(bind)?.start()?
    };
    let paths: Vec<&str> = paths.iter().map(String::as_str).collect();
    if testcase == "multiconnect" {
        for path in &paths {
            session(&client, target, &name, &[path]).await?;
        }
    } else {
        session(&client, target, &name, &paths).await?;
    }
    client.wait_idle().await?;
    Ok(())
}

/// The rustls provider, offering TLS_CHACHA20_POLY1305_SHA256 alone (s2n-tls
/// has no security policy that does). It logs keys to $SSLKEYLOGFILE too.
fn chacha20_tls() -> Result<tls::rustls::Client> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::CertificateDer;
    let mut provider = rustls::crypto::aws_lc_rs::default_provider();
    provider.cipher_suites = vec![rustls::crypto::aws_lc_rs::cipher_suite::TLS13_CHACHA20_POLY1305_SHA256];
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter("/certs/ca.pem").context("read /certs/ca.pem")? {
        roots.add(cert?)?;
    }
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(provider))
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![ALPN.as_bytes().to_vec()];
    config.key_log = Arc::new(rustls::KeyLogFile::new());
    // Deprecated in favour of the builder, which cannot restrict the suites.
    #[allow(deprecated)]
    let client = tls::rustls::Client::new(config);
    Ok(client)
}

/// One connection fetching `paths` in parallel, one stream each.
async fn session(client: &Client, target: SocketAddr, name: &str, paths: &[&str]) -> Result<()> {
    let mut connection = client
        .connect(Connect::new(target).with_server_name(name))
        .await
        .context("connect")?;
    connection.keep_alive(true)?;
    let tasks: Vec<_> = paths
        .iter()
        .map(|path| {
            let handle = connection.handle();
            let path = path.to_string();
            tokio::spawn(async move { fetch(handle, &path).await })
        })
        .collect();
    let mut result = Ok(());
    for task in tasks {
        if let Err(e) = task.await? {
            result = Err(e);
            break;
        }
    }
    connection.close(s2n_quic::application::Error::UNKNOWN);
    result
}

async fn fetch(mut handle: s2n_quic::connection::Handle, path: &str) -> Result<()> {
    let mut stream = handle.open_bidirectional_stream().await?;
    stream.send(Bytes::from(format!("GET {path}\r\n"))).await?;
    stream.finish()?;
    let file = below(Path::new("/downloads"), path)?;
    let mut out = tokio::fs::File::create(&file)
        .await
        .with_context(|| format!("create {}", file.display()))?;
    while let Some(chunk) = stream
        .receive()
        .await
        .with_context(|| format!("download {path}"))?
    {
        out.write_all(&chunk).await?;
    }
    out.flush().await?;
    Ok(())
}
