//! The `SCENARIO` command line (`simple-p2p --delay=15ms ...`), parsed with the
//! reference simulator's scenario and flag names, and checked strictly: every
//! mistake is reported in one sentence before any packet is touched.

use crate::units::{parse_duration, parse_rate, UnitError};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// The bottleneck link every scenario shares.
#[derive(Clone, Debug, PartialEq)]
pub struct LinkParams {
    /// One-way propagation delay.
    pub delay: Duration,
    /// Serialisation rate in bits per second.
    pub bandwidth_bps: u64,
    /// Capacity of the drop-tail queue in packets (the packet being serialised not included).
    pub queue_packets: usize,
}

/// Loss or corruption probability for one direction, with an optional cap on
/// consecutive hits.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RateSpec {
    pub percent: f64,
    pub max_burst: Option<u32>,
}

/// Which directions the blackhole swallows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlackholeDirection {
    Both,
    ToClient,
    ToServer,
}

/// What the scenario does on top of the link.
#[derive(Clone, Debug, PartialEq)]
pub enum ScenarioKind {
    SimpleP2p,
    DropRate {
        to_server: RateSpec,
        to_client: RateSpec,
    },
    CorruptRate {
        to_server: RateSpec,
        to_client: RateSpec,
    },
    Droplist {
        to_server: BTreeSet<u64>,
        to_client: BTreeSet<u64>,
    },
    Blackhole {
        on: Duration,
        off: Duration,
        repeat: u32,
        direction: BlackholeDirection,
    },
    Rebind {
        first: Duration,
        freq: Option<Duration>,
        rebind_addr: bool,
    },
    TcpCrossTraffic,
}

/// A fully parsed scenario.
#[derive(Clone, Debug, PartialEq)]
pub struct Scenario {
    pub name: String,
    pub link: LinkParams,
    pub kind: ScenarioKind,
}

/// Names of every scenario this simulator knows, for error messages and docs.
pub const SCENARIO_NAMES: &[&str] = &[
    "simple-p2p",
    "drop-rate",
    "corrupt-rate",
    "droplist",
    "blackhole",
    "rebind",
    "tcp-cross-traffic",
];

const LINK_FLAGS: &[&str] = &["delay", "bandwidth", "queue"];
const RATE_FLAGS: &[&str] = &[
    "rate_to_server",
    "rate_to_client",
    "burst_to_server",
    "burst_to_client",
];
const DROPLIST_FLAGS: &[&str] = &["drops_to_server", "drops_to_client"];
const BLACKHOLE_FLAGS: &[&str] = &["on", "off", "repeat", "direction"];
const REBIND_FLAGS: &[&str] = &["first-rebind", "rebind-freq", "rebind-addr"];

/// Why a scenario line does not parse: one sentence for the sim's console.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ScenarioError {
    #[error("no scenario given (set SCENARIO, e.g. \"simple-p2p --delay=15ms --bandwidth=10Mbps --queue=25\")")]
    NoScenario,
    #[error("unknown scenario {0:?}; known scenarios: {known}", known = SCENARIO_NAMES.join(", "))]
    UnknownScenario(String),
    #[error("unexpected argument {word:?} for scenario {scenario} (flags look like --name=value)")]
    NotAFlag { word: String, scenario: String },
    #[error("unknown flag --{key} for scenario {scenario}; it accepts --{allowed}")]
    UnknownFlag {
        key: String,
        scenario: String,
        allowed: String,
    },
    #[error("flag --{0} is given twice")]
    Twice(String),
    #[error("flag --{0} needs a value (--{0}=...)")]
    NeedsValue(String),
    #[error("missing required flag --{key} for scenario {scenario}")]
    Missing { key: String, scenario: String },
    #[error("bad value --{key}={value}: {why}")]
    BadValue {
        key: String,
        value: String,
        why: ValueError,
    },
    #[error("blackhole needs --on or --off to be longer than zero")]
    NoBlackhole,
}

/// What is wrong with one flag's value.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ValueError {
    #[error(transparent)]
    Unit(#[from] UnitError),
    #[error("expected a whole number")]
    NotWhole,
    #[error("must be between {min} and {max}")]
    OutOfRange { min: u64, max: u64 },
    #[error("expected a percentage between 0 and 100")]
    NotPercentage,
    #[error("{item:?} is not a packet index ({why}; indices start at 1)")]
    NotIndex { item: String, why: Box<ValueError> },
    #[error("expected both, toclient or toserver")]
    Direction,
    #[error("must be at least 1ms")]
    TooFrequent,
    #[error("expected true or false (or no value)")]
    NotBool,
}

