//! What each scenario does to a packet as it enters the link: drop it,
//! corrupt it, translate it, or let it through. Decisions use the elapsed time
//! since the link came up, so the model is testable without a clock.

use crate::nat::{Nat, Subnet};
use crate::packet::{
    fix_l4_checksum, is_version_negotiation, parse_ip, ports, set_dst_addr, set_dst_port,
    set_src_addr, set_src_port, udp_payload_range, IpInfo, PROTO_UDP,
};
use crate::rng::Rng;
use crate::scenario::{BlackholeDirection, RateSpec, ScenarioKind};
use std::collections::{BTreeSet, HashSet};
use std::net::IpAddr;
use std::time::Duration;

/// Direction of travel over the link.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Client side (left) to server side (right).
    ToServer,
    /// Server side (right) to client side (left).
    ToClient,
}

impl Direction {
    pub fn index(self) -> usize {
        match self {
            Direction::ToServer => 0,
            Direction::ToClient => 1,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Direction::ToServer => "to server",
            Direction::ToClient => "to client",
        }
    }
}

/// What happens to a packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    Forward,
    /// Forwarded after a byte of the UDP payload was changed.
    Corrupted,
    Drop(DropReason),
}

/// Why the scenario dropped a packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DropReason {
    Random,
    Listed(u64),
    Blackhole,
    UnknownBinding,
}

/// Probabilistic hits with a cap on consecutive hits (drop-rate, corrupt-rate).
struct BurstRate {
    percent: f64,
    max_burst: u32,
    in_a_row: u32,
}

impl BurstRate {
    fn new(spec: RateSpec) -> BurstRate {
        BurstRate {
            percent: spec.percent,
            max_burst: spec.max_burst.unwrap_or(u32::MAX),
            in_a_row: 0,
        }
    }

    fn hit(&mut self, rng: &mut Rng) -> bool {
        if self.in_a_row >= self.max_burst {
            self.in_a_row = 0;
            return false;
        }
        if rng.chance_percent(self.percent) {
            self.in_a_row += 1;
            true
        } else {
            self.in_a_row = 0;
            false
        }
    }
}

enum Model {
    None,
    Drop([BurstRate; 2]),
    Corrupt([BurstRate; 2]),
    List {
        drops: [BTreeSet<u64>; 2],
        seen: [u64; 2],
    },
    Blackhole {
        on: Duration,
        off: Duration,
        repeat: u32,
        directions: [bool; 2],
    },
    Rebind {
        nat: Nat,
        next: Option<Duration>,
        freq: Option<Duration>,
    },
}

/// Facts about the network the models need (only the NAT uses them).
pub struct NetFacts {
    pub client_nets: Vec<Subnet>,
    pub sim_addrs: HashSet<IpAddr>,
}

/// The scenario's packet treatment for both directions.
pub struct Impairments {
    model: Model,
    rng: Rng,
}

impl Impairments {
    pub fn new(kind: &ScenarioKind, facts: NetFacts, rng: Rng) -> Impairments {
        let model: Model = match kind {
            ScenarioKind::SimpleP2p | ScenarioKind::TcpCrossTraffic => Model::None,
            ScenarioKind::DropRate {
                to_server,
                to_client,
            } => Model::Drop([BurstRate::new(*to_server), BurstRate::new(*to_client)]),
            ScenarioKind::CorruptRate {
                to_server,
                to_client,
            } => Model::Corrupt([BurstRate::new(*to_server), BurstRate::new(*to_client)]),
            ScenarioKind::Droplist {
                to_server,
                to_client,
            } => Model::List {
                drops: [to_server.clone(), to_client.clone()],
                seen: [0, 0],
            },
            ScenarioKind::Blackhole {
                on,
                off,
                repeat,
                direction,
            } => Model::Blackhole {
                on: *on,
                off: *off,
                repeat: *repeat,
                directions: match direction {
                    BlackholeDirection::Both => [true, true],
                    BlackholeDirection::ToServer => [true, false],
                    BlackholeDirection::ToClient => [false, true],
                },
            },
            ScenarioKind::Rebind {
                first,
                freq,
                rebind_addr,
            } => Model::Rebind {
                nat: Nat::new(*rebind_addr, facts.client_nets, facts.sim_addrs),
                next: Some(*first),
                freq: *freq,
            },
        };
        Impairments { model, rng }
    }

