//! What the containers of one run get (a trial, or a compliance check).

use crate::orchestrate::docker::container::TrialSetup;
use crate::orchestrate::docker::net::NetworkPair;
use crate::orchestrate::docker::{self as dk};
use crate::orchestrate::materials::Materials;

/// The containers' inputs for one run (a trial, or a compliance check).
pub(super) fn setup_for(
    prefix: &str,
    nets: NetworkPair,
    m: &Materials,
    scenario: &str,
    (server_testcase, client_testcase): (&str, &str),
    extra_env: &[(&str, &str)],
) -> TrialSetup {
    TrialSetup {
        prefix: prefix.to_string(),
        nets,
        labels: dk::labels(&[("trial", prefix)]),
        scenario: scenario.to_string(),
        server_testcase: server_testcase.to_string(),
        client_testcase: client_testcase.to_string(),
        server_requests: m.server_requests.clone(),
        client_requests: m.client_requests.clone(),
        server_protocols: m.server_protocols.clone(),
        client_protocols: m.client_protocols.clone(),
        extra_env: extra_env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        certs: m.certs.clone(),
        server_www: m.server_www.clone(),
        client_www: m.client_www.clone(),
    }
}
