//! The `tcp-cross-traffic` scenario's competing flow. The reference runs a
//! bulk TCP transfer inside ns-3, from a node behind the server side to one
//! behind the client side (each attached by a 100 Mbit/s, 1 ms access link),
//! so it shares the bottleneck queue but never shows up on the interfaces.
//! This is the same idea: a Reno sender with SACK-style loss recovery (the
//! reference enables SACK) and a cumulative-ACK receiver, whose segments and
//! ACKs travel the simulated links as virtual packets. Both ends live in one
//! object, so the sender reads the receiver's out-of-order set instead of
//! parsing SACK blocks.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use crate::link::WireSize;

/// Bytes a full data segment occupies on the link (1448 bytes of payload
/// plus IPv4, TCP and timestamp-option headers), as in the reference.
pub const SEGMENT_BYTES: usize = 1500;
pub const PAYLOAD_BYTES: u64 = 1448;
/// A pure ACK with the timestamp option.
pub const ACK_BYTES: usize = 52;
/// One-way delay of each access link.
const ACCESS_NS: u64 = 1_000_000;
const INITIAL_CWND: f64 = 10.0;
const MIN_RTO_NS: u64 = 1_000_000_000;

/// A virtual packet of the cross flow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CrossPacket {
    /// Data segment number `n` (counted in segments), server side to client side.
    Data(u64),
    /// Cumulative ACK: every segment below `n` arrived.
    Ack(u64),
}

/// What travels over the simulated link: a real IP packet or a cross-flow one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cargo {
    Packet(Vec<u8>),
    Cross(CrossPacket),
}

impl WireSize for Cargo {
    fn wire_len(&self) -> usize {
        match self {
            Cargo::Packet(p) => p.len(),
            Cargo::Cross(CrossPacket::Data(_)) => SEGMENT_BYTES,
            Cargo::Cross(CrossPacket::Ack(_)) => ACK_BYTES,
        }
    }
}

/// The bulk TCP flow: sender on the server side, receiver on the client side.
pub struct CrossFlow {
    cwnd: f64,
    ssthresh: f64,
    snd_una: u64,
    snd_nxt: u64,
    dup_acks: u32,
    /// Highest segment outstanding when fast recovery began.
    recover: Option<u64>,
    rto_deadline: Option<u64>,
    srtt_ns: Option<u64>,
    /// Send time of one segment being timed (Karn: never a retransmission).
    timing: Option<(u64, u64)>,
    highest_sent: u64,
    /// Segments marked lost and waiting for retransmission, in order.
    retransmit: VecDeque<u64>,
    /// Last send time of every outstanding segment (for detecting lost
    /// retransmissions, as RACK does).
    sent_at: BTreeMap<u64, u64>,
    rcv_next: u64,
    out_of_order: BTreeSet<u64>,
    /// Virtual packets on an access link: (arrival time, packet), in order.
    to_bottleneck: VecDeque<(u64, CrossPacket)>,
    to_receiver: VecDeque<(u64, u64)>,
    to_sender: VecDeque<(u64, u64)>,
    to_ack_link: VecDeque<(u64, CrossPacket)>,
    delivered_segments: u64,
}

impl Default for CrossFlow {
    fn default() -> Self {
        CrossFlow::new()
    }
}

impl CrossFlow {
    pub fn new() -> CrossFlow {
        CrossFlow {
            cwnd: INITIAL_CWND,
            ssthresh: f64::MAX,
            snd_una: 0,
            snd_nxt: 0,
            dup_acks: 0,
            recover: None,
            rto_deadline: None,
            srtt_ns: None,
            timing: None,
            highest_sent: 0,
            retransmit: VecDeque::new(),
            sent_at: BTreeMap::new(),
            rcv_next: 0,
            out_of_order: BTreeSet::new(),
            to_bottleneck: VecDeque::new(),
            to_receiver: VecDeque::new(),
            to_sender: VecDeque::new(),
            to_ack_link: VecDeque::new(),
            delivered_segments: 0,
        }
    }

    /// Segments that reached the receiver in order so far.
    pub fn delivered_bytes(&self) -> u64 {
        self.delivered_segments * PAYLOAD_BYTES
    }

