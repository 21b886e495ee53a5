//! Captures as the workspace reads and writes them: pcap (µs and ns) and
//! pcapng frames ([`capture`]), link-layer headers down to IP ([`link`]),
//! IP and UDP down to a datagram ([`ip`]), and the simulator's nanosecond
//! pcap writer ([`write`]), and the bounded reading of a file someone else
//! handed in ([`input`]). One codec, so the simulator's traces and every
//! reader of them agree on the format.
//!
//! Input: capture bytes (or frames to record). Output: frames with their
//! time and link type, UDP datagrams with their addresses. No dependencies.

pub mod capture;
pub mod input;
pub mod ip;
pub mod link;
pub mod write;

pub use capture::{for_each_frame, read_capture, CaptureError, CapturedFrame};
pub use write::PcapWriter;
