//! `WAITFORSERVER`: before the link opens, make sure the QUIC server is up by
//! sending it a datagram it must answer with Version Negotiation.

use crate::error::SimError;
use crate::rng::Rng;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs, UdpSocket};
use std::time::{Duration, Instant};

/// The unsupported version the probe carries: "WAIT".
pub const PROBE_VERSION: [u8; 4] = *b"WAIT";
const PROBE_LEN: usize = 1200;
/// Every trial's client waits for this answer, so the link opens at most
/// this long after the server is up (at 0.5 s it cost a trial 0.25 s on
/// average); a 1200-byte probe every 50 ms is nothing to a starting server.
const INTERVAL: Duration = Duration::from_millis(50);

/// A long-header packet with version "WAIT", padded to 1200 bytes.
pub fn probe_packet(rng: &mut Rng) -> Vec<u8> {
    let mut packet: Vec<u8> = Vec::with_capacity(PROBE_LEN);
    packet.push(0xc0);
    packet.extend_from_slice(&PROBE_VERSION);
    packet.push(8);
    packet.extend_from_slice(&rng.next_u64().to_be_bytes());
    packet.push(0);
    packet.resize(PROBE_LEN, 0);
    packet
}

/// Sends probes to `target` (`host:port`) every 0.5 s until a Version
/// Negotiation packet comes back or `timeout` passes.
/// Returns the time it took and the probe socket, which the caller keeps open:
/// answers to earlier probes may still arrive (probes queued behind neighbour
/// resolution go out together), and an open socket takes them silently instead
/// of the kernel answering with ICMP; its port tells the traces what to leave out.
pub fn wait_for_server(
    target: &str,
    timeout: Duration,
    rng: &mut Rng,
) -> Result<(Duration, UdpSocket), SimError> {
    let addr: SocketAddr = resolve(target)?;
    let bind: SocketAddr = match addr.ip() {
        IpAddr::V4(_) => (std::net::Ipv4Addr::UNSPECIFIED, 0).into(),
        IpAddr::V6(_) => (std::net::Ipv6Addr::UNSPECIFIED, 0).into(),
    };
    let socket: UdpSocket = UdpSocket::bind(bind).map_err(|source| SimError::ProbeSocket {
        target: target.to_string(),
        source,
    })?;
    let start: Instant = Instant::now();
    let mut buf: [u8; 2048] = [0; 2048];
    loop {
        // Send errors (no route yet, neighbour not resolved) are retried like silence.
        let _ = socket.send_to(&probe_packet(rng), addr);
        let round_end: Instant = Instant::now() + INTERVAL;
        while let Some(left) = round_end
            .checked_duration_since(Instant::now())
            .filter(|d| !d.is_zero())
        {
            let _ = socket.set_read_timeout(Some(left));
            match socket.recv_from(&mut buf) {
                Ok((n, from)) if from == addr && is_vn(&buf[..n]) => {
                    return Ok((start.elapsed(), socket))
                }
                _ => {}
            }
        }
        if start.elapsed() >= timeout {
            return Err(SimError::ServerSilent {
                target: target.to_string(),
                addr,
                seconds: timeout.as_secs_f64(),
            });
        }
    }
}

fn is_vn(datagram: &[u8]) -> bool {
    datagram.len() >= 5 && datagram[1..5] == [0, 0, 0, 0]
}

/// Resolves `host:port`: address literals, then /etc/hosts (no NSS needed in
/// a static binary), then the system resolver.
pub fn resolve(target: &str) -> Result<SocketAddr, SimError> {
    if let Ok(addr) = target.parse::<SocketAddr>() {
        return Ok(addr);
    }
    let (host, port) = target
        .rsplit_once(':')
        .ok_or_else(|| SimError::NotHostPort(target.to_string()))?;
    let port: u16 = port
        .parse::<u16>()
        .map_err(|_| SimError::BadPort(target.to_string()))?;
    let hosts: String = std::fs::read_to_string("/etc/hosts").unwrap_or_default();
    if let Some(ip) = lookup_hosts(&hosts, host) {
        return Ok(SocketAddr::new(ip, port));
    }
    (host, port)
        .to_socket_addrs()
        .ok()
        .and_then(|mut addrs| addrs.next())
        .ok_or_else(|| SimError::Unresolved {
            host: host.to_string(),
            target: target.to_string(),
        })
}

/// The first IPv4 address (else IPv6) listed for `name` in hosts-file text.
pub fn lookup_hosts(text: &str, name: &str) -> Option<IpAddr> {
    let mut matches: Vec<IpAddr> = Vec::new();
    for line in text.lines() {
        let line: &str = line.split('#').next().unwrap_or("");
        let mut fields = line.split_whitespace();
        let Some(addr) = fields.next().and_then(|a| a.parse::<IpAddr>().ok()) else {
            continue;
        };
        if fields.any(|alias| alias == name) {
            matches.push(addr);
        }
    }
    matches
        .iter()
        .find(|a| a.is_ipv4())
        .or(matches.first())
        .copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_elicits_version_negotiation() {
        let packet: Vec<u8> = probe_packet(&mut Rng::from_seed(1));
        assert_eq!(packet.len(), 1200);
        assert_eq!(packet[0] & 0xc0, 0xc0);
        assert_eq!(&packet[1..5], b"WAIT");
        assert_eq!(packet[5], 8);
    }

    #[test]
    fn hosts_file_lookup_prefers_ipv4() {
        let hosts: &str = "127.0.0.1 localhost\nfd00:cafe:cafe:100::100 server # v6\n193.167.100.100\tserver server4\n";
        assert_eq!(
            lookup_hosts(hosts, "server"),
            Some("193.167.100.100".parse().unwrap())
        );
        assert_eq!(
            lookup_hosts(hosts, "server4"),
            Some("193.167.100.100".parse().unwrap())
        );
        assert_eq!(lookup_hosts(hosts, "client"), None);
    }

    #[test]
    fn a_silent_server_fails_with_the_timeout_it_was_given() {
        let silent: UdpSocket = UdpSocket::bind("127.0.0.1:0").unwrap();
        let target: String = silent.local_addr().unwrap().to_string();
        let limit: Duration = Duration::from_millis(500);
        let err: String = wait_for_server(&target, limit, &mut Rng::from_seed(1))
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("within 0.5 s"), "{err}");
    }

    #[test]
    fn bad_targets_are_errors() {
        assert_eq!(
            resolve("193.167.100.100:443").ok(),
            Some("193.167.100.100:443".parse().unwrap())
        );
        assert!(resolve("server")
            .unwrap_err()
            .to_string()
            .contains("host:port"));
        assert!(resolve("server:https")
            .unwrap_err()
            .to_string()
            .contains("port"));
    }
}
