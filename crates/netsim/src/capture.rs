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
}

/// Buffers for receiving several frames with one `recvmmsg` call.
pub struct RecvBatch {
    buffers: Vec<Vec<u8>>,
    names: Vec<libc::sockaddr_ll>,
    controls: Vec<[u64; 16]>,
    iovecs: Vec<libc::iovec>,
    headers: Vec<libc::mmsghdr>,
    metas: Vec<FrameMeta>,
}

impl RecvBatch {
    /// Room for `slots` frames of up to `MAX_FRAME` bytes.
    pub fn new(slots: usize) -> RecvBatch {
        RecvBatch {
            buffers: (0..slots)
                .map(|_| vec![0; VNET_HDR_LEN + MAX_FRAME])
                .collect(),
            // SAFETY: all-zero is a valid value of these plain C structs.
            names: (0..slots).map(|_| unsafe { std::mem::zeroed() }).collect(),
            controls: vec![[0; 16]; slots],
            iovecs: Vec::with_capacity(slots),
            headers: Vec::with_capacity(slots),
            metas: Vec::with_capacity(slots),
        }
    }

    /// Frames received by the last `recv_batch`.
    pub fn len(&self) -> usize {
        self.metas.len()
    }

    pub fn is_empty(&self) -> bool {
        self.metas.is_empty()
    }

    /// Metadata and frame (without the virtio-net header) of frame `i`.
    pub fn frame(&self, i: usize) -> (FrameMeta, &[u8]) {
        let meta: FrameMeta = self.metas[i];
        (
            meta,
            &self.buffers[i][VNET_HDR_LEN..VNET_HDR_LEN + meta.len],
        )
    }
}

impl CaptureSocket {
    /// Receives up to a batch of frames without blocking; returns how many.
    pub fn recv_batch(&self, batch: &mut RecvBatch) -> io::Result<usize> {
        let slots: usize = batch.buffers.len();
        batch.iovecs.clear();
        batch.headers.clear();
        batch.metas.clear();
        for i in 0..slots {
            batch.iovecs.push(libc::iovec {
                iov_base: batch.buffers[i].as_mut_ptr().cast(),
                iov_len: batch.buffers[i].len(),
            });
        }
        for i in 0..slots {
            // SAFETY: zeroed mmsghdr, then pointers to buffers owned by `batch`
            // that stay in place for the call.
            let mut header: libc::mmsghdr = unsafe { std::mem::zeroed() };
            header.msg_hdr.msg_name = (&mut batch.names[i] as *mut libc::sockaddr_ll).cast();
            header.msg_hdr.msg_namelen =
                std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t;
            header.msg_hdr.msg_iov = &mut batch.iovecs[i];
            header.msg_hdr.msg_iovlen = 1;
            header.msg_hdr.msg_control = batch.controls[i].as_mut_ptr().cast();
            header.msg_hdr.msg_controllen = std::mem::size_of::<[u64; 16]>();
            batch.headers.push(header);
        }
        // SAFETY: headers describe valid memory for the duration of the call.
        let n: libc::c_int = unsafe {
            libc::recvmmsg(
                self.fd.as_raw_fd(),
                batch.headers.as_mut_ptr(),
                slots as libc::c_uint,
                libc::MSG_TRUNC,
                std::ptr::null_mut(),
            )
        };
        if n < 0 {
            let err: io::Error = io::Error::last_os_error();
            return match err.kind() {
                io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted => Ok(0),
                _ => Err(err),
            };
        }
        for i in 0..n as usize {
            let total: usize = batch.headers[i].msg_len as usize;
            let buf: &[u8] = &batch.buffers[i];
            let meta: FrameMeta = if total < VNET_HDR_LEN {
                FrameMeta {
                    unix_nanos: now_unix_nanos(),
                    outgoing: true,
                    vnet: VnetHeader::default(),
                    len: 0,
                }
            } else {
                FrameMeta {
                    unix_nanos: timestamp_from(&batch.headers[i].msg_hdr)
                        .unwrap_or_else(now_unix_nanos),
                    outgoing: batch.names[i].sll_pkttype == PACKET_OUTGOING,
                    vnet: VnetHeader {
                        flags: buf[0],
                        gso_type: buf[1],
                        gso_size: u16::from_le_bytes([buf[4], buf[5]]),
                    },
                    len: (total - VNET_HDR_LEN).min(buf.len() - VNET_HDR_LEN),
                }
            };
            batch.metas.push(meta);
        }
        Ok(n as usize)
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
