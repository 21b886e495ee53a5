//! The running simulator: captures both interfaces, pushes every packet that
//! crosses sides through the scenario's impairments and the link model, sends
//! it out of the other side when the model says it arrives, and records every
//! frame of each interface in that side's trace.

mod transit;

use crate::capture::{
    CaptureSocket, FrameMeta, RecvBatch, VNET_F_NEEDS_CSUM, VNET_GSO_ECN, VNET_GSO_NONE,
    VNET_GSO_TCPV4, VNET_GSO_TCPV6, VNET_GSO_UDP_L4,
};
use crate::clock::mono_nanos;
use crate::cross::{Cargo, CrossFlow, CrossPacket};
use crate::error::{OffloadError, SimError};
use crate::gso::{segment, GsoKind};
use crate::iface::Interface;
use crate::impair::{Direction, Impairments};
use crate::link::Link;
use crate::nat::Subnet;
use crate::packet::{fix_l4_checksum, parse_ip, IpInfo};
use crate::sender::RawSender;
use crate::signals::StopSignals;

/// The console line that says the traces are complete (after SIGUSR2).
pub const TRACES_COMPLETE: &str = "traces complete";
use std::collections::HashSet;
use std::fs::File;
use std::net::{IpAddr, TcpListener};
use std::os::fd::AsRawFd;
use std::time::Duration;
use wirecap::PcapWriter;

const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_IPV6: u16 = 0x86dd;
/// Trace data is written at least this often.
const FLUSH_EVERY_NS: u64 = 100_000_000;
/// Frames read from one socket before timers get a look in.
const BATCH: usize = 256;
/// How early a packet may leave to share a wake-up with others.
const COALESCE_NS: u64 = 20_000;
/// Frames per `recvmmsg` call.
const BATCH_SLOTS: usize = 16;
/// How often the cross traffic's goodput is logged (as the reference does).
const CROSS_REPORT_NS: u64 = 5_000_000_000;

/// One interface with its capture, trace and sender.
pub struct Side {
    pub iface: Interface,
    pub capture: CaptureSocket,
    pub trace: PcapWriter<File>,
    pub sender: RawSender,
    pub subnets: Vec<Subnet>,
}

/// Counters for one direction, printed at exit.
#[derive(Default, Debug, Clone)]
pub struct DirStats {
    pub arrived: u64,
    pub scenario_drops: u64,
    pub queue_drops: u64,
    pub corrupted: u64,
    pub sent: u64,
    pub send_errors: u64,
    pub oversize: u64,
    pub segmented: u64,
}

/// The simulator's state while it runs.
pub struct Forwarder {
    /// Index 0 is the client side (left), 1 the server side (right).
    sides: [Side; 2],
    /// Index 0 carries packets to the server, 1 to the client.
    links: [Link<Cargo>; 2],
    /// The competing TCP flow of `tcp-cross-traffic`.
    cross: Option<CrossFlow>,
    cross_out: Vec<CrossPacket>,
    cross_drops: u64,
    next_cross_report_ns: u64,
    cross_reported_bytes: u64,
    impairments: Impairments,
    own_addrs: HashSet<IpAddr>,
    start_ns: u64,
    stats: [DirStats; 2],
    /// Receive buffers, taken out while a batch is being processed.
    batch: Option<RecvBatch>,
    log: Vec<String>,
    blackhole_state: [Option<bool>; 2],
    /// UDP port of the WAITFORSERVER probe socket: its late traffic stays out of the traces.
    probe_port: Option<u16>,
    next_flush_ns: u64,
}

impl Forwarder {
    pub fn new(
        sides: [Side; 2],
        links: [Link<Cargo>; 2],
        impairments: Impairments,
        cross: Option<CrossFlow>,
    ) -> Forwarder {
        let own_addrs: HashSet<IpAddr> = sides
            .iter()
            .flat_map(|s| s.iface.addrs.iter().map(|(a, _)| *a))
            .collect();
        let start_ns: u64 = mono_nanos();
        Forwarder {
            sides,
            links,
            cross,
            cross_out: Vec::new(),
            cross_drops: 0,
            next_cross_report_ns: start_ns + CROSS_REPORT_NS,
            cross_reported_bytes: 0,
            impairments,
            own_addrs,
            start_ns,
            stats: [DirStats::default(), DirStats::default()],
            batch: Some(RecvBatch::new(BATCH_SLOTS)),
            log: Vec::new(),
            blackhole_state: [None, None],
            probe_port: None,
            next_flush_ns: start_ns + FLUSH_EVERY_NS,
        }
    }

    /// Leaves the simulator's own traffic on `port` (UDP) out of the traces.
    pub fn hide_probe_port(&mut self, port: Option<u16>) {
        self.probe_port = port;
    }

    /// True for a frame of the WAITFORSERVER probe's conversation.
    fn is_probe_traffic(&self, frame: &[u8]) -> bool {
        let Some(port) = self.probe_port else {
            return false;
        };
        let Some(ip) = frame.get(14..) else {
            return false;
        };
        let Ok(info) = parse_ip(ip) else { return false };
        if info.protocol != crate::packet::PROTO_UDP {
            return false;
        }
        let ours = |addr: IpAddr, p: u16| p == port && self.own_addrs.contains(&addr);
        match crate::packet::ports(ip, &info) {
            Some((sport, dport)) => ours(info.src, sport) || ours(info.dst, dport),
            None => false,
        }
    }

