//! The implementations registry: `implementations_quic.json` and
//! `implementations_webtransport.json`, loaded into typed data.
//!
//! The files are embedded at build time so that an installed runner works
//! without the source tree; a path can be given to load another registry.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};

use serde::de::{Deserializer, MapAccess, Visitor};
use serde::Deserialize;

use crate::catalog::fields;
use crate::catalog::testcases::Protocol;

/// The registry files as shipped with this crate.
pub const QUIC_REGISTRY_JSON: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/implementations_quic.json"
));
pub const WEBTRANSPORT_REGISTRY_JSON: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/implementations_webtransport.json"
));

/// What an implementation can act as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Both,
    Server,
    Client,
}

impl Role {
    pub fn is_server(self) -> bool {
        matches!(self, Role::Both | Role::Server)
    }
    pub fn is_client(self) -> bool {
        matches!(self, Role::Both | Role::Client)
    }
}

/// One registry entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Implementation {
    pub name: String,
    pub image: String,
    pub url: String,
    pub role: Role,
    /// A Docker build context that builds the image locally when it cannot
    /// be pulled: a directory relative to `build_base`, or a context built
    /// into the runner.
    pub build: Option<String>,
    /// Where `build` is relative to: the registry file's directory; `None`
    /// for the built-in registry (the runner's source tree).
    pub build_base: Option<PathBuf>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    image: String,
    url: String,
    role: Role,
    #[serde(default)]
    build: Option<String>,
}

/// The entries in file order; JSON objects are unordered in general, but the
/// reference runner (and so every published matrix) keeps file order.
struct OrderedEntries(Vec<(String, RawEntry)>);

impl<'de> Deserialize<'de> for OrderedEntries {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(EntriesVisitor)
    }
}

struct EntriesVisitor;

impl<'de> Visitor<'de> for EntriesVisitor {
    type Value = OrderedEntries;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object mapping implementation names to {image, url, role}")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut entries: Vec<(String, RawEntry)> = Vec::new();
        let mut seen: HashSet<String> = HashSet::new();
        while let Some(name) = map.next_key::<String>()? {
            if !seen.insert(name.clone()) {
                return Err(serde::de::Error::custom(format!(
                    "duplicate implementation name \"{name}\""
                )));
            }
            let entry: RawEntry = map
                .next_value()
                .map_err(|e| serde::de::Error::custom(format!("implementation \"{name}\": {e}")))?;
            entries.push((name, entry));
        }
        Ok(OrderedEntries(entries))
    }
}

/// Why a registry could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryError {
    pub source_name: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl fmt::Display for RegistryError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.source_name, self.message)
        } else {
            write!(
                f,
                "{}:{}:{}: {}",
                self.source_name, self.line, self.column, self.message
            )
        }
    }
}

impl std::error::Error for RegistryError {}

/// The implementations of one protocol, in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registry {
    /// Names never change after loading (replacements change images only),
    /// so `index` stays valid under `&mut` access to the entries.
    pub implementations: Vec<Implementation>,
    index: HashMap<String, usize>,
}

impl Registry {
    /// Parses registry JSON; `source_name` names it in error messages.
    pub fn from_json(text: &str, source_name: &str) -> Result<Registry, RegistryError> {
        Registry::parse(text, source_name, None)
    }

    fn parse(
        text: &str,
        source_name: &str,
        build_base: Option<&Path>,
    ) -> Result<Registry, RegistryError> {
        let raw: OrderedEntries = serde_json::from_str(text).map_err(|e| RegistryError {
            source_name: source_name.to_string(),
            line: e.line(),
            column: e.column(),
            message: describe_serde_error(&e),
        })?;
        let implementations = raw
            .0
            .into_iter()
            .map(|(name, e)| Implementation {
                name,
                image: e.image,
                url: e.url,
                role: e.role,
                build: e.build,
                build_base: build_base.map(Path::to_path_buf),
            })
            .collect::<Vec<_>>();
        let index = implementations
            .iter()
            .enumerate()
            .map(|(i, imp)| (imp.name.clone(), i))
            .collect();
        let registry = Registry {
            implementations,
            index,
        };
        registry.validate(source_name)?;
        Ok(registry)
    }

    /// Loads a registry file; its `build` paths are relative to the file's
    /// directory.
    pub fn load(path: &Path) -> Result<Registry, RegistryError> {
        let name = path.display().to_string();
        let text =
            crate::input::read_text(path, crate::input::TEXT_LIMIT).map_err(|e| RegistryError {
                source_name: "the registry file".to_string(),
                line: 0,
                column: 0,
                message: e.to_string(),
            })?;
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        Registry::parse(&text, &name, Some(&dir))
    }

