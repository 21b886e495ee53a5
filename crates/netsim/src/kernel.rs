//! Guarantees that only the simulated link carries packets between the two
//! sides: the kernel's own IP forwarding must be off in the simulator's
//! namespace. Docker mounts /proc/sys read-only, so the orchestrator sets
//! these sysctls at container create; the simulator checks them at start.

use crate::error::SimError;

/// Namespaced sysctls the orchestrator must set on the sim container
/// (Docker `HostConfig.Sysctls`).
pub const SYSCTLS: &[(&str, &str)] = &[
    ("net.ipv4.ip_forward", "0"),
    ("net.ipv6.conf.all.forwarding", "0"),
];

/// Capabilities the sim container needs (Docker `HostConfig.CapAdd`): raw
/// and packet sockets (NET_RAW), forced socket buffer sizes (NET_ADMIN).
pub const CAPABILITIES: &[&str] = &["NET_ADMIN", "NET_RAW"];

/// Checks every forwarding switch that could let the kernel route between the
/// interfaces; turns them off where /proc/sys is writable, fails otherwise.
pub fn ensure_no_kernel_forwarding(interfaces: &[&str]) -> Result<(), SimError> {
    let mut keys: Vec<String> = vec!["net/ipv4/ip_forward".to_string()];
    keys.extend(
        interfaces
            .iter()
            .map(|i| format!("net/ipv4/conf/{i}/forwarding")),
    );
    keys.push("net/ipv6/conf/all/forwarding".to_string());
    for key in keys {
        let path: String = format!("/proc/sys/{key}");
        match read_flag(&path) {
            None | Some(false) => continue,
            Some(true) => {
                let _ = std::fs::write(&path, "0");
                if read_flag(&path) == Some(true) {
                    return Err(SimError::KernelForwarding {
                        key: key.replace('/', "."),
                        sysctls: SYSCTLS
                            .iter()
                            .map(|(k, v)| format!("{k}={v}"))
                            .collect::<Vec<String>>()
                            .join(" "),
                    });
                }
            }
        }
    }
    Ok(())
}

/// The value of a 0/1 sysctl file, or None when it does not exist (e.g.
/// IPv6 disabled).
fn read_flag(path: &str) -> Option<bool> {
    let text: String = std::fs::read_to_string(path).ok()?;
    Some(text.trim() != "0")
}
