//! The simulator's two interfaces and which side each one is on. Docker may
//! attach networks in any order, so sides are told apart by address: the
//! client side (left) is the interface in `SIM_LEFT_SUBNET` if given, else the
//! one with the lower IPv4 address (193.167.0.2 < 193.167.100.2).

use crate::nat::Subnet;
use std::collections::BTreeMap;
use std::ffi::CStr;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// One network interface with its addresses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Interface {
    pub name: String,
    pub index: u32,
    /// Global addresses with their prefix lengths (link-local IPv6 left out).
    pub addrs: Vec<(IpAddr, u8)>,
    pub mtu: usize,
}

impl Interface {
    /// The subnets this interface's addresses are in.
    pub fn subnets(&self) -> Vec<Subnet> {
        self.addrs
            .iter()
            .map(|(addr, prefix)| network_of(*addr, *prefix))
            .collect()
    }

    pub fn first_v4(&self) -> Option<Ipv4Addr> {
        self.addrs.iter().find_map(|(a, _)| match a {
            IpAddr::V4(v4) => Some(*v4),
            IpAddr::V6(_) => None,
        })
    }

    pub fn has_ipv6(&self) -> bool {
        self.addrs.iter().any(|(a, _)| a.is_ipv6())
    }
}

/// The client-side and the server-side interface.
#[derive(Clone, Debug)]
pub struct Sides {
    pub left: Interface,
    pub right: Interface,
}

/// The network address of `addr` under `prefix`.
pub fn network_of(addr: IpAddr, prefix: u8) -> Subnet {
    let masked: IpAddr = match addr {
        IpAddr::V4(a) => {
            let mask: u32 = u32::MAX
                .checked_shl(32 - u32::from(prefix.min(32)))
                .unwrap_or(0);
            IpAddr::V4(Ipv4Addr::from(u32::from(a) & mask))
        }
        IpAddr::V6(a) => {
            let mask: u128 = u128::MAX
                .checked_shl(128 - u32::from(prefix.min(128)))
                .unwrap_or(0);
            IpAddr::V6(Ipv6Addr::from(u128::from(a) & mask))
        }
    };
    Subnet {
        addr: masked,
        prefix,
    }
}

