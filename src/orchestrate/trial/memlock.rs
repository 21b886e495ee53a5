//! The contract's 64 MiB memlock ulimit, and what to do when the engine
//! refuses it: probe once, then create containers without it.

use once_cell::sync::OnceCell;

use bollard::Docker;

use super::error::TrialError;
use crate::orchestrate::docker::container::{self, ContainerSpec};
use crate::orchestrate::docker::{self as dk, DockerError};

/// Whether the engine refuses the contract's memlock ulimit (a daemon whose
/// own hard limit is lower), found out once per process by the probe; until
/// then containers ask for it.
static MEMLOCK_REFUSED: OnceCell<bool> = OnceCell::new();

/// Creates a container, leaving out the memlock ulimit where the engine is
/// known to refuse it.
pub(super) async fn create_container(
    docker: &Docker,
    spec: &ContainerSpec,
) -> Result<String, DockerError> {
    if MEMLOCK_REFUSED.get() == Some(&true) && spec.memlock.is_some() {
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
///
/// The engine says why only in its message text, so the refusal is told
/// apart by trying again without the ulimit: if that starts, the ulimit was
/// the reason.
pub async fn probe_memlock(docker: &Docker, image: &str) -> Result<Option<String>, TrialError> {
    let Err(refused) = probe(docker, image, Some(container::MEMLOCK)).await? else {
        let _ = MEMLOCK_REFUSED.set(false);
        return Ok(None);
    };
    match probe(docker, image, None).await? {
        Ok(()) => {
            let _ = MEMLOCK_REFUSED.set(true);
            Ok(Some("the Docker engine refuses the contract's 64 MiB memlock ulimit (its own limit is lower); endpoints run without it".into()))
        }
        Err(_) => Err(refused.into()),
    }
}

/// Starts a container that exits at once; the outer error means it could
/// not even be created, the inner one whether it started.
async fn probe(
    docker: &Docker,
    image: &str,
    memlock: Option<i64>,
) -> Result<Result<(), DockerError>, TrialError> {
    let kind = if memlock.is_some() {
        "memlock"
    } else {
        "plain"
    };
    let spec = ContainerSpec {
        name: format!("interop-{}-{kind}-probe", std::process::id()),
        image: image.to_string(),
        hostname: "probe".into(),
        env: Vec::new(),
        ro_binds: Vec::new(),
        volumes: Vec::new(),
        cap_add: Vec::new(),
        memlock,
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
        .map_err(TrialError::Probe)?
        .id;
    let started = container::start(docker, &id, "probe").await;
    dk::remove_container(docker, &id).await;
    Ok(started)
}
