//! Network pairs made ahead: creating a trial's two networks costs a few
//! hundred milliseconds of engine time, so the pool keeps a pair ready
//! (made in the background while trials run) and a trial takes one instead
//! of waiting. Each pair serves one trial and is removed with it; pairs
//! still in the pool at the end go with the process's other objects.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use bollard::Docker;

use super::net::{self, NetworkPair};
use super::{labels, DockerError};

/// Pairs kept ready (or being made).
const READY: usize = 2;

#[derive(Default)]
pub struct NetPool {
    ready: Mutex<Vec<NetworkPair>>,
    making: AtomicUsize,
    seq: AtomicU64,
}

impl NetPool {
    /// A pair for one trial: a ready one, else one made now. Starts making
    /// the next; must be called inside the runner's runtime.
    pub async fn take(self: &Arc<Self>, docker: &Docker) -> Result<NetworkPair, DockerError> {
        let ready = self.ready.lock().ok().and_then(|mut r| r.pop());
        let pair = match ready {
            Some(p) => p,
            None => self.make(docker).await?,
        };
        self.refill(docker);
        Ok(pair)
    }

    fn refill(self: &Arc<Self>, docker: &Docker) {
        let held = self.ready.lock().map_or(READY, |r| r.len());
        if held + self.making.load(Ordering::SeqCst) >= READY {
            return;
        }
        self.making.fetch_add(1, Ordering::SeqCst);
        let (pool, docker) = (self.clone(), docker.clone());
        tokio::spawn(async move {
            // A pair that cannot be made now is made by the trial that
            // needs it, which then reports why.
            if let Ok(p) = pool.make(&docker).await {
                let unkept = match pool.ready.lock() {
                    Ok(mut r) => {
                        r.push(p);
                        None
                    }
                    Err(_) => Some(p),
                };
                if let Some(p) = unkept {
                    net::remove_pair(&docker, &p).await;
                }
            }
            pool.making.fetch_sub(1, Ordering::SeqCst);
        });
    }

    async fn make(&self, docker: &Docker) -> Result<NetworkPair, DockerError> {
        let name = format!(
            "interop-{}-net{}",
            std::process::id(),
            self.seq.fetch_add(1, Ordering::SeqCst)
        );
        net::create_pair(docker, &name, &labels(&[("pool", &name)])).await
    }
}