/// Why the two sides of the link cannot be told apart, or a subnet not
/// read; one sentence each for the sim's console.
#[derive(Debug, thiserror::Error)]
pub enum IfaceError {
    #[error("subnet {0:?} lacks a /prefix")]
    NoPrefix(String),
    #[error("subnet {0:?} has no valid address")]
    BadAddress(String),
    #[error("subnet {0:?} has no valid prefix length")]
    BadPrefix(String),
    #[error("no interface has an address in {0}")]
    NoneIn(Subnet),
    #[error("both sides resolve to interface {0}")]
    SameInterface(String),
    #[error("several interfaces are in the {what}'s network: {names}")]
    Ambiguous { what: &'static str, names: String },
    #[error("expected exactly two interfaces with addresses, found {count} ({found})")]
    NotTwo { count: usize, found: String },
    #[error("interfaces outside the configured networks {left} and {right} ({found}): this is not the simulator's own container, so it changes nothing and stops")]
    Foreign {
        found: String,
        left: Subnet,
        right: Subnet,
    },
    #[error("cannot list interfaces: {0}")]
    List(#[source] std::io::Error),
}

/// Parses `193.167.0.0/24` or `fd00:cafe:cafe::/64`.
pub fn parse_subnet(text: &str) -> Result<Subnet, IfaceError> {
    let (addr, prefix) = text
        .split_once('/')
        .ok_or_else(|| IfaceError::NoPrefix(text.to_string()))?;
    let addr: IpAddr = addr
        .parse()
        .map_err(|_| IfaceError::BadAddress(text.to_string()))?;
    let max: u8 = if addr.is_ipv4() { 32 } else { 128 };
    let prefix: u8 = prefix
        .parse::<u8>()
        .ok()
        .filter(|p| *p <= max)
        .ok_or_else(|| IfaceError::BadPrefix(text.to_string()))?;
    Ok(network_of(addr, prefix))
}

/// Picks the two sides among the interfaces that carry global addresses:
/// exactly one in each configured subnet and none elsewhere. Anything else
/// means this is not the simulator's own container (on a Docker host it
/// would see eth0 and docker0), and a simulator that went on there would
/// rewrite the host's forwarding settings.
pub fn identify(
    interfaces: &[Interface],
    left: Subnet,
    right: Subnet,
) -> Result<Sides, IfaceError> {
    let candidates: Vec<&Interface> = interfaces.iter().filter(|i| !i.addrs.is_empty()).collect();
    let in_subnet = |net: Subnet| -> Vec<&Interface> {
        candidates
            .iter()
            .filter(|i| i.addrs.iter().any(|(a, _)| net.contains(*a)))
            .copied()
            .collect()
    };
    let foreign: Vec<String> = candidates
        .iter()
        .filter(|i| {
            i.addrs
                .iter()
                .any(|(a, _)| !left.contains(*a) && !right.contains(*a) && !a.is_ipv6())
        })
        .map(|i| {
            format!(
                "{} {}",
                i.name,
                i.first_v4().map_or(String::new(), |a| a.to_string())
            )
        })
        .collect();
    if !foreign.is_empty() {
        return Err(IfaceError::Foreign {
            found: foreign.join(", "),
            left,
            right,
        });
    }
    let left_if: &Interface = single(in_subnet(left), left, "client side")?;
    let right_if: &Interface = single(in_subnet(right), right, "server side")?;
    if left_if.name == right_if.name {
        return Err(IfaceError::SameInterface(left_if.name.clone()));
    }
    if candidates.len() != 2 {
        return Err(IfaceError::NotTwo {
            count: candidates.len(),
            found: candidates
                .iter()
                .map(|i| i.name.as_str())
                .collect::<Vec<&str>>()
                .join(", "),
        });
    }
    Ok(Sides {
        left: left_if.clone(),
        right: right_if.clone(),
    })
}

fn single<'a>(
    list: Vec<&'a Interface>,
    net: Subnet,
    what: &'static str,
) -> Result<&'a Interface, IfaceError> {
    match list.as_slice() {
        [one] => Ok(one),
        [] => Err(IfaceError::NoneIn(net)),
        many => Err(IfaceError::Ambiguous {
            what,
            names: many
                .iter()
                .map(|i| i.name.as_str())
                .collect::<Vec<&str>>()
                .join(", "),
        }),
    }
}

/// Lists this namespace's interfaces (loopback excluded) with their addresses.
pub fn list_interfaces() -> Result<Vec<Interface>, IfaceError> {
    let mut found: BTreeMap<String, Interface> = BTreeMap::new();
    let mut head: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs fills head with a list we free below.
    if unsafe { libc::getifaddrs(&mut head) } != 0 {
        return Err(IfaceError::List(std::io::Error::last_os_error()));
    }
    let mut cursor: *mut libc::ifaddrs = head;
    while !cursor.is_null() {
        // SAFETY: cursor points into the list returned by getifaddrs.
        let entry: &libc::ifaddrs = unsafe { &*cursor };
        cursor = entry.ifa_next;
        // SAFETY: ifa_name is a NUL-terminated string owned by the list.
        let name: String = unsafe { CStr::from_ptr(entry.ifa_name) }
            .to_string_lossy()
            .into_owned();
        if name == "lo" || entry.ifa_flags & libc::IFF_LOOPBACK as u32 != 0 {
            continue;
        }
        let iface: &mut Interface = found.entry(name.clone()).or_insert_with(|| Interface {
            index: if_index(&name),
            mtu: read_mtu(&name),
            name: name.clone(),
            addrs: Vec::new(),
        });
        if let Some(pair) = address_of(entry) {
            iface.addrs.push(pair);
        }
    }
    // SAFETY: head came from getifaddrs.
    unsafe { libc::freeifaddrs(head) };
    Ok(found.into_values().collect())
}

