//! The client-side NAT of the `rebind` scenario: every client flow gets an
//! external address and port; each rebind moves all flows to new random ports
//! (and, with `--rebind-addr`, to a new random address in the client's subnet).
//! Replies to an external address/port that is no longer bound are dropped.

use crate::rng::Rng;
use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A subnet given by a network address and prefix length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Subnet {
    pub addr: IpAddr,
    pub prefix: u8,
}

impl Subnet {
    pub fn contains(&self, addr: IpAddr) -> bool {
        match (self.addr, addr) {
            (IpAddr::V4(net), IpAddr::V4(a)) => {
                let mask: u32 = prefix_mask32(self.prefix);
                u32::from(net) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(a)) => {
                let mask: u128 = prefix_mask128(self.prefix);
                u128::from(net) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

impl std::fmt::Display for Subnet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

fn prefix_mask32(prefix: u8) -> u32 {
    u32::MAX
        .checked_shl(32 - u32::from(prefix.min(32)))
        .unwrap_or(0)
}

fn prefix_mask128(prefix: u8) -> u128 {
    u128::MAX
        .checked_shl(128 - u32::from(prefix.min(128)))
        .unwrap_or(0)
}

type Endpoint = (IpAddr, u16);

/// NAT state shared by both directions.
pub struct Nat {
    rebind_addr: bool,
    client_nets: Vec<Subnet>,
    /// Addresses a new external address must never take (the sim's own, gateways).
    reserved: HashSet<IpAddr>,
    external_v4: Option<Ipv4Addr>,
    external_v6: Option<Ipv6Addr>,
    forward: HashMap<Endpoint, Endpoint>,
    reverse: HashMap<Endpoint, Endpoint>,
}

impl Nat {
    pub fn new(rebind_addr: bool, client_nets: Vec<Subnet>, reserved: HashSet<IpAddr>) -> Nat {
        Nat {
            rebind_addr,
            client_nets,
            reserved,
            external_v4: None,
            external_v6: None,
            forward: HashMap::new(),
            reverse: HashMap::new(),
        }
    }

    /// External endpoint for a client flow, binding it on first sight.
    pub fn outbound(&mut self, client: Endpoint, rng: &mut Rng) -> Endpoint {
        if let Some(external) = self.forward.get(&client) {
            return *external;
        }
        let addr: IpAddr = self.current_external_addr(client.0);
        let port: u16 = if self.reverse.contains_key(&(addr, client.1)) {
            self.free_port(addr, rng)
        } else {
            client.1
        };
        self.bind(client, (addr, port));
        (addr, port)
    }

    /// The client flow a reply addressed to `external` belongs to, if bound.
    pub fn inbound(&self, external: Endpoint) -> Option<Endpoint> {
        self.reverse.get(&external).copied()
    }

    /// Moves every flow to a new port (and address); returns one line per flow.
    pub fn rebind(&mut self, rng: &mut Rng) -> Vec<String> {
        if self.rebind_addr {
            self.external_v4 = self.pick_v4(rng);
            self.external_v6 = self.pick_v6(rng);
        }
        let flows: Vec<(Endpoint, Endpoint)> = self.forward.drain().collect();
        self.reverse.clear();
        let mut lines: Vec<String> = Vec::new();
        for (client, old) in flows {
            let addr: IpAddr = self.current_external_addr(client.0);
            let port: u16 = self.free_port(addr, rng);
            self.bind(client, (addr, port));
            lines.push(format!(
                "rebinding {}:{} -> {}:{} (client {}:{})",
                fmt_ip(old.0),
                old.1,
                fmt_ip(addr),
                port,
                fmt_ip(client.0),
                client.1
            ));
        }
        if lines.is_empty() {
            lines.push("rebind: no client flow bound yet".to_string());
        }
        lines
    }

    fn bind(&mut self, client: Endpoint, external: Endpoint) {
        self.forward.insert(client, external);
        self.reverse.insert(external, client);
    }

    fn current_external_addr(&self, real: IpAddr) -> IpAddr {
        match real {
            IpAddr::V4(_) => self.external_v4.map(IpAddr::V4).unwrap_or(real),
            IpAddr::V6(_) => self.external_v6.map(IpAddr::V6).unwrap_or(real),
        }
    }

    fn free_port(&self, addr: IpAddr, rng: &mut Rng) -> u16 {
        loop {
            let port: u16 = 1024 + rng.below(65536 - 1024) as u16;
            if !self.reverse.contains_key(&(addr, port)) {
                return port;
            }
        }
    }

    fn is_taken(&self, candidate: IpAddr) -> bool {
        self.reserved.contains(&candidate)
            || self.forward.keys().any(|(real, _)| *real == candidate)
            || Some(candidate) == self.external_v4.map(IpAddr::V4)
            || Some(candidate) == self.external_v6.map(IpAddr::V6)
    }

    fn pick_v4(&self, rng: &mut Rng) -> Option<Ipv4Addr> {
        let net: Subnet = *self.client_nets.iter().find(|n| n.addr.is_ipv4())?;
        let IpAddr::V4(base) = net.addr else {
            return None;
        };
        let host_bits: u32 = 32 - u32::from(net.prefix.min(30));
        let hosts: u64 = 1u64 << host_bits;
        for _ in 0..10_000 {
            // Skip the network address, .1 (the bridge gateway) and broadcast.
            let host: u64 = 2 + rng.below(hosts - 3);
            let candidate: Ipv4Addr =
                Ipv4Addr::from((u32::from(base) & prefix_mask32(net.prefix)) | host as u32);
            if !self.is_taken(IpAddr::V4(candidate)) {
                return Some(candidate);
            }
        }
        None
    }

    fn pick_v6(&self, rng: &mut Rng) -> Option<Ipv6Addr> {
        let net: Subnet = *self.client_nets.iter().find(|n| n.addr.is_ipv6())?;
        let IpAddr::V6(base) = net.addr else {
            return None;
        };
        let host_mask: u128 = !prefix_mask128(net.prefix);
        loop {
            let random: u128 =
                (u128::from(rng.next_u64()) << 64 | u128::from(rng.next_u64())) & host_mask;
            if random < 0x100 {
                continue;
            }
            let candidate: Ipv6Addr = Ipv6Addr::from((u128::from(base) & !host_mask) | random);
            if !self.is_taken(IpAddr::V6(candidate)) {
                return Some(candidate);
            }
        }
    }
}

fn fmt_ip(addr: IpAddr) -> String {
    match addr {
        IpAddr::V4(a) => a.to_string(),
        IpAddr::V6(a) => format!("[{a}]"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn nat(rebind_addr: bool) -> Nat {
        let nets: Vec<Subnet> = vec![
            Subnet {
                addr: ip("193.167.0.0"),
                prefix: 24,
            },
            Subnet {
                addr: ip("fd00:cafe:cafe::"),
                prefix: 64,
            },
        ];
        let reserved: HashSet<IpAddr> = [ip("193.167.0.2"), ip("fd00:cafe:cafe::2")]
            .into_iter()
            .collect();
        Nat::new(rebind_addr, nets, reserved)
    }

    #[test]
    fn first_binding_is_identity_and_replies_map_back() {
        let mut n: Nat = nat(false);
        let mut rng: Rng = Rng::from_seed(3);
        let client: Endpoint = (ip("193.167.0.100"), 4444);
        assert_eq!(n.outbound(client, &mut rng), client);
        assert_eq!(n.inbound(client), Some(client));
        assert_eq!(n.inbound((ip("193.167.0.100"), 5555)), None);
    }

    #[test]
    fn rebind_changes_port_and_forgets_the_old_one() {
        let mut n: Nat = nat(false);
        let mut rng: Rng = Rng::from_seed(3);
        let client: Endpoint = (ip("193.167.0.100"), 4444);
        n.outbound(client, &mut rng);
        n.rebind(&mut rng);
        let external: Endpoint = n.outbound(client, &mut rng);
        assert_eq!(external.0, client.0);
        assert_ne!(external.1, client.1);
        assert_eq!(n.inbound(client), None);
        assert_eq!(n.inbound(external), Some(client));
    }

    #[test]
    fn rebind_addr_picks_a_new_address_in_the_client_subnet() {
        let mut n: Nat = nat(true);
        let mut rng: Rng = Rng::from_seed(11);
        let v4: Endpoint = (ip("193.167.0.100"), 4444);
        let v6: Endpoint = (ip("fd00:cafe:cafe::100"), 4444);
        n.outbound(v4, &mut rng);
        n.outbound(v6, &mut rng);
        let mut previous: IpAddr = v4.0;
        for _ in 0..200 {
            n.rebind(&mut rng);
            let e4: Endpoint = n.outbound(v4, &mut rng);
            let e6: Endpoint = n.outbound(v6, &mut rng);
            assert_ne!(e4.0, previous);
            assert_ne!(e4.0, v4.0);
            assert!(!matches!(e4.0, IpAddr::V4(a) if [0, 1, 2, 255].contains(&a.octets()[3])));
            assert!(Subnet {
                addr: ip("193.167.0.0"),
                prefix: 24
            }
            .contains(e4.0));
            assert!(Subnet {
                addr: ip("fd00:cafe:cafe::"),
                prefix: 64
            }
            .contains(e6.0));
            assert_ne!(e6.0, v6.0);
            previous = e4.0;
        }
    }

    #[test]
    fn subnet_membership() {
        let net: Subnet = Subnet {
            addr: ip("193.167.100.0"),
            prefix: 24,
        };
        assert!(net.contains(ip("193.167.100.100")));
        assert!(!net.contains(ip("193.167.0.100")));
        assert!(!net.contains(ip("fd00::1")));
    }
}
