//! Work a trial leaves behind that its verdict does not wait for (removing
//! its containers and networks): spawned on the runner's runtime and
//! counted, so that a measurement starts only once it is done and the
//! process does not exit before it.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::sync::Notify;

#[derive(Default)]
struct Pending {
    count: AtomicUsize,
    idle: Notify,
}

/// Decrements on drop, so a task that panics is still counted out.
struct Guard(Arc<Pending>);

impl Drop for Guard {
    fn drop(&mut self) {
        if self.0.count.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}

/// Background tasks of one runner.
#[derive(Default, Clone)]
pub struct Background {
    pending: Arc<Pending>,
}

impl Background {
    /// Runs `work` on the current runtime; must be called inside it.
    pub fn spawn(&self, work: impl Future<Output = ()> + Send + 'static) {
        self.pending.count.fetch_add(1, Ordering::SeqCst);
        let guard = Guard(self.pending.clone());
        tokio::spawn(async move {
            let _guard = guard;
            work.await;
        });
    }

    /// How many tasks have not finished.
    pub fn pending(&self) -> usize {
        self.pending.count.load(Ordering::SeqCst)
    }

    /// Returns once no task is pending.
    pub async fn drained(&self) {
        loop {
            let idle = self.pending.idle.notified();
            tokio::pin!(idle);
            // Registered before the count is read: a task ending in
            // between cannot be missed.
            idle.as_mut().enable();
            if self.pending() == 0 {
                return;
            }
            idle.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn drained_waits_for_every_task_also_one_that_panics() {
        let bg = Background::default();
        let done = Arc::new(AtomicUsize::new(0));
        for i in 0..5u64 {
            let done = done.clone();
            bg.spawn(async move {
                tokio::time::sleep(Duration::from_millis(20 * i)).await;
                done.fetch_add(1, Ordering::SeqCst);
            });
        }
        bg.spawn(async { panic!("a teardown bug") });
        bg.drained().await;
        assert_eq!(done.load(Ordering::SeqCst), 5);
        assert_eq!(bg.pending(), 0);
    }

    #[tokio::test]
    async fn drained_returns_at_once_when_nothing_runs() {
        Background::default().drained().await;
    }
}
