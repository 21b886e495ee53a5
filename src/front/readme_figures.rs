//! The README's figures of the catalog and the registries, computed from
//! them: adding a test case or an implementation without updating the
//! README fails here.

use crate::catalog::registry::Registry;
use crate::catalog::testcases::{self, Protocol};

/// The number written just before `suffix` in `text`.
fn number_before(text: &str, suffix: &str) -> usize {
    let at = text
        .find(suffix)
        .unwrap_or_else(|| panic!("README has no \"{suffix}\""));
    let digits: String = text[..at]
        .chars()
        .rev()
        .take_while(char::is_ascii_digit)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    digits
        .parse()
        .unwrap_or_else(|_| panic!("no number before \"{suffix}\" in README"))
}

fn trials(protocol: Protocol) -> usize {
    let registry = Registry::embedded(protocol);
    registry.servers().len() * registry.clients().len() * testcases::default_count(protocol)
}

#[test]
fn readme_counts_match_the_catalog_and_the_registries() {
    let readme = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let readme = readme.as_str();
    let (quic, wt) = (trials(Protocol::Quic), trials(Protocol::WebTransport));
    assert_eq!(number_before(readme, " QUIC + "), quic);
    assert_eq!(number_before(readme, " WebTransport trials"), wt);
    assert_eq!(
        number_before(readme, " QUIC test cases and both measurements"),
        testcases::defaults(Protocol::Quic).len()
    );
    assert_eq!(
        testcases::default_measurements(Protocol::Quic).len(),
        2,
        "both"
    );
    assert_eq!(
        number_before(readme, " WebTransport cases"),
        testcases::defaults(Protocol::WebTransport).len()
    );
}
