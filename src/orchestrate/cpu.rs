//! How busy the machine's CPUs were over an interval, from `/proc/stat`: a
//! measurement that ran while they were saturated measured the machine,
//! not the link, and its result says so.

/// Cumulative CPU time of the whole machine, in clock ticks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CpuSample {
    busy: u64,
    total: u64,
}

/// Busier than this over a measurement's run, the CPUs were the limit.
pub const SATURATED: f64 = 0.95;
/// The simulator forwards on one thread: busier than this share of one
/// core, it was the limit.
pub const SIM_SATURATED: f64 = 0.90;

/// CPU time a process (all its threads) has used, in clock ticks.
pub fn process_ticks(pid: i64) -> Option<u64> {
    parse_process_ticks(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// The fields of a `/proc/<pid>/stat` line from the third (the state) on:
/// the command name before them may hold spaces and parentheses.
pub fn stat_fields_after_name(stat: &str) -> Option<std::str::SplitWhitespace<'_>> {
    let rest = stat.get(stat.rfind(')')? + 1..)?;
    Some(rest.split_whitespace())
}

/// utime + stime of a `/proc/<pid>/stat` line (fields 14 and 15).
fn parse_process_ticks(stat: &str) -> Option<u64> {
    let mut fields = stat_fields_after_name(stat)?.skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

/// The share of one core that `ticks` of CPU time are over `seconds`.
pub fn core_share(ticks: u64, seconds: f64) -> Option<f64> {
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    (hz > 0 && seconds > 0.0).then(|| ticks as f64 / hz as f64 / seconds)
}

impl CpuSample {
    /// Now, or `None` where `/proc/stat` cannot be read.
    pub fn now() -> Option<CpuSample> {
        CpuSample::parse(&std::fs::read_to_string("/proc/stat").ok()?)
    }

    /// The aggregate `cpu` line of a `/proc/stat` text: user nice system
    /// idle iowait irq softirq steal …; idle and iowait are not busy.
    pub fn parse(stat: &str) -> Option<CpuSample> {
        let line = stat.lines().find(|l| l.starts_with("cpu "))?;
        let ticks: Vec<u64> = line
            .split_whitespace()
            .skip(1)
            .take(8)
            .map(str::parse)
            .collect::<Result<_, _>>()
            .ok()?;
        if ticks.len() < 5 {
            return None;
        }
        let total: u64 = ticks.iter().sum();
        let idle = ticks[3] + ticks[4];
        Some(CpuSample {
            busy: total - idle,
            total,
        })
    }

    /// The busy share of the CPUs' time between `self` and `later`.
    pub fn busy_until(self, later: CpuSample) -> Option<f64> {
        let total = later.total.checked_sub(self.total)?;
        let busy = later.busy.checked_sub(self.busy)?;
        (total > 0).then(|| busy as f64 / total as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busy_share_is_everything_but_idle_and_iowait() {
        let a = CpuSample::parse("cpu  100 0 100 700 100 0 0 0 0 0\ncpu0 1 2 3 4 5\n").unwrap();
        let b = CpuSample::parse("cpu  190 0 190 710 110 0 0 0 0 0\n").unwrap();
        // 180 busy ticks of 200.
        assert_eq!(a.busy_until(b), Some(0.9));
        assert_eq!(b.busy_until(a), None);
        assert_eq!(a.busy_until(a), None);
    }

    #[test]
    fn process_ticks_skip_a_command_name_with_spaces() {
        let stat = "42 (interop sim) S 1 42 42 0 -1 4194560 900 0 0 0 250 50 0 0 20 0 3 0";
        assert_eq!(parse_process_ticks(stat), Some(300));
        assert_eq!(parse_process_ticks("42 (x) S 1"), None);
        assert_eq!(parse_process_ticks("42 (x)"), None);
        assert_eq!(parse_process_ticks("garbage"), None);
    }

    #[test]
    fn malformed_stat_gives_nothing() {
        assert_eq!(CpuSample::parse(""), None);
        assert_eq!(CpuSample::parse("cpu  1 2 x 4 5\n"), None);
        assert_eq!(CpuSample::parse("cpu  1 2 3\n"), None);
    }
}
