//! SIGTERM and SIGINT as a readable descriptor, so the event loop can stop
//! cleanly (flushing the traces) wherever it is waiting.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// A signalfd for the termination signals.
pub struct StopSignals {
    fd: OwnedFd,
}

impl StopSignals {
    /// Blocks SIGTERM/SIGINT/SIGHUP for normal delivery and opens a signalfd for them.
    pub fn install() -> io::Result<StopSignals> {
        // SAFETY: sigset operations on a local set; results checked.
        unsafe {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::sigaddset(&mut set, libc::SIGTERM);
            libc::sigaddset(&mut set, libc::SIGINT);
            libc::sigaddset(&mut set, libc::SIGHUP);
            if libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) != 0 {
                return Err(io::Error::last_os_error());
            }
            let raw: RawFd = libc::signalfd(-1, &set, libc::SFD_NONBLOCK | libc::SFD_CLOEXEC);
            if raw < 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(StopSignals {
                fd: OwnedFd::from_raw_fd(raw),
            })
        }
    }

    /// The signal number received, if any.
    pub fn take(&self) -> Option<i32> {
        // SAFETY: zeroed siginfo is a valid buffer of the right size.
        let mut info: libc::signalfd_siginfo = unsafe { std::mem::zeroed() };
        let size: usize = std::mem::size_of::<libc::signalfd_siginfo>();
        // SAFETY: reading into a buffer of exactly `size` bytes.
        let n: isize = unsafe {
            libc::read(
                self.fd.as_raw_fd(),
                (&mut info as *mut libc::signalfd_siginfo).cast(),
                size,
            )
        };
        if n as usize == size {
            Some(info.ssi_signo as i32)
        } else {
            None
        }
    }
}

impl AsRawFd for StopSignals {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}
