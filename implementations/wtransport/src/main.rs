//! WebTransport interop endpoint (both roles) on wtransport 0.7.2: the
//! reference runner's GET/PUSH exchange (webtransport.md) over unidirectional
//! streams, bidirectional streams and datagrams, one session per connection.
//!
//! The client cannot do `handshake`: wtransport 0.7.2's `Endpoint::connect`
//! drops the CONNECT response's headers, so the client never learns the
//! WT-Protocol the server chose (exit 127).

use anyhow::{anyhow, bail, Context, Result};
use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::AsyncReadExt;
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::{mpsc, Notify};
use tokio::task::JoinSet;
use tokio::time::{sleep, timeout};
use wtransport::endpoint::{ConnectOptions, IncomingSession};
use wtransport::tls::CertificateChain;
use wtransport::{ClientConfig, Connection, Endpoint, Identity, RecvStream, SendStream, ServerConfig, VarInt};

const EXIT_UNSUPPORTED: i32 = 127;
const WWW: &str = "/www";
const DOWNLOADS: &str = "/downloads";
const TRANSFER_TIMEOUT: Duration = Duration::from_secs(60);
// The simulated bottleneck queues 25 packets at 10 Mbps: datagram requests
// and answers are paced below it, and lost ones asked for again.
const DATAGRAM_REQUEST_GAP: Duration = Duration::from_millis(20);
const DATAGRAM_RESPONSE_GAP: Duration = Duration::from_micros(1500);
const DATAGRAM_ROUND_WAIT: Duration = Duration::from_secs(2);
const DATAGRAM_ROUNDS: usize = 10;
const MAX_MESSAGE: u64 = 64 << 20;

#[derive(Clone, Copy, Debug)]
enum Kind {
    Uni,
    Bidi,
    Datagram,
}

/// The cases a client runs: None answers the server's requests only.
fn client_case(testcase: &str) -> Option<Option<Kind>> {
    match testcase {
        "transfer" => Some(None),
        "transfer-unidirectional-receive" => Some(Some(Kind::Uni)),
        "transfer-bidirectional-receive" => Some(Some(Kind::Bidi)),
        "transfer-datagram-receive" => Some(Some(Kind::Datagram)),
        _ => None,
    }
}

fn server_case(testcase: &str) -> Option<Option<Kind>> {
    match testcase {
        "handshake" | "transfer" => Some(None),
        "transfer-unidirectional-send" => Some(Some(Kind::Uni)),
        "transfer-bidirectional-send" => Some(Some(Kind::Bidi)),
        "transfer-datagram-send" => Some(Some(Kind::Datagram)),
        _ => None,
    }
}

fn basename(name: &str) -> String {
    name.trim().rsplit('/').next().unwrap_or("").to_string()
}

fn env_list(name: &str) -> Vec<String> {
    std::env::var(name).unwrap_or_default().split_whitespace().map(String::from).collect()
}

fn key_log() -> Arc<dyn rustls::KeyLog> {
    // Reads SSLKEYLOGFILE itself.
    Arc::new(rustls::KeyLogFile::new())
}

/// One WebTransport session: answers GETs, stores PUSHes, requests files.
struct Peer {
    conn: Connection,
    endpoint: String,
    claimed: Mutex<HashSet<String>>,
    stored: Mutex<HashSet<String>>,
    arrived: Notify,
    datagram_pacer: tokio::sync::Mutex<()>,
}

impl Peer {
    fn new(conn: Connection, endpoint: String) -> Arc<Self> {
        Arc::new(Peer {
            conn,
            endpoint,
            claimed: Mutex::default(),
            stored: Mutex::default(),
            arrived: Notify::new(),
            datagram_pacer: tokio::sync::Mutex::new(()),
        })
    }

    async fn load(&self, request: &[u8]) -> Option<(String, Vec<u8>)> {
        let text = String::from_utf8_lossy(request);
        let Some(name) = text.trim().strip_prefix("GET ") else {
            eprintln!("not a GET: {:?}", text.chars().take(80).collect::<String>());
            return None;
        };
        let name = basename(name);
        let path = Path::new(WWW).join(&self.endpoint).join(&name);
        match tokio::fs::read(&path).await {
            Ok(bytes) => Some((name, bytes)),
            Err(e) => {
                eprintln!("cannot answer GET {name}: {}: {e}", path.display());
                None
            }
        }
    }

