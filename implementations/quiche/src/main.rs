//! A plain interop endpoint around quiche, for the interop runner: the
//! server serves /www on UDP 443, the client fetches $REQUESTS into
//! /downloads, over hq-interop (HTTP/0.9) or, for `http3`, HTTP/3.
//! run_endpoint.sh admits only the TESTCASE values handled here.

use std::collections::{HashMap, VecDeque};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::net::{SocketAddr, ToSocketAddrs, UdpSocket};
use std::os::fd::AsRawFd;
use std::path::{Component, Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use quiche::h3::NameValue;

const HQ: &[u8] = b"hq-interop";
const MAX_DATAGRAM: usize = 1350;
const CID_LEN: usize = quiche::MAX_CONN_ID_LEN;

fn main() {
    // As PID 1 of its container the program gets no default SIGTERM action:
    // without a handler, `docker stop` waits for its timeout and kills it.
    extern "C" fn on_term(_: libc::c_int) {
        unsafe { libc::_exit(0) }
    }
    unsafe { libc::signal(libc::SIGTERM, on_term as libc::sighandler_t) };
    let testcase = std::env::var("TESTCASE").unwrap_or_default();
    let result = match std::env::var("ROLE").as_deref() {
        Ok("server") => server(&testcase),
        Ok("client") => client(&testcase),
        _ => Err(anyhow!("ROLE must be client or server")),
    };
    if let Err(e) = result {
        eprintln!("quiche endpoint: {e:#}");
        std::process::exit(1);
    }
}

fn config(testcase: &str) -> Result<quiche::Config> {
    let mut config = quiche::Config::new(quiche::PROTOCOL_VERSION)?;
    if testcase == "http3" {
        config.set_application_protos(quiche::h3::APPLICATION_PROTOCOL)?;
    } else {
        config.set_application_protos(&[HQ])?;
    }
    config.set_max_idle_timeout(30_000);
    config.set_max_send_udp_payload_size(MAX_DATAGRAM);
    config.set_initial_max_data(16 << 20);
    config.set_initial_max_stream_data_bidi_local(16 << 20);
    config.set_initial_max_stream_data_bidi_remote(1 << 20);
    config.set_initial_max_stream_data_uni(1 << 20);
    config.set_initial_max_streams_bidi(100);
    config.set_initial_max_streams_uni(100);
    config.enable_early_data();
    if std::env::var_os("SSLKEYLOGFILE").is_some() {
        config.log_keys();
    }
    Ok(config)
}

/// Key log and qlog for a new connection, where the environment asks for them.
fn attach_logs(conn: &mut quiche::Connection, role: &str) {
    if let Some(path) = std::env::var_os("SSLKEYLOGFILE") {
        if let Ok(file) = OpenOptions::new().create(true).append(true).open(path) {
            conn.set_keylog(Box::new(file));
        }
    }
    if let Some(dir) = std::env::var_os("QLOGDIR") {
        let path = Path::new(&dir).join(format!("{role}-{}.sqlog", conn.trace_id()));
        if let Ok(file) = File::create(path) {
            conn.set_qlog(Box::new(file), format!("quiche {role}"), String::new());
        }
    }
}

/// Waits until the socket is readable or `timeout` passes; true when readable.
fn wait(socket: &UdpSocket, timeout: Option<Duration>) -> Result<bool> {
    // Rounded up: a timer due in under a millisecond must not spin.
    let ms = timeout.map_or(-1, |t| t.as_micros().div_ceil(1000).min(60_000) as libc::c_int);
    let mut fd = libc::pollfd { fd: socket.as_raw_fd(), events: libc::POLLIN, revents: 0 };
    let n = unsafe { libc::poll(&mut fd, 1, ms) };
    if n < 0 {
        let e = std::io::Error::last_os_error();
        if e.kind() == std::io::ErrorKind::Interrupted {
            return Ok(false);
        }
        return Err(e.into());
    }
    Ok(n > 0)
}

/// Sends everything the connection has ready.
fn flush(conn: &mut quiche::Connection, socket: &UdpSocket, out: &mut [u8]) {
    loop {
        match conn.send(out) {
            Ok((n, info)) => {
                // A full socket buffer is a lost packet; recovery resends it.
                let _ = socket.send_to(&out[..n], info.to);
            }
            Err(quiche::Error::Done) => break,
            Err(e) => {
                eprintln!("quiche: send: {e}");
                let _ = conn.close(false, 0x1, b"send failed");
                break;
            }
        }
    }
}

fn random_cid() -> Vec<u8> {
    let mut cid = vec![0; CID_LEN];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut cid)
        .expect("system random");
    cid
}

