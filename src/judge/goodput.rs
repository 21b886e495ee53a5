//! The goodput measurement: file bytes over the time between the first and
//! the last server 1-RTT packet in the client-side trace.

use quic_trace::PacketType;

use super::stop::Stop;
use super::traces::Side;

/// Goodput in kbps (bits per millisecond), as the reference computes it.
pub fn goodput_kbps(client_side: &Side, file_bytes: u64) -> Result<f64, Stop> {
    let mut times = client_side
        .server_sent()
        .filter(|p| p.packet_type == PacketType::OneRtt)
        .map(|p| p.time_ns);
    let Some(first) = times.next() else {
        return Err(Stop::Failed(
            "the client-side trace holds no 1-RTT packet from the server".into(),
        ));
    };
    let last = times.last().unwrap_or(first);
    if last <= first {
        return Err(Stop::Failed(
            "the server's 1-RTT packets all have the same timestamp, so no goodput can be computed"
                .into(),
        ));
    }
    let millis = (last - first) as f64 / 1e6;
    Ok(8.0 * file_bytes as f64 / millis)
}
