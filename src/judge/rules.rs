//! Each test's pass rule (contract section 4): one function per test case,
//! named by the catalog's table and composed from the rule modules in the
//! reference's order. The files check and the key-log check come first, in
//! [`super::judge`], for every rule alike.

use super::common::{expect_handshakes, expect_version_1, retries};
use super::goodput::goodput_kbps;
use super::handshake_rules as hs;
use super::paths;
use super::stop::{ensure, RuleResult, Stop};
use super::traces::Traces;
use super::transport_rules as tr;
use super::Evidence;

/// What a rule reads: the orchestrator's evidence and the run's traces.
pub struct Facts<'a> {
    pub evidence: &'a Evidence,
    pub traces: &'a Traces<'a>,
}

/// What a rule decides: `Ok` carries a measurement's value.
pub type Judged = Result<Option<f64>, Stop>;

/// A test case's pass rule, as the catalog names it.
pub type Rule = fn(&Facts<'_>) -> Judged;

/// 0-RTT: 1-RTT payload at most half of 40 names of 250 characters.
const ZERO_RTT_MAX_1RTT: f64 = 0.5 * 250.0 * 40.0;
const MAX_STREAMS_BIDI: u64 = 1000;

/// A rule that holds carries no value.
fn held(r: RuleResult) -> Judged {
    r.map(|()| None)
}

/// "N handshakes; version and files" (files checked up front).
fn basics(t: &Traces, handshakes: usize) -> RuleResult {
    let server = t.server()?;
    expect_handshakes(&server, handshakes)?;
    expect_version_1(&server)
}

fn no_retry_one_handshake(t: &Traces) -> RuleResult {
    let server = t.server()?;
    expect_version_1(&server)?;
    let n = retries(&t.client()?);
    ensure(n == 0, || format!("expected no Retry, the server sent {n}"))?;
    expect_handshakes(&server, 1)
}

fn path_validated(t: &Traces) -> RuleResult {
    basics(t, 1)?;
    paths::expect_path_validation(&t.client()?, &t.server()?)
}

pub fn handshake(f: &Facts) -> Judged {
    held(no_retry_one_handshake(f.traces))
}

/// transfer, http3, blackhole, transferloss, transfercorruption.
pub fn transfer(f: &Facts) -> Judged {
    held(basics(f.traces, 1))
}

pub fn longrtt(f: &Facts) -> Judged {
    basics(f.traces, 1)?;
    held(hs::expect_client_hellos(&f.traces.client()?, 2))
}

pub fn chacha20(f: &Facts) -> Judged {
    let t = f.traces;
    expect_handshakes(&t.server()?, 1)?;
    hs::expect_only_chacha20(&t.client()?)?;
    held(basics(t, 1))
}

pub fn multiplexing(f: &Facts) -> Judged {
    basics(f.traces, 1)?;
    held(hs::expect_stream_limit(
        &f.traces.client()?,
        MAX_STREAMS_BIDI,
    ))
}

pub fn retry(f: &Facts) -> Judged {
    basics(f.traces, 1)?;
    held(hs::expect_retry_used(&f.traces.client()?))
}

pub fn resumption(f: &Facts) -> Judged {
    let t = f.traces;
    expect_handshakes(&t.server()?, 2)?;
    hs::expect_resumed_without_certificate(&t.client()?)?;
    held(basics(t, 2))
}

pub fn zerortt(f: &Facts) -> Judged {
    basics(f.traces, 2)?;
    held(hs::expect_zero_rtt(&f.traces.client()?, ZERO_RTT_MAX_1RTT))
}

pub fn keyupdate(f: &Facts) -> Judged {
    let t = f.traces;
    basics(t, 1)?;
    held(tr::expect_key_update(&t.client()?, &t.server()?))
}

pub fn ecn(f: &Facts) -> Judged {
    let t = f.traces;
    no_retry_one_handshake(t)?;
    held(tr::expect_ecn(&t.client()?, &t.server()?))
}

pub fn amplificationlimit(f: &Facts) -> Judged {
    basics(f.traces, 1)?;
    let server = f.traces.server()?;
    tr::expect_large_server_flight(&server)?;
    held(tr::expect_amplification_limit(&server))
}

/// handshakeloss and handshakecorruption: one handshake per file.
pub fn multiconnect(f: &Facts) -> Judged {
    held(basics(f.traces, f.evidence.file_count))
}

pub fn ipv6(f: &Facts) -> Judged {
    basics(f.traces, 1)?;
    held(tr::expect_no_ipv4_from_server(&f.traces.server()?))
}

pub fn v2(f: &Facts) -> Judged {
    held(tr::expect_v2(&f.traces.client()?, &f.traces.server()?))
}

pub fn rebind_port(f: &Facts) -> Judged {
    held(path_validated(f.traces))
}

pub fn rebind_addr(f: &Facts) -> Judged {
    paths::expect_several_client_addresses(&f.traces.server()?)?;
    held(path_validated(f.traces))
}

pub fn connectionmigration(f: &Facts) -> Judged {
    path_validated(f.traces)?;
    held(paths::expect_new_dcid_on_migration(&f.traces.client()?))
}

/// A Version Negotiation packet answered the client's first Initial.
pub fn versionnegotiation(f: &Facts) -> Judged {
    use quic_trace::PacketType;
    let client = f.traces.client()?;
    // The first Initial has a version the server does not support, so the
    // decoder shows it as a long header of unknown version.
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
    held(ensure(answered, || {
        format!("no Version Negotiation packet with SCID {dcid} answered the client's Initial")
    }))
}

/// goodput and crosstraffic: the client-side 1-RTT timing.
pub fn goodput(f: &Facts) -> Judged {
    basics(f.traces, 1)?;
    goodput_kbps(&f.traces.client()?, f.evidence.file_bytes).map(Some)
}

/// Every WebTransport case: one handshake (the files and the negotiated
/// protocol are checked up front).
pub fn webtransport(f: &Facts) -> Judged {
    held(expect_handshakes(&f.traces.server()?, 1))
}