/// Parses a whole scenario command line, e.g. the value of `SCENARIO`.
pub fn parse_scenario_line(line: &str) -> Result<Scenario, ScenarioError> {
    let words: Vec<&str> = line.split_whitespace().collect();
    parse_scenario(&words)
}

/// Parses a scenario given as separate words (scenario name first).
pub fn parse_scenario(words: &[&str]) -> Result<Scenario, ScenarioError> {
    let (name, flag_words): (&str, &[&str]) = match words.split_first() {
        Some((name, rest)) => (*name, rest),
        None => return Err(ScenarioError::NoScenario),
    };
    let extra: &[&str] = match name {
        "simple-p2p" | "tcp-cross-traffic" => &[],
        "drop-rate" | "corrupt-rate" => RATE_FLAGS,
        "droplist" => DROPLIST_FLAGS,
        "blackhole" => BLACKHOLE_FLAGS,
        "rebind" => REBIND_FLAGS,
        _ => return Err(ScenarioError::UnknownScenario(name.to_string())),
    };
    let flags: Flags = Flags::parse(name, flag_words, extra)?;
    let link: LinkParams = parse_link(&flags)?;
    let kind: ScenarioKind = match name {
        "simple-p2p" => ScenarioKind::SimpleP2p,
        "tcp-cross-traffic" => ScenarioKind::TcpCrossTraffic,
        "drop-rate" => ScenarioKind::DropRate {
            to_server: parse_rate_spec(&flags, "rate_to_server", "burst_to_server")?,
            to_client: parse_rate_spec(&flags, "rate_to_client", "burst_to_client")?,
        },
        "corrupt-rate" => ScenarioKind::CorruptRate {
            to_server: parse_rate_spec(&flags, "rate_to_server", "burst_to_server")?,
            to_client: parse_rate_spec(&flags, "rate_to_client", "burst_to_client")?,
        },
        "droplist" => ScenarioKind::Droplist {
            to_server: parse_index_list(&flags, "drops_to_server")?,
            to_client: parse_index_list(&flags, "drops_to_client")?,
        },
        "blackhole" => parse_blackhole(&flags)?,
        _ => parse_rebind(&flags)?,
    };
    Ok(Scenario {
        name: name.to_string(),
        link,
        kind,
    })
}

/// The `--name=value` flags of one scenario, checked against the allowed names.
struct Flags {
    scenario: String,
    values: BTreeMap<String, String>,
}

impl Flags {
    fn parse(scenario: &str, words: &[&str], extra: &[&str]) -> Result<Flags, ScenarioError> {
        let mut values: BTreeMap<String, String> = BTreeMap::new();
        for word in words {
            let body: &str = word
                .strip_prefix("--")
                .ok_or_else(|| ScenarioError::NotAFlag {
                    word: word.to_string(),
                    scenario: scenario.to_string(),
                })?;
            let (key, value): (&str, &str) = match body.split_once('=') {
                Some((key, value)) => (key, value),
                None => (body, ""),
            };
            if !LINK_FLAGS.contains(&key) && !extra.contains(&key) {
                let mut allowed: Vec<&str> = LINK_FLAGS.to_vec();
                allowed.extend_from_slice(extra);
                return Err(ScenarioError::UnknownFlag {
                    key: key.to_string(),
                    scenario: scenario.to_string(),
                    allowed: allowed.join(", --"),
                });
            }
            if values.insert(key.to_string(), value.to_string()).is_some() {
                return Err(ScenarioError::Twice(key.to_string()));
            }
        }
        Ok(Flags {
            scenario: scenario.to_string(),
            values,
        })
    }

    fn optional(&self, key: &str) -> Option<&str> {
        self.values.get(key).map(String::as_str)
    }

    fn required(&self, key: &str) -> Result<&str, ScenarioError> {
        match self.optional(key) {
            Some(value) if !value.is_empty() => Ok(value),
            Some(_) => Err(ScenarioError::NeedsValue(key.to_string())),
            None => Err(ScenarioError::Missing {
                key: key.to_string(),
                scenario: self.scenario.clone(),
            }),
        }
    }

    fn non_empty(&self, key: &str) -> Result<Option<&str>, ScenarioError> {
        match self.optional(key) {
            Some("") => Err(ScenarioError::NeedsValue(key.to_string())),
            other => Ok(other),
        }
    }
}

fn flag_error(key: &str, value: &str, why: impl Into<ValueError>) -> ScenarioError {
    ScenarioError::BadValue {
        key: key.to_string(),
        value: value.to_string(),
        why: why.into(),
    }
}

