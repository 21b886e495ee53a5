//! SIGTERM and SIGINT as a readable descriptor, so the event loop can stop
//! cleanly (flushing the traces) wherever it is waiting; SIGUSR1 and
//! SIGUSR2 are a runner's cues (open the held link; complete the traces).

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// The runner's cue to open a held link (`SIM_HOLD`).
pub const GO: i32 = libc::SIGUSR1;
/// The runner's cue that the trial is over: complete the traces now.
pub const END: i32 = libc::SIGUSR2;

/// A signalfd for the termination signals and the runner's cues.
pub struct StopSignals {
    fd: OwnedFd,
}

impl StopSignals {
    /// Blocks SIGTERM/SIGINT/SIGHUP and the cues for normal delivery and
    /// opens a signalfd for them (a cue sent early stays pending).
    pub fn install() -> io::Result<StopSignals> {
        // SAFETY: sigset operations on a local set; results checked.
        unsafe {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::sigaddset(&mut set, libc::SIGTERM);
            libc::sigaddset(&mut set, libc::SIGINT);
            libc::sigaddset(&mut set, libc::SIGHUP);
            libc::sigaddset(&mut set, GO);
            libc::sigaddset(&mut set, END);
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

    /// Blocks until a signal arrives; returns its number.
    pub fn wait(&self) -> io::Result<i32> {
        loop {
            if let Some(signal) = self.take() {
                return Ok(signal);
            }
            let mut fd = libc::pollfd {
                fd: self.fd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one valid pollfd, no timeout.
            let rc: libc::c_int = unsafe { libc::poll(&mut fd, 1, -1) };
            if rc < 0 {
                let err = io::Error::last_os_error();
                if err.kind() != io::ErrorKind::Interrupted {
                    return Err(err);
                }
            }
        }
    }

    /// Blocks until a stop signal arrives (cues are read and dropped).
    pub fn wait_for_stop(&self) -> io::Result<i32> {
        loop {
            let signal = self.wait()?;
            if signal != GO && signal != END {
                return Ok(signal);
            }
        }
    }
}

impl AsRawFd for StopSignals {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}