fn address_of(entry: &libc::ifaddrs) -> Option<(IpAddr, u8)> {
    if entry.ifa_addr.is_null() || entry.ifa_netmask.is_null() {
        return None;
    }
    // SAFETY: the family field tells which sockaddr type the pointers hold.
    unsafe {
        match i32::from((*entry.ifa_addr).sa_family) {
            libc::AF_INET => {
                let addr: &libc::sockaddr_in = &*entry.ifa_addr.cast();
                let mask: &libc::sockaddr_in = &*entry.ifa_netmask.cast();
                let ip: Ipv4Addr = Ipv4Addr::from(addr.sin_addr.s_addr.to_ne_bytes());
                Some((
                    IpAddr::V4(ip),
                    u32::from_be(mask.sin_addr.s_addr).count_ones() as u8,
                ))
            }
            libc::AF_INET6 => {
                let addr: &libc::sockaddr_in6 = &*entry.ifa_addr.cast();
                let mask: &libc::sockaddr_in6 = &*entry.ifa_netmask.cast();
                let ip: Ipv6Addr = Ipv6Addr::from(addr.sin6_addr.s6_addr);
                if ip.segments()[0] & 0xffc0 == 0xfe80 {
                    return None;
                }
                let prefix: u8 = mask
                    .sin6_addr
                    .s6_addr
                    .iter()
                    .map(|b| b.count_ones() as u8)
                    .sum();
                Some((IpAddr::V6(ip), prefix))
            }
            _ => None,
        }
    }
}

fn if_index(name: &str) -> u32 {
    let c_name: std::ffi::CString = match std::ffi::CString::new(name) {
        Ok(c) => c,
        Err(_) => return 0,
    };
    // SAFETY: c_name is NUL-terminated.
    unsafe { libc::if_nametoindex(c_name.as_ptr()) }
}

fn read_mtu(name: &str) -> usize {
    std::fs::read_to_string(format!("/sys/class/net/{name}/mtu"))
        .ok()
        .and_then(|s| s.trim().parse::<usize>().ok())
        .unwrap_or(1500)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iface(name: &str, addrs: &[(&str, u8)]) -> Interface {
        Interface {
            name: name.to_string(),
            index: 1,
            addrs: addrs
                .iter()
                .map(|(a, p)| (a.parse().unwrap(), *p))
                .collect(),
            mtu: 1500,
        }
    }

    fn net(text: &str) -> Subnet {
        parse_subnet(text).unwrap()
    }

    #[test]
    fn the_configured_subnets_name_the_sides_whatever_the_order() {
        let right: Interface = iface(
            "eth0",
            &[("193.167.100.2", 24), ("fd00:cafe:cafe:100::2", 64)],
        );
        let left: Interface = iface("eth1", &[("193.167.0.2", 24), ("fd00:cafe:cafe::2", 64)]);
        let sides: Sides = identify(
            &[right.clone(), left.clone()],
            net("193.167.0.0/24"),
            net("193.167.100.0/24"),
        )
        .unwrap();
        assert_eq!(sides.left.name, "eth1");
        assert_eq!(sides.right.name, "eth0");
        assert_eq!(sides.left.subnets()[0].to_string(), "193.167.0.0/24");
        assert_eq!(sides.left.subnets()[1].to_string(), "fd00:cafe:cafe::/64");
    }

    #[test]
    fn a_docker_host_is_refused() {
        // What a simulator started on the host sees: two interfaces, neither
        // in its networks. Before, it took them and wrote ip_forward=0.
        let host: Vec<Interface> = vec![
            iface("eth0", &[("10.0.2.15", 24)]),
            iface("docker0", &[("172.17.0.1", 16)]),
        ];
        let e = identify(&host, net("193.167.0.0/24"), net("193.167.100.0/24"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("not the simulator's own container") && e.contains("docker0"),
            "{e}"
        );
        // Its own two networks plus one more is refused too.
        let mut three: Vec<Interface> = vec![
            iface("eth0", &[("193.167.0.2", 24)]),
            iface("eth1", &[("193.167.100.2", 24)]),
        ];
        three.push(iface("eth2", &[("172.18.0.2", 16)]));
        assert!(identify(&three, net("193.167.0.0/24"), net("193.167.100.0/24")).is_err());
    }

    #[test]
    fn missing_or_doubled_sides_are_errors() {
        let a: Interface = iface("eth0", &[("193.167.0.2", 24)]);
        let e = identify(
            std::slice::from_ref(&a),
            net("193.167.0.0/24"),
            net("193.167.100.0/24"),
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("no interface has an address in 193.167.100.0/24"),
            "{e}"
        );
        let b: Interface = iface("eth1", &[("193.167.0.3", 24)]);
        let e = identify(&[a, b], net("193.167.0.0/16"), net("193.167.0.0/24"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("several interfaces"), "{e}");
        assert!(parse_subnet("193.167.0.0").is_err());
        assert!(parse_subnet("193.167.0.0/33").is_err());
        assert!(parse_subnet("x/24").is_err());
    }
}
