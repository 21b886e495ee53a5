//! The simulator's configuration, from its command line and environment
//! (the same variables the reference simulator image reads, plus a few
//! optional `SIM_*` ones for tests and parallel runs).

use crate::iface::{parse_subnet, IfaceError};
use crate::nat::Subnet;
use crate::scenario::{parse_scenario, Scenario, ScenarioError};
use std::path::PathBuf;

/// TCP port that opens once the link is up (clients wait on it).
pub const READY_PORT: u16 = 57832;

/// Everything the simulator needs to know before it starts.
#[derive(Clone, Debug)]
pub struct Config {
    pub scenario: Scenario,
    /// The scenario as given, for the start-up log line.
    pub scenario_text: String,
    /// `WAITFORSERVER`: `host:port` that must answer before the link opens.
    pub wait_for_server: Option<String>,
    /// Where the traces go (`SIM_LOGS_DIR`, default /logs).
    pub logs_dir: PathBuf,
    /// The client-side and server-side networks; required, so the
    /// simulator never guesses which interfaces are its own.
    pub left_subnet: Subnet,
    pub right_subnet: Subnet,
    /// Fixed random seed (`SIM_SEED`) for reproducible impairments.
    pub seed: Option<u64>,
    /// Port of the readiness listener (`SIM_READY_PORT`, default 57832).
    pub ready_port: u16,
    /// `SIM_HOLD=1`: once the server answers, wait for SIGUSR1 before the
    /// link (and the scenario's clock) starts, so a runner can start the
    /// simulator and the server ahead of their trial.
    pub hold: bool,
}

pub const USAGE: &str = "usage: interop-sim [SCENARIO FLAGS...]   (or set SCENARIO=\"simple-p2p --delay=15ms --bandwidth=10Mbps --queue=25\")\n\
environment: SCENARIO, SIM_LEFT_SUBNET and SIM_RIGHT_SUBNET (required: the client-side and server-side networks, e.g. 193.167.0.0/24), WAITFORSERVER=host:port, SIM_LOGS_DIR (default /logs), SIM_SEED, SIM_READY_PORT, SIM_HOLD=1 (open the link on SIGUSR1)\n\
signals: SIGTERM/SIGINT/SIGHUP stop; SIGUSR2 completes the traces and stops forwarding, then waits for a stop signal";

/// Why the simulator's configuration is unusable.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("SCENARIO is not set and no scenario was given on the command line")]
    NoScenario,
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    #[error("{name}: {source}")]
    Subnet { name: String, source: IfaceError },
    #[error("{0} is not set: the simulator needs both of its networks named (SIM_LEFT_SUBNET, SIM_RIGHT_SUBNET) and refuses to guess")]
    NoSubnet(&'static str),
    #[error("SIM_SEED={0:?} is not a whole number")]
    Seed(String),
    #[error("SIM_READY_PORT={0:?} is not a port number")]
    ReadyPort(String),
}

/// Builds the configuration; `args` excludes the program name.
pub fn load(args: &[String], env: &dyn Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
    let scenario_text: String = if args.is_empty() {
        env("SCENARIO").ok_or(ConfigError::NoScenario)?
    } else {
        args.join(" ")
    };
    let words: Vec<&str> = scenario_text.split_whitespace().collect();
    let scenario: Scenario = parse_scenario(&words)?;
    let non_empty = |name: &str| env(name).filter(|v| !v.trim().is_empty());
    let subnet = |name: &str| -> Result<Option<Subnet>, ConfigError> {
        non_empty(name)
            .map(|v| {
                parse_subnet(v.trim()).map_err(|source| ConfigError::Subnet {
                    name: name.to_string(),
                    source,
                })
            })
            .transpose()
    };
    let seed: Option<u64> = non_empty("SIM_SEED")
        .map(|v| {
            v.trim()
                .parse::<u64>()
                .map_err(|_| ConfigError::Seed(v.clone()))
        })
        .transpose()?;
    let ready_port: u16 = non_empty("SIM_READY_PORT")
        .map(|v| {
            v.trim()
                .parse::<u16>()
                .map_err(|_| ConfigError::ReadyPort(v.clone()))
        })
        .transpose()?
        .unwrap_or(READY_PORT);
    Ok(Config {
        scenario,
        scenario_text: words.join(" "),
        wait_for_server: non_empty("WAITFORSERVER").map(|v| v.trim().to_string()),
        logs_dir: PathBuf::from(non_empty("SIM_LOGS_DIR").unwrap_or_else(|| "/logs".to_string())),
        left_subnet: subnet("SIM_LEFT_SUBNET")?.ok_or(ConfigError::NoSubnet("SIM_LEFT_SUBNET"))?,
        right_subnet: subnet("SIM_RIGHT_SUBNET")?
            .ok_or(ConfigError::NoSubnet("SIM_RIGHT_SUBNET"))?,
        seed,
        ready_port,
        hold: non_empty("SIM_HOLD").is_some_and(|v| v.trim() != "0"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k: &str| map.get(k).cloned()
    }

    #[test]
    fn scenario_from_env_or_args() {
        let env = env_of(&[
            (
                "SCENARIO",
                "simple-p2p --delay=15ms --bandwidth=10Mbps --queue=25",
            ),
            ("WAITFORSERVER", "server:443"),
            ("SIM_LEFT_SUBNET", "193.167.0.0/24"),
            ("SIM_RIGHT_SUBNET", "193.167.100.0/24"),
        ]);
        let config: Config = load(&[], &env).unwrap();
        assert_eq!(config.right_subnet.to_string(), "193.167.100.0/24");
        assert_eq!(config.scenario.name, "simple-p2p");
        assert_eq!(config.wait_for_server.as_deref(), Some("server:443"));
        assert_eq!(config.logs_dir, PathBuf::from("/logs"));
        assert_eq!(config.ready_port, 57832);
        let args: Vec<String> = vec![
            "droplist".into(),
            "--delay=1ms".into(),
            "--bandwidth=1Gbps".into(),
            "--queue=5".into(),
        ];
        assert_eq!(load(&args, &env).unwrap().scenario.name, "droplist");
    }

    #[test]
    fn bad_environment_is_explained() {
        assert!(load(&[], &env_of(&[]))
            .unwrap_err()
            .to_string()
            .contains("SCENARIO is not set"));
        let base: &str = "simple-p2p --delay=15ms --bandwidth=10Mbps --queue=25";
        let e = load(&[], &env_of(&[("SCENARIO", base), ("SIM_SEED", "x")]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("SIM_SEED"), "{e}");
        let e = load(
            &[],
            &env_of(&[("SCENARIO", base), ("SIM_LEFT_SUBNET", "10.0.0.0")]),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("SIM_LEFT_SUBNET"), "{e}");
        let e = load(
            &[],
            &env_of(&[("SCENARIO", base), ("SIM_READY_PORT", "99999")]),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("SIM_READY_PORT"), "{e}");
        let e = load(
            &[],
            &env_of(&[("SCENARIO", base), ("SIM_LEFT_SUBNET", "193.167.0.0/24")]),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("SIM_RIGHT_SUBNET is not set"), "{e}");
    }
}