// ---------------------------------------------------------------- server

/// One connection on the server, with its requests and unfinished responses.
struct Peer {
    conn: quiche::Connection,
    h3: Option<quiche::h3::Connection>,
    requests: HashMap<u64, Vec<u8>>,
    responses: HashMap<u64, (Vec<u8>, usize)>,
}

fn server(testcase: &str) -> Result<()> {
    let mut config = config(testcase)?;
    config.load_cert_chain_from_pem_file("/certs/cert.pem").context("load /certs/cert.pem")?;
    config.load_priv_key_from_pem_file("/certs/priv.key").context("load /certs/priv.key")?;
    let h3_config = quiche::h3::Config::new()?;
    // [::] with IPV6_V6ONLY off (Linux's default) takes IPv4 too.
    let socket = UdpSocket::bind("[::]:443").context("bind [::]:443")?;
    socket.set_nonblocking(true)?;
    let local = socket.local_addr()?;
    eprintln!("quiche server: listening on {local}");
    let rng = ring::rand::SystemRandom::new();
    let cid_key = ring::hmac::Key::generate(ring::hmac::HMAC_SHA256, &rng)
        .map_err(|_| anyhow!("no random key"))?;
    let mut peers: HashMap<Vec<u8>, Peer> = HashMap::new();
    let mut buf = vec![0; 65535];
    let mut out = vec![0; MAX_DATAGRAM];
    loop {
        let timeout = peers.values().filter_map(|p| p.conn.timeout()).min();
        if wait(&socket, timeout)? {
            while let Ok((len, from)) = socket.recv_from(&mut buf) {
                let packet = &mut buf[..len];
                let Ok(hdr) = quiche::Header::from_slice(packet, CID_LEN) else {
                    continue;
                };
                // The CID this server chose for a client's first DCID, so
                // retransmitted Initials find their connection.
                let derived = ring::hmac::sign(&cid_key, &hdr.dcid).as_ref()[..CID_LEN].to_vec();
                let key = if peers.contains_key(hdr.dcid.as_ref()) {
                    hdr.dcid.to_vec()
                } else if peers.contains_key(&derived) {
                    derived
                } else {
                    if hdr.ty != quiche::Type::Initial {
                        continue;
                    }
                    if !quiche::version_is_supported(hdr.version) {
                        if let Ok(n) = quiche::negotiate_version(&hdr.scid, &hdr.dcid, &mut out) {
                            let _ = socket.send_to(&out[..n], from);
                        }
                        continue;
                    }
                    let token = hdr.token.as_deref().unwrap_or_default();
                    let (scid, odcid) = if testcase == "retry" {
                        if token.is_empty() {
                            let new_token = retry_token(&from, &hdr.dcid);
                            let scid = quiche::ConnectionId::from_ref(&derived);
                            if let Ok(n) = quiche::retry(
                                &hdr.scid, &hdr.dcid, &scid, &new_token, hdr.version, &mut out,
                            ) {
                                let _ = socket.send_to(&out[..n], from);
                            }
                            continue;
                        }
                        let Some(odcid) = check_retry_token(&from, token) else {
                            eprintln!("quiche server: invalid Retry token from {from}");
                            continue;
                        };
                        (hdr.dcid.to_vec(), Some(odcid))
                    } else {
                        (derived, None)
                    };
                    let odcid = odcid.map(quiche::ConnectionId::from_vec);
                    let mut conn = quiche::accept(
                        &quiche::ConnectionId::from_ref(&scid),
                        odcid.as_ref(),
                        local,
                        from,
                        &mut config,
                    )?;
                    attach_logs(&mut conn, "server");
                    eprintln!("quiche server: connection from {from}");
                    let peer = Peer { conn, h3: None, requests: HashMap::new(), responses: HashMap::new() };
                    peers.insert(scid.clone(), peer);
                    scid
                };
                let peer = peers.get_mut(&key).expect("looked up");
                if let Err(e) = peer.conn.recv(packet, quiche::RecvInfo { from, to: local }) {
                    eprintln!("quiche server: recv: {e}");
                    continue;
                }
                if let Err(e) = serve(peer, &h3_config) {
                    eprintln!("quiche server: {e:#}");
                }
            }
        }
        for peer in peers.values_mut() {
            peer.conn.on_timeout();
            flush(&mut peer.conn, &socket, &mut out);
        }
        peers.retain(|_, p| !p.conn.is_closed());
    }
}

