//! The contract's 64 MiB memlock ulimit, and what to do when the engine
//! refuses it: probe once, then create containers without it.

use std::sync::atomic::{AtomicBool, Ordering};

use bollard::Docker;

use crate::orchestrate::docker::container::{self, ContainerSpec};
use crate::orchestrate::docker::{self as dk};

/// Set once the engine refused the memlock ulimit of the contract (a
/// daemon whose own hard limit is lower); later containers go without it.
static MEMLOCK_DENIED: AtomicBool = AtomicBool::new(false);

pub(super) fn is_rlimit_error(e: &str) -> bool {
    e.contains("rlimit")
}

/// Creates a container, leaving out the memlock ulimit where the engine is
/// known to refuse it.
pub(super) async fn create_container(
    docker: &Docker,
    spec: &ContainerSpec,
) -> Result<String, String> {
    if MEMLOCK_DENIED.load(Ordering::Relaxed) && spec.memlock.is_some() {
        let relaxed = ContainerSpec {
            memlock: None,
            ..spec.clone()
        };
        return container::create(docker, &relaxed).await;
    }
    container::create(docker, spec).await
}

/// Finds out once whether the engine grants the contract's memlock ulimit:
/// a daemon whose own hard limit is lower refuses to start such containers.
/// Returns a line for the log when it does not.
pub async fn probe_memlock(docker: &Docker, image: &str) -> Result<Option<String>, String> {
    let spec = ContainerSpec {
        name: format!("interop-{}-memlock-probe", std::process::id()),
        image: image.to_string(),
        hostname: "probe".into(),
        env: Vec::new(),
        ro_binds: Vec::new(),
        volumes: Vec::new(),
        cap_add: Vec::new(),
        memlock: Some(container::MEMLOCK),
        sysctls: Vec::new(),
        extra_hosts: Vec::new(),
        networks: Vec::new(),
        labels: dk::labels(&[]),
    };
    let mut body = container::create_body(&spec);
    body.entrypoint = Some(vec!["true".into()]);
    body.tty = Some(false);
    let opts = bollard::query_parameters::CreateContainerOptions {
        name: Some(spec.name.clone()),
        ..Default::default()
    };
    let id = docker
        .create_container(Some(opts), body)
        .await
        .map_err(|e| format!("cannot create a probe container: {e}"))?
        .id;
    let started = container::start(docker, &id, "probe").await;
    dk::remove_container(docker, &id).await;
    match started {
        Err(e) if is_rlimit_error(&e) => {
            MEMLOCK_DENIED.store(true, Ordering::Relaxed);
            Ok(Some("the Docker engine refuses the contract's 64 MiB memlock ulimit (its own limit is lower); endpoints run without it".into()))
        }
        Err(e) => Err(e),
        Ok(()) => Ok(None),
    }
}
