//! The judge's view of a run's two traces: already decoded by the analysis
//! stage, here only handed to rules, with who counts as the server.

use std::cell::Cell;
use std::net::IpAddr;

use quic_trace::{Direction, QuicPacket, Trace};

use super::stop::Stop;
use crate::analyse::{Analysis, AnalysisError};

/// The client-side and server-side traces of one run.
pub struct Traces<'a> {
    analysis: &'a Analysis,
    server_ips: &'a [IpAddr],
    /// Which traces a rule looked at: only their decoder warnings are
    /// worth a note.
    read: [Cell<bool>; 2],
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
    pub fn new(analysis: &'a Analysis, server_ips: &'a [IpAddr]) -> Traces<'a> {
        Traces {
            analysis,
            server_ips,
            read: [Cell::new(false), Cell::new(false)],
        }
    }

    /// Unsupported when neither side wrote a valid key log.
    pub fn require_keys(&self) -> Result<(), Stop> {
        match &self.analysis.keylog {
            Ok(Some(_)) => Ok(()),
            Ok(None) => Err(Stop::Unsupported(
                "neither the client nor the server wrote a key log with a SERVER_HANDSHAKE_TRAFFIC_SECRET, so the packets cannot be decrypted".into(),
            )),
            Err(e) => Err(Stop::Failed(e.to_string())),
        }
    }

    /// The client's side of the link.
    pub fn client(&self) -> Result<Side<'_>, Stop> {
        self.side(0, &self.analysis.client)
    }

    /// The server's side of the link.
    pub fn server(&self) -> Result<Side<'_>, Stop> {
        self.side(1, &self.analysis.server)
    }

    fn side<'s>(
        &'s self,
        i: usize,
        trace: &'s Result<Trace, AnalysisError>,
    ) -> Result<Side<'s>, Stop> {
        self.read[i].set(true);
        let trace = trace.as_ref().map_err(|e| Stop::Failed(e.to_string()))?;
        Ok(Side::new(trace, self.server_ips))
    }

    /// Warnings the decoder gave for the traces the rule read.
    pub fn warnings(&self) -> Vec<String> {
        let sides = [
            ("client-side", &self.analysis.client),
            ("server-side", &self.analysis.server),
        ];
        let mut out = Vec::new();
        for (read, (name, trace)) in self.read.iter().zip(sides) {
            if let (true, Ok(t)) = (read.get(), trace) {
                out.extend(t.warnings.iter().map(|w| format!("{name} trace: {w}")));
            }
        }
        out
    }
}
