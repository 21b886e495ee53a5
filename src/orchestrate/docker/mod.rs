//! The Docker side of a trial, through the Engine API only (bollard): the
//! connection, labels that make every object findable, per-trial networks,
//! containers, copying files out, and removing what a run created, also
//! what a dead run left behind.

pub mod archive;
pub mod container;
mod error;
pub mod net;
pub mod pool;
pub mod volume;

pub use error::{status_of, DockerError};

use std::collections::HashMap;

use bollard::query_parameters::{
    ListContainersOptions, ListNetworksOptions, RemoveContainerOptions,
};
use bollard::Docker;

/// Every object the project creates carries this label…
pub const LABEL: &str = "org.interop-runner";
/// …and this one, naming the process that owns it: `<pid>:<start time>`,
/// so a reused pid is not mistaken for the owner.
pub const OWNER_LABEL: &str = "org.interop-runner.owner";

/// Connects to the local engine, speaking the API version it supports.
pub async fn connect() -> Result<Docker, DockerError> {
    Ok(crate::orchestrate::images::connect().await?)
}

/// `<pid>:<start time in clock ticks>` of a process, read from /proc.
fn process_identity(pid: u32) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Field 22, the start time.
    let start = crate::orchestrate::cpu::stat_fields_after_name(&stat)?.nth(19)?;
    Some(format!("{pid}:{start}"))
}

/// This process's owner label value.
pub fn owner_id() -> String {
    let pid = std::process::id();
    process_identity(pid).unwrap_or_else(|| format!("{pid}:0"))
}

/// True when the process named by an owner label no longer runs.
pub fn owner_is_dead(owner: &str) -> bool {
    let Some(pid) = owner.split(':').next().and_then(|p| p.parse::<u32>().ok()) else {
        return true;
    };
    process_identity(pid).as_deref() != Some(owner)
}

/// The labels of an object this process creates.
pub fn labels(extra: &[(&str, &str)]) -> HashMap<String, String> {
    let mut l = HashMap::from([
        (LABEL.to_string(), "1".to_string()),
        (OWNER_LABEL.to_string(), owner_id()),
    ]);
    for (k, v) in extra {
        l.insert(format!("{LABEL}.{k}"), v.to_string());
    }
    l
}

fn label_filter(value: &str) -> Option<HashMap<String, Vec<String>>> {
    Some(HashMap::from([(
        "label".to_string(),
        vec![value.to_string()],
    )]))
}

pub async fn remove_container(docker: &Docker, id: &str) {
    let opts = RemoveContainerOptions {
        force: true,
        v: true,
        link: false,
    };
    let _ = docker.remove_container(id, Some(opts)).await;
}

/// Removes every container and network whose owner label matches `keep`
/// returning true for removal. Returns how many objects went.
async fn remove_owned(
    docker: &Docker,
    remove: impl Fn(&str) -> bool,
) -> Result<usize, DockerError> {
    let containers = docker
        .list_containers(Some(ListContainersOptions {
            all: true,
            filters: label_filter(LABEL),
            ..Default::default()
        }))
        .await
        .map_err(DockerError::ListContainers)?;
    let mut n = 0;
    for c in containers {
        let owner = c
            .labels
            .as_ref()
            .and_then(|l| l.get(OWNER_LABEL))
            .cloned()
            .unwrap_or_default();
        if let (true, Some(id)) = (remove(&owner), c.id.as_deref()) {
            remove_container(docker, id).await;
            n += 1;
        }
    }
    let networks = docker
        .list_networks(Some(ListNetworksOptions {
            filters: label_filter(LABEL),
        }))
        .await
        .map_err(DockerError::ListNetworks)?;
    for net in networks {
        let owner = net
            .labels
            .as_ref()
            .and_then(|l| l.get(OWNER_LABEL))
            .cloned()
            .unwrap_or_default();
        if let (true, Some(id)) = (remove(&owner), net.id.as_deref()) {
            if docker.remove_network(id).await.is_ok() {
                n += 1;
            }
        }
    }
    Ok(n)
}

/// Removes what runs whose process is gone left behind.
pub async fn sweep_dead_runs(docker: &Docker) -> Result<usize, DockerError> {
    // Objects without an owner label are not attributable to a run.
    remove_owned(docker, |o| !o.is_empty() && owner_is_dead(o)).await
}

/// Removes everything this process created (Ctrl-C, end of run).
pub async fn remove_own_objects(docker: &Docker) -> Result<usize, DockerError> {
    let me = owner_id();
    remove_owned(docker, move |o| o == me).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_process_is_alive_and_bogus_owners_are_dead() {
        let me = owner_id();
        assert!(!owner_is_dead(&me));
        assert!(owner_is_dead("garbage"));
        assert!(owner_is_dead(""));
        // same pid, other start time: a reused pid
        let pid = std::process::id();
        assert!(owner_is_dead(&format!("{pid}:1")));
        assert!(owner_is_dead("4000000000:5"));
    }

    #[test]
    fn labels_name_the_owner() {
        let l = labels(&[("trial", "x")]);
        assert_eq!(l[LABEL], "1");
        assert_eq!(l[OWNER_LABEL], owner_id());
        assert_eq!(l["org.interop-runner.trial"], "x");
    }
}
