//! `interop-sim probe ...`: traffic generator and sink for measuring and
//! testing the simulator from the endpoints' side (network namespaces or
//! containers on either side of it). It lives in the simulator binary so that
//! any container made from the sim image can act as a test endpoint.
//! Every datagram carries a sequence number and its send time on
//! CLOCK_MONOTONIC, which all namespaces of one host share, so one-way delays
//! are exact. Results are printed as `key=value` pairs on one line.

use crate::clock::mono_nanos;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::time::{Duration, Instant};

/// Sequence number, send time, and the sequence number again (to detect damage
/// to the header itself).
const HEADER: usize = 24;
const USAGE: &str = "usage: interop-sim probe echo BIND | ping TARGET COUNT INTERVAL_MS | flood TARGET RATE_BPS SECONDS SIZE [GSO_SEGMENTS] | sink BIND IDLE_S | tcp-sink BIND | tcp-send TARGET SECONDS | trace-delay LEFT.pcap RIGHT.pcap";

/// Why a probe command failed; printed after "interop-sim probe: ".
#[derive(Debug, thiserror::Error)]
enum ToolError {
    #[error("{USAGE}")]
    Usage,
    #[error("{0:?} is not a whole number")]
    NotNumber(String),
    #[error("{0:?} is not ADDRESS:PORT")]
    NotAddress(String),
    #[error("cannot bind {addr}: {source}")]
    Bind { addr: String, source: io::Error },
    #[error("receive failed: {0}")]
    Receive(#[source] io::Error),
    #[error("{0}")]
    Socket(#[source] io::Error),
    #[error("cannot enable UDP GSO: {0}")]
    Gso(#[source] io::Error),
    #[error("cannot listen on {addr}: {source}")]
    Listen { addr: String, source: io::Error },
    #[error("accept failed: {0}")]
    Accept(#[source] io::Error),
    #[error("cannot connect to {target}: {source}")]
    Connect { target: String, source: io::Error },
    #[error("send failed: {0}")]
    Send(#[source] io::Error),
    #[error("cannot read {path}: {source}")]
    Read { path: String, source: io::Error },
    #[error("{path}: {source}")]
    NotACapture {
        path: String,
        source: wirecap::CaptureError,
    },
}

/// Runs one probe command (`args` excludes `interop-sim probe`); returns the exit code.
pub fn main_with_args(args: &[String]) -> i32 {
    match dispatch(args) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("interop-sim probe: {e}");
            1
        }
    }
}

fn dispatch(args: &[String]) -> Result<(), ToolError> {
    let words: Vec<&str> = args.iter().map(String::as_str).collect();
    match words.as_slice() {
        ["echo", bind] => echo(bind),
        ["ping", target, count, interval] => ping(target, num(count)?, num(interval)?),
        ["flood", target, rate, seconds, size] => {
            flood(target, num(rate)?, num(seconds)?, num(size)? as usize, 1)
        }
        ["flood", target, rate, seconds, size, gso] => flood(
            target,
            num(rate)?,
            num(seconds)?,
            num(size)? as usize,
            num(gso)?.clamp(1, 40) as usize,
        ),
        ["sink", bind, idle] => sink(bind, num(idle)?),
        ["tcp-sink", bind] => tcp_sink(bind),
        ["tcp-send", target, seconds] => tcp_send(target, num(seconds)?),
        ["trace-delay", left, right] => trace_delay(left, right),
        _ => Err(ToolError::Usage),
    }
}

fn num(text: &str) -> Result<u64, ToolError> {
    text.parse::<u64>()
        .map_err(|_| ToolError::NotNumber(text.to_string()))
}

fn addr(text: &str) -> Result<SocketAddr, ToolError> {
    text.parse::<SocketAddr>()
        .map_err(|_| ToolError::NotAddress(text.to_string()))
}

fn udp(bind: &str) -> Result<UdpSocket, ToolError> {
    let socket: UdpSocket = UdpSocket::bind(addr(bind)?).map_err(|source| ToolError::Bind {
        addr: bind.to_string(),
        source,
    })?;
    // Deep buffers so the probe, not the simulator, is never the bottleneck.
    for option in [libc::SO_RCVBUFFORCE, libc::SO_SNDBUFFORCE] {
        let size: libc::c_int = 32 << 20;
        // SAFETY: size lives across the call and its length is passed.
        unsafe {
            libc::setsockopt(
                std::os::fd::AsRawFd::as_raw_fd(&socket),
                libc::SOL_SOCKET,
                option,
                (&size as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
    }
    Ok(socket)
}

fn any_for(target: SocketAddr) -> &'static str {
    if target.is_ipv4() {
        "0.0.0.0:0"
    } else {
        "[::]:0"
    }
}

fn stamp(buf: &mut [u8], seq: u64) {
    buf[..8].copy_from_slice(&seq.to_be_bytes());
    buf[8..16].copy_from_slice(&mono_nanos().to_be_bytes());
    buf[16..24].copy_from_slice(&(!seq).to_be_bytes());
}

/// Sequence number and send time, unless the header was damaged on the way.
fn read_stamp(buf: &[u8]) -> Option<(u64, u64)> {
    let seq: u64 = u64::from_be_bytes(buf.get(..8)?.try_into().ok()?);
    let sent: u64 = u64::from_be_bytes(buf.get(8..16)?.try_into().ok()?);
    let check: u64 = u64::from_be_bytes(buf.get(16..24)?.try_into().ok()?);
    (check == !seq && sent <= mono_nanos()).then_some((seq, sent))
}

/// Answers every datagram with its header and the sender's address as seen
/// here; a WAITFORSERVER probe gets a Version Negotiation packet, as a QUIC
/// server would send.
fn echo(bind: &str) -> Result<(), ToolError> {
    let socket: UdpSocket = udp(bind)?;
    let mut buf: [u8; 65536] = [0; 65536];
    loop {
        let (n, from) = socket.recv_from(&mut buf).map_err(ToolError::Receive)?;
        if n >= 5 && buf[1..5] == crate::waitserver::PROBE_VERSION {
            let _ = socket.send_to(&[0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], from);
            continue;
        }
        let mut reply: Vec<u8> = buf[..n.min(HEADER)].to_vec();
        reply.extend_from_slice(from.to_string().as_bytes());
        let _ = socket.send_to(&reply, from);
    }
}

/// Sends COUNT pings, one per INTERVAL ms; reports RTT percentiles and every
/// change of the source address the echo server saw.
fn ping(target: &str, count: u64, interval_ms: u64) -> Result<(), ToolError> {
    let target: SocketAddr = addr(target)?;
    let socket: UdpSocket = udp(any_for(target))?;
    socket
        .set_read_timeout(Some(Duration::from_millis(1)))
        .map_err(ToolError::Socket)?;
    let mut rtts: Vec<f64> = Vec::new();
    let mut seen: Vec<(u64, String)> = Vec::new();
    let mut buf: [u8; 2048] = [0; 2048];
    let mut packet: Vec<u8> = vec![0; 64];
    let start: Instant = Instant::now();
    for seq in 0..count {
        stamp(&mut packet, seq);
        let _ = socket.send_to(&packet, target);
        let next: Instant = start + Duration::from_millis((seq + 1) * interval_ms);
        collect_echoes(&socket, &mut buf, next, &mut rtts, &mut seen);
    }
    collect_echoes(
        &socket,
        &mut buf,
        Instant::now() + Duration::from_secs(1),
        &mut rtts,
        &mut seen,
    );
    rtts.sort_by(|a, b| a.total_cmp(b));
    let pct = |p: f64| -> f64 {
        rtts.get(((rtts.len() as f64 - 1.0) * p).round() as usize)
            .copied()
            .unwrap_or(f64::NAN)
    };
    let sources: Vec<String> = seen.iter().map(|(seq, s)| format!("{seq}@{s}")).collect();
    println!(
        "sent={count} received={} rtt_median_ms={:.3} rtt_p99_ms={:.3} rtt_min_ms={:.3} rtt_max_ms={:.3} sources={}",
        rtts.len(),
        pct(0.5),
        pct(0.99),
        pct(0.0),
        pct(1.0),
        sources.join(",")
    );
    Ok(())
}

fn collect_echoes(
    socket: &UdpSocket,
    buf: &mut [u8],
    until: Instant,
    rtts: &mut Vec<f64>,
    seen: &mut Vec<(u64, String)>,
) {
    while Instant::now() < until {
        let Ok(n) = socket.recv(buf) else { continue };
        let Some((seq, sent)) = read_stamp(&buf[..n]) else {
            continue;
        };
        rtts.push(mono_nanos().saturating_sub(sent) as f64 / 1e6);
        let source: String = String::from_utf8_lossy(&buf[HEADER..n]).into_owned();
        if seen.last().map(|(_, s)| s != &source).unwrap_or(true) {
            seen.push((seq, source));
        }
    }
}

/// Sends SIZE-byte datagrams at RATE bits/s for SECONDS, paced.
/// With `segments` > 1 each send is one UDP GSO super-datagram of that many
/// datagrams (as QUIC stacks such as quinn send), which the kernel hands
/// over unsplit when the interface keeps segmentation offload on.
fn flood(
    target: &str,
    rate_bps: u64,
    seconds: u64,
    size: usize,
    segments: usize,
) -> Result<(), ToolError> {
    let target: SocketAddr = addr(target)?;
    let socket: UdpSocket = udp(any_for(target))?;
    let size: usize = size.max(HEADER);
    if segments > 1 {
        enable_udp_gso(&socket, size)?;
    }
    let mut packet: Vec<u8> = (0..size * segments).map(|i| (i % size) as u8).collect();
    let gap_ns: u64 = (size as u64 + 28) * 8 * 1_000_000_000 / rate_bps.max(1) * segments as u64;
    let start: u64 = mono_nanos();
    let end: u64 = start + seconds * 1_000_000_000;
    let mut seq: u64 = 0;
    let mut errors: u64 = 0;
    loop {
        let due: u64 = start + seq / segments as u64 * gap_ns;
        if due >= end {
            break;
        }
        let now: u64 = mono_nanos();
        if due > now + 50_000 {
            std::thread::sleep(Duration::from_nanos(due - now - 50_000));
        }
        while mono_nanos() < due {}
        for (i, datagram) in packet.chunks_mut(size).enumerate() {
            stamp(datagram, seq + i as u64);
        }
        if socket.send_to(&packet, target).is_err() {
            errors += 1;
        }
        seq += segments as u64;
    }
    println!(
        "sent={seq} send_errors={errors} bytes={}",
        seq * size as u64
    );
    Ok(())
}

fn enable_udp_gso(socket: &UdpSocket, size: usize) -> Result<(), ToolError> {
    const UDP_SEGMENT: libc::c_int = 103;
    let value: libc::c_int = size as libc::c_int;
    // SAFETY: value lives across the call and its length is passed.
    let rc: libc::c_int = unsafe {
        libc::setsockopt(
            std::os::fd::AsRawFd::as_raw_fd(socket),
            libc::SOL_UDP,
            UDP_SEGMENT,
            (&value as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc < 0 {
        return Err(ToolError::Gso(std::io::Error::last_os_error()));
    }
    Ok(())
}

/// Receives datagrams until none came for IDLE seconds; reports count, rate,
/// one-way delays, missing sequence numbers and damaged payloads.
fn sink(bind: &str, idle_s: u64) -> Result<(), ToolError> {
    let socket: UdpSocket = udp(bind)?;
    socket
        .set_read_timeout(Some(Duration::from_secs(idle_s.max(1))))
        .map_err(ToolError::Socket)?;
    let mut buf: [u8; 65536] = [0; 65536];
    let mut seqs: Vec<u64> = Vec::new();
    let mut delays: Vec<f64> = Vec::new();
    let mut damaged: u64 = 0;
    let mut bytes: u64 = 0;
    let mut datagrams: u64 = 0;
    let mut first: Option<u64> = None;
    let mut last: u64 = 0;
    while let Ok(n) = socket.recv(&mut buf) {
        let now: u64 = mono_nanos();
        datagrams += 1;
        first.get_or_insert(now);
        last = now;
        bytes += n as u64;
        let Some((seq, sent)) = read_stamp(&buf[..n]) else {
            damaged += 1;
            continue;
        };
        if (HEADER..n).any(|i| buf[i] != i as u8) {
            damaged += 1;
        }
        seqs.push(seq);
        delays.push(now.saturating_sub(sent) as f64 / 1e6);
    }
    let span_s: f64 = first.map(|f| (last - f) as f64 / 1e9).unwrap_or(0.0);
    let max_seq: u64 = seqs.iter().copied().max().map(|m| m + 1).unwrap_or(0);
    let mut present: Vec<bool> = vec![false; max_seq as usize];
    for s in &seqs {
        present[*s as usize] = true;
    }
    let missing: Vec<String> = present
        .iter()
        .enumerate()
        .filter(|(_, p)| !**p)
        .map(|(i, _)| (i + 1).to_string())
        .collect();
    let longest_gap: usize = present
        .split(|p| *p)
        .map(|run| run.len())
        .max()
        .unwrap_or(0);
    delays.sort_by(|a, b| a.total_cmp(b));
    let pct = |p: f64| percentile(&delays, p);
    println!(
        "datagrams={datagrams} received={} highest={max_seq} bytes={bytes} span_s={span_s:.3} rate_bps={:.0} delay_min_ms={:.3} delay_median_ms={:.3} delay_max_ms={:.3} damaged={damaged} longest_gap={longest_gap} missing_1based={}",
        seqs.len(),
        if span_s > 0.0 { bytes as f64 * 8.0 / span_s } else { 0.0 },
        pct(0.0),
        pct(0.5),
        pct(1.0),
        if missing.len() > 200 { format!("{}-entries", missing.len()) } else { missing.join(",") }
    );
    Ok(())
}

/// Accepts one TCP connection and reports its goodput.
fn tcp_sink(bind: &str) -> Result<(), ToolError> {
    let listener: TcpListener =
        TcpListener::bind(addr(bind)?).map_err(|source| ToolError::Listen {
            addr: bind.to_string(),
            source,
        })?;
    let (mut stream, _) = listener.accept().map_err(ToolError::Accept)?;
    let mut buf: Vec<u8> = vec![0; 1 << 16];
    let mut bytes: u64 = 0;
    let mut first: Option<Instant> = None;
    let mut last: Instant = Instant::now();
    loop {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                first.get_or_insert_with(Instant::now);
                last = Instant::now();
                bytes += n as u64;
            }
        }
    }
    let span: f64 = first.map(|f| (last - f).as_secs_f64()).unwrap_or(0.0);
    println!(
        "bytes={bytes} span_s={span:.3} rate_bps={:.0}",
        if span > 0.0 {
            bytes as f64 * 8.0 / span
        } else {
            0.0
        }
    );
    Ok(())
}

/// Sends as fast as TCP allows for SECONDS.
fn tcp_send(target: &str, seconds: u64) -> Result<(), ToolError> {
    let mut stream: TcpStream = TcpStream::connect_timeout(&addr(target)?, Duration::from_secs(5))
        .map_err(|source| ToolError::Connect {
            target: target.to_string(),
            source,
        })?;
    let chunk: Vec<u8> = vec![0x5a; 1 << 16];
    let end: Instant = Instant::now() + Duration::from_secs(seconds);
    let mut bytes: u64 = 0;
    while Instant::now() < end {
        bytes += stream.write(&chunk).map_err(ToolError::Send)? as u64;
    }
    println!("sent_bytes={bytes}");
    Ok(())
}

/// Time each UDP datagram spent inside the simulator: from its record in one
/// side's trace to its record in the other's, matched by ports and payload.
/// This is the simulator's own accuracy, free of the endpoints' scheduling.
fn trace_delay(left: &str, right: &str) -> Result<(), ToolError> {
    let left: Vec<(u64, Vec<u8>)> = udp_records(left)?;
    let right: Vec<(u64, Vec<u8>)> = udp_records(right)?;
    let mut first_seen: std::collections::HashMap<&[u8], u64> = std::collections::HashMap::new();
    for (ts, key) in &left {
        first_seen.entry(key.as_slice()).or_insert(*ts);
    }
    let mut delays: Vec<f64> = right
        .iter()
        .filter_map(|(ts, key)| {
            first_seen
                .get(key.as_slice())
                .map(|l| (*ts as f64 - *l as f64).abs() / 1e6)
        })
        .collect();
    delays.sort_by(|a, b| a.total_cmp(b));
    let pct = |p: f64| percentile(&delays, p);
    println!(
        "matched={} delay_min_ms={:.3} delay_median_ms={:.3} delay_p99_ms={:.3} delay_max_ms={:.3}",
        delays.len(),
        pct(0.0),
        pct(0.5),
        pct(0.99),
        pct(1.0)
    );
    Ok(())
}

/// The `p` quantile (0 to 1) of sorted values, NaN when there are none.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted
        .get(((sorted.len() as f64 - 1.0) * p).round() as usize)
        .copied()
        .unwrap_or(f64::NAN)
}

/// (timestamp in ns, ports and payload) of every UDP datagram in a pcap
/// written by the simulator.
fn udp_records(path: &str) -> Result<Vec<(u64, Vec<u8>)>, ToolError> {
    let bytes: Vec<u8> = std::fs::read(path).map_err(|source| ToolError::Read {
        path: path.to_string(),
        source,
    })?;
    let mut out: Vec<(u64, Vec<u8>)> = Vec::new();
    wirecap::for_each_frame(&bytes, |frame| {
        let datagram = wirecap::link::ip_payload(frame.link_type, frame.data)
            .and_then(wirecap::ip::udp_datagram);
        if let Some(d) = datagram {
            // Ports and payload; length and checksum may legitimately differ
            // (the sender may have left the checksum to offload).
            let mut key: Vec<u8> = d.src.port().to_be_bytes().to_vec();
            key.extend_from_slice(&d.dst.port().to_be_bytes());
            key.extend_from_slice(d.payload);
            out.push((frame.time_ns, key));
        }
    })
    .map_err(|source| ToolError::NotACapture {
        path: path.to_string(),
        source,
    })?;
    Ok(out)
}
