//! AF_PACKET sockets: every frame on one interface, both directions, with its
//! kernel timestamp and the offload metadata (virtio-net header) that says
//! whether its checksum still has to be computed and whether it is a GSO
//! super-packet.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

const SOL_PACKET: libc::c_int = 263;
const PACKET_VNET_HDR: libc::c_int = 15;
const PACKET_OUTGOING: u8 = 4;
const ETH_P_ALL: u16 = 0x0003;
pub const VNET_HDR_LEN: usize = 10;
/// Largest frame a socket hands over: a 64 KB GSO packet plus headers.
pub const MAX_FRAME: usize = 65_536 + 256;

pub const VNET_F_NEEDS_CSUM: u8 = 1;
pub const VNET_GSO_NONE: u8 = 0;
pub const VNET_GSO_TCPV4: u8 = 1;
pub const VNET_GSO_UDP: u8 = 3;
pub const VNET_GSO_TCPV6: u8 = 4;
pub const VNET_GSO_UDP_L4: u8 = 5;
pub const VNET_GSO_ECN: u8 = 0x80;

/// Offload state of a received frame.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct VnetHeader {
    pub flags: u8,
    pub gso_type: u8,
    pub gso_size: u16,
}

/// Metadata of one received frame; the frame itself is in the caller's buffer.
#[derive(Clone, Copy, Debug)]
pub struct FrameMeta {
    /// Wall-clock capture time in nanoseconds since the Unix epoch.
    pub unix_nanos: u64,
    /// True for frames this host sent (the simulator's own or the kernel's).
    pub outgoing: bool,
    pub vnet: VnetHeader,
    /// Frame length on the wire.
    pub len: usize,
}

/// A packet socket bound to one interface.
pub struct CaptureSocket {
    fd: OwnedFd,
}

impl CaptureSocket {
    /// Opens a non-blocking capture socket on interface `ifindex`.
    pub fn open(ifindex: u32) -> io::Result<CaptureSocket> {
        // Protocol 0 receives nothing until bind, so no other interface's
        // frames slip in between socket() and bind().
        // SAFETY: plain socket creation; the result is checked.
        let raw: RawFd = unsafe {
            libc::socket(
                libc::AF_PACKET,
                libc::SOCK_RAW | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
                0,
            )
        };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: raw is a fresh descriptor we own.
        let fd: OwnedFd = unsafe { OwnedFd::from_raw_fd(raw) };
        set_int_option(raw, SOL_PACKET, PACKET_VNET_HDR, 1)?;
        set_int_option(raw, libc::SOL_SOCKET, libc::SO_TIMESTAMPNS, 1)?;
        // A deep receive buffer absorbs bursts at high rates; forcing needs
        // NET_ADMIN, so fall back to the plain option.
        if set_int_option(raw, libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, 16 << 20).is_err() {
            let _ = set_int_option(raw, libc::SOL_SOCKET, libc::SO_RCVBUF, 16 << 20);
        }
        // SAFETY: zeroed sockaddr_ll is a valid starting value.
        let mut addr: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        addr.sll_family = libc::AF_PACKET as u16;
        addr.sll_protocol = ETH_P_ALL.to_be();
        addr.sll_ifindex = ifindex as i32;
        // SAFETY: addr is a properly sized sockaddr_ll.
        let rc: libc::c_int = unsafe {
            libc::bind(
                raw,
                (&addr as *const libc::sockaddr_ll).cast(),
                std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(CaptureSocket { fd })
    }

    /// Receives one frame into `buf` (which must hold `VNET_HDR_LEN + MAX_FRAME`
    /// bytes); the frame starts at `VNET_HDR_LEN`. `Ok(None)` when nothing is waiting.
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<Option<FrameMeta>> {
        let mut from: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        let mut control: [u64; 16] = [0; 16];
        let mut iov: libc::iovec = libc::iovec {
            iov_base: buf.as_mut_ptr().cast(),
            iov_len: buf.len(),
        };
        // SAFETY: zeroed msghdr, then every pointer set to live buffers above.
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_name = (&mut from as *mut libc::sockaddr_ll).cast();
        msg.msg_namelen = std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t;
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.as_mut_ptr().cast();
        msg.msg_controllen = std::mem::size_of_val(&control);
        // SAFETY: msg describes valid memory for the duration of the call.
        let n: isize = unsafe { libc::recvmsg(self.fd.as_raw_fd(), &mut msg, libc::MSG_TRUNC) };
        if n < 0 {
            let err: io::Error = io::Error::last_os_error();
            return match err.kind() {
                io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted => Ok(None),
                _ => Err(err),
            };
        }
        let total: usize = n as usize;
        if total < VNET_HDR_LEN {
            return Ok(Some(FrameMeta {
                unix_nanos: now_unix_nanos(),
                outgoing: true,
                vnet: VnetHeader::default(),
                len: 0,
            }));
        }
        let vnet: VnetHeader = VnetHeader {
            flags: buf[0],
            gso_type: buf[1],
            gso_size: u16::from_le_bytes([buf[4], buf[5]]),
        };
        Ok(Some(FrameMeta {
            unix_nanos: timestamp_from(&msg).unwrap_or_else(now_unix_nanos),
            outgoing: from.sll_pkttype == PACKET_OUTGOING,
            vnet,
            len: (total - VNET_HDR_LEN).min(buf.len() - VNET_HDR_LEN),
        }))
    }
}

impl AsRawFd for CaptureSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

fn timestamp_from(msg: &libc::msghdr) -> Option<u64> {
    // SAFETY: the CMSG_* helpers walk the control buffer the kernel filled.
    unsafe {
        let mut cmsg: *mut libc::cmsghdr = libc::CMSG_FIRSTHDR(msg);
        while !cmsg.is_null() {
            if (*cmsg).cmsg_level == libc::SOL_SOCKET && (*cmsg).cmsg_type == libc::SCM_TIMESTAMPNS
            {
                let ts: libc::timespec = std::ptr::read_unaligned(libc::CMSG_DATA(cmsg).cast());
                return Some(ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64);
            }
            cmsg = libc::CMSG_NXTHDR(msg, cmsg);
        }
    }
    None
}

/// Wall-clock time in nanoseconds since the Unix epoch.
pub fn now_unix_nanos() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

pub(crate) fn set_int_option(
    fd: RawFd,
    level: libc::c_int,
    name: libc::c_int,
    value: libc::c_int,
) -> io::Result<()> {
    // SAFETY: value lives across the call and its size is passed.
    let rc: libc::c_int = unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            (&value as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
