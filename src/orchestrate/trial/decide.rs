//! The verdict a run's ending and exit codes already decide (timeout,
//! 127, a stopped simulator, both endpoints failing); only a run that
//! ended normally goes to the judge.

use std::net::IpAddr;
use std::time::Duration;

use super::collect::Consoles;
use super::error::TrialError;
use super::evidence::{gather, server_addrs};
use super::resources::Resources;
use super::RunOnce;
use crate::analyse;
use crate::judge::{self, Verdict};
use crate::layout::Role;
use crate::orchestrate::materials::Materials;
use crate::outcome::Outcome;

/// Which container ended the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Ending {
    Client,
    Server,
    Sim,
    Timeout,
}

/// How a run ended: what stopped it, every exit code, how long the
/// endpoints ran and what their consoles said last.
pub(super) struct Ended {
    pub(super) ending: Ending,
    pub(super) server: Option<i64>,
    pub(super) client: Option<i64>,
    pub(super) sim: Option<i64>,
    /// From the start of the endpoints to the end of the run.
    pub(super) ran_for: Duration,
    pub(super) consoles: Consoles,
    /// The client's /downloads, fetched while it was being finished.
    pub(super) client_downloads: Option<std::fs::File>,
}

pub(super) async fn decide(
    ctx: &RunOnce<'_>,
    m: &Materials,
    res: &Resources,
    e: &Ended,
) -> Result<Verdict, TrialError> {
    if let Some(mut verdict) = decided_by_ending(e, ctx.test.timeout) {
        if verdict.outcome == Outcome::Failed {
            let addrs = server_addrs(res);
            let analysis = analyse::load(&ctx.run, &addrs);
            verdict.reason = with_close(std::mem::take(&mut verdict.reason), &analysis, &addrs);
        }
        return Ok(verdict);
    }
    let fetched = e.client_downloads.as_ref().and_then(|f| f.try_clone().ok());
    let evidence = gather(ctx, m, res, fetched).await;
    let analysis = analyse::load(&ctx.run, &evidence.server_addrs);
    let mut verdict = judge::judge(ctx.test, &evidence, &analysis);
    for note in &verdict.notes {
        ctx.log.line(note);
    }
    if verdict.outcome == Outcome::Failed {
        let reason = with_client_exit(std::mem::take(&mut verdict.reason), e);
        verdict.reason = with_close(reason, &analysis, &evidence.server_addrs);
    }
    Ok(verdict)
}

/// Adds the first error a connection was closed with, when the traces
/// show one (the server side's, else the client side's).
fn with_close(reason: String, analysis: &analyse::Analysis, server_ips: &[IpAddr]) -> String {
    let close = [&analysis.server, &analysis.client]
        .into_iter()
        .filter_map(|t| t.as_ref().ok())
        .find_map(|t| judge::first_error_close(t, server_ips));
    match close {
        Some(c) => format!("{reason}; {c}"),
        None => reason,
    }
}

/// A check failed while the client had exited non-zero: its code and last
/// line are likely the cause.
fn with_client_exit(reason: String, e: &Ended) -> String {
    match e.client {
        Some(0) | None => reason,
        Some(code) => {
            let quoted = e
                .consoles
                .client_last
                .as_ref()
                .map(|l| format!(": \"{l}\""))
                .unwrap_or_default();
            format!("{reason}; the client had exited with code {code}{quoted}")
        }
    }
}

/// The verdict the ending and the exit codes alone give, if they do.
fn decided_by_ending(e: &Ended, timeout: Duration) -> Option<Verdict> {
    let (server, client) = (e.server, e.client);
    if e.ending == Ending::Timeout {
        let mut why = format!(
            "the test did not finish within {} s and the runner stopped it",
            timeout.as_secs()
        );
        for (role, last) in [
            (Role::Client, &e.consoles.client_last),
            (Role::Server, &e.consoles.server_last),
        ] {
            if let Some(line) = last {
                why.push_str(&format!("; the {role}'s last line: \"{line}\""));
            }
        }
        return Some(Verdict::failed(with_sim(why, e)));
    }
    for (role, code) in [(Role::Server, server), (Role::Client, client)] {
        if code == Some(127) {
            return Some(Verdict::unsupported(format!(
                "the {role} does not support this test case (exit code 127)"
            )));
        }
    }
    if e.ending == Ending::Sim {
        let why = if e.consoles.sim_last_line.is_empty() {
            String::new()
        } else {
            format!(
                ": {}",
                crate::report::escape::terminal(&e.consoles.sim_last_line)
            )
        };
        return Some(Verdict::failed(format!(
            "the simulator stopped (exit code {}) after {:.1} s, before the client finished{why}",
            show(e.sim),
            e.ran_for.as_secs_f64()
        )));
    }
    if client != Some(0) && server != Some(0) {
        return Some(Verdict::failed(with_sim(both_failed(e), e)));
    }
    None
}