    /// Runs until a termination signal arrives; returns the signal number.
    pub fn run(&mut self, signals: &StopSignals, listener: &TcpListener) -> Result<i32, SimError> {
        loop {
            let now: u64 = mono_nanos();
            // Packets due within the next few microseconds go out now: one
            // wake-up for several packets matters more than 20 µs.
            let sent: [bool; 2] = self.deliver_due(now, now + COALESCE_NS);
            // The capture copy of a sent frame is queued during the send;
            // reading it now saves a wake-up per packet.
            for (side, any) in sent.iter().enumerate() {
                if *any {
                    self.drain(side)?;
                }
            }
            self.run_cross(now);
            self.run_scenario_timers(now);
            if now >= self.next_flush_ns {
                self.flush_traces()?;
                self.next_flush_ns = now + FLUSH_EVERY_NS;
            }
            let ready: [bool; 4] = self.wait(now, signals, listener)?;
            if ready[2] {
                match signals.take() {
                    None | Some(crate::signals::GO) => {}
                    Some(crate::signals::END) => return self.end_of_trial(signals),
                    Some(signal) => {
                        self.finish()?;
                        return Ok(signal);
                    }
                }
            }
            if ready[3] {
                accept_and_close(listener);
            }
            for (side, readable) in ready.iter().take(2).enumerate() {
                if *readable {
                    self.drain(side)?;
                }
            }
        }
    }

    /// Waits until a descriptor is readable or the next timer is due.
    fn wait(
        &self,
        now: u64,
        signals: &StopSignals,
        listener: &TcpListener,
    ) -> Result<[bool; 4], SimError> {
        let mut deadline: u64 = self.next_flush_ns;
        if let Some(at) = self.cross.as_ref().and_then(CrossFlow::next_event) {
            deadline = deadline.min(at);
        }
        for link in &self.links {
            if let Some(at) = link.next_arrival() {
                deadline = deadline.min(at);
            }
        }
        // Rebinds and blackhole switches are due at their time even when the
        // endpoints are silent (a connection idling across a rebind, say).
        if let Some(at) = self.scenario_deadline(now) {
            deadline = deadline.min(at);
        }
        let wait_ns: u64 = deadline.saturating_sub(now);
        let timeout: libc::timespec = libc::timespec {
            tv_sec: (wait_ns / 1_000_000_000) as libc::time_t,
            tv_nsec: (wait_ns % 1_000_000_000) as libc::c_long,
        };
        let mut fds: [libc::pollfd; 4] = [
            poll_in(self.sides[0].capture.as_raw_fd()),
            poll_in(self.sides[1].capture.as_raw_fd()),
            poll_in(signals.as_raw_fd()),
            poll_in(listener.as_raw_fd()),
        ];
        // SAFETY: fds and timeout are valid for the call.
        let rc: libc::c_int = unsafe {
            libc::ppoll(
                fds.as_mut_ptr(),
                fds.len() as libc::nfds_t,
                &timeout,
                std::ptr::null(),
            )
        };
        if rc < 0 {
            let err: std::io::Error = std::io::Error::last_os_error();
            if err.kind() == std::io::ErrorKind::Interrupted {
                return Ok([false; 4]);
            }
            return Err(SimError::Poll(err));
        }
        Ok(fds.map(|f| f.revents & libc::POLLIN != 0))
    }

    fn drain(&mut self, side: usize) -> Result<(), SimError> {
        // Arrival times come from the kernel's receive timestamps, so a late
        // wake-up of the simulator does not bunch packets up in the model.
        let mono_minus_unix: i128 =
            i128::from(mono_nanos()) - i128::from(crate::capture::now_unix_nanos());
        let mut batch: RecvBatch = self
            .batch
            .take()
            .unwrap_or_else(|| RecvBatch::new(BATCH_SLOTS));
        let result: Result<(), SimError> = self.drain_with(side, &mut batch, mono_minus_unix);
        self.batch = Some(batch);
        result
    }

    fn drain_with(
        &mut self,
        side: usize,
        batch: &mut RecvBatch,
        mono_minus_unix: i128,
    ) -> Result<(), SimError> {
        for _ in 0..BATCH / BATCH_SLOTS {
            let count: usize = self.sides[side]
                .capture
                .recv_batch(batch)
                .map_err(|source| SimError::Receive {
                    iface: self.sides[side].iface.name.clone(),
                    source,
                })?;
            for i in 0..count {
                let (meta, frame) = batch.frame(i);
                if self.is_probe_traffic(frame) {
                    continue;
                }
                self.sides[side]
                    .trace
                    .record(meta.unix_nanos, frame)
                    .map_err(|source| SimError::WriteTrace {
                        side: side_name(side),
                        source,
                    })?;
                if !meta.outgoing {
                    let arrival: u64 = (i128::from(meta.unix_nanos) + mono_minus_unix)
                        .clamp(0, i128::from(u64::MAX))
                        as u64;
                    self.ingest(side, meta, frame, arrival.min(mono_nanos()));
                }
            }
            if count < BATCH_SLOTS {
                return Ok(());
            }
        }
        Ok(())
    }

