//! Random test files: random names, unique within a test, and random content
//! written fast (a 25 MiB file takes a few milliseconds).

use std::collections::HashSet;
use std::fs::File;
use std::io::{self, Write};
use std::path::Path;

use rand::rngs::SmallRng;
use rand::{Rng, RngCore, SeedableRng};

use crate::catalog::testcases::{FileSpec, NameRule};

/// A file a test generated, named relative to the directory it was put in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedFile {
    pub name: String,
    pub size: u64,
}

const ADJECTIVES: &[&str] = &[
    "able", "agile", "amber", "ample", "azure", "bold", "brave", "brisk", "calm", "clever", "cosy",
    "crisp", "curly", "daring", "dusty", "eager", "early", "fancy", "fast", "fierce", "fluffy",
    "gentle", "giant", "glad", "golden", "grand", "happy", "hasty", "humble", "icy", "jolly",
    "keen", "kind", "lively", "lucky", "mellow", "merry", "mighty", "misty", "modest", "nimble",
    "noble", "odd", "plucky", "polite", "proud", "quick", "quiet", "rapid", "rosy", "rusty",
    "shiny", "silent", "sleek", "smart", "snappy", "solid", "spicy", "steady", "sunny", "swift",
    "tidy", "vivid", "witty",
];

const NOUNS: &[&str] = &[
    "badger", "beaver", "bison", "camel", "cheetah", "cobra", "condor", "coyote", "crane", "dingo",
    "dolphin", "eagle", "falcon", "ferret", "finch", "gecko", "gibbon", "heron", "hornet", "ibis",
    "jackal", "jaguar", "koala", "lemur", "llama", "lynx", "marmot", "marten", "moose", "newt",
    "ocelot", "orca", "osprey", "otter", "owl", "panda", "parrot", "pelican", "puffin", "quail",
    "rabbit", "raven", "salmon", "seal", "shark", "sloth", "sparrow", "squid", "stork", "swan",
    "tapir", "tiger", "toucan", "trout", "turtle", "viper", "walrus", "weasel", "whale", "wombat",
    "yak", "zebra", "mole", "bat",
];

/// A readable random name like `brave-amber-otter`.
pub fn slug(rng: &mut impl Rng) -> String {
    let a = ADJECTIVES[rng.gen_range(0..ADJECTIVES.len())];
    let b = ADJECTIVES[rng.gen_range(0..ADJECTIVES.len())];
    let n = NOUNS[rng.gen_range(0..NOUNS.len())];
    format!("{a}-{b}-{n}")
}

/// Random lower-case letters.
pub fn letters(rng: &mut impl Rng, len: usize) -> String {
    (0..len)
        .map(|_| rng.gen_range(b'a'..=b'z') as char)
        .collect()
}

/// A name by `rule` that is not yet in `taken`.
fn unique_name(rule: NameRule, rng: &mut impl Rng, taken: &mut HashSet<String>) -> String {
    loop {
        let name = match rule {
            NameRule::Slug => slug(rng),
            NameRule::Letters(len) => letters(rng, len),
        };
        if taken.insert(name.clone()) {
            return name;
        }
    }
}

/// Writes `size` random bytes to `path`, creating it new.
pub fn write_random_file(path: &Path, size: u64, rng: &mut impl RngCore) -> io::Result<()> {
    let mut file = File::create_new(path)?;
    let mut buf = vec![0u8; 1 << 20];
    let mut left = size;
    while left > 0 {
        let n = left.min(buf.len() as u64) as usize;
        rng.fill_bytes(&mut buf[..n]);
        file.write_all(&buf[..n])?;
        left -= n as u64;
    }
    Ok(())
}

/// Generates the files of `spec` in `dir`; names are unique within the call.
pub fn generate(spec: FileSpec, dir: &Path) -> io::Result<Vec<GeneratedFile>> {
    let mut rng = SmallRng::from_entropy();
    let mut taken = HashSet::new();
    spec.sizes
        .sizes()
        .into_iter()
        .map(|size| {
            let name = unique_name(spec.names, &mut rng, &mut taken);
            write_random_file(&dir.join(&name), size, &mut rng)?;
            Ok(GeneratedFile { name, size })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::testcases::{find, FileSizes, Protocol};

    #[test]
    fn generates_every_file_with_its_size_and_unique_names() {
        let dir = tempfile::tempdir().unwrap();
        let spec = find(Protocol::Quic, "multiplexing").unwrap().files;
        let files = generate(spec, dir.path()).unwrap();
        assert_eq!(files.len(), 1999);
        let names: HashSet<_> = files.iter().map(|f| &f.name).collect();
        assert_eq!(names.len(), 1999);
        for f in files.iter().take(20) {
            assert_eq!(
                std::fs::metadata(dir.path().join(&f.name)).unwrap().len(),
                32
            );
        }
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1999);
    }

    #[test]
    fn zerortt_names_are_250_letters() {
        let dir = tempfile::tempdir().unwrap();
        let spec = find(Protocol::Quic, "zerortt").unwrap().files;
        let files = generate(spec, dir.path()).unwrap();
        assert_eq!(files.len(), 40);
        assert!(files
            .iter()
            .all(|f| f.name.len() == 250 && f.name.bytes().all(|b| b.is_ascii_lowercase())));
    }

    #[test]
    fn content_is_random_not_constant() {
        let dir = tempfile::tempdir().unwrap();
        let spec = FileSpec {
            sizes: FileSizes::Repeat {
                count: 2,
                size: 4096,
            },
            names: NameRule::Slug,
        };
        let files = generate(spec, dir.path()).unwrap();
        let a = std::fs::read(dir.path().join(&files[0].name)).unwrap();
        let b = std::fs::read(dir.path().join(&files[1].name)).unwrap();
        assert_ne!(a, b);
        // Roughly uniform bytes: no value dominates.
        let mut counts = [0usize; 256];
        a.iter().for_each(|x| counts[*x as usize] += 1);
        assert!(counts.iter().all(|c| *c < 64), "{:?}", counts.iter().max());
    }

    #[test]
    fn large_file_has_exact_size() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big");
        write_random_file(&path, 25 * 1024 * 1024 + 7, &mut SmallRng::from_entropy()).unwrap();
        assert_eq!(
            std::fs::metadata(&path).unwrap().len(),
            25 * 1024 * 1024 + 7
        );
    }

    #[test]
    fn existing_file_is_not_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x");
        std::fs::write(&path, b"keep").unwrap();
        assert!(write_random_file(&path, 10, &mut SmallRng::from_entropy()).is_err());
        assert_eq!(std::fs::read(&path).unwrap(), b"keep");
    }

    #[test]
    fn slugs_look_like_words() {
        let mut rng = SmallRng::seed_from_u64(1);
        let s = slug(&mut rng);
        assert_eq!(s.split('-').count(), 3, "{s}");
        assert!(s.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'));
    }
}
