//! Who may use the machine: any number of tests at once, or one
//! measurement alone. A goodput figure taken while other trials compete for
//! the cores and the Docker engine measures the machine, not the
//! implementations, so a measurement waits until the running tests end, and
//! tests wait while one runs or waits (a waiting measurement goes first, or
//! a steady stream of tests would hold it off for the whole run).

use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

use crate::catalog::testcases::TestCase;

/// How a trial uses the machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Use {
    Shared,
    Alone,
}

impl Use {
    pub fn of(test: &TestCase) -> Use {
        if test.is_measurement() {
            Use::Alone
        } else {
            Use::Shared
        }
    }
}

#[derive(Debug, Default)]
struct State {
    sharing: usize,
    alone: bool,
    waiting_alone: usize,
}

#[derive(Debug, Default)]
pub struct MachineGate {
    state: Mutex<State>,
    changed: Condvar,
}

/// Held for as long as the trial runs; leaving lets the others in.
pub struct Turn<'a> {
    gate: &'a MachineGate,
    kind: Use,
}

impl MachineGate {
    fn lock(&self) -> MutexGuard<'_, State> {
        // The state stays consistent whatever panicked while holding it:
        // every change is a single field update.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Blocks until the trial may run.
    pub fn enter(&self, kind: Use) -> Turn<'_> {
        let mut s = self.lock();
        match kind {
            Use::Shared => {
                while s.alone || s.waiting_alone > 0 {
                    s = self.changed.wait(s).unwrap_or_else(PoisonError::into_inner);
                }
                s.sharing += 1;
            }
            Use::Alone => {
                s.waiting_alone += 1;
                while s.alone || s.sharing > 0 {
                    s = self.changed.wait(s).unwrap_or_else(PoisonError::into_inner);
                }
                s.waiting_alone -= 1;
                s.alone = true;
            }
        }
        Turn { gate: self, kind }
    }
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        let mut s = self.gate.lock();
        match self.kind {
            Use::Shared => s.sharing -= 1,
            Use::Alone => s.alone = false,
        }
        drop(s);
        self.gate.changed.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    #[test]
    fn a_measurement_never_overlaps_a_test_and_tests_overlap_each_other() {
        let gate = Arc::new(MachineGate::default());
        let running_tests = Arc::new(AtomicUsize::new(0));
        let most_tests = Arc::new(AtomicUsize::new(0));
        let measuring = Arc::new(AtomicBool::new(false));
        let violations = Arc::new(AtomicUsize::new(0));
        let measured = Arc::new(AtomicUsize::new(0));
        let workers: Vec<_> = (0..6)
            .map(|w| {
                let (gate, running, most, measuring, violations, measured) = (
                    gate.clone(),
                    running_tests.clone(),
                    most_tests.clone(),
                    measuring.clone(),
                    violations.clone(),
                    measured.clone(),
                );
                std::thread::spawn(move || {
                    for i in 0..20 {
                        let kind = if (w + i) % 7 == 0 {
                            Use::Alone
                        } else {
                            Use::Shared
                        };
                        let _turn = gate.enter(kind);
                        match kind {
                            Use::Shared => {
                                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                                most.fetch_max(now, Ordering::SeqCst);
                                if measuring.load(Ordering::SeqCst) {
                                    violations.fetch_add(1, Ordering::SeqCst);
                                }
                                std::thread::sleep(Duration::from_millis(2));
                                running.fetch_sub(1, Ordering::SeqCst);
                            }
                            Use::Alone => {
                                measuring.store(true, Ordering::SeqCst);
                                if running.load(Ordering::SeqCst) > 0 {
                                    violations.fetch_add(1, Ordering::SeqCst);
                                }
                                std::thread::sleep(Duration::from_millis(2));
                                measuring.store(false, Ordering::SeqCst);
                                measured.fetch_add(1, Ordering::SeqCst);
                            }
                        }
                    }
                })
            })
            .collect();
        for w in workers {
            w.join().unwrap();
        }
        assert_eq!(violations.load(Ordering::SeqCst), 0);
        let expected = (0..6)
            .flat_map(|w| (0..20).map(move |i| (w + i) % 7))
            .filter(|r| *r == 0)
            .count();
        assert_eq!(measured.load(Ordering::SeqCst), expected);
        assert!(
            most_tests.load(Ordering::SeqCst) > 1,
            "tests never ran together"
        );
    }

    #[test]
    fn measurements_are_the_trials_that_run_alone() {
        use crate::catalog::testcases::{find, Protocol};
        assert_eq!(
            Use::of(find(Protocol::Quic, "goodput").unwrap()),
            Use::Alone
        );
        assert_eq!(
            Use::of(find(Protocol::Quic, "crosstraffic").unwrap()),
            Use::Alone
        );
        assert_eq!(
            Use::of(find(Protocol::Quic, "transfer").unwrap()),
            Use::Shared
        );
    }
}
