//! Per-trial network pairs. Each trial gets its own client-side ("left") and
//! server-side ("right") /24 inside 193.167.0.0/16 and /64 inside
//! fd00:cafe:cafe::/48; the endpoint images route via `.2` of their own
//! subnet, so any pair works unmodified. Docker itself refuses overlapping
//! pools, which makes allocation safe across processes: try a pair, move on
//! when it is taken.

use std::collections::HashMap;

use bollard::models::{Ipam, IpamConfig, NetworkCreateRequest};
use bollard::Docker;

use super::DockerError;

/// The third IPv4 octet of each side; the same number names the IPv6 /64.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subnets {
    pub left: u8,
    pub right: u8,
}

impl Subnets {
    /// The reference layout comes first, so a lone run looks exactly like
    /// the reference; then disjoint neighbouring pairs.
    pub fn candidates() -> Vec<Subnets> {
        let mut out = vec![Subnets {
            left: 0,
            right: 100,
        }];
        out.extend(
            (2..=252u8)
                .step_by(2)
                .filter(|a| *a != 100 && a + 1 != 100)
                .map(|a| Subnets {
                    left: a,
                    right: a + 1,
                }),
        );
        out
    }

    pub fn v4(net: u8, host: u8) -> String {
        format!("193.167.{net}.{host}")
    }

    /// Host parts are written with the same digits as the IPv4 host
    /// (`::100`), as the reference layout does.
    pub fn v6(net: u8, host: u8) -> String {
        format!("fd00:cafe:cafe:{net}::{host}")
    }

    pub fn v4_subnet(net: u8) -> String {
        format!("193.167.{net}.0/24")
    }

    pub fn v6_subnet(net: u8) -> String {
        format!("fd00:cafe:cafe:{net}::/64")
    }
}

/// Two networks created for one trial.
#[derive(Debug, Clone)]
pub struct NetworkPair {
    pub subnets: Subnets,
    pub left: String,
    pub right: String,
}

fn request(name: &str, net: u8, labels: &HashMap<String, String>) -> NetworkCreateRequest {
    NetworkCreateRequest {
        name: name.to_string(),
        driver: Some("bridge".to_string()),
        // Not `internal`: with bridge netfilter on, Docker's isolation rules
        // would drop every routed IPv4 packet through the simulator.
        internal: Some(false),
        enable_ipv6: Some(true),
        ipam: Some(Ipam {
            config: Some(vec![
                IpamConfig {
                    subnet: Some(Subnets::v4_subnet(net)),
                    ..Default::default()
                },
                IpamConfig {
                    subnet: Some(Subnets::v6_subnet(net)),
                    ..Default::default()
                },
            ]),
            ..Default::default()
        }),
        options: Some(HashMap::from([(
            "com.docker.network.bridge.enable_ip_masquerade".to_string(),
            "false".to_string(),
        )])),
        labels: Some(labels.clone()),
        ..Default::default()
    }
}

/// The engine's answer when the subnets overlap an existing network (403,
/// measured on API 1.41) or the name exists (409 on engines that check).
fn is_taken(e: &bollard::errors::Error) -> bool {
    matches!(super::status_of(e), Some(403 | 409))
}

/// Creates `<prefix>-left` and `<prefix>-right` on the first free pair of
/// subnets.
pub async fn create_pair(
    docker: &Docker,
    prefix: &str,
    labels: &HashMap<String, String>,
) -> Result<NetworkPair, DockerError> {
    for s in Subnets::candidates() {
        let left_name = format!("{prefix}-left");
        let left = match docker
            .create_network(request(&left_name, s.left, labels))
            .await
        {
            Ok(r) => r.id,
            Err(e) if is_taken(&e) => continue,
            Err(source) => {
                return Err(DockerError::CreateNetwork {
                    name: left_name,
                    source,
                })
            }
        };
        let right_name = format!("{prefix}-right");
        match docker
            .create_network(request(&right_name, s.right, labels))
            .await
        {
            Ok(r) => {
                return Ok(NetworkPair {
                    subnets: s,
                    left,
                    right: r.id,
                })
            }
            Err(source) => {
                let _ = docker.remove_network(&left).await;
                if !is_taken(&source) {
                    return Err(DockerError::CreateNetwork {
                        name: right_name,
                        source,
                    });
                }
            }
        }
    }
    Err(DockerError::NoFreeSubnets)
}

pub async fn remove_pair(docker: &Docker, pair: &NetworkPair) {
    for id in [&pair.left, &pair.right] {
        let _ = docker.remove_network(id).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn candidates_are_disjoint_and_start_with_the_reference_layout() {
        let c = Subnets::candidates();
        assert_eq!(
            c[0],
            Subnets {
                left: 0,
                right: 100
            }
        );
        let mut seen = HashSet::new();
        for s in &c {
            assert!(
                seen.insert(s.left) && seen.insert(s.right),
                "{s:?} reuses a subnet"
            );
        }
        assert!(c.len() > 100);
    }

    #[test]
    fn addresses_follow_the_reference_layout() {
        assert_eq!(Subnets::v4(100, 100), "193.167.100.100");
        assert_eq!(Subnets::v6(0, 100), "fd00:cafe:cafe:0::100");
        assert_eq!(Subnets::v6_subnet(100), "fd00:cafe:cafe:100::/64");
        let ip: std::net::Ipv6Addr = Subnets::v6(252, 2).parse().unwrap();
        assert_eq!(ip.segments()[3], 0x252);
    }
}