    async fn store(&self, name: &str, payload: &[u8]) -> Result<()> {
        let name = basename(name);
        // A datagram file asked for twice may arrive twice.
        if !self.claimed.lock().unwrap().insert(name.clone()) {
            return Ok(());
        }
        let dir = Path::new(DOWNLOADS).join(&self.endpoint);
        tokio::fs::create_dir_all(&dir).await?;
        tokio::fs::write(dir.join(&name), payload).await.with_context(|| format!("writing {name}"))?;
        self.stored.lock().unwrap().insert(name);
        self.arrived.notify_waiters();
        Ok(())
    }

    async fn store_push(&self, data: &[u8]) -> Result<()> {
        let rest = data.strip_prefix(b"PUSH ").ok_or_else(|| anyhow!("neither GET nor PUSH: {:?}", String::from_utf8_lossy(&data[..data.len().min(80)])))?;
        let nl = rest.iter().position(|&b| b == b'\n').ok_or_else(|| anyhow!("PUSH without a newline"))?;
        self.store(&String::from_utf8_lossy(&rest[..nl]), &rest[nl + 1..]).await
    }

    fn missing(&self, names: &[String]) -> Vec<String> {
        let stored = self.stored.lock().unwrap();
        names.iter().filter(|n| !stored.contains(n.as_str())).cloned().collect()
    }

    async fn wait_for(&self, names: &[String]) {
        loop {
            let notified = self.arrived.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.missing(names).is_empty() {
                return;
            }
            notified.await;
        }
    }

    /// Answers and stores whatever the peer sends, until the session ends.
    async fn listen(self: Arc<Self>) {
        let uni = async {
            while let Ok(recv) = self.conn.accept_uni().await {
                let p = self.clone();
                tokio::spawn(async move { p.on_uni(recv).await.unwrap_or_else(|e| eprintln!("unidirectional stream: {e:#}")) });
            }
        };
        let bidi = async {
            while let Ok((send, recv)) = self.conn.accept_bi().await {
                let p = self.clone();
                tokio::spawn(async move { p.on_bidi(send, recv).await.unwrap_or_else(|e| eprintln!("bidirectional stream: {e:#}")) });
            }
        };
        let datagrams = async {
            while let Ok(d) = self.conn.receive_datagram().await {
                let p = self.clone();
                tokio::spawn(async move { p.on_datagram(&d.payload()).await.unwrap_or_else(|e| eprintln!("datagram: {e:#}")) });
            }
        };
        tokio::join!(uni, bidi, datagrams);
    }

    async fn on_uni(self: Arc<Self>, recv: RecvStream) -> Result<()> {
        let data = read_all(recv).await?;
        if data.starts_with(b"PUSH ") {
            return self.store_push(&data).await;
        }
        if let Some((name, bytes)) = self.load(&data).await {
            let mut send = self.conn.open_uni().await?.await?;
            send.write_all(&push(&name, &bytes)).await?;
            send.finish().await?;
        }
        Ok(())
    }

    async fn on_bidi(self: Arc<Self>, mut send: SendStream, recv: RecvStream) -> Result<()> {
        let request = read_all(recv).await?;
        match self.load(&request).await {
            Some((_, bytes)) => {
                send.write_all(&bytes).await?;
                send.finish().await?;
            }
            None => {
                let _ = send.reset(VarInt::from_u32(0x10));
            }
        }
        Ok(())
    }

    async fn on_datagram(self: Arc<Self>, data: &[u8]) -> Result<()> {
        if data.starts_with(b"PUSH ") {
            return self.store_push(data).await;
        }
        if let Some((name, bytes)) = self.load(data).await {
            let _pace = self.datagram_pacer.lock().await;
            self.conn.send_datagram(push(&name, &bytes)).with_context(|| format!("sending {name}"))?;
            sleep(DATAGRAM_RESPONSE_GAP).await;
        }
        Ok(())
    }