fn retry_token(from: &SocketAddr, odcid: &[u8]) -> Vec<u8> {
    let mut token = b"quiche-retry".to_vec();
    let addr = from.to_string();
    token.push(addr.len() as u8);
    token.extend_from_slice(addr.as_bytes());
    token.extend_from_slice(odcid);
    token
}

/// The original DCID from a token this server minted for this address.
fn check_retry_token(from: &SocketAddr, token: &[u8]) -> Option<Vec<u8>> {
    let rest = token.strip_prefix(b"quiche-retry")?;
    let (&len, rest) = rest.split_first()?;
    let (addr, odcid) = rest.split_at_checked(len as usize)?;
    (addr == from.to_string().as_bytes()).then(|| odcid.to_vec())
}

/// Reads requests and pushes responses, once keys allow application data.
fn serve(peer: &mut Peer, h3_config: &quiche::h3::Config) -> Result<()> {
    let conn = &mut peer.conn;
    if !(conn.is_established() || conn.is_in_early_data()) {
        return Ok(());
    }
    if conn.application_proto() == quiche::h3::APPLICATION_PROTOCOL[0] {
        if peer.h3.is_none() {
            peer.h3 = Some(quiche::h3::Connection::with_transport(conn, h3_config)?);
        }
        let h3 = peer.h3.as_mut().expect("set above");
        loop {
            match h3.poll(conn) {
                Ok((stream, quiche::h3::Event::Headers { list, .. })) => {
                    let path = list
                        .iter()
                        .find(|h| h.name() == b":path")
                        .map(|h| String::from_utf8_lossy(h.value()).into_owned())
                        .unwrap_or_default();
                    let (status, body) = match below(Path::new("/www"), &path)
                        .and_then(|file| std::fs::read(&file).with_context(|| format!("read {}", file.display())))
                    {
                        Ok(body) => ("200", body),
                        Err(e) => {
                            eprintln!("quiche server: {e:#}");
                            ("404", Vec::new())
                        }
                    };
                    let headers = [
                        quiche::h3::Header::new(b":status", status.as_bytes()),
                        quiche::h3::Header::new(b"content-length", body.len().to_string().as_bytes()),
                    ];
                    h3.send_response(conn, stream, &headers, false)?;
                    peer.responses.insert(stream, (body, 0));
                }
                Ok(_) => {}
                Err(quiche::h3::Error::Done) => break,
                Err(e) => bail!("HTTP/3: {e}"),
            }
        }
    } else {
        let mut buf = vec![0; 65535];
        for stream in conn.readable() {
            while let Ok((n, fin)) = conn.stream_recv(stream, &mut buf) {
                let request = peer.requests.entry(stream).or_default();
                request.extend_from_slice(&buf[..n]);
                if !fin {
                    continue;
                }
                let request = peer.requests.remove(&stream).unwrap_or_default();
                let line = String::from_utf8_lossy(&request);
                let body = match line
                    .lines()
                    .next()
                    .and_then(|l| l.strip_prefix("GET "))
                    .ok_or_else(|| anyhow!("not an HTTP/0.9 GET: {line:?}"))
                    .and_then(|path| below(Path::new("/www"), path.trim()))
                    .and_then(|file| std::fs::read(&file).with_context(|| format!("read {}", file.display())))
                {
                    Ok(body) => body,
                    Err(e) => {
                        eprintln!("quiche server: {e:#}");
                        let _ = conn.stream_shutdown(stream, quiche::Shutdown::Write, 0x10);
                        continue;
                    }
                };
                peer.responses.insert(stream, (body, 0));
            }
        }
    }
    // Push every unfinished response as far as flow control lets it.
    peer.responses.retain(|&stream, (body, written)| {
        let rest = &body[*written..];
        let sent = match peer.h3.as_mut() {
            Some(h3) => h3.send_body(conn, stream, rest, true).or_else(|e| match e {
                quiche::h3::Error::Done => Ok(0),
                e => Err(e.to_string()),
            }),
            None => conn.stream_send(stream, rest, true).or_else(|e| match e {
                quiche::Error::Done => Ok(0),
                e => Err(e.to_string()),
            }),
        };
        match sent {
            Ok(n) => {
                *written += n;
                *written < body.len()
            }
            Err(e) => {
                eprintln!("quiche server: stream {stream}: {e}");
                false
            }
        }
    });
    Ok(())
}

/// `root` joined with a request path, refusing anything that leaves it.
fn below(root: &Path, path: &str) -> Result<PathBuf> {
    let relative = Path::new(path.trim_start_matches('/'));
    if relative.as_os_str().is_empty()
        || relative.components().any(|c| !matches!(c, Component::Normal(_)))
    {
        bail!("refusing path {path:?}");
    }
    Ok(root.join(relative))
}

