//! Why a connection was given up, as its trace says: the first
//! CONNECTION_CLOSE that carries an error (a TLS alert such as
//! no_application_protocol, a transport error), as one clause for the
//! reason of a failed trial.

use std::net::IpAddr;

use quic_trace::{Frame, Trace};

/// Transport error codes (RFC 9000 §20.1).
const TRANSPORT_ERRORS: [&str; 17] = [
    "NO_ERROR",
    "INTERNAL_ERROR",
    "CONNECTION_REFUSED",
    "FLOW_CONTROL_ERROR",
    "STREAM_LIMIT_ERROR",
    "STREAM_STATE_ERROR",
    "FINAL_SIZE_ERROR",
    "FRAME_ENCODING_ERROR",
    "TRANSPORT_PARAMETER_ERROR",
    "CONNECTION_ID_LIMIT_ERROR",
    "PROTOCOL_VIOLATION",
    "INVALID_TOKEN",
    "APPLICATION_ERROR",
    "CRYPTO_BUFFER_EXCEEDED",
    "KEY_UPDATE_ERROR",
    "AEAD_LIMIT_REACHED",
    "NO_VIABLE_PATH",
];

/// TLS alerts a QUIC handshake ends with (RFC 8446 §6).
fn alert_name(alert: u64) -> Option<&'static str> {
    Some(match alert {
        10 => "unexpected_message",
        20 => "bad_record_mac",
        40 => "handshake_failure",
        42 => "bad_certificate",
        43 => "unsupported_certificate",
        44 => "certificate_revoked",
        45 => "certificate_expired",
        46 => "certificate_unknown",
        47 => "illegal_parameter",
        48 => "unknown_ca",
        50 => "decode_error",
        51 => "decrypt_error",
        70 => "protocol_version",
        71 => "insufficient_security",
        80 => "internal_error",
        86 => "inappropriate_fallback",
        109 => "missing_extension",
        110 => "unsupported_extension",
        112 => "unrecognized_name",
        116 => "certificate_required",
        120 => "no_application_protocol",
        _ => return None,
    })
}

/// `TLS alert 120 (no_application_protocol)`, `PROTOCOL_VIOLATION (0xa)`;
/// `None` for a close without error (transport NO_ERROR; application
/// errors are the application's business, H3_NO_ERROR among them).
fn describe(application: bool, code: u64) -> Option<String> {
    if application || code == 0 {
        return None;
    }
    if (0x100..0x200).contains(&code) {
        let alert = code - 0x100;
        return Some(match alert_name(alert) {
            Some(name) => format!("TLS alert {alert} ({name})"),
            None => format!("TLS alert {alert}"),
        });
    }
    Some(match TRANSPORT_ERRORS.get(code as usize) {
        Some(name) => format!("{name} (0x{code:x})"),
        None => format!("transport error 0x{code:x}"),
    })
}

/// `the server closed the connection with TLS alert 120
/// (no_application_protocol)`, for the first error close in `trace`.
pub fn first_error_close(trace: &Trace, server_ips: &[IpAddr]) -> Option<String> {
    trace.packets.iter().find_map(|p| {
        p.frames.iter().find_map(|f| {
            let Frame::ConnectionClose {
                application,
                error_code,
                reason,
                ..
            } = f
            else {
                return None;
            };
            let what = describe(*application, *error_code)?;
            let who = if server_ips.contains(&p.src.ip()) {
                "server"
            } else {
                "client"
            };
            let why = if reason.is_empty() {
                String::new()
            } else {
                format!(": \"{}\"", crate::report::escape::terminal(reason))
            };
            Some(format!("the {who} closed the connection with {what}{why}"))
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_named_and_clean_closes_are_not() {
        assert_eq!(
            describe(false, 0x178).as_deref(),
            Some("TLS alert 120 (no_application_protocol)")
        );
        assert_eq!(describe(false, 0x1ff).as_deref(), Some("TLS alert 255"));
        assert_eq!(
            describe(false, 0xa).as_deref(),
            Some("PROTOCOL_VIOLATION (0xa)")
        );
        assert_eq!(
            describe(false, 0x4242).as_deref(),
            Some("transport error 0x4242")
        );
        assert_eq!(describe(false, 0), None);
        assert_eq!(describe(true, 0x100), None);
        assert_eq!(describe(true, 0x10c), None);
    }
}
