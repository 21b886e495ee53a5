//! What a failed trial's reason quotes from the containers' consoles: an
//! endpoint's last meaningful line (usually its own error), and the
//! simulator's closing counters of what it dropped or changed.

/// Longest quoted console line, in characters.
const QUOTE_LIMIT: usize = 160;

/// The last line that says something: not blank, not punctuation only,
/// not a shell trace (`+ cmd`) or the readiness wait of the endpoint
/// image; colour escapes removed, control characters made visible and
/// long lines cut.
pub(super) fn last_meaningful_line(console: &str) -> Option<String> {
    console
        .lines()
        .rev()
        .map(|l| strip_ansi(l).trim().to_string())
        .find(|l| is_meaningful(l))
        .map(|l| quote(&l))
}

fn is_meaningful(line: &str) -> bool {
    line.chars().any(char::is_alphanumeric)
        && !line.starts_with("+ ")
        && !line.starts_with("wait-for-it.sh:")
}

/// Removes CSI sequences (`ESC [ … final byte`), the colours loggers add.
fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\x1b' && chars.peek() == Some(&'[') {
            chars.next();
            for f in chars.by_ref() {
                if ('\x40'..='\x7e').contains(&f) {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn quote(line: &str) -> String {
    let safe = crate::report::escape::terminal(line);
    if safe.chars().count() <= QUOTE_LIMIT {
        return safe.into_owned();
    }
    let cut: String = safe.chars().take(QUOTE_LIMIT - 1).collect();
    format!("{cut}…")
}

/// The simulator's counters for one direction, as its closing lines print
/// them (`to server: 12 packets in, 11 sent, 1 dropped by the scenario,
/// 0 by the full queue, 0 corrupted, …`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct DirCounters {
    pub(super) arrived: u64,
    pub(super) scenario_drops: u64,
    pub(super) queue_drops: u64,
    pub(super) corrupted: u64,
}

/// Both directions, and packets to the client dropped because a rebinding
/// left no binding for them (each logged as a line of its own).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct SimCounters {
    pub(super) to_server: DirCounters,
    pub(super) to_client: DirCounters,
    pub(super) rebind_drops: u64,
    /// Whether the closing counters were found at all.
    pub(super) seen: bool,
}

impl SimCounters {
    pub(super) fn parse(console: &str) -> SimCounters {
        let mut c = SimCounters::default();
        for line in console.lines().map(str::trim) {
            if line.contains("rebind: no binding for") {
                c.rebind_drops += 1;
            } else if let Some(rest) = line.strip_prefix("to server: ") {
                c.to_server = parse_direction(rest);
                c.seen = true;
            } else if let Some(rest) = line.strip_prefix("to client: ") {
                c.to_client = parse_direction(rest);
                c.seen = true;
            }
        }
        c
    }

    /// A clause for a failure's reason when the simulator dropped or
    /// changed packets, e.g. `the simulator dropped 14 packets (12 by
    /// the scenario, 2 at the full queue) and corrupted 3`; None when it
    /// forwarded everything untouched.
    pub(super) fn clause(&self) -> Option<String> {
        let (s, c) = (self.to_server, self.to_client);
        let scenario = s.scenario_drops + c.scenario_drops;
        let queue = s.queue_drops + c.queue_drops;
        let corrupted = s.corrupted + c.corrupted;
        // Rebind drops are counted among the scenario's drops.
        let dropped = scenario + queue;
        if dropped == 0 && corrupted == 0 {
            return None;
        }
        let mut parts: Vec<String> = Vec::new();
        if scenario > 0 {
            let of_which = if self.rebind_drops > 0 {
                format!(
                    ", {} of them to a client address no longer bound",
                    self.rebind_drops
                )
            } else {
                String::new()
            };
            parts.push(format!("{scenario} by the scenario{of_which}"));
        }
        if queue > 0 {
            parts.push(format!("{queue} at the full queue"));
        }
        let mut text = format!(
            "the simulator dropped {dropped} of {} packets",
            s.arrived + c.arrived
        );
        if !parts.is_empty() {
            text.push_str(&format!(" ({})", parts.join(", ")));
        }
        if corrupted > 0 {
            text.push_str(&format!(" and corrupted {corrupted}"));
        }
        Some(text)
    }
}

fn parse_direction(text: &str) -> DirCounters {
    let mut d = DirCounters::default();
    for part in text.split(", ") {
        let Some((n, what)) = part.split_once(' ') else {
            continue;
        };
        let Ok(n) = n.parse::<u64>() else { continue };
        match what {
            "packets in" => d.arrived = n,
            "dropped by the scenario" => d.scenario_drops = n,
            "by the full queue" => d.queue_drops = n,
            "corrupted" => d.corrupted = n,
            _ => {}
        }
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIM: &str = "\
Using scenario: simple-p2p --delay=15ms --bandwidth=10Mbps --queue=25
link up; listening on TCP port 57832
0.512s: drop-rate: dropping a packet to client (1252 bytes)
3.100s: rebind: no binding for 193.167.0.100:4433, dropping a packet to client
to server: 120 packets in, 118 sent, 2 dropped by the scenario, 0 by the full queue, 1 corrupted, 0 too large, 0 offload packets split, 0 send errors
to client: 300 packets in, 290 sent, 7 dropped by the scenario, 3 by the full queue, 0 corrupted, 0 too large, 0 offload packets split, 0 send errors
client-side trace (eth0): 410 frames
stopped by signal 15
";

    #[test]
    fn counters_make_one_clause() {
        let c = SimCounters::parse(SIM);
        assert!(c.seen);
        assert_eq!(c.to_client.queue_drops, 3);
        assert_eq!(
            c.clause().unwrap(),
            "the simulator dropped 12 of 420 packets (9 by the scenario, 1 of them to a client \
             address no longer bound, 3 at the full queue) and corrupted 1"
        );
        let clean = SIM.replace("2 dropped", "0 dropped").replace(
            "7 dropped by the scenario, 3 by",
            "0 dropped by the scenario, 0 by",
        );
        let clean = clean.replace("1 corrupted", "0 corrupted");
        assert_eq!(SimCounters::parse(&clean).clause(), None);
        assert!(!SimCounters::parse("").seen);
    }

    /// The parser reads what the simulator prints; if its format changes,
    /// this fails instead of the counters silently vanishing from reasons.
    #[test]
    fn the_simulator_still_prints_this_format() {
        let src = include_str!("../../../crates/netsim/src/forwarder/mod.rs");
        assert!(src.contains(
            "\"{}: {} packets in, {} sent, {} dropped by the scenario, {} by the full queue, {} corrupted,"
        ));
        let names = include_str!("../../../crates/netsim/src/impair.rs");
        assert!(names.contains("Direction::ToServer => \"to server\""));
        assert!(
            names.contains("\"rebind: no binding for {}:{dport}, dropping a packet to client\"")
        );
    }

    #[test]
    fn the_last_meaningful_line_is_quoted() {
        let console =
            "starting\n\x1b[31mtimeout: no recent network activity\x1b[0m\n+ exit 1\n---\n\n";
        assert_eq!(
            last_meaningful_line(console).unwrap(),
            "timeout: no recent network activity"
        );
        assert_eq!(last_meaningful_line("\n \n==\n"), None);
        let long = "x".repeat(500);
        assert_eq!(last_meaningful_line(&long).unwrap().chars().count(), 160);
        assert_eq!(
            last_meaningful_line("bad\x07bell").unwrap(),
            "bad\\u{7}bell"
        );
    }
}