    /// The earliest time something of this flow must happen.
    pub fn next_event(&self) -> Option<u64> {
        [
            self.to_bottleneck.front().map(|(t, _)| *t),
            self.to_ack_link.front().map(|(t, _)| *t),
            self.to_receiver.front().map(|(t, _)| *t),
            self.to_sender.front().map(|(t, _)| *t),
            self.rto_deadline,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Advances the flow to `now`. Packets due to enter the bottleneck are
    /// returned as (is_data, packet): data goes to the link toward the
    /// client, ACKs to the link toward the server.
    pub fn poll(&mut self, now: u64, out: &mut Vec<CrossPacket>) {
        while let Some((_, seg)) = pop_due(&mut self.to_receiver, now) {
            self.receive(now, seg);
        }
        while let Some((_, ack)) = pop_due(&mut self.to_sender, now) {
            self.on_ack(now, ack);
        }
        if self.rto_deadline.is_some_and(|t| t <= now) {
            self.on_timeout(now);
        }
        self.send_window(now);
        while let Some((_, packet)) = pop_due(&mut self.to_bottleneck, now) {
            out.push(packet);
        }
        while let Some((_, packet)) = pop_due(&mut self.to_ack_link, now) {
            out.push(packet);
        }
    }

    /// A cross-flow packet left the bottleneck at `now`.
    pub fn arrived(&mut self, now: u64, packet: CrossPacket) {
        match packet {
            CrossPacket::Data(seg) => self.to_receiver.push_back((now + ACCESS_NS, seg)),
            CrossPacket::Ack(ack) => self.to_sender.push_back((now + ACCESS_NS, ack)),
        }
    }

    fn receive(&mut self, now: u64, seg: u64) {
        if seg == self.rcv_next {
            self.rcv_next += 1;
            self.delivered_segments += 1;
            while self.out_of_order.remove(&self.rcv_next) {
                self.rcv_next += 1;
                self.delivered_segments += 1;
            }
        } else if seg > self.rcv_next {
            self.out_of_order.insert(seg);
        }
        self.to_ack_link
            .push_back((now + ACCESS_NS, CrossPacket::Ack(self.rcv_next)));
    }

    fn on_ack(&mut self, now: u64, ack: u64) {
        if ack > self.snd_una {
            // Appropriate byte counting (RFC 3465, L = 2): a jump of the
            // cumulative ACK over a filled hole does not inflate the window.
            let newly: f64 = ((ack - self.snd_una) as f64).min(2.0);
            self.snd_una = ack;
            self.snd_nxt = self.snd_nxt.max(ack);
            self.dup_acks = 0;
            self.update_rtt(now, ack);
            self.retransmit.retain(|seg| *seg >= ack);
            self.sent_at = self.sent_at.split_off(&ack);
            match self.recover {
                Some(recover) if ack <= recover => {}
                Some(_) => {
                    self.recover = None;
                    self.cwnd = self.ssthresh;
                }
                None if self.cwnd < self.ssthresh => self.cwnd += newly,
                None => self.cwnd += newly / self.cwnd,
            }
            self.rto_deadline = (self.snd_una < self.snd_nxt).then(|| now + self.rto());
            self.detect_lost_retransmissions(now);
        } else if ack == self.snd_una && self.snd_nxt > self.snd_una {
            self.detect_lost_retransmissions(now);
            self.dup_acks += 1;
            if self.dup_acks == 3 && self.recover.is_none() {
                self.ssthresh = (self.pipe() as f64 / 2.0).max(2.0);
                self.cwnd = self.ssthresh;
                self.recover = Some(self.snd_nxt - 1);
                self.mark_holes_lost();
            }
        }
    }

    fn on_timeout(&mut self, now: u64) {
        self.ssthresh = (self.pipe() as f64 / 2.0).max(2.0);
        self.cwnd = 1.0;
        self.recover = None;
        self.dup_acks = 0;
        // As a SACK sender: resend what the receiver lacks, not what it holds.
        self.mark_holes_lost_up_to(self.snd_nxt);
        self.timing = None;
        self.rto_deadline = Some(now + 2 * self.rto());
    }

    /// Every segment below the highest one the receiver holds that it lacks.
    /// In recovery, a hole whose last copy was sent well over a round trip
    /// ago is lost again.
    fn detect_lost_retransmissions(&mut self, now: u64) {
        if self.recover.is_none() || !self.retransmit.is_empty() {
            return;
        }
        let Some(srtt) = self.srtt_ns else { return };
        let highest: u64 = self
            .out_of_order
            .iter()
            .next_back()
            .copied()
            .unwrap_or(self.snd_una);
        let stale: Vec<u64> = (self.snd_una..highest)
            .filter(|seg| !self.out_of_order.contains(seg))
            .take(64)
            .filter(|seg| {
                self.sent_at
                    .get(seg)
                    .is_some_and(|t| now.saturating_sub(*t) > srtt * 5 / 4)
            })
            .collect();
        self.retransmit.extend(stale);
    }

    fn mark_holes_lost(&mut self) {
        let highest: u64 = self
            .out_of_order
            .iter()
            .next_back()
            .copied()
            .unwrap_or(self.snd_una + 1);
        self.mark_holes_lost_up_to(highest);
    }

    fn mark_holes_lost_up_to(&mut self, end: u64) {
        self.retransmit = (self.snd_una..end)
            .filter(|seg| !self.out_of_order.contains(seg))
            .collect();
    }

    /// Segments believed to be in the network: outstanding, minus those the
    /// receiver holds, minus those marked lost.
    fn pipe(&self) -> u64 {
        let outstanding: u64 = self.snd_nxt - self.snd_una;
        let held: u64 = self.out_of_order.range(self.snd_una..self.snd_nxt).count() as u64;
        outstanding.saturating_sub(held + self.retransmit.len() as u64)
    }

    fn send_window(&mut self, now: u64) {
        let window: u64 = self.cwnd.floor().max(1.0) as u64;
        while self.pipe() < window {
            if let Some(seg) = self.retransmit.pop_front() {
                self.send_segment(now, seg);
                // The retransmission is in the pipe again.
                continue;
            }
            let seg: u64 = self.snd_nxt;
            self.send_segment(now, seg);
            self.snd_nxt += 1;
        }
        if self.rto_deadline.is_none() && self.snd_nxt > self.snd_una {
            self.rto_deadline = Some(now + self.rto());
        }
    }

    fn send_segment(&mut self, now: u64, seg: u64) {
        self.sent_at.insert(seg, now);
        if seg >= self.highest_sent {
            self.highest_sent = seg + 1;
            if self.timing.is_none() {
                self.timing = Some((seg, now));
            }
        }
        self.to_bottleneck
            .push_back((now + ACCESS_NS, CrossPacket::Data(seg)));
    }

    fn update_rtt(&mut self, now: u64, ack: u64) {
        if let Some((seg, sent)) = self.timing {
            if ack > seg {
                let sample: u64 = now.saturating_sub(sent);
                self.srtt_ns = Some(match self.srtt_ns {
                    Some(srtt) => (7 * srtt + sample) / 8,
                    None => sample,
                });
                self.timing = None;
            }
        }
    }

    fn rto(&self) -> u64 {
        self.srtt_ns.map(|s| 2 * s).unwrap_or(0).max(MIN_RTO_NS)
    }
}

fn pop_due<T>(queue: &mut VecDeque<(u64, T)>, now: u64) -> Option<(u64, T)> {
    if queue.front().is_some_and(|(t, _)| *t <= now) {
        queue.pop_front()
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::link::Link;

    const MS: u64 = 1_000_000;

    /// Runs the flow alone over a 10 Mbit/s, 15 ms, 25-packet link for `seconds`
    /// of simulated time; returns delivered bytes and tail drops.
    fn run_alone(seconds: u64) -> (u64, u64) {
        let mut flow: CrossFlow = CrossFlow::new();
        let mut to_client: Link<Cargo> = Link::new(10_000_000, 15 * MS, 25);
        let mut to_server: Link<Cargo> = Link::new(10_000_000, 15 * MS, 25);
        let mut now: u64 = 0;
        let mut drops: u64 = 0;
        let mut out: Vec<CrossPacket> = Vec::new();
        while now < seconds * 1_000_000_000 {
            flow.poll(now, &mut out);
            for packet in out.drain(..) {
                let link: &mut Link<Cargo> = match packet {
                    CrossPacket::Data(_) => &mut to_client,
                    CrossPacket::Ack(_) => &mut to_server,
                };
                if link.enqueue(now, Cargo::Cross(packet)).is_err() {
                    drops += 1;
                }
            }
            for link in [&mut to_client, &mut to_server] {
                while let Some(Cargo::Cross(packet)) = link.pop_arrived(now) {
                    flow.arrived(now, packet);
                }
            }
            let next: u64 = [
                flow.next_event(),
                to_client.next_arrival(),
                to_server.next_arrival(),
            ]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(now + MS);
            now = next.max(now + 1);
        }
        (flow.delivered_bytes(), drops)
    }

    #[test]
    fn bulk_flow_fills_the_bottleneck_and_survives_losses() {
        let (bytes, drops) = run_alone(20);
        let rate: f64 = bytes as f64 * 8.0 / 20.0;
        // Slow start overshoots the 25-packet queue, so there are losses,
        // and NewReno recovers: the flow still uses most of 10 Mbit/s.
        assert!(drops > 0, "no queue overflow happened");
        assert!(rate > 8_000_000.0, "only {rate} bit/s delivered");
        assert!(
            rate <= 9_700_000.0,
            "{rate} bit/s exceeds the link's payload capacity"
        );
    }

    #[test]
    fn receiver_acks_cumulatively_and_buffers_holes() {
        let mut flow: CrossFlow = CrossFlow::new();
        flow.receive(0, 0);
        flow.receive(0, 2);
        flow.receive(0, 3);
        assert_eq!(flow.delivered_segments, 1);
        flow.receive(0, 1);
        assert_eq!(flow.delivered_segments, 4);
        let acks: Vec<CrossPacket> = flow.to_ack_link.iter().map(|(_, p)| *p).collect();
        assert_eq!(
            acks,
            vec![
                CrossPacket::Ack(1),
                CrossPacket::Ack(1),
                CrossPacket::Ack(1),
                CrossPacket::Ack(4)
            ]
        );
    }

    #[test]
    fn three_duplicate_acks_halve_the_window_and_retransmit() {
        let mut flow: CrossFlow = CrossFlow::new();
        let mut out: Vec<CrossPacket> = Vec::new();
        flow.poll(0, &mut out);
        assert_eq!(flow.snd_nxt, 10);
        for _ in 0..3 {
            flow.on_ack(MS, 0);
        }
        assert_eq!(flow.cwnd, 5.0);
        assert_eq!(flow.recover, Some(9));
        assert_eq!(flow.retransmit.front(), Some(&0));
    }
}
