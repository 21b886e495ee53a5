//! Loads the two captures of a run at most once each, decrypting with the
//! key log the contract prefers (the client's, else the server's).

use std::cell::OnceCell;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use quic_trace::{analyze, Direction, KeyLog, Options, QuicPacket, Trace};

use super::stop::Stop;
use super::Evidence;

/// The label whose presence makes a key log "valid" (contract section 4).
const HANDSHAKE_SECRET_LABEL: &str = "SERVER_HANDSHAKE_TRAFFIC_SECRET";

/// The client-side and server-side traces of one run, parsed on first use.
pub struct Traces<'a> {
    evidence: &'a Evidence,
    keylog: OnceCell<Result<Option<KeyLog>, String>>,
    client: OnceCell<Result<Trace, String>>,
    server: OnceCell<Result<Trace, String>>,
}

/// One capture plus who counts as the server in it.
#[derive(Clone, Copy)]
pub struct Side<'a> {
    pub trace: &'a Trace,
    server_ips: &'a [IpAddr],
}

impl<'a> Side<'a> {
    pub fn new(trace: &'a Trace, server_ips: &'a [IpAddr]) -> Side<'a> {
        Side { trace, server_ips }
    }

    /// By source address as the reference does; without known addresses
    /// (loopback fixtures) by the decoder's connection direction.
    pub fn from_server(&self, p: &QuicPacket) -> bool {
        if self.server_ips.is_empty() {
            p.direction == Some(Direction::ServerToClient)
        } else {
            self.server_ips.contains(&p.src.ip())
        }
    }

    pub fn server_sent(&self) -> impl Iterator<Item = &'a QuicPacket> + '_ {
        self.trace.packets.iter().filter(|p| self.from_server(p))
    }

    pub fn client_sent(&self) -> impl Iterator<Item = &'a QuicPacket> + '_ {
        self.trace.packets.iter().filter(|p| !self.from_server(p))
    }
}

impl<'a> Traces<'a> {
    pub fn new(evidence: &'a Evidence) -> Traces<'a> {
        Traces {
            evidence,
            keylog: OnceCell::new(),
            client: OnceCell::new(),
            server: OnceCell::new(),
        }
    }

    /// Unsupported when neither side wrote a valid key log.
    pub fn require_keys(&self) -> Result<(), Stop> {
        match self.keylog()? {
            Some(_) => Ok(()),
            None => Err(Stop::Unsupported(
                "neither the client nor the server wrote a key log with a SERVER_HANDSHAKE_TRAFFIC_SECRET, so the packets cannot be decrypted".into(),
            )),
        }
    }

    /// `sim/trace_node_left.pcap`: the client's side of the link.
    pub fn client(&self) -> Result<Side<'_>, Stop> {
        let trace = self
            .client
            .get_or_init(|| self.load("sim/trace_node_left.pcap"))
            .as_ref()
            .map_err(|e| Stop::Failed(e.clone()))?;
        Ok(Side::new(trace, &self.evidence.server_addrs))
    }

    /// `sim/trace_node_right.pcap`: the server's side of the link.
    pub fn server(&self) -> Result<Side<'_>, Stop> {
        let trace = self
            .server
            .get_or_init(|| self.load("sim/trace_node_right.pcap"))
            .as_ref()
            .map_err(|e| Stop::Failed(e.clone()))?;
        Ok(Side::new(trace, &self.evidence.server_addrs))
    }

    /// Warnings the decoder gave for the traces parsed so far.
    pub fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (name, cell) in [("client-side", &self.client), ("server-side", &self.server)] {
            if let Some(Ok(t)) = cell.get() {
                out.extend(t.warnings.iter().map(|w| format!("{name} trace: {w}")));
            }
        }
        out
    }

    fn keylog(&self) -> Result<Option<&KeyLog>, Stop> {
        self.keylog
            .get_or_init(|| choose_keylog(&self.evidence.run_dir))
            .as_ref()
            .map(Option::as_ref)
            .map_err(|e| Stop::Failed(e.clone()))
    }

    fn load(&self, relative: &str) -> Result<Trace, String> {
        let empty = KeyLog::default();
        let keylog = match self.keylog() {
            Ok(k) => k.unwrap_or(&empty),
            Err(Stop::Failed(e) | Stop::Unsupported(e)) => return Err(e),
        };
        let path = self.evidence.run_dir.join(relative);
        let bytes = std::fs::read(&path)
            .map_err(|e| format!("cannot read the packet trace {}: {e}", path.display()))?;
        let options = Options {
            server_addrs: self
                .evidence
                .server_addrs
                .iter()
                .map(|ip| SocketAddr::new(*ip, 0))
                .collect(),
        };
        let mut trace = analyze(&bytes, keylog, &options)
            .map_err(|e| format!("cannot analyse the packet trace {}: {e}", path.display()))?;
        drop_probe_traffic(&mut trace, relative);
        Ok(trace)
    }
}

/// The version of the simulator's WAITFORSERVER probe, "WAIT".
const PROBE_VERSION: u32 = 0x5741_4954;

/// Removes the simulator's WAITFORSERVER probes and the Version Negotiation
/// packets answering them: the reference's capture never holds them (its
/// probes do not cross the simulated link), and a VN that answers no client
/// Initial of the trace cannot belong to the test.
pub(super) fn drop_probe_traffic(trace: &mut Trace, name: &str) {
    // A VN answers an Initial by swapping its connection IDs (RFC 9000 §17.2.1);
    // the Initial that provoked it has a version the decoder does not know.
    let initials: std::collections::BTreeSet<(quic_trace::ConnectionId, quic_trace::ConnectionId)> =
        trace
            .packets
            .iter()
            .filter(|p| p.version != PROBE_VERSION)
            .filter(|p| {
                use quic_trace::PacketType::{Initial, UnknownVersion};
                matches!(p.packet_type, Initial | UnknownVersion)
            })
            .filter_map(|p| Some((p.scid?, p.dcid)))
            .collect();
    let before = trace.packets.len();
    trace.packets.retain(|p| {
        let probe = p.version == PROBE_VERSION;
        let probe_answer = p.packet_type == quic_trace::PacketType::VersionNegotiation
            && !p
                .scid
                .is_some_and(|scid| initials.contains(&(p.dcid, scid)));
        !(probe || probe_answer)
    });
    let dropped = before - trace.packets.len();
    if dropped > 0 {
        trace.warnings.push(format!(
            "{dropped} packets of the simulator's WAITFORSERVER probe (or Version Negotiation answering no Initial of {name}) were left out"
        ));
    }
}

/// The client's key log if valid, else the server's; a file that claims to
/// be a key log but does not parse is an error.
fn choose_keylog(run_dir: &Path) -> Result<Option<KeyLog>, String> {
    for side in ["client", "server"] {
        let path: PathBuf = run_dir.join(side).join("keys.log");
        let Ok(bytes) = std::fs::read(&path) else {
            continue;
        };
        if !contains(&bytes, HANDSHAKE_SECRET_LABEL.as_bytes()) {
            continue;
        }
        let mut log = KeyLog::default();
        log.add_text(&bytes, &path.display().to_string())
            .map_err(|e| format!("the {side}'s key log is unreadable: {e}"))?;
        return Ok(Some(log));
    }
    Ok(None)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}