fn parse_link(flags: &Flags) -> Result<LinkParams, ScenarioError> {
    let delay_text: &str = flags.required("delay")?;
    let delay: Duration =
        parse_duration(delay_text).map_err(|e| flag_error("delay", delay_text, e))?;
    let bandwidth_text: &str = flags.required("bandwidth")?;
    let bandwidth_bps: u64 =
        parse_rate(bandwidth_text).map_err(|e| flag_error("bandwidth", bandwidth_text, e))?;
    let queue_text: &str = flags.required("queue")?;
    let queue_packets: usize = parse_count(queue_text, 1, 1_000_000)
        .map_err(|e| flag_error("queue", queue_text, e))? as usize;
    Ok(LinkParams {
        delay,
        bandwidth_bps,
        queue_packets,
    })
}

fn parse_count(text: &str, min: u64, max: u64) -> Result<u64, ValueError> {
    let value: u64 = text.parse::<u64>().map_err(|_| ValueError::NotWhole)?;
    if value < min || value > max {
        return Err(ValueError::OutOfRange { min, max });
    }
    Ok(value)
}

fn parse_rate_spec(
    flags: &Flags,
    rate_key: &str,
    burst_key: &str,
) -> Result<RateSpec, ScenarioError> {
    let rate_text: &str = flags.required(rate_key)?;
    let percent: f64 = rate_text
        .parse::<f64>()
        .ok()
        .filter(|p| p.is_finite() && (0.0..=100.0).contains(p))
        .ok_or_else(|| flag_error(rate_key, rate_text, ValueError::NotPercentage))?;
    let max_burst: Option<u32> = match flags.non_empty(burst_key)? {
        Some(text) => Some(
            parse_count(text, 0, u32::MAX as u64).map_err(|e| flag_error(burst_key, text, e))?
                as u32,
        ),
        None => None,
    };
    Ok(RateSpec { percent, max_burst })
}

fn parse_index_list(flags: &Flags, key: &str) -> Result<BTreeSet<u64>, ScenarioError> {
    let mut indices: BTreeSet<u64> = BTreeSet::new();
    let text: &str = match flags.optional(key) {
        Some(text) => text,
        None => return Ok(indices),
    };
    for item in text.split(',').filter(|item| !item.is_empty()) {
        let index: u64 = parse_count(item, 1, u64::MAX).map_err(|e| {
            flag_error(
                key,
                text,
                ValueError::NotIndex {
                    item: item.to_string(),
                    why: Box::new(e),
                },
            )
        })?;
        indices.insert(index);
    }
    Ok(indices)
}

fn parse_blackhole(flags: &Flags) -> Result<ScenarioKind, ScenarioError> {
    let on_text: &str = flags.required("on")?;
    let on: Duration = parse_duration(on_text).map_err(|e| flag_error("on", on_text, e))?;
    let off_text: &str = flags.required("off")?;
    let off: Duration = parse_duration(off_text).map_err(|e| flag_error("off", off_text, e))?;
    if on.is_zero() && off.is_zero() {
        return Err(ScenarioError::NoBlackhole);
    }
    let repeat: u32 = match flags.non_empty("repeat")? {
        Some(text) => {
            parse_count(text, 1, u32::MAX as u64).map_err(|e| flag_error("repeat", text, e))? as u32
        }
        None => 1,
    };
    let direction: BlackholeDirection = match flags.non_empty("direction")? {
        None | Some("both") => BlackholeDirection::Both,
        Some("toclient") => BlackholeDirection::ToClient,
        Some("toserver") => BlackholeDirection::ToServer,
        Some(other) => return Err(flag_error("direction", other, ValueError::Direction)),
    };
    Ok(ScenarioKind::Blackhole {
        on,
        off,
        repeat,
        direction,
    })
}

fn parse_rebind(flags: &Flags) -> Result<ScenarioKind, ScenarioError> {
    let first_text: &str = flags.required("first-rebind")?;
    let first: Duration =
        parse_duration(first_text).map_err(|e| flag_error("first-rebind", first_text, e))?;
    let freq: Option<Duration> = match flags.non_empty("rebind-freq")? {
        Some(text) => {
            let freq: Duration =
                parse_duration(text).map_err(|e| flag_error("rebind-freq", text, e))?;
            if freq < Duration::from_millis(1) {
                return Err(flag_error("rebind-freq", text, ValueError::TooFrequent));
            }
            Some(freq)
        }
        None => None,
    };
    let rebind_addr: bool = match flags.optional("rebind-addr") {
        None => false,
        Some("") | Some("true") | Some("1") => true,
        Some("false") | Some("0") => false,
        Some(other) => return Err(flag_error("rebind-addr", other, ValueError::NotBool)),
    };
    Ok(ScenarioKind::Rebind {
        first,
        freq,
        rebind_addr,
    })
}

#[cfg(test)]
mod tests;
