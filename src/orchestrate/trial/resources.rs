//! The Docker objects a run created, so that teardown removes exactly
//! those, and the per-role operations on them.

use bollard::Docker;

use crate::layout::Role;
use crate::orchestrate::docker::container;
use crate::orchestrate::docker::net::{self, NetworkPair};
use crate::orchestrate::docker::{self as dk, DockerError};

/// Objects to remove at the end.
#[derive(Default)]
pub(super) struct Resources {
    pub(super) nets: Option<NetworkPair>,
    pub(super) containers: Vec<(Role, String)>,
    /// The server was left running at the verdict; its console then.
    pub(super) server_left: Option<String>,
}

impl Resources {
    pub(super) fn id(&self, role: Role) -> Option<&str> {
        self.containers
            .iter()
            .find(|(r, _)| *r == role)
            .map(|(_, id)| id.as_str())
    }
}

pub(super) async fn teardown(docker: &Docker, res: &Resources) {
    let removals = res
        .containers
        .iter()
        .map(|(_, id)| dk::remove_container(docker, id));
    futures_util::future::join_all(removals).await;
    if let Some(n) = &res.nets {
        net::remove_pair(docker, n).await;
    }
}

/// Starts `role` (if it exists).
pub(super) async fn start_role(
    docker: &Docker,
    res: &Resources,
    role: Role,
) -> Result<(), DockerError> {
    match res.id(role) {
        Some(id) => container::start(docker, id, role.name()).await,
        None => Ok(()),
    }
}
