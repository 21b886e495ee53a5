//! The verdict a run's ending and exit codes already decide (timeout,
//! 127, a stopped simulator, both endpoints failing); only a run that
//! ended normally goes to the judge.

use super::error::TrialError;
use super::evidence::gather;
use super::resources::Resources;
use super::RunOnce;
use crate::analyse;
use crate::judge::{self, Verdict};
use crate::layout::Role;
use crate::orchestrate::materials::Materials;

/// Which container ended the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Ending {
    Client,
    Server,
    Sim,
    Timeout,
}

/// How a run ended: what stopped it and every exit code.
pub(super) struct Ended {
    pub(super) ending: Ending,
    pub(super) server: Option<i64>,
    pub(super) client: Option<i64>,
    pub(super) sim: Option<i64>,
    pub(super) sim_last_line: String,
}

pub(super) async fn decide(
    ctx: &RunOnce<'_>,
    m: &Materials,
    res: &Resources,
    e: &Ended,
) -> Result<Verdict, TrialError> {
    let (server, client) = (e.server, e.client);
    if e.ending == Ending::Timeout {
        return Ok(Verdict::failed(format!(
            "the test did not finish within {} s",
            ctx.test.timeout.as_secs()
        )));
    }
    for (role, code) in [(Role::Server, server), (Role::Client, client)] {
        if code == Some(127) {
            return Ok(Verdict::unsupported(format!(
                "the {role} does not support this test case (exit code 127)"
            )));
        }
    }
    if e.ending == Ending::Sim {
        let why = if e.sim_last_line.is_empty() {
            String::new()
        } else {
            format!(": {}", e.sim_last_line)
        };
        return Ok(Verdict::failed(format!(
            "the simulator stopped (exit code {}) before the client finished{why}",
            e.sim.map_or("unknown".to_string(), |c| c.to_string())
        )));
    }
    if client != Some(0) && server != Some(0) {
        let show = |c: Option<i64>| c.map_or("unknown".to_string(), |c| c.to_string());
        return Ok(Verdict::failed(format!(
            "the client exited with code {} and the server with code {}",
            show(client),
            show(server)
        )));
    }
    let evidence = gather(ctx, m, res).await;
    let analysis = analyse::load(&ctx.run, &evidence.server_addrs);
    let verdict = judge::judge(ctx.test, &evidence, &analysis);
    for note in &verdict.notes {
        ctx.log.line(note);
    }
    Ok(verdict)
}
