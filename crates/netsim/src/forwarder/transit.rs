//! A packet's way across: taken in on one side, through the impairments
//! and the link model, sent out of the other side when the model says it
//! arrives; cross traffic and blackhole notes on the way.

use crate::capture::FrameMeta;
use crate::cross::{Cargo, CrossPacket};
use crate::impair::Verdict;
use crate::packet::{decrement_hop_limit, parse_ip, IpInfo};
use std::net::IpAddr;
use std::time::Duration;

use super::*;

impl Forwarder {
    /// Takes a frame that arrived on `side` and, if it is for the other side,
    /// offers it to the link.
    pub(super) fn ingest(&mut self, side: usize, meta: FrameMeta, frame: &[u8], arrival: u64) {
        if frame.len() < 14 {
            return;
        }
        let ethertype: u16 = u16::from_be_bytes([frame[12], frame[13]]);
        if ethertype != ETHERTYPE_IPV4 && ethertype != ETHERTYPE_IPV6 {
            return;
        }
        let ip: &[u8] = &frame[14..];
        let info: IpInfo = match parse_ip(ip) {
            Ok(info) => info,
            Err(_) => return,
        };
        let egress: usize = 1 - side;
        if self.own_addrs.contains(&info.dst)
            || !self.sides[egress]
                .subnets
                .iter()
                .any(|s| s.contains(info.dst))
        {
            return;
        }
        let split = split_offload(ip, &info, meta);
        let packets: Vec<Vec<u8>> = match split {
            Ok((packets, segmented)) => {
                if segmented {
                    self.stats[side].segmented += 1;
                }
                packets
            }
            Err(e) => {
                self.note(format!(
                    "dropping a packet from the {} side: {e}",
                    side_name(side)
                ));
                return;
            }
        };
        for packet in packets {
            self.offer(side, arrival, packet);
        }
    }

    /// Runs one packet through the scenario and into the link of direction `dir`.
    pub(super) fn offer(&mut self, dir: usize, now: u64, mut packet: Vec<u8>) {
        self.stats[dir].arrived += 1;
        let egress_mtu: usize = self.sides[1 - dir].iface.mtu;
        if packet.len() > egress_mtu {
            self.stats[dir].oversize += 1;
            self.note(format!(
                "dropping a {}-byte packet {}: larger than the {}-byte MTU",
                packet.len(),
                direction(dir).name(),
                egress_mtu
            ));
            return;
        }
        if !decrement_hop_limit(&mut packet) {
            return;
        }
        let elapsed: Duration = Duration::from_nanos(now.saturating_sub(self.start_ns));
        let verdict: Verdict =
            self.impairments
                .apply(direction(dir), elapsed, &mut packet, &mut self.log);
        self.print_log();
        match verdict {
            Verdict::Drop(_) => {
                self.stats[dir].scenario_drops += 1;
                return;
            }
            Verdict::Corrupted => self.stats[dir].corrupted += 1,
            Verdict::Forward => {}
        }
        if self.links[dir].enqueue(now, Cargo::Packet(packet)).is_err() {
            self.stats[dir].queue_drops += 1;
        }
    }

    /// Sends every packet whose arrival time has come.
    /// Returns, per side, whether anything was sent out of it.
    pub(super) fn deliver_due(&mut self, now: u64, horizon: u64) -> [bool; 2] {
        let mut sent_on: [bool; 2] = [false; 2];
        for dir in 0..2 {
            while let Some(cargo) = self.links[dir].pop_arrived_by(now, horizon) {
                let packet: Vec<u8> = match cargo {
                    Cargo::Packet(packet) => packet,
                    Cargo::Cross(virtual_packet) => {
                        if let Some(cross) = self.cross.as_mut() {
                            cross.arrived(now, virtual_packet);
                        }
                        continue;
                    }
                };
                let dst: IpAddr = match parse_ip(&packet) {
                    Ok(info) => info.dst,
                    Err(_) => continue,
                };
                sent_on[1 - dir] = true;
                match self.sides[1 - dir].sender.send(&packet, dst) {
                    Ok(()) => self.stats[dir].sent += 1,
                    Err(e) => {
                        self.stats[dir].send_errors += 1;
                        if self.stats[dir].send_errors <= 10 {
                            self.note(format!(
                                "sending a {}-byte packet {} failed: {e}",
                                packet.len(),
                                direction(dir).name()
                            ));
                        }
                    }
                }
            }
        }
        sent_on
    }

    /// Lets the cross flow put its due packets on the links and reports its goodput.
    pub(super) fn run_cross(&mut self, now: u64) {
        let Some(cross) = self.cross.as_mut() else {
            return;
        };
        cross.poll(now, &mut self.cross_out);
        for packet in self.cross_out.drain(..) {
            let dir: usize = match packet {
                CrossPacket::Data(_) => 1,
                CrossPacket::Ack(_) => 0,
            };
            if self.links[dir].enqueue(now, Cargo::Cross(packet)).is_err() {
                self.cross_drops += 1;
            }
        }
        if now >= self.next_cross_report_ns {
            let bytes: u64 = cross.delivered_bytes();
            let kbps: u64 = (bytes - self.cross_reported_bytes) * 8 / (CROSS_REPORT_NS / 1_000_000);
            self.cross_reported_bytes = bytes;
            self.next_cross_report_ns += CROSS_REPORT_NS;
            self.note(format!(
                "cross traffic bandwidth: {kbps} Kbps ({} segments lost at the queue so far)",
                self.cross_drops
            ));
        }
    }

    pub(super) fn note_blackhole(&mut self, now: u64) {
        let elapsed: Duration = Duration::from_nanos(now.saturating_sub(self.start_ns));
        for dir in 0..2 {
            let state: Option<bool> = self.impairments.blackhole_state(direction(dir), elapsed);
            if state != self.blackhole_state[dir] && self.blackhole_state[dir].is_some() {
                let what: &str = if state == Some(true) {
                    "on (dropping everything)"
                } else {
                    "off"
                };
                self.note(format!("blackhole {} {what}", direction(dir).name()));
            }
            self.blackhole_state[dir] = state;
        }
    }
}
