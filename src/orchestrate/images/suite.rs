//! The Debian releases the project's images are built on. Bookworm carries
//! the runner's own images and the older stacks; trixie (glibc 2.41,
//! OpenSSL 3.5) is what the newer QUIC stacks in Debian's archive and the
//! Python 3.12+ wheels need. A build context picks one by the image it
//! names in `FROM`.

/// A Debian release with a base and an endpoint image of its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Suite {
    Bookworm,
    Trixie,
}

impl Suite {
    pub const ALL: [Suite; 2] = [Suite::Bookworm, Suite::Trixie];

    /// The codename debootstrap and apt know it by.
    pub fn codename(self) -> &'static str {
        match self {
            Suite::Bookworm => "bookworm",
            Suite::Trixie => "trixie",
        }
    }

    /// The project's minimal Debian of this release.
    pub fn base_image(self) -> &'static str {
        match self {
            Suite::Bookworm => "interop-runner/base:bookworm",
            Suite::Trixie => "interop-runner/base:trixie",
        }
    }

    /// The endpoint image (setup.sh, wait-for-it.sh, the tools) of this
    /// release. Bookworm's keeps its historic `latest` tag, which existing
    /// build contexts name.
    pub fn endpoint_image(self) -> &'static str {
        match self {
            Suite::Bookworm => "interop-runner/endpoint:latest",
            Suite::Trixie => "interop-runner/endpoint:trixie",
        }
    }

    /// The registry image tried before bootstrapping.
    pub fn upstream_image(self) -> &'static str {
        match self {
            Suite::Bookworm => "debian:bookworm",
            Suite::Trixie => "debian:trixie",
        }
    }

    /// The release whose base or endpoint image `image` is, if it is one.
    pub fn of_image(image: &str) -> Option<Suite> {
        Suite::ALL
            .into_iter()
            .find(|suite: &Suite| image == suite.base_image() || image == suite.endpoint_image())
    }
}

impl std::fmt::Display for Suite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.codename())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_name_their_release() {
        assert_eq!(
            Suite::of_image("interop-runner/endpoint:trixie"),
            Some(Suite::Trixie)
        );
        assert_eq!(
            Suite::of_image("interop-runner/endpoint:latest"),
            Some(Suite::Bookworm)
        );
        assert_eq!(
            Suite::of_image("interop-runner/base:trixie"),
            Some(Suite::Trixie)
        );
        assert_eq!(Suite::of_image("debian:trixie"), None);
        assert_eq!(Suite::of_image("interop-runner/iperf:latest"), None);
    }

    #[test]
    fn every_suite_has_distinct_images() {
        let mut names: Vec<&str> = Suite::ALL
            .iter()
            .flat_map(|s: &Suite| [s.base_image(), s.endpoint_image()])
            .collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), 2 * Suite::ALL.len());
    }
}
