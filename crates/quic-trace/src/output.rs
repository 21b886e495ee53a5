//! Renders a trace: one JSON object per QUIC packet per line, or readable text.

use std::io::Write;

use serde::Serialize;

use crate::bytes::HexBytes;
use crate::cid::ConnectionId;
use crate::frame::Frame;
use crate::packet::{ConnectionInfo, Direction, QuicPacket, Trace};

/// The JSON shape of one packet (field names are part of the CLI's contract).
#[derive(Serialize)]
struct JsonPacket<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    file: Option<&'a str>,
    frame: u64,
    time: f64,
    src: String,
    dst: String,
    ecn: u8,
    #[serde(rename = "type")]
    packet_type: &'static str,
    version: String,
    dcid: &'a ConnectionId,
    scid: Option<&'a ConnectionId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    connection: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    direction: Option<Direction>,
    length: usize,
    payload_length: usize,
    decrypted: bool,
    pn: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    key_phase: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    token: Option<&'a HexBytes>,
    #[serde(skip_serializing_if = "Option::is_none")]
    retry_tag_valid: Option<bool>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    supported_versions: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    undecryptable: Option<&'a str>,
    frames: &'a [Frame],
    #[serde(skip_serializing_if = "Option::is_none")]
    frames_stopped: Option<&'a str>,
}

pub fn version_string(v: u32) -> String {
    format!("{v:#010x}")
}

/// Writes one JSON line per packet; `file` labels lines when several captures are shown.
pub fn write_json(trace: &Trace, file: Option<&str>, out: &mut dyn Write) -> std::io::Result<()> {
    for p in &trace.packets {
        let json = JsonPacket {
            file,
            frame: p.frame,
            time: p.time_secs(),
            src: p.src.to_string(),
            dst: p.dst.to_string(),
            ecn: p.ecn,
            packet_type: p.packet_type.name(),
            version: version_string(p.version),
            dcid: &p.dcid,
            scid: p.scid.as_ref(),
            connection: p.connection,
            direction: p.direction,
            length: p.length,
            payload_length: p.payload_length,
            decrypted: p.decrypted,
            pn: p.pn,
            key_phase: p.key_phase,
            token: p.token.as_ref(),
            retry_tag_valid: p.retry_tag_valid,
            supported_versions: p
                .supported_versions
                .iter()
                .map(|v| version_string(*v))
                .collect(),
            undecryptable: p.undecryptable.as_deref(),
            frames: &p.frames,
            frames_stopped: p.frames_stopped.as_deref(),
        };
        serde_json::to_writer(&mut *out, &json)?;
        out.write_all(b"\n")?;
    }
    Ok(())
}

/// Writes one line per packet, then a summary per connection.
pub fn write_text(trace: &Trace, out: &mut dyn Write) -> std::io::Result<()> {
    let start = trace.packets.first().map_or(0, |p| p.time_ns);
    for p in &trace.packets {
        writeln!(out, "{}", text_line(p, start))?;
    }
    for (i, c) in trace.connections.iter().enumerate() {
        writeln!(out, "{}", connection_summary(i, c))?;
    }
    writeln!(
        out,
        "{} QUIC packets, {} connections, {} other frames skipped",
        trace.packets.len(),
        trace.connections.len(),
        trace.skipped_frames
    )
}

