//! Trials set up ahead of their turn. While a trial runs, the next ones in
//! the run's order get their files, networks and containers, with the
//! simulator (its link held) and the server already started, so a trial's
//! turn begins with starting its client. This module decides which trials
//! those are; the runner does the setting up.

use std::collections::{HashMap, HashSet};

use crate::plan::Trial;

/// The run's order of trials and how far ahead of it setups may go.
pub struct Lookahead {
    order: Vec<Trial>,
    position: HashMap<String, usize>,
    /// How many trials past the furthest begun may be set up.
    depth: usize,
    /// Positions begun or set up: never set up again.
    seen: HashSet<usize>,
    furthest_begun: Option<usize>,
}

impl Lookahead {
    /// `order` is what the process will run, in the order it runs it;
    /// `depth` is usually the number of threads (each will need a next).
    pub fn new(order: Vec<Trial>, depth: usize) -> Lookahead {
        let position = order
            .iter()
            .enumerate()
            .map(|(i, t)| (t.name(), i))
            .collect();
        Lookahead {
            order,
            position,
            depth,
            seen: HashSet::new(),
            furthest_begun: None,
        }
    }

    /// No trial is set up ahead.
    pub fn none() -> Lookahead {
        Lookahead::new(Vec::new(), 0)
    }

    /// Notes that the trial `name` begins; returns its position in the
    /// order (none for a trial outside it).
    pub fn begin(&mut self, name: &str) -> Option<usize> {
        let at = *self.position.get(name)?;
        self.seen.insert(at);
        self.furthest_begun = Some(self.furthest_begun.map_or(at, |f| f.max(at)));
        Some(at)
    }

    /// The trials to set up now: up to `depth` positions past the furthest
    /// begun that are neither begun nor set up, stopping at the first that
    /// cannot be set up ahead (a measurement has the machine to itself, so
    /// nothing is set up past one).
    pub fn to_set_up(&mut self) -> Vec<(usize, Trial)> {
        let Some(from) = self.furthest_begun.map(|f| f + 1) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for at in from..(from + self.depth).min(self.order.len()) {
            let trial = &self.order[at];
            if !stageable(trial) {
                break;
            }
            if self.seen.insert(at) {
                out.push((at, trial.clone()));
            }
        }
        out
    }
}

/// A test with the usual three containers, run once; not a measurement.
fn stageable(t: &Trial) -> bool {
    !t.test.is_measurement() && t.test.extra_containers.is_empty() && t.test.repetitions() == 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::registry::{Implementation, Role};
    use crate::catalog::testcases::{self, Protocol};
    use std::sync::Arc;

    fn trials(tests: &[&str]) -> Vec<Trial> {
        let imp = Arc::new(Implementation {
            name: "a".into(),
            image: "a:latest".into(),
            url: String::new(),
            role: Role::Both,
            build: None,
            build_base: None,
        });
        tests
            .iter()
            .map(|name| Trial {
                protocol: Protocol::Quic,
                server: imp.clone(),
                client: imp.clone(),
                test: testcases::find(Protocol::Quic, name).unwrap(),
            })
            .collect()
    }

    fn positions(v: &[(usize, Trial)]) -> Vec<usize> {
        v.iter().map(|(i, _)| *i).collect()
    }

    #[test]
    fn sets_up_the_next_ones_once_each() {
        let order = trials(&["transfer", "handshake", "retry", "http3", "ipv6"]);
        let mut ahead = Lookahead::new(order.clone(), 2);
        assert!(
            ahead.to_set_up().is_empty(),
            "nothing before a trial begins"
        );
        assert_eq!(ahead.begin(&order[0].name()), Some(0));
        assert_eq!(positions(&ahead.to_set_up()), vec![1, 2]);
        assert!(ahead.to_set_up().is_empty(), "not twice");
        ahead.begin(&order[1].name());
        assert_eq!(positions(&ahead.to_set_up()), vec![3]);
        ahead.begin(&order[3].name());
        assert_eq!(positions(&ahead.to_set_up()), vec![4]);
        assert_eq!(ahead.begin("unknown"), None);
    }

    #[test]
    fn stops_at_a_measurement() {
        let order = trials(&["handshake", "goodput", "transfer"]);
        let mut ahead = Lookahead::new(order.clone(), 4);
        ahead.begin(&order[0].name());
        assert!(ahead.to_set_up().is_empty());
        ahead.begin(&order[1].name());
        assert_eq!(positions(&ahead.to_set_up()), vec![2]);
    }

    #[test]
    fn depth_zero_sets_nothing_up() {
        let order = trials(&["handshake", "transfer"]);
        let mut ahead = Lookahead::new(order.clone(), 0);
        ahead.begin(&order[0].name());
        assert!(ahead.to_set_up().is_empty());
    }
}