    /// The registry shipped with the crate for `protocol`.
    pub fn embedded(protocol: Protocol) -> Registry {
        let (text, name) = match protocol {
            Protocol::Quic => (QUIC_REGISTRY_JSON, "implementations_quic.json"),
            Protocol::WebTransport => (
                WEBTRANSPORT_REGISTRY_JSON,
                "implementations_webtransport.json",
            ),
        };
        // The embedded files are covered by unit tests, so this cannot fail
        // in a released build.
        Registry::from_json(text, name).expect("embedded registry is valid")
    }

    fn validate(&self, source_name: &str) -> Result<(), RegistryError> {
        for imp in &self.implementations {
            let entry = |why: String| format!("implementation \"{}\": {why}", imp.name);
            let problem = fields::check_name(&imp.name)
                .err()
                .or_else(|| fields::check_image(&imp.image).err().map(entry))
                .or_else(|| fields::check_url(&imp.url).err().map(entry))
                .or_else(|| {
                    imp.build
                        .as_deref()
                        .and_then(|b| fields::check_build(b).err())
                        .map(entry)
                });
            if let Some(message) = problem {
                return Err(RegistryError {
                    source_name: source_name.to_string(),
                    line: 0,
                    column: 0,
                    message,
                });
            }
        }
        Ok(())
    }

    pub fn get(&self, name: &str) -> Option<&Implementation> {
        self.index.get(name).map(|&i| &self.implementations[i])
    }

    pub fn names(&self) -> Vec<&str> {
        self.implementations
            .iter()
            .map(|i| i.name.as_str())
            .collect()
    }

    pub fn servers(&self) -> Vec<&str> {
        self.implementations
            .iter()
            .filter(|i| i.role.is_server())
            .map(|i| i.name.as_str())
            .collect()
    }

    pub fn clients(&self) -> Vec<&str> {
        self.implementations
            .iter()
            .filter(|i| i.role.is_client())
            .map(|i| i.name.as_str())
            .collect()
    }
}