fn text_line(p: &QuicPacket, start_ns: u64) -> String {
    let secs = p.time_ns.saturating_sub(start_ns) as f64 / 1e9;
    let mut line = format!(
        "{:>6} {:>11.6} {} → {} {}",
        p.frame,
        secs,
        p.src,
        p.dst,
        p.packet_type.name()
    );
    if p.version != 0 {
        line += &format!(" {}", version_string(p.version));
    }
    line += &format!(" DCID={}", p.dcid);
    if let Some(scid) = &p.scid {
        line += &format!(" SCID={scid}");
    }
    if let Some(pn) = p.pn {
        line += &format!(" PN={pn}");
    }
    if let Some(kp) = p.key_phase {
        line += &format!(" KP{kp}");
    }
    if p.ecn != 0 {
        line += &format!(" ECN={}", p.ecn);
    }
    if !p.supported_versions.is_empty() {
        let list: Vec<String> = p
            .supported_versions
            .iter()
            .map(|v| version_string(*v))
            .collect();
        line += &format!(" versions={}", list.join(","));
    }
    if let Some(valid) = p.retry_tag_valid {
        line += if valid {
            " integrity-tag=ok"
        } else {
            " integrity-tag=BAD"
        };
    }
    if let Some(why) = &p.undecryptable {
        line += &format!(" ({} payload bytes not decrypted: {why})", p.payload_length);
    }
    if !p.frames.is_empty() {
        let frames: Vec<String> = p.frames.iter().map(frame_text).collect();
        line += &format!(" [{}]", frames.join(", "));
    }
    line
}

fn frame_text(f: &Frame) -> String {
    match f {
        Frame::Padding { length } => format!("padding({length})"),
        Frame::Ack {
            largest,
            ranges,
            ecn,
            ..
        } => {
            let r: Vec<String> = ranges
                .iter()
                .map(|[a, b]| {
                    if a == b {
                        a.to_string()
                    } else {
                        format!("{a}-{b}")
                    }
                })
                .collect();
            let e = ecn.map_or(String::new(), |e| {
                format!(" ecn={}/{}/{}", e.ect0, e.ect1, e.ce)
            });
            format!("ack({largest}: {}{e})", r.join(","))
        }
        Frame::Crypto { offset, length } => format!("crypto({offset}+{length})"),
        Frame::Stream {
            id,
            offset,
            length,
            fin,
        } => format!(
            "stream({id} {offset}+{length}{})",
            if *fin { " fin" } else { "" }
        ),
        Frame::ConnectionClose {
            error_code, reason, ..
        } => format!("connection_close({error_code:#x} {reason:?})"),
        Frame::PathChallenge { data } => format!("path_challenge({data})"),
        Frame::PathResponse { data } => format!("path_response({data})"),
        other => other.name().to_string(),
    }
}

fn connection_summary(index: usize, c: &ConnectionInfo) -> String {
    let addr = |a: Option<std::net::SocketAddr>| a.map_or("?".to_string(), |a| a.to_string());
    let mut s = format!(
        "connection {index}: client {} server {} ODCID={}",
        addr(c.client),
        addr(c.server),
        c.original_dcid
    );
    let versions = |v: &[u32]| {
        v.iter()
            .map(|x| version_string(*x))
            .collect::<Vec<_>>()
            .join(",")
    };
    s += &format!(
        " client versions {} server versions {}",
        versions(&c.client_versions),
        versions(&c.server_versions)
    );
    if let Some(sh) = &c.tls.server_hello {
        s += &format!(
            " suite {:#06x}{}",
            sh.cipher_suite,
            if sh.psk_accepted { " resumed" } else { "" }
        );
    }
    if let Some(ee) = &c.tls.encrypted_extensions {
        s += &format!(" alpn {}", ee.alpn.as_deref().unwrap_or("-"));
    }
    if let Some(cert) = &c.tls.certificate {
        s += &format!(" certificate {} bytes", cert.length);
    }
    s += &keys_note(c);
    s
}

/// What the key logs did for a connection: only a decrypted packet shows
/// that its secrets are right.
pub fn keys_note(c: &ConnectionInfo) -> String {
    match (c.keys_found, c.decrypted_with_keys) {
        (_, n @ 1..) => format!(" (key log secrets decrypted {n} packets)"),
        (true, 0) => " (the key logs name it, but their secrets decrypted no packet)".to_string(),
        (false, 0) => " (no secrets for it in the key logs)".to_string(),
    }
}
