//! Each test's pass rule (contract section 4), composed from the rule
//! modules in the reference's order.

use crate::testcases::{Check, TestCase};

use super::common::{expect_handshakes, expect_version_1, retries};
use super::goodput::goodput_kbps;
use super::handshake_rules as hs;
use super::paths;
use super::stop::{ensure, RuleResult, Stop};
use super::traces::Traces;
use super::transport_rules as tr;
use super::Evidence;

/// 0-RTT: 1-RTT payload at most half of 40 names of 250 characters.
const ZERO_RTT_MAX_1RTT: f64 = 0.5 * 250.0 * 40.0;
const MAX_STREAMS_BIDI: u64 = 1000;

/// Whether a rule needs decrypted Handshake/1-RTT packets.
pub fn needs_keys(check: Check) -> bool {
    use Check::*;
    matches!(
        check,
        Multiplexing
            | Resumption
            | KeyUpdate
            | Ecn
            | AmplificationLimit
            | RebindPort
            | RebindAddr
            | ConnectionMigration
    )
}

fn files(e: &Evidence) -> RuleResult {
    e.files.clone().map_err(Stop::Failed)
}

/// "N handshakes; version and files" (files checked up front).
fn basics(t: &Traces, handshakes: usize) -> RuleResult {
    let server = t.server()?;
    expect_handshakes(&server, handshakes)?;
    expect_version_1(&server)
}

fn handshake_test(t: &Traces) -> RuleResult {
    let server = t.server()?;
    expect_version_1(&server)?;
    let n = retries(&t.client()?);
    ensure(n == 0, || format!("expected no Retry, the server sent {n}"))?;
    expect_handshakes(&server, 1)
}

fn rebind_port(t: &Traces) -> RuleResult {
    basics(t, 1)?;
    paths::expect_path_validation(&t.client()?, &t.server()?)
}

/// Decides the trace-based rule; `Ok` carries a measurement's value.
pub fn decide(test: &TestCase, e: &Evidence, t: &Traces) -> Result<Option<f64>, Stop> {
    use Check::*;
    if needs_keys(test.check) {
        t.require_keys()?;
    }
    // Every rule includes the files check; a wrong download is the clearest
    // reason to give, so it goes first (the outcome is the same in any order).
    files(e)?;
    match test.check {
        Handshake => handshake_test(t)?,
        Transfer | Http3 | Blackhole | TransferUnderLoss => basics(t, 1)?,
        LongRtt => {
            basics(t, 1)?;
            hs::expect_client_hellos(&t.client()?, 2)?;
        }
        ChaCha20 => {
            expect_handshakes(&t.server()?, 1)?;
            hs::expect_only_chacha20(&t.client()?)?;
            basics(t, 1)?;
        }
        Multiplexing => {
            basics(t, 1)?;
            hs::expect_stream_limit(&t.client()?, MAX_STREAMS_BIDI)?;
        }
        Retry => {
            basics(t, 1)?;
            hs::expect_retry_used(&t.client()?)?;
        }
        Resumption => {
            expect_handshakes(&t.server()?, 2)?;
            hs::expect_resumed_without_certificate(&t.client()?)?;
            basics(t, 2)?;
        }
        ZeroRtt => {
            basics(t, 2)?;
            hs::expect_zero_rtt(&t.client()?, ZERO_RTT_MAX_1RTT)?;
        }
        KeyUpdate => {
            basics(t, 1)?;
            tr::expect_key_update(&t.client()?, &t.server()?)?;
        }
        Ecn => {
            handshake_test(t)?;
            tr::expect_ecn(&t.client()?, &t.server()?)?;
        }
        AmplificationLimit => {
            basics(t, 1)?;
            let server = t.server()?;
            tr::expect_large_server_flight(&server)?;
            tr::expect_amplification_limit(&server)?;
        }
        MultiConnect => basics(t, e.file_count)?,
        Ipv6 => {
            basics(t, 1)?;
            tr::expect_no_ipv4_from_server(&t.server()?)?;
        }
        V2 => {
            tr::expect_v2(&t.client()?, &t.server()?)?;
        }
        RebindPort => rebind_port(t)?,
        RebindAddr => {
            paths::expect_several_client_addresses(&t.server()?)?;
            rebind_port(t)?;
        }
        ConnectionMigration => {
            rebind_port(t)?;
            paths::expect_new_dcid_on_migration(&t.client()?)?;
        }
        VersionNegotiation => version_negotiation(t)?,
        Goodput => {
            basics(t, 1)?;
            return goodput_kbps(&t.client()?, e.file_bytes).map(Some);
        }
        WtHandshake | WtTransfer(..) => {
            expect_handshakes(&t.server()?, 1)?;
        }
    }
    Ok(None)
}

/// A Version Negotiation packet answered the client's first Initial.
fn version_negotiation(t: &Traces) -> RuleResult {
    use quic_trace::PacketType;
    let client = t.client()?;
    // The first Initial has a version the server does not support, so the decoder
    // shows it as a long header of unknown version.
    let Some(dcid) = client
        .client_sent()
        .find(|p| {
            matches!(
                p.packet_type,
                PacketType::Initial | PacketType::UnknownVersion
            )
        })
        .map(|p| p.dcid)
    else {
        return Err(Stop::Failed("the client sent no Initial".into()));
    };
    let answered = client
        .trace
        .packets
        .iter()
        .any(|p| p.packet_type == PacketType::VersionNegotiation && p.scid == Some(dcid));
    ensure(answered, || {
        format!("no Version Negotiation packet with SCID {dcid} answered the client's Initial")
    })
}