fn describe_serde_error(e: &serde_json::Error) -> String {
    // serde_json appends " at line X column Y"; the location is reported
    // separately, so strip it.
    let text = e.to_string();
    match text.rfind(" at line ") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_quic_registry_matches_the_reference_list() {
        let r = Registry::embedded(Protocol::Quic);
        assert_eq!(
            r.names(),
            vec![
                "quic-go", "ngtcp2", "mvfst", "quiche", "kwik", "picoquic", "aioquic", "neqo",
                "nginx", "msquic", "chrome", "xquic", "lsquic", "haproxy", "quinn", "s2n-quic",
                "go-x-net", "curl", "aiopquic", "tquic", "firefox"
            ]
        );
        assert_eq!(r.servers().len(), 18);
        assert_eq!(r.clients().len(), 19);
        assert!(!r.clients().contains(&"nginx"));
        assert!(!r.servers().contains(&"chrome"));
        assert_eq!(
            r.get("ngtcp2").unwrap().image,
            "ghcr.io/ngtcp2/ngtcp2-interop:latest"
        );
    }

    #[test]
    fn embedded_webtransport_registry() {
        let r = Registry::embedded(Protocol::WebTransport);
        assert_eq!(
            r.names(),
            vec![
                "webtransport-go",
                "chrome",
                "firefox",
                "flupke-webtransport",
                "ngtcp2",
                "aiopquic",
                "wtransport"
            ]
        );
        assert_eq!(
            r.servers(),
            vec![
                "webtransport-go",
                "flupke-webtransport",
                "ngtcp2",
                "aiopquic",
                "wtransport"
            ]
        );
    }

    #[test]
    fn invalid_json_reports_line_and_column() {
        let err = Registry::from_json("{\n  \"a\": {\"image\": \"x\",\n  }", "f.json").unwrap_err();
        assert_eq!(err.source_name, "f.json");
        assert_eq!(err.line, 3);
        assert!(err.to_string().starts_with("f.json:3:"), "{err}");
    }

    #[test]
    fn unknown_role_is_rejected() {
        let err = Registry::from_json(
            r#"{"a": {"image": "i", "url": "https://u", "role": "proxy"}}"#,
            "f.json",
        )
        .unwrap_err();
        assert!(err.message.contains("implementation \"a\""), "{err}");
        assert!(err.message.contains("unknown variant `proxy`"), "{err}");
    }

    #[test]
    fn missing_field_is_rejected() {
        let err =
            Registry::from_json(r#"{"a": {"image": "i", "role": "both"}}"#, "f.json").unwrap_err();
        assert!(err.message.contains("missing field `url`"), "{err}");
    }

    #[test]
    fn unknown_field_is_rejected() {
        let err = Registry::from_json(
            r#"{"a": {"image": "i", "url": "https://u", "role": "both", "tag": "x"}}"#,
            "f.json",
        )
        .unwrap_err();
        assert!(err.message.contains("unknown field `tag`"), "{err}");
    }

    #[test]
    fn duplicate_name_is_rejected() {
        let err = Registry::from_json(
            r#"{"a": {"image": "i", "url": "https://u", "role": "both"},
                "a": {"image": "j", "url": "https://u", "role": "server"}}"#,
            "f.json",
        )
        .unwrap_err();
        assert!(
            err.message.contains("duplicate implementation name \"a\""),
            "{err}"
        );
    }

    #[test]
    fn underscore_in_name_is_rejected() {
        let err = Registry::from_json(
            r#"{"my_impl": {"image": "i", "url": "https://u", "role": "both"}}"#,
            "f.json",
        )
        .unwrap_err();
        assert!(err.message.contains("my_impl"), "{err}");
    }

    #[test]
    fn build_field_is_kept_and_order_preserved() {
        let r = Registry::from_json(
            r#"{"z": {"image": "i", "url": "https://u", "role": "client", "build": "implementations/z"},
                "a": {"image": "j", "url": "https://u", "role": "server"}}"#,
            "f.json",
        )
        .unwrap();
        assert_eq!(r.names(), vec!["z", "a"]);
        assert_eq!(
            r.get("z").unwrap().build.as_deref(),
            Some("implementations/z")
        );
        assert_eq!(r.clients(), vec!["z"]);
        assert_eq!(r.servers(), vec!["a"]);
    }

    #[test]
    fn not_an_object_is_rejected() {
        let err = Registry::from_json("[1,2]", "f.json").unwrap_err();
        assert!(err.message.contains("an object mapping"), "{err}");
    }

    fn entry(name: &str) -> String {
        format!("\"{name}\": {{\"image\": \"x/{name}\", \"url\": \"https://e.org\", \"role\": \"both\"}}")
    }

    #[test]
    fn a_large_registry_loads_in_linear_time() {
        // 100,000 names: the pairwise duplicate check took minutes here.
        let body: Vec<String> = (0..100_000).map(|i| entry(&format!("impl{i}"))).collect();
        let r = Registry::from_json(&format!("{{{}}}", body.join(",")), "big.json").unwrap();
        assert_eq!(r.implementations.len(), 100_000);
        assert_eq!(r.get("impl99999").unwrap().image, "x/impl99999");
        assert!(r.get("impl100000").is_none());
    }

    #[test]
    fn every_field_is_validated() {
        let cases = [
            (
                r#"{"..": {"image": "i", "url": "https://u", "role": "both"}}"#,
                "\"..\"",
            ),
            (
                r#"{"-rf": {"image": "i", "url": "https://u", "role": "both"}}"#,
                "start with '-'",
            ),
            (
                r#"{"a": {"image": "Bad Image", "url": "https://u", "role": "both"}}"#,
                "not a valid image reference",
            ),
            (
                r#"{"a": {"image": "i", "url": "javascript:x", "role": "both"}}"#,
                "not an http://",
            ),
            (
                r#"{"a": {"image": "i", "url": "https://u", "role": "both", "build": "../../etc"}}"#,
                "no '..'",
            ),
            (
                r#"{"a": {"image": "i", "url": "https://u", "role": "both", "build": "/etc"}}"#,
                "relative",
            ),
        ];
        for (json, wanted) in cases {
            let err = Registry::from_json(json, "f.json").unwrap_err().to_string();
            assert!(err.contains(wanted), "{json}: {err}");
        }
    }

    #[test]
    fn build_paths_of_a_loaded_file_are_relative_to_it() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("impls.json");
        std::fs::write(
            &file,
            r#"{"z": {"image": "i", "url": "https://u", "role": "both", "build": "ctx/z"}}"#,
        )
        .unwrap();
        let r = Registry::load(&file).unwrap();
        assert_eq!(r.get("z").unwrap().build_base.as_deref(), Some(dir.path()));
        assert_eq!(
            Registry::embedded(Protocol::Quic)
                .get("quic-go")
                .unwrap()
                .build_base,
            None
        );
    }

    #[test]
    fn a_registry_that_is_no_regular_file_is_refused() {
        let err = Registry::load(Path::new("/dev/zero"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("is a device, not a regular file"), "{err}");
        let dir = tempfile::tempdir().unwrap();
        let err = Registry::load(dir.path()).unwrap_err().to_string();
        assert!(err.contains("is a directory"), "{err}");
    }
}
