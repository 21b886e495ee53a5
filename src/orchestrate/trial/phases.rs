//! Where a run's time goes: one duration per phase, in the order the phases
//! happen, printed in `output.txt` and read by `scripts/bench-trials`.

use std::fmt;
use std::time::{Duration, Instant};

/// The phases of one run, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Test files and certificates, and the pair of networks (side by side).
    Prepare,
    /// Every container created.
    Create,
    /// Every container started.
    Start,
    /// From the start to the end of the run (the client's exit, usually).
    Running,
    /// The other containers stopped; exit codes, consoles and /logs
    /// copied out (each container on its own).
    Finish,
    /// Downloads checked, traces read, the verdict.
    Judge,
}

impl Phase {
    pub const ALL: [Phase; 6] = [
        Phase::Prepare,
        Phase::Create,
        Phase::Start,
        Phase::Running,
        Phase::Finish,
        Phase::Judge,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Phase::Prepare => "prepare",
            Phase::Create => "create",
            Phase::Start => "start",
            Phase::Running => "running",
            Phase::Finish => "finish",
            Phase::Judge => "judge",
        }
    }
}

/// Phase durations of one run; a phase never reached stays zero.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Timings {
    spent: [Duration; 6],
    /// The machine's busy CPU share while the endpoints ran.
    pub cpu_busy_running: Option<f64>,
    /// The simulator's share of one core while the endpoints ran.
    pub sim_cpu_running: Option<f64>,
    /// The client's own run, start to exit, by the engine's clock: the
    /// part of a trial's wall time that is not the runner's.
    pub client_ran: Option<Duration>,
}

impl Timings {
    /// Whether the machine, not the link, may have limited the run: the
    /// CPUs were saturated, or the simulator's one core was.
    pub fn cpu_saturated(&self) -> bool {
        use crate::orchestrate::cpu::{SATURATED, SIM_SATURATED};
        self.cpu_busy_running.is_some_and(|b| b >= SATURATED)
            || self.sim_cpu_running.is_some_and(|s| s >= SIM_SATURATED)
    }

    pub fn get(&self, phase: Phase) -> Duration {
        self.spent[phase as usize]
    }

    pub fn set(&mut self, phase: Phase, d: Duration) {
        self.spent[phase as usize] = d;
    }

    /// Everything but the endpoints' own run: the runner's overhead.
    pub fn overhead(&self) -> Duration {
        self.spent.iter().sum::<Duration>() - self.get(Phase::Running)
    }
}

/// `phases: prepare 0.12 s, create 0.05 s, …; overhead 0.61 s`.
impl fmt::Display for Timings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "phases:")?;
        for (i, p) in Phase::ALL.iter().enumerate() {
            let sep = if i == 0 { " " } else { ", " };
            write!(f, "{sep}{} {:.2} s", p.name(), self.get(*p).as_secs_f64())?;
        }
        write!(f, "; overhead {:.2} s", self.overhead().as_secs_f64())?;
        if let Some(ran) = self.client_ran {
            write!(f, "; client ran {:.2} s", ran.as_secs_f64())?;
        }
        if let Some(busy) = self.cpu_busy_running {
            write!(f, "; CPUs {:.0} % busy while running", busy * 100.0)?;
        }
        match self.sim_cpu_running {
            Some(share) => write!(f, ", the simulator {:.0} % of a core", share * 100.0),
            None => Ok(()),
        }
    }
}

/// Times consecutive phases: each `done` closes the phase that ran since
/// the previous one.
pub struct Clock {
    last: Instant,
}

impl Clock {
    pub fn start() -> Clock {
        Clock {
            last: Instant::now(),
        }
    }

    pub fn done(&mut self, timings: &mut Timings, phase: Phase) {
        let now = Instant::now();
        timings.set(phase, now - self.last);
        self.last = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overhead_is_every_phase_but_running() {
        let mut t = Timings::default();
        for (i, p) in Phase::ALL.iter().enumerate() {
            t.set(*p, Duration::from_millis(100 * (i as u64 + 1)));
        }
        // 0.1 + 0.2 + 0.3 + 0.5 + 0.6 (running is 0.4)
        assert_eq!(t.overhead(), Duration::from_millis(1700));
        assert_eq!(
            t.to_string(),
            "phases: prepare 0.10 s, create 0.20 s, start 0.30 s, running 0.40 s, \
             finish 0.50 s, judge 0.60 s; overhead 1.70 s"
        );
    }

    #[test]
    fn phases_not_reached_count_nothing() {
        let mut t = Timings::default();
        t.set(Phase::Prepare, Duration::from_millis(30));
        assert_eq!(t.overhead(), Duration::from_millis(30));
        assert_eq!(t.get(Phase::Judge), Duration::ZERO);
    }
}