// ---------------------------------------------------------------- client

fn client(testcase: &str) -> Result<()> {
    let requests = std::env::var("REQUESTS").unwrap_or_default();
    let mut host = String::new();
    let mut paths = Vec::new();
    for url in requests.split_whitespace() {
        let rest = url.strip_prefix("https://").ok_or_else(|| anyhow!("not an https URL: {url}"))?;
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        host = authority.to_string();
        paths.push(format!("/{path}"));
    }
    if paths.is_empty() {
        bail!("no REQUESTS given");
    }
    let peer = host
        .to_socket_addrs()
        .or_else(|_| (host.as_str(), 443).to_socket_addrs())
        .with_context(|| format!("resolve {host}"))?
        .next()
        .ok_or_else(|| anyhow!("{host} does not resolve"))?;
    let name = host.rsplit_once(':').map_or(host.as_str(), |(h, _)| h).trim_matches(['[', ']']);
    let mut config = config(testcase)?;
    config.verify_peer(true);
    config.load_verify_locations_from_file("/certs/ca.pem").context("load /certs/ca.pem")?;
    let mut client = Client { config: &mut config, peer, name, http3: testcase == "http3" };
    let paths: Vec<&str> = paths.iter().map(String::as_str).collect();
    match testcase {
        "multiconnect" => {
            for path in &paths {
                client.session(&[path], None)?;
            }
        }
        "resumption" | "zerortt" => {
            let ticket = client.session(&paths[..1], None)?;
            let ticket = ticket.ok_or_else(|| anyhow!("the server sent no session ticket"))?;
            if paths.len() > 1 {
                client.session(&paths[1..], Some((ticket, testcase == "zerortt")))?;
            }
        }
        _ => {
            client.session(&paths, None)?;
        }
    }
    Ok(())
}

struct Client<'a> {
    config: &'a mut quiche::Config,
    peer: SocketAddr,
    name: &'a str,
    http3: bool,
}

