//! Sending IP packets out of one interface with raw sockets (header
//! included), so the kernel resolves the next hop's link address (ARP/NDP)
//! while the packet itself goes out exactly as the simulator built it.

use crate::capture::set_int_option;
use std::io;
use std::net::IpAddr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// Raw IPv4 and IPv6 sockets bound to one interface.
pub struct RawSender {
    v4: OwnedFd,
    v6: Option<OwnedFd>,
}

impl RawSender {
    pub fn open(ifname: &str) -> io::Result<RawSender> {
        let v4: OwnedFd = raw_socket(libc::AF_INET, ifname)?;
        // IPv6 may be disabled in the namespace; IPv4 alone still works then.
        let v6: Option<OwnedFd> = raw_socket(libc::AF_INET6, ifname).ok();
        Ok(RawSender { v4, v6 })
    }

    /// Sends one IP packet to its destination address.
    pub fn send(&self, packet: &[u8], dst: IpAddr) -> io::Result<()> {
        let rc: isize = match dst {
            IpAddr::V4(addr) => {
                // SAFETY: zeroed sockaddr_in is valid; fields set below.
                let mut sa: libc::sockaddr_in = unsafe { std::mem::zeroed() };
                sa.sin_family = libc::AF_INET as u16;
                sa.sin_addr.s_addr = u32::from_ne_bytes(addr.octets());
                send_to(
                    self.v4.as_raw_fd(),
                    packet,
                    (&sa as *const libc::sockaddr_in).cast(),
                    std::mem::size_of_val(&sa),
                )
            }
            IpAddr::V6(addr) => {
                let fd: RawFd = match &self.v6 {
                    Some(fd) => fd.as_raw_fd(),
                    None => {
                        return Err(io::Error::new(
                            io::ErrorKind::Unsupported,
                            "IPv6 is disabled on this interface",
                        ))
                    }
                };
                // SAFETY: zeroed sockaddr_in6 is valid; fields set below.
                let mut sa: libc::sockaddr_in6 = unsafe { std::mem::zeroed() };
                sa.sin6_family = libc::AF_INET6 as u16;
                sa.sin6_addr.s6_addr = addr.octets();
                send_to(
                    fd,
                    packet,
                    (&sa as *const libc::sockaddr_in6).cast(),
                    std::mem::size_of_val(&sa),
                )
            }
        };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }
}

fn send_to(fd: RawFd, packet: &[u8], addr: *const libc::sockaddr, len: usize) -> isize {
    // SAFETY: packet and addr are valid for the given lengths.
    unsafe {
        libc::sendto(
            fd,
            packet.as_ptr().cast(),
            packet.len(),
            libc::MSG_DONTWAIT,
            addr,
            len as libc::socklen_t,
        )
    }
}

fn raw_socket(family: libc::c_int, ifname: &str) -> io::Result<OwnedFd> {
    // IPPROTO_RAW implies "header included" for both families.
    // SAFETY: plain socket creation; the result is checked.
    let raw: RawFd = unsafe {
        libc::socket(
            family,
            libc::SOCK_RAW | libc::SOCK_CLOEXEC,
            libc::IPPROTO_RAW,
        )
    };
    if raw < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: raw is a fresh descriptor we own.
    let fd: OwnedFd = unsafe { OwnedFd::from_raw_fd(raw) };
    // SAFETY: the name bytes are valid for their length.
    let rc: libc::c_int = unsafe {
        libc::setsockopt(
            raw,
            libc::SOL_SOCKET,
            libc::SO_BINDTODEVICE,
            ifname.as_ptr().cast(),
            ifname.len() as libc::socklen_t,
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    if set_int_option(raw, libc::SOL_SOCKET, libc::SO_SNDBUFFORCE, 8 << 20).is_err() {
        let _ = set_int_option(raw, libc::SOL_SOCKET, libc::SO_SNDBUF, 8 << 20);
    }
    Ok(fd)
}