fn show(code: Option<i64>) -> String {
    code.map_or("unknown".to_string(), |c| c.to_string())
}

/// Neither endpoint exited 0. The one that ended the run is quoted with
/// its code and run time; the other was stopped by the runner, so its
/// code (143, or 2 from a Go program's signal handler) says nothing.
fn both_failed(e: &Ended) -> String {
    let (first, code, last, other) = match e.ending {
        Ending::Server => (
            Role::Server,
            e.server,
            &e.consoles.server_last,
            Role::Client,
        ),
        _ => (
            Role::Client,
            e.client,
            &e.consoles.client_last,
            Role::Server,
        ),
    };
    let quoted = last
        .as_ref()
        .map(|l| format!(": \"{l}\""))
        .unwrap_or_default();
    let then = if e.ending == Ending::Server {
        "before the client finished; the runner then stopped the client"
    } else {
        "; the server was still running and was stopped by the runner"
    };
    let then = then.replace("the client", &format!("the {other}"));
    let sep = if then.starts_with(';') { "" } else { " " };
    format!(
        "the {first} exited with code {} after {:.1} s{quoted}{sep}{then}",
        show(code),
        e.ran_for.as_secs_f64()
    )
}

/// Adds what the simulator dropped or corrupted, when it did.
fn with_sim(reason: String, e: &Ended) -> String {
    match e.consoles.sim.clause() {
        Some(c) => format!("{reason}; {c}"),
        None => reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::orchestrate::trial::console::SimCounters;

    fn ended(ending: Ending, server: i64, client: i64) -> Ended {
        Ended {
            ending,
            server: Some(server),
            client: Some(client),
            sim: Some(0),
            ran_for: Duration::from_millis(12_340),
            consoles: Consoles {
                sim_last_line: "stopped by signal 15".into(),
                server_last: Some("signal: terminated".into()),
                client_last: Some("timeout: no recent network activity".into()),
                sim: SimCounters::default(),
            },
            client_downloads: None,
        }
    }

    fn reason(e: &Ended) -> String {
        let v = decided_by_ending(e, Duration::from_secs(60)).unwrap();
        assert_eq!(v.outcome, Outcome::Failed);
        v.reason
    }

    #[test]
    fn a_server_stopped_after_the_client_is_not_blamed() {
        assert_eq!(
            reason(&ended(Ending::Client, 2, 1)),
            "the client exited with code 1 after 12.3 s: \"timeout: no recent network activity\"; \
             the server was still running and was stopped by the runner"
        );
    }

    #[test]
    fn a_server_that_ended_the_run_is_quoted() {
        let r = reason(&ended(Ending::Server, 1, 143));
        assert_eq!(
            r,
            "the server exited with code 1 after 12.3 s: \"signal: terminated\" before the \
             client finished; the runner then stopped the client"
        );
    }

    #[test]
    fn timeouts_say_the_runner_stopped_the_run_and_what_the_simulator_dropped() {
        let mut e = ended(Ending::Timeout, 143, 143);
        e.consoles.sim = SimCounters::parse(
            "to server: 10 packets in, 9 sent, 1 dropped by the scenario, 0 by the full queue, 0 corrupted\n\
             to client: 10 packets in, 10 sent, 0 dropped by the scenario, 0 by the full queue, 0 corrupted\n",
        );
        assert_eq!(
            reason(&e),
            "the test did not finish within 60 s and the runner stopped it; the client's last line: \
             \"timeout: no recent network activity\"; the server's last line: \"signal: terminated\"; \
             the simulator dropped 1 of 20 packets (1 by the scenario)"
        );
    }

    #[test]
    fn a_failed_check_after_a_failed_client_quotes_the_client() {
        let e = ended(Ending::Client, 0, 1);
        assert_eq!(
            with_client_exit("file a was not downloaded".into(), &e),
            "file a was not downloaded; the client had exited with code 1: \
             \"timeout: no recent network activity\""
        );
        let e = ended(Ending::Client, 0, 0);
        assert_eq!(with_client_exit("x".into(), &e), "x");
    }

    #[test]
    fn exits_that_leave_it_to_the_judge_or_say_unsupported() {
        assert!(
            decided_by_ending(&ended(Ending::Client, 143, 0), Duration::from_secs(9)).is_none()
        );
        let v = decided_by_ending(&ended(Ending::Client, 127, 1), Duration::from_secs(9)).unwrap();
        assert_eq!(v.outcome, Outcome::Unsupported);
        let mut e = ended(Ending::Sim, 143, 143);
        e.sim = Some(1);
        e.consoles.sim_last_line = "interop-sim: bad \x1b flag".into();
        assert_eq!(
            reason(&e),
            "the simulator stopped (exit code 1) after 12.3 s, before the client finished: \
             interop-sim: bad \\u{1b} flag"
        );
    }
}