impl Client<'_> {
    /// One connection fetching `paths`; with a session it resumes, and with
    /// `early` sends the requests as 0-RTT data as soon as the keys allow.
    /// Returns the session the server issued.
    fn session(&mut self, paths: &[&str], resume: Option<(Vec<u8>, bool)>) -> Result<Option<Vec<u8>>> {
        let bind = if self.peer.is_ipv4() { "0.0.0.0:0" } else { "[::]:0" };
        let socket = UdpSocket::bind(bind)?;
        socket.set_nonblocking(true)?;
        let local = socket.local_addr()?;
        let scid = random_cid();
        let mut conn = quiche::connect(
            Some(self.name),
            &quiche::ConnectionId::from_ref(&scid),
            local,
            self.peer,
            self.config,
        )?;
        attach_logs(&mut conn, "client");
        let mut early = false;
        if let Some((session, zero_rtt)) = &resume {
            conn.set_session(session)?;
            early = *zero_rtt;
        }
        let h3_config = quiche::h3::Config::new()?;
        let mut h3: Option<quiche::h3::Connection> = None;
        let mut pending: VecDeque<&str> = paths.iter().copied().collect();
        let mut files: HashMap<u64, (String, File)> = HashMap::new();
        let mut next_stream = 0u64;
        let mut done = 0;
        let mut finished_at: Option<Instant> = None;
        let mut buf = vec![0; 65535];
        let mut out = vec![0; MAX_DATAGRAM];
        let mut first_round = true;
        loop {
            flush(&mut conn, &socket, &mut out);
            if conn.is_closed() {
                break;
            }
            // With 0-RTT keys ready after the ClientHello, the requests go
            // out before the server's answer.
            if !(early && first_round && conn.is_in_early_data()) {
                let mut timeout = conn.timeout();
                if finished_at.is_some() {
                    timeout = Some(timeout.map_or(Duration::from_millis(50), |t| t.min(Duration::from_millis(50))));
                }
                if wait(&socket, timeout)? {
                    while let Ok((len, from)) = socket.recv_from(&mut buf) {
                        if let Err(e) = conn.recv(&mut buf[..len], quiche::RecvInfo { from, to: local }) {
                            eprintln!("quiche client: recv: {e}");
                        }
                    }
                }
                conn.on_timeout();
                if conn.is_closed() {
                    break;
                }
            }
            first_round = false;
            if !(conn.is_established() || (early && conn.is_in_early_data())) || finished_at.is_some() {
                if let Some(at) = finished_at {
                    // The session ticket may trail the last response a little.
                    if conn.session().is_some() || at.elapsed() > Duration::from_secs(2) {
                        let _ = conn.close(true, 0, b"done");
                    }
                }
                continue;
            }
            if self.http3 && h3.is_none() && conn.is_established() {
                h3 = Some(quiche::h3::Connection::with_transport(&mut conn, &h3_config)?);
            }
            // Requests go out as far as the server's stream limit allows.
            while let Some(path) = pending.front().copied() {
                let stream = match h3.as_mut() {
                    Some(h3) => {
                        let headers = [
                            quiche::h3::Header::new(b":method", b"GET"),
                            quiche::h3::Header::new(b":scheme", b"https"),
                            quiche::h3::Header::new(b":authority", self.name.as_bytes()),
                            quiche::h3::Header::new(b":path", path.as_bytes()),
                        ];
                        match h3.send_request(&mut conn, &headers, true) {
                            Ok(stream) => stream,
                            Err(quiche::h3::Error::StreamBlocked)
                            | Err(quiche::h3::Error::TransportError(quiche::Error::StreamLimit)) => break,
                            Err(e) => bail!("HTTP/3 request {path}: {e}"),
                        }
                    }
                    None if self.http3 => break,
                    None => {
                        if conn.peer_streams_left_bidi() == 0 {
                            break;
                        }
                        let request = format!("GET {path}\r\n");
                        match conn.stream_send(next_stream, request.as_bytes(), true) {
                            Ok(n) if n == request.len() => {}
                            Ok(_) | Err(quiche::Error::Done) | Err(quiche::Error::StreamLimit) => break,
                            Err(e) => bail!("request {path}: {e}"),
                        }
                        next_stream += 4;
                        next_stream - 4
                    }
                };
                let file = below(Path::new("/downloads"), path)?;
                let file = File::create(&file).with_context(|| format!("create {}", file.display()))?;
                files.insert(stream, (path.to_string(), file));
                pending.pop_front();
            }
            match h3.as_mut() {
                Some(h3) => loop {
                    match h3.poll(&mut conn) {
                        Ok((stream, quiche::h3::Event::Headers { list, .. })) => {
                            if let Some(status) = list.iter().find(|h| h.name() == b":status") {
                                if status.value() != b"200" {
                                    let path = files.get(&stream).map_or("?", |f| f.0.as_str());
                                    bail!("{path}: status {}", String::from_utf8_lossy(status.value()));
                                }
                            }
                        }
                        Ok((stream, quiche::h3::Event::Data)) => {
                            while let Ok(n) = h3.recv_body(&mut conn, stream, &mut buf) {
                                if let Some((_, file)) = files.get_mut(&stream) {
                                    file.write_all(&buf[..n])?;
                                }
                            }
                        }
                        Ok((stream, quiche::h3::Event::Finished)) => {
                            if files.remove(&stream).is_some() {
                                done += 1;
                            }
                        }
                        Ok((stream, quiche::h3::Event::Reset(code))) => {
                            let path = files.get(&stream).map_or("?", |f| f.0.as_str());
                            bail!("{path}: stream reset with code {code}");
                        }
                        Ok(_) => {}
                        Err(quiche::h3::Error::Done) => break,
                        Err(e) => bail!("HTTP/3: {e}"),
                    }
                },
                None => {
                    for stream in conn.readable() {
                        loop {
                            match conn.stream_recv(stream, &mut buf) {
                                Ok((n, fin)) => {
                                    if let Some((_, file)) = files.get_mut(&stream) {
                                        file.write_all(&buf[..n])?;
                                    }
                                    if fin {
                                        // quiche forgets a finished stream: no further reads.
                                        if files.remove(&stream).is_some() {
                                            done += 1;
                                        }
                                        break;
                                    }
                                }
                                Err(quiche::Error::Done) => break,
                                Err(e) => {
                                    let path = files.get(&stream).map_or("?", |f| f.0.as_str());
                                    bail!("download {path}: {e}");
                                }
                            }
                        }
                    }
                }
            }
            if done == paths.len() {
                finished_at = Some(Instant::now());
                if conn.session().is_some() {
                    let _ = conn.close(true, 0, b"done");
                }
            }
        }
        if done < paths.len() {
            let reason = conn
                .peer_error()
                .map(|e| format!("the server closed it: {e:?}"))
                .or_else(|| conn.local_error().map(|e| format!("closed locally: {e:?}")))
                .unwrap_or_else(|| "it timed out".to_string());
            bail!("the connection ended after {done} of {} downloads: {reason}", paths.len());
        }
        Ok(conn.session().map(<[u8]>::to_vec))
    }
}