    /// The monotonic time of the scenario's next scheduled change, if any.
    fn scenario_deadline(&self, now: u64) -> Option<u64> {
        let elapsed: Duration = Duration::from_nanos(now.saturating_sub(self.start_ns));
        let at: Duration = self.impairments.next_event(elapsed)?;
        let at_ns: u64 = u64::try_from(at.as_nanos()).unwrap_or(u64::MAX);
        Some(self.start_ns.saturating_add(at_ns))
    }

    fn run_scenario_timers(&mut self, now: u64) {
        let elapsed: Duration = Duration::from_nanos(now.saturating_sub(self.start_ns));
        self.impairments.advance(elapsed, &mut self.log);
        self.print_log();
        self.note_blackhole(now);
    }

    fn note(&mut self, line: String) {
        self.log.push(line);
        self.print_log();
    }

    fn print_log(&mut self) {
        if self.log.is_empty() {
            return;
        }
        let elapsed: f64 = mono_nanos().saturating_sub(self.start_ns) as f64 / 1e9;
        for line in self.log.drain(..) {
            println!("{elapsed:.3}s: {line}");
        }
    }

    fn flush_traces(&mut self) -> Result<(), SimError> {
        for (index, side) in self.sides.iter_mut().enumerate() {
            if side.trace.has_pending() {
                side.trace.flush().map_err(|source| SimError::WriteTrace {
                    side: side_name(index),
                    source,
                })?;
            }
        }
        Ok(())
    }

    /// The runner's end of the trial: the traces are completed and nothing
    /// more is forwarded or recorded, so they can be copied out of the
    /// running container; then waits for a stop signal.
    fn end_of_trial(&mut self, signals: &StopSignals) -> Result<i32, SimError> {
        self.finish()?;
        println!("{TRACES_COMPLETE}");
        signals.wait_for_stop().map_err(SimError::Signals)
    }

    /// Flushes the traces and prints the counters.
    pub fn finish(&mut self) -> Result<(), SimError> {
        self.flush_traces()?;
        for dir in 0..2 {
            let s: &DirStats = &self.stats[dir];
            println!(
                "{}: {} packets in, {} sent, {} dropped by the scenario, {} by the full queue, {} corrupted, {} too large, {} offload packets split, {} send errors",
                direction(dir).name(),
                s.arrived,
                s.sent,
                s.scenario_drops,
                s.queue_drops,
                s.corrupted,
                s.oversize,
                s.segmented,
                s.send_errors
            );
        }
        for (index, side) in self.sides.iter().enumerate() {
            println!(
                "{} trace ({}): {} frames",
                side_name(index),
                side.iface.name,
                side.trace.records()
            );
        }
        if let Some(cross) = &self.cross {
            println!(
                "cross traffic: {} bytes delivered to the client side, {} segments lost at the queue",
                cross.delivered_bytes(),
                self.cross_drops
            );
        }
        Ok(())
    }
}

fn direction(index: usize) -> Direction {
    if index == 0 {
        Direction::ToServer
    } else {
        Direction::ToClient
    }
}

fn side_name(index: usize) -> &'static str {
    if index == 0 {
        "client-side"
    } else {
        "server-side"
    }
}

fn poll_in(fd: i32) -> libc::pollfd {
    libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    }
}

/// Readiness connections only need to succeed; close them at once.
fn accept_and_close(listener: &TcpListener) {
    while let Ok((stream, _)) = listener.accept() {
        drop(stream);
    }
}

/// Turns one received packet into wire-sized packets with real checksums;
/// the flag tells whether it was an offload super-packet.
fn split_offload(
    ip: &[u8],
    info: &IpInfo,
    meta: FrameMeta,
) -> Result<(Vec<Vec<u8>>, bool), OffloadError> {
    let packet: &[u8] = &ip[..info.total_len];
    let kind: GsoKind = match meta.vnet.gso_type & !VNET_GSO_ECN {
        VNET_GSO_NONE => {
            let mut single: Vec<u8> = packet.to_vec();
            if meta.vnet.flags & VNET_F_NEEDS_CSUM != 0 {
                fix_l4_checksum(&mut single, info);
            }
            return Ok((vec![single], false));
        }
        VNET_GSO_UDP_L4 => GsoKind::Udp,
        VNET_GSO_TCPV4 | VNET_GSO_TCPV6 => GsoKind::Tcp,
        other => {
            return Err(OffloadError::Unsupported {
                len: packet.len(),
                kind: other,
            })
        }
    };
    let pieces: Vec<Vec<u8>> =
        segment(packet, kind, usize::from(meta.vnet.gso_size)).map_err(|source| {
            OffloadError::Split {
                len: packet.len(),
                source,
            }
        })?;
    Ok((pieces, true))
}