    /// Decides the fate of `packet` (an IP packet) entering the link `elapsed`
    /// after the link came up; may rewrite it. Log lines go to `log`.
    pub fn apply(
        &mut self,
        dir: Direction,
        elapsed: Duration,
        packet: &mut [u8],
        log: &mut Vec<String>,
    ) -> Verdict {
        let info: Option<IpInfo> = parse_ip(packet).ok();
        let is_udp: bool = info.map(|i| i.protocol == PROTO_UDP).unwrap_or(false);
        let d: usize = dir.index();
        match &mut self.model {
            Model::None => Verdict::Forward,
            Model::Drop(rates) => {
                if is_udp && rates[d].hit(&mut self.rng) {
                    log.push(format!(
                        "drop-rate: dropping a packet {} ({} bytes)",
                        dir.name(),
                        packet.len()
                    ));
                    Verdict::Drop(DropReason::Random)
                } else {
                    Verdict::Forward
                }
            }
            Model::Corrupt(rates) => match info.filter(|_| is_udp) {
                Some(info) => corrupt(&mut rates[d], &mut self.rng, dir, packet, &info, log),
                None => Verdict::Forward,
            },
            Model::List { drops, seen } => {
                seen[d] += 1;
                if drops[d].contains(&seen[d]) {
                    log.push(format!(
                        "droplist: dropping packet {} {} ({} bytes)",
                        seen[d],
                        dir.name(),
                        packet.len()
                    ));
                    Verdict::Drop(DropReason::Listed(seen[d]))
                } else {
                    Verdict::Forward
                }
            }
            Model::Blackhole {
                on,
                off,
                repeat,
                directions,
            } => {
                if directions[d] && blackhole_active(*on, *off, *repeat, elapsed) {
                    Verdict::Drop(DropReason::Blackhole)
                } else {
                    Verdict::Forward
                }
            }
            Model::Rebind { nat, next, freq } => {
                // The simulator advances the schedule on its own wake-ups; a packet
                // stamped later than its last wake-up must still see every rebind due.
                run_rebinds(nat, next, *freq, &mut self.rng, elapsed, log);
                match info.filter(|_| is_udp) {
                    Some(info) => translate(nat, &mut self.rng, dir, packet, &info, log),
                    None => Verdict::Forward,
                }
            }
        }
    }

    /// Carries out the state changes due by `elapsed` (rebinds), whether or not a
    /// packet passes. Log lines go to `log`.
    pub fn advance(&mut self, elapsed: Duration, log: &mut Vec<String>) {
        if let Model::Rebind { nat, next, freq } = &mut self.model {
            run_rebinds(nat, next, *freq, &mut self.rng, elapsed, log);
        }
    }

    /// When the scenario next changes state by itself (a rebind, the blackhole
    /// closing or opening), counted like `elapsed`: the simulator must be awake then,
    /// not wait for the next packet. A time not after `elapsed` means "now".
    pub fn next_event(&self, elapsed: Duration) -> Option<Duration> {
        match &self.model {
            Model::Rebind { next, .. } => *next,
            Model::Blackhole {
                on,
                off,
                repeat,
                directions,
            } if directions.contains(&true) => blackhole_next_change(*on, *off, *repeat, elapsed),
            _ => None,
        }
    }

    /// Whether the blackhole is swallowing packets at `elapsed` in direction `dir`
    /// (false for every other scenario); for logging transitions.
    pub fn blackhole_state(&self, dir: Direction, elapsed: Duration) -> Option<bool> {
        match &self.model {
            Model::Blackhole {
                on,
                off,
                repeat,
                directions,
            } => Some(directions[dir.index()] && blackhole_active(*on, *off, *repeat, elapsed)),
            _ => None,
        }
    }
}

