//! Names the stages share: the containers of a run ([`Role`]) and the run
//! directory they leave ([`Layout`]). The simulator names its traces, the
//! orchestrator fills the directory, the judge reads it; one type says
//! where everything is, so writer and reader cannot drift apart.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::outcome::TrialRecord;

/// One container of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    Sim,
    Server,
    Client,
    IperfServer,
    IperfClient,
}

impl Role {
    /// The two endpoints, server first as the reference lists them.
    pub const ENDPOINTS: [Role; 2] = [Role::Server, Role::Client];

    /// Its container name suffix, host name, `ROLE` value (endpoints) and
    /// directory in the run directory.
    pub fn name(self) -> &'static str {
        match self {
            Role::Sim => "sim",
            Role::Server => "server",
            Role::Client => "client",
            Role::IperfServer => "iperf_server",
            Role::IperfClient => "iperf_client",
        }
    }

    /// iperf's logs say nothing about the implementations, so they stay in
    /// the container.
    pub fn keeps_logs(self) -> bool {
        !matches!(self, Role::IperfServer | Role::IperfClient)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Where an endpoint writes its key log inside its container (contract:
/// `SSLKEYLOGFILE=/logs/keys.log`); copied out with the rest of /logs.
pub const KEYLOG_NAME: &str = "keys.log";

/// The run directory of one trial (or one repetition of a measurement):
/// `output.txt`, `trial.json`, and each container's /logs under its role.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Layout {
    root: PathBuf,
}

impl Layout {
    pub fn new(root: impl Into<PathBuf>) -> Layout {
        Layout { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The copy of `role`'s /logs.
    pub fn logs(&self, role: Role) -> PathBuf {
        self.root.join(role.name())
    }

    pub fn keylog(&self, role: Role) -> PathBuf {
        self.logs(role).join(KEYLOG_NAME)
    }

    /// The simulator's capture of the client's side of the link.
    pub fn client_side_trace(&self) -> PathBuf {
        self.logs(Role::Sim).join(netsim::CLIENT_SIDE_TRACE)
    }

    /// The simulator's capture of the server's side of the link.
    pub fn server_side_trace(&self) -> PathBuf {
        self.logs(Role::Sim).join(netsim::SERVER_SIDE_TRACE)
    }

    /// Where `role`'s /www is saved when a trial fails and files are kept.
    pub fn saved_www(&self, role: Role) -> PathBuf {
        self.root.join(format!("{role}_www"))
    }

    /// Where `role`'s /downloads is saved when files are kept.
    pub fn saved_downloads(&self, role: Role) -> PathBuf {
        self.root.join(format!("{role}_downloads"))
    }

    /// The runner's log of the trial.
    pub fn output(&self) -> PathBuf {
        self.root.join("output.txt")
    }

    pub fn record(&self) -> PathBuf {
        self.root.join(TrialRecord::FILE_NAME)
    }

    /// Repetition `n` (from 1) of a measurement, a run directory of its own.
    pub fn repetition(&self, n: u32) -> Layout {
        Layout::new(self.root.join(n.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_layout() {
        let l = Layout::new("/r");
        assert_eq!(
            l.client_side_trace(),
            Path::new("/r/sim/trace_node_left.pcap")
        );
        assert_eq!(
            l.server_side_trace(),
            Path::new("/r/sim/trace_node_right.pcap")
        );
        assert_eq!(l.keylog(Role::Client), Path::new("/r/client/keys.log"));
        assert_eq!(l.saved_www(Role::Server), Path::new("/r/server_www"));
        assert_eq!(
            l.saved_downloads(Role::Client),
            Path::new("/r/client_downloads")
        );
        assert_eq!(l.record(), Path::new("/r/trial.json"));
        assert_eq!(l.repetition(2).output(), Path::new("/r/2/output.txt"));
        assert_eq!(Role::IperfServer.to_string(), "iperf_server");
    }
}
