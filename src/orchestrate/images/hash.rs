//! Content hashes of an image's inputs. An image is labelled with the hash of
//! everything it was built from, so a changed recipe, binary or parent image
//! is noticed and the stale image is never used.

use sha2::{Digest, Sha256};

/// The label that carries the inputs hash on every image this module builds.
pub const INPUTS_LABEL: &str = "org.interop-runner.inputs";

/// Accumulates named inputs; the order of `add` calls matters.
#[derive(Clone, Default)]
pub struct ContentHash {
    hasher: Sha256,
}

impl ContentHash {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one named input. Name and content are length-prefixed, so moving
    /// bytes from one input to the next changes the hash.
    pub fn add(&mut self, name: &str, content: &[u8]) -> &mut Self {
        for part in [name.as_bytes(), content] {
            self.hasher.update((part.len() as u64).to_le_bytes());
            self.hasher.update(part);
        }
        self
    }

    /// Lower-case hex SHA-256 of all inputs.
    pub fn finish(&self) -> String {
        let digest = self.hasher.clone().finalize();
        digest
            .iter()
            .map(|byte: &u8| format!("{byte:02x}"))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_inputs_same_hash() {
        let mut a = ContentHash::new();
        a.add("Dockerfile", b"FROM x").add("run.sh", b"echo");
        let mut b = ContentHash::new();
        b.add("Dockerfile", b"FROM x").add("run.sh", b"echo");
        assert_eq!(a.finish(), b.finish());
        assert_eq!(a.finish().len(), 64);
    }

    #[test]
    fn content_change_changes_hash() {
        let mut a = ContentHash::new();
        a.add("Dockerfile", b"FROM x");
        let mut b = ContentHash::new();
        b.add("Dockerfile", b"FROM y");
        assert_ne!(a.finish(), b.finish());
    }

    #[test]
    fn boundaries_between_inputs_matter() {
        let mut a = ContentHash::new();
        a.add("a", b"bc").add("d", b"");
        let mut b = ContentHash::new();
        b.add("a", b"b").add("cd", b"");
        assert_ne!(a.finish(), b.finish());
    }

    #[test]
    fn names_matter() {
        let mut a = ContentHash::new();
        a.add("setup.sh", b"x");
        let mut b = ContentHash::new();
        b.add("other.sh", b"x");
        assert_ne!(a.finish(), b.finish());
    }
}
