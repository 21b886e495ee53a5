//! The simulator's own traffic in a capture, which no rule may count.

use quic_trace::Trace;

/// The version of the simulator's WAITFORSERVER probe, "WAIT".
const PROBE_VERSION: u32 = 0x5741_4954;

/// Removes the simulator's WAITFORSERVER probes and the Version Negotiation
/// packets answering them: the reference's capture never holds them (its
/// probes do not cross the simulated link), and a VN that answers no client
/// Initial of the trace cannot belong to the test.
pub fn drop_probe_traffic(trace: &mut Trace, name: &str) {
    // A VN answers an Initial by swapping its connection IDs (RFC 9000 §17.2.1);
    // the Initial that provoked it has a version the decoder does not know.
    let initials: std::collections::BTreeSet<(quic_trace::ConnectionId, quic_trace::ConnectionId)> =
        trace
            .packets
            .iter()
            .filter(|p| p.version != PROBE_VERSION)
            .filter(|p| {
                use quic_trace::PacketType::{Initial, UnknownVersion};
                matches!(p.packet_type, Initial | UnknownVersion)
            })
            .filter_map(|p| Some((p.scid?, p.dcid)))
            .collect();
    let before = trace.packets.len();
    trace.packets.retain(|p| {
        let probe = p.version == PROBE_VERSION;
        let probe_answer = p.packet_type == quic_trace::PacketType::VersionNegotiation
            && !p
                .scid
                .is_some_and(|scid| initials.contains(&(p.dcid, scid)));
        !(probe || probe_answer)
    });
    let dropped = before - trace.packets.len();
    if dropped > 0 {
        trace.warnings.push(format!(
            "{dropped} packets of the simulator's WAITFORSERVER probe (or Version Negotiation answering no Initial of {name}) were left out"
        ));
    }
}
