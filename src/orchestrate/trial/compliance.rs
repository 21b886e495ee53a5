//! The compliance pre-check: an implementation must answer a test case
//! nobody knows with exit code 127.

use std::panic::AssertUnwindSafe;
use std::time::Duration;

use bollard::Docker;
use futures_util::FutureExt;

use super::error::TrialError;
use super::memlock::create_container;
use super::resources::{start_role, teardown, Resources};
use super::setup::setup_for;
use super::Images;
use crate::catalog::testcases::DEFAULT_SCENARIO;
use crate::layout::Role;
use crate::orchestrate::docker::container;
use crate::orchestrate::docker::net;
use crate::orchestrate::docker::{self as dk};
use crate::orchestrate::materials::Materials;

/// Whether an implementation answers an unknown test case with 127.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Compliance {
    Compliant,
    NotCompliant(String),
}

/// Runs an implementation alone with a test case nobody knows; a compliant
/// endpoint exits 127. The client gets a simulator to wait for, as in the
/// reference. `Err` means the check itself could not run.
pub async fn check_compliance(
    docker: &Docker,
    images: &Images,
    role: Role,
    prefix: &str,
    sim_sysctls: &[(&str, &str)],
) -> Result<Compliance, TrialError> {
    let tmp = crate::orchestrate::cleanup::temp_dir()?;
    let certs = tmp.path().join("certs");
    let www = tmp.path().join("www");
    for d in [&certs, &www] {
        std::fs::create_dir_all(d)?;
    }
    let chain =
        crate::orchestrate::materials::certs::generate(crate::catalog::testcases::CertSpec {
            length: 1,
            inflated_leaf: false,
        })?;
    chain.write_to(&certs)?;
    let m = Materials {
        certs,
        server_www: www.clone(),
        client_www: www,
        ..Default::default()
    };
    let mut res = Resources::default();
    let result = AssertUnwindSafe(compliance_inner(
        docker,
        images,
        role,
        prefix,
        &m,
        sim_sysctls,
        &mut res,
    ))
    .catch_unwind()
    .await
    .unwrap_or_else(|_| Err(TrialError::Panicked));
    teardown(docker, &res).await;
    result
}

pub(super) async fn compliance_inner(
    docker: &Docker,
    images: &Images,
    role: Role,
    prefix: &str,
    m: &Materials,
    sim_sysctls: &[(&str, &str)],
    res: &mut Resources,
) -> Result<Compliance, TrialError> {
    let nets = net::create_pair(docker, prefix, &dk::labels(&[("trial", prefix)])).await?;
    res.nets = Some(nets.clone());
    let unknown = crate::orchestrate::materials::files::slug(&mut rand::thread_rng());
    let testcases = (unknown.as_str(), unknown.as_str());
    let setup = setup_for(prefix, nets, m, DEFAULT_SCENARIO, testcases, &[]);
    let (spec, image) = if role == Role::Server {
        (setup.server(&images.server), &images.server)
    } else {
        let mut sim = setup.sim(&images.sim, sim_sysctls);
        sim.env.retain(|(k, _)| k != "WAITFORSERVER");
        res.containers
            .push((Role::Sim, create_container(docker, &sim).await?));
        start_role(docker, res, Role::Sim).await?;
        (setup.client(&images.client), &images.client)
    };
    res.containers
        .push((role, create_container(docker, &spec).await?));
    start_role(docker, res, role).await?;
    let id = res.id(role).unwrap_or_default().to_string();
    Ok(match tokio::time::timeout(Duration::from_secs(60), container::wait_exit(docker, &id)).await {
        Ok(Ok(127)) => Compliance::Compliant,
        Ok(Ok(code)) => Compliance::NotCompliant(format!("the {role} image {image} exited with code {code} for an unknown test case instead of 127")),
        Ok(Err(e)) => return Err(e.into()),
        Err(_) => Compliance::NotCompliant(format!("the {role} image {image} did not exit within 60 s for an unknown test case")),
    })
}