    /// Fetches names over kind, all in parallel.
    async fn request(self: &Arc<Self>, kind: Kind, names: Vec<String>) -> Result<()> {
        eprintln!("requesting {} files over {kind:?}", names.len());
        match kind {
            Kind::Uni | Kind::Bidi => {
                let mut tasks = JoinSet::new();
                for name in names.clone() {
                    let p = self.clone();
                    tasks.spawn(async move { p.request_stream(kind, &name).await.with_context(|| format!("requesting {name}")) });
                }
                while let Some(done) = tasks.join_next().await {
                    done??;
                }
            }
            Kind::Datagram => {
                for round in 0..DATAGRAM_ROUNDS {
                    let missing = self.missing(&names);
                    if missing.is_empty() {
                        break;
                    }
                    eprintln!("datagram round {round}: {} missing", missing.len());
                    for name in &missing {
                        self.conn.send_datagram(format!("GET {name}")).with_context(|| format!("requesting {name}"))?;
                        sleep(DATAGRAM_REQUEST_GAP).await;
                    }
                    let _ = timeout(DATAGRAM_ROUND_WAIT, self.wait_for(&names)).await;
                }
            }
        }
        if timeout(TRANSFER_TIMEOUT, self.wait_for(&names)).await.is_err() {
            bail!("{} of {} files never arrived", self.missing(&names).len(), names.len());
        }
        Ok(())
    }

    async fn request_stream(&self, kind: Kind, name: &str) -> Result<()> {
        let get = format!("GET {name}");
        if let Kind::Bidi = kind {
            let (mut send, recv) = self.conn.open_bi().await?.await?;
            send.write_all(get.as_bytes()).await?;
            send.finish().await?;
            let bytes = read_all(recv).await?;
            return self.store(name, &bytes).await;
        }
        let mut send = self.conn.open_uni().await?.await?;
        send.write_all(get.as_bytes()).await?;
        send.finish().await?;
        Ok(())
    }
}

fn push(name: &str, bytes: &[u8]) -> Vec<u8> {
    let mut out = format!("PUSH {name}\n").into_bytes();
    out.extend_from_slice(bytes);
    out
}

async fn read_all(recv: RecvStream) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    recv.take(MAX_MESSAGE).read_to_end(&mut out).await?;
    Ok(out)
}

/// WT-Available-Protocols is a Structured Field List of Strings (RFC 9651).
fn sf_string_list(items: &[String]) -> String {
    items.iter().map(|p| format!("\"{p}\"")).collect::<Vec<_>>().join(", ")
}

fn parse_sf_string_list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(|item| item.split(';').next().unwrap_or("").trim().trim_matches('"').to_string())
        .filter(|item| !item.is_empty())
        .collect()
}

/// The client's first offered protocol that the server also lists.
fn negotiate(headers: &HashMap<String, String>, ours: &[String]) -> Option<String> {
    let offered = headers.iter().find(|(k, _)| k.eq_ignore_ascii_case("wt-available-protocols"))?.1;
    parse_sf_string_list(offered).into_iter().find(|p| ours.contains(p))
}

async fn run_client(kind: Option<Kind>) -> Result<()> {
    // Every URL names the one session (https://host:port/<endpoint>[/<file>]).
    let mut session: Option<(String, String)> = None;
    let mut files = Vec::new();
    for url in env_list("REQUESTS") {
        let rest = url.strip_prefix("https://").ok_or_else(|| anyhow!("not an https URL: {url}"))?;
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        let (endpoint, file) = path.split_once('/').unwrap_or((path, ""));
        let key = (authority.to_string(), endpoint.to_string());
        match &session {
            Some(s) if *s != key => bail!("REQUESTS names more than one session; this client opens one"),
            _ => session = Some(key),
        }
        if !file.is_empty() {
            files.push(basename(file));
        }
    }
    let (authority, endpoint) = session.ok_or_else(|| anyhow!("REQUESTS is empty"))?;

    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateChain::load_pemfile("/certs/ca.pem").await?.as_slice() {
        roots.add(cert.der().to_vec().into())?;
    }
    let mut tls = wtransport::tls::client::build_default_tls_config(Arc::new(roots), None);
    tls.key_log = key_log();
    let config = ClientConfig::builder().with_bind_default().with_custom_tls(tls).build();
    let client = Endpoint::client(config)?;

    let url = format!("https://{authority}/{endpoint}");
    let mut options = ConnectOptions::builder(&url);
    let protocols = env_list("PROTOCOLS");
    if !protocols.is_empty() {
        options = options.add_header("wt-available-protocols", sf_string_list(&protocols));
    }
    let conn = client.connect(options.build()).await.with_context(|| format!("connecting to {url}"))?;
    eprintln!("session established to {url}");
    let peer = Peer::new(conn, endpoint);
    tokio::spawn(peer.clone().listen());
    match kind {
        None => eprintln!("session ended: {}", peer.conn.closed().await),
        Some(kind) => {
            peer.request(kind, files).await?;
            peer.conn.close(VarInt::from_u32(0), b"done");
        }
    }
    let _ = timeout(Duration::from_secs(2), client.wait_idle()).await;
    Ok(())
}