fn run_rebinds(
    nat: &mut Nat,
    next: &mut Option<Duration>,
    freq: Option<Duration>,
    rng: &mut Rng,
    elapsed: Duration,
    log: &mut Vec<String>,
) {
    while let Some(at) = *next {
        if elapsed < at {
            break;
        }
        for line in nat.rebind(rng) {
            log.push(format!("{:.3}s: {line}", at.as_secs_f64()));
        }
        *next = freq.map(|f| at + f);
    }
}

/// The first moment after `elapsed` at which [`blackhole_active`] changes; `None`
/// once the last period has ended.
pub fn blackhole_next_change(
    on: Duration,
    off: Duration,
    repeat: u32,
    elapsed: Duration,
) -> Option<Duration> {
    let period: Duration = on + off;
    if period.is_zero() {
        return None;
    }
    let round: u32 = u32::try_from(elapsed.as_nanos() / period.as_nanos()).ok()?;
    if round >= repeat {
        return None;
    }
    let start: Duration = period * round;
    if elapsed < start + on {
        Some(start + on)
    } else {
        Some(start + period)
    }
}

/// The blackhole is closed from `on` into each period of `on + off`, for
/// `repeat` periods, and open before and after.
pub fn blackhole_active(on: Duration, off: Duration, repeat: u32, elapsed: Duration) -> bool {
    let period: u128 = (on + off).as_nanos();
    let t: u128 = elapsed.as_nanos();
    if period == 0 {
        return false;
    }
    let round: u128 = t / period;
    round < u128::from(repeat) && t - round * period >= on.as_nanos()
}

fn corrupt(
    rate: &mut BurstRate,
    rng: &mut Rng,
    dir: Direction,
    packet: &mut [u8],
    info: &IpInfo,
    log: &mut Vec<String>,
) -> Verdict {
    let range: std::ops::Range<usize> = match udp_payload_range(packet, info) {
        Some(range) if !range.is_empty() => range,
        _ => return Verdict::Forward,
    };
    if is_version_negotiation(&packet[range.clone()]) {
        // Clients ignore a VN listing their own version; corrupting one would
        // only stall the test, as the reference notes.
        rate.in_a_row = 0;
        return Verdict::Forward;
    }
    if !rate.hit(rng) {
        return Verdict::Forward;
    }
    let span: u64 = range.len().min(50) as u64;
    let offset: usize = rng.below(span) as usize;
    let old: u8 = packet[range.start + offset];
    let new: u8 = (u16::from(old) + 1 + rng.below(255) as u16) as u8;
    packet[range.start + offset] = new;
    fix_l4_checksum(packet, info);
    log.push(format!(
        "corrupt-rate: {} byte {offset} of a {}-byte UDP payload 0x{old:02x} -> 0x{new:02x}",
        dir.name(),
        range.len()
    ));
    Verdict::Corrupted
}

fn translate(
    nat: &mut Nat,
    rng: &mut Rng,
    dir: Direction,
    packet: &mut [u8],
    info: &IpInfo,
    log: &mut Vec<String>,
) -> Verdict {
    let Some((sport, dport)) = ports(packet, info) else {
        return Verdict::Forward;
    };
    match dir {
        Direction::ToServer => {
            let (addr, port): (IpAddr, u16) = nat.outbound((info.src, sport), rng);
            set_src_addr(packet, addr);
            set_src_port(packet, info, port);
        }
        Direction::ToClient => match nat.inbound((info.dst, dport)) {
            Some((addr, port)) => {
                set_dst_addr(packet, addr);
                set_dst_port(packet, info, port);
            }
            None => {
                log.push(format!(
                    "rebind: no binding for {}:{dport}, dropping a packet to client",
                    info.dst
                ));
                return Verdict::Drop(DropReason::UnknownBinding);
            }
        },
    }
    if let Ok(new_info) = parse_ip(packet) {
        fix_l4_checksum(packet, &new_info);
    }
    Verdict::Forward
}

#[cfg(test)]
mod tests;
