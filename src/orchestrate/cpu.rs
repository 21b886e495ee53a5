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
    fn malformed_stat_gives_nothing() {
        assert_eq!(CpuSample::parse(""), None);
        assert_eq!(CpuSample::parse("cpu  1 2 x 4 5\n"), None);
        assert_eq!(CpuSample::parse("cpu  1 2 3\n"), None);
    }
}