async fn run_server(testcase: String, kind: Option<Kind>) -> Result<()> {
    let identity = Identity::load_pemfiles("/certs/cert.pem", "/certs/priv.key").await?;
    let mut tls = wtransport::tls::server::build_default_tls_config(identity);
    tls.key_log = key_log();
    let server = Endpoint::server(ServerConfig::builder().with_bind_default(443).with_custom_tls(tls).build())?;
    eprintln!("listening on UDP 443");

    let protocols = Arc::new(env_list("PROTOCOLS"));
    // Send cases: "<endpoint>/<file>" paths to request from the client.
    let mut wanted: HashMap<String, Vec<String>> = HashMap::new();
    for path in env_list("REQUESTS") {
        let (endpoint, file) = path.trim_start_matches('/').split_once('/').unwrap_or((&path, ""));
        wanted.entry(endpoint.to_string()).or_default().push(basename(file));
    }
    let wanted = Arc::new(wanted);
    let (done_tx, mut done_rx) = mpsc::channel::<Result<()>>(1);
    loop {
        tokio::select! {
            incoming = server.accept() => {
                let (testcase, protocols, wanted, done) = (testcase.clone(), protocols.clone(), wanted.clone(), done_tx.clone());
                tokio::spawn(async move {
                    let result = serve_session(incoming, &testcase, kind, &protocols, &wanted).await;
                    if let Err(e) = &result {
                        eprintln!("session failed: {e:#}");
                    }
                    if kind.is_some() {
                        let _ = done.send(result).await;
                    }
                });
            }
            Some(result) = done_rx.recv() => {
                let _ = timeout(Duration::from_secs(2), server.wait_idle()).await;
                return result;
            }
        }
    }
}

async fn serve_session(incoming: IncomingSession, testcase: &str, kind: Option<Kind>, protocols: &[String], wanted: &HashMap<String, Vec<String>>) -> Result<()> {
    let request = incoming.await?;
    let path = request.path().to_string();
    let endpoint = path.trim_start_matches('/').split(['/', '?']).next().unwrap_or("").to_string();
    eprintln!("session request for {path}: {:?}", request.headers());
    let selected = negotiate(request.headers(), protocols);
    let conn = match &selected {
        // WT-Protocol is a Structured Field String.
        Some(p) => request.accept_with_headers([("wt-protocol", format!("\"{p}\""))]).await?,
        None => request.accept().await?,
    };
    eprintln!("session accepted on /{endpoint}, protocol {selected:?}");
    if testcase == "handshake" {
        tokio::fs::create_dir_all(DOWNLOADS).await?;
        tokio::fs::write(Path::new(DOWNLOADS).join("negotiated_protocol.txt"), selected.unwrap_or_default()).await?;
    }
    let peer = Peer::new(conn, endpoint.clone());
    tokio::spawn(peer.clone().listen());
    match kind {
        None => {
            eprintln!("session ended: {}", peer.conn.closed().await);
            Ok(())
        }
        Some(kind) => {
            let files = wanted.get(&endpoint).cloned().ok_or_else(|| anyhow!("REQUESTS names no file for the session's endpoint /{endpoint}"))?;
            peer.request(kind, files).await?;
            peer.conn.close(VarInt::from_u32(0), b"done");
            Ok(())
        }
    }
}

fn main() {
    let role = std::env::var("ROLE").unwrap_or_default();
    let testcase = std::env::var("TESTCASE").unwrap_or_default();
    let case = match role.as_str() {
        "client" => client_case(&testcase),
        "server" => server_case(&testcase),
        _ => {
            eprintln!("wtransport: ROLE must be client or server, not {role:?}");
            std::process::exit(1);
        }
    };
    let Some(kind) = case else {
        eprintln!("wtransport {role}: test case {testcase:?} is not supported");
        std::process::exit(EXIT_UNSUPPORTED);
    };
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("tokio runtime");
    let code = runtime.block_on(async {
        // As PID 1 the process gets SIGTERM only through a handler.
        let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
        let work = async {
            if role == "client" {
                run_client(kind).await
            } else {
                run_server(testcase.clone(), kind).await
            }
        };
        tokio::select! {
            result = work => match result {
                Ok(()) => 0,
                Err(e) => {
                    eprintln!("wtransport {role} {testcase} failed: {e:#}");
                    1
                }
            },
            _ = term.recv() => 0,
        }
    });
    std::process::exit(code);
}
