//! The command line's progress: one line per finished trial (always), and
//! on a terminal a status line under them with trials done, passed,
//! failed and the time left, redrawn in place. Piped or redirected output
//! gets no status line.

use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::front::reports::ReportOptions;
use crate::outcome::{Outcome, TrialRecord};
use crate::report::escape;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub done: usize,
    pub passed: usize,
    pub failed: usize,
    pub unsupported: usize,
    pub flaky: usize,
}

pub struct Progress {
    total: usize,
    start: Instant,
    counts: Mutex<Counts>,
    live: bool,
}

impl Progress {
    pub fn new(total: usize) -> Progress {
        Progress {
            total,
            start: Instant::now(),
            counts: Mutex::default(),
            live: std::io::stderr().is_terminal(),
        }
    }

    /// Records a finished trial and prints its line (and the status line).
    pub fn finished(&self, rec: &TrialRecord, opts: &ReportOptions) {
        let Ok(mut c) = self.counts.lock() else {
            return;
        };
        c.done += 1;
        match rec.outcome {
            Outcome::Succeeded => c.passed += 1,
            Outcome::Failed => c.failed += 1,
            Outcome::Unsupported => c.unsupported += 1,
        }
        c.flaky += usize::from(rec.is_flaky());
        let line = trial_line(c.done, rec, opts);
        let mut err = std::io::stderr().lock();
        if self.live {
            let status = status_line(&c, self.total, self.start.elapsed());
            let _ = write!(err, "\r\x1b[K{line}\n{status}");
        } else {
            let _ = writeln!(err, "{line}");
        }
        let _ = err.flush();
    }

    /// Removes the status line before the matrix is printed.
    pub fn clear(&self) {
        if self.live {
            let _ = write!(std::io::stderr(), "\r\x1b[K");
        }
    }
}

fn trial_line(n: usize, rec: &TrialRecord, opts: &ReportOptions) -> String {
    let mut what = rec.outcome.to_string();
    if rec.is_flaky() {
        what = format!(
            "flaky (passed on attempt {})",
            rec.earlier_failures.len() + 1
        );
    } else if rec.outcome == Outcome::Failed
        && opts.against(rec) == crate::report::Against::KnownFailure
    {
        what = "failed (expected)".into();
    }
    let why = if rec.reason.is_empty() {
        String::new()
    } else {
        format!(": {}", escape::terminal(&rec.reason))
    };
    format!("[{n}] {} ... {what}{why}", rec.trial_name())
}

/// `12/48 done: 10 passed, 1 failed, 1 unsupported; about 3 min 20 s left`
pub fn status_line(c: &Counts, total: usize, elapsed: Duration) -> String {
    let mut s = format!(
        "{}/{total} done: {} passed, {} failed, {} unsupported",
        c.done, c.passed, c.failed, c.unsupported
    );
    if c.flaky > 0 {
        s.push_str(&format!(" ({} flaky)", c.flaky));
    }
    if c.done > 0 && c.done < total {
        let left = elapsed.as_secs_f64() / c.done as f64 * (total - c.done) as f64;
        s.push_str(&format!("; about {} left", human(left)));
    }
    s
}

fn human(secs: f64) -> String {
    let secs = secs.round() as u64;
    match secs {
        0..=59 => format!("{secs} s"),
        60..=3599 => format!("{} min {} s", secs / 60, secs % 60),
        _ => format!("{} h {} min", secs / 3600, secs % 3600 / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_line_counts_and_estimates() {
        let c = Counts {
            done: 12,
            passed: 10,
            failed: 1,
            unsupported: 1,
            flaky: 0,
        };
        assert_eq!(
            status_line(&c, 48, Duration::from_secs(60)),
            "12/48 done: 10 passed, 1 failed, 1 unsupported; about 3 min 0 s left"
        );
        let all = Counts {
            done: 48,
            flaky: 2,
            ..c
        };
        assert_eq!(
            status_line(&all, 48, Duration::from_secs(9)),
            "48/48 done: 10 passed, 1 failed, 1 unsupported (2 flaky)"
        );
        assert_eq!(human(7300.0), "2 h 1 min");
    }

    #[test]
    fn trial_lines_say_flaky_and_expected() {
        let mut rec =
            crate::report::tests::record("quic-go", "aioquic", "handshake", Outcome::Succeeded);
        rec.earlier_failures = vec!["x".into()];
        assert_eq!(
            trial_line(3, &rec, &ReportOptions::default()),
            "[3] quic-go_aioquic_handshake ... flaky (passed on attempt 2)"
        );
    }
}
