//! What each field of a registry entry must look like. A name becomes part
//! of trial names, directory names and container names; an image is handed
//! to Docker; a build path is read from disk. Each is checked before any of
//! that happens, so a bad entry is an error that names it, not a surprise
//! later (a directory `..`, a flag-like `-rf`, a context outside the tree).

/// Why a field is not acceptable; the registry adds the entry's name.
pub type FieldProblem = String;

/// Trial names are `<server>_<client>_<test>` and log directories
/// `<server>_<client>`, so a name is letters, digits, `-` and `.`, not a
/// path component of its own and not an option.
pub fn check_name(name: &str) -> Result<(), FieldProblem> {
    let charset_ok = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
    if !charset_ok {
        return Err(format!(
            "implementation name \"{name}\" must be non-empty and use only letters, digits, '-' and '.'"
        ));
    }
    if name == "." || name == ".." {
        return Err(format!(
            "implementation name \"{name}\" would name a directory other than its own"
        ));
    }
    if name.starts_with('-') {
        return Err(format!(
            "implementation name \"{name}\" must not start with '-'"
        ));
    }
    if name.len() > 64 {
        return Err(format!(
            "implementation name \"{name}\" is longer than 64 characters"
        ));
    }
    Ok(())
}

/// A Docker image reference: `[host[:port]/]path[:tag][@algorithm:hex]`,
/// path components lower-case alphanumerics joined by `.`, `_`, `__` or
/// dashes (the distribution project's grammar).
pub fn check_image(image: &str) -> Result<(), FieldProblem> {
    let bad = |why: &str| Err(format!("\"{image}\" is not a valid image reference: {why}"));
    if image.is_empty() {
        return bad("it is empty");
    }
    if image.len() > 255 {
        return bad("it is longer than 255 characters");
    }
    let (rest, digest) = match image.split_once('@') {
        Some((r, d)) => (r, Some(d)),
        None => (image, None),
    };
    if let Some(d) = digest {
        if !valid_digest(d) {
            return bad("the digest is not algorithm:hex");
        }
    }
    // A colon after the last slash starts the tag; one before it is a port.
    let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
    let (name, tag) = match rest[last_slash..].find(':') {
        Some(i) => (&rest[..last_slash + i], Some(&rest[last_slash + i + 1..])),
        None => (rest, None),
    };
    if let Some(t) = tag {
        if !valid_tag(t) {
            return bad("the tag must be 1-128 of letters, digits, '_', '.', '-', not starting with '.' or '-'");
        }
    }
    let mut parts: Vec<&str> = name.split('/').collect();
    if parts.len() > 1 && is_domain(parts[0]) {
        if !valid_domain(parts[0]) {
            return bad("the registry host is not host[:port]");
        }
        parts.remove(0);
    }
    if parts.iter().all(|p| valid_path_component(p)) {
        Ok(())
    } else {
        bad("each path component must be lower-case letters and digits, joined by '.', '_', '__' or '-'")
    }
}

fn is_domain(first: &str) -> bool {
    first.contains('.') || first.contains(':') || first == "localhost"
}

fn valid_domain(d: &str) -> bool {
    let (host, port) = match d.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (d, None),
    };
    let host_ok = !host.is_empty()
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        });
    let port_ok =
        port.is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()));
    host_ok && port_ok
}

fn valid_path_component(p: &str) -> bool {
    let alnum = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    let (Some(first), Some(last)) = (p.chars().next(), p.chars().next_back()) else {
        return false;
    };
    if !alnum(first) || !alnum(last) {
        return false;
    }
    // Separators: one '.', one or two '_', or any run of '-'.
    let mut run = String::new();
    for c in p.chars() {
        if alnum(c) {
            if !matches!(run.as_str(), "" | "." | "_" | "__") && !run.chars().all(|r| r == '-') {
                return false;
            }
            run.clear();
        } else if matches!(c, '.' | '_' | '-') {
            run.push(c);
        } else {
            return false;
        }
    }
    true
}

fn valid_tag(t: &str) -> bool {
    (1..=128).contains(&t.len())
        && t.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
        && !t.starts_with(['.', '-'])
}

fn valid_digest(d: &str) -> bool {
    let Some((alg, hex)) = d.split_once(':') else {
        return false;
    };
    !alg.is_empty()
        && alg.chars().all(|c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '+' | '.' | '_' | '-')
        })
        && hex.len() >= 32
        && hex.chars().all(|c| c.is_ascii_hexdigit())
}

/// The project page shown in the matrix and result.json: http(s) only.
pub fn check_url(url: &str) -> Result<(), FieldProblem> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    match rest {
        Some(r)
            if !r.is_empty()
                && !r.starts_with('/')
                && !url.chars().any(|c| c.is_whitespace() || c.is_control()) =>
        {
            Ok(())
        }
        _ => Err(format!("\"{url}\" is not an http:// or https:// address")),
    }
}

/// A build context path: relative to the registry file's directory (or a
/// context built into the runner), and never leaving it.
pub fn check_build(build: &str) -> Result<(), FieldProblem> {
    let path = std::path::Path::new(build);
    if build.trim().is_empty() {
        return Err("\"build\" is empty".to_string());
    }
    if path.is_absolute() {
        return Err(format!(
            "build context \"{build}\" must be relative to the registry file's directory"
        ));
    }
    if path
        .components()
        .any(|c| matches!(c, std::path::Component::ParentDir))
    {
        return Err(format!(
            "build context \"{build}\" must stay inside the registry file's directory (no '..')"
        ));
    }
    if build.chars().any(char::is_control) {
        return Err(format!(
            "build context \"{build}\" contains a control character"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_are_paths_or_options_are_refused() {
        for ok in ["quic-go", "s2n-quic", "x.y", "a1"] {
            assert!(check_name(ok).is_ok(), "{ok}");
        }
        for bad in [
            ".",
            "..",
            "-rf",
            "--help",
            "",
            "a_b",
            "a/b",
            "a b",
            &"x".repeat(65),
        ] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn image_references_follow_the_distribution_grammar() {
        for ok in [
            "martenseemann/quic-go-interop:latest",
            "ghcr.io/ngtcp2/ngtcp2-interop:latest",
            "localhost:5000/a/b",
            "interop-runner/impl-quic-go:latest",
            "privateip/quic-interop",
            "a__b/c-d--e:v1.2_3",
            "busybox@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        ] {
            assert!(check_image(ok).is_ok(), "{ok}: {:?}", check_image(ok));
        }
        for bad in [
            "",
            "Upper/case",
            "a//b",
            "a:",
            "a:-tag",
            "-a",
            "a b",
            "a@sha256:12",
            "host:port/x",
            "a/b/",
            "a..b",
            "a___b",
        ] {
            assert!(check_image(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn urls_are_http_or_https() {
        assert!(check_url("https://github.com/quic-go/quic-go").is_ok());
        assert!(check_url("http://example.org").is_ok());
        for bad in [
            "",
            "u",
            "ftp://x",
            "javascript:alert(1)",
            "https://",
            "https:///x",
            "https://a b",
        ] {
            assert!(check_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn build_contexts_stay_under_the_registry() {
        assert!(check_build("implementations/quic-go").is_ok());
        assert!(check_build("./implementations/quic-go/").is_ok());
        for bad in ["", " ", "/etc", "../x", "implementations/../../x"] {
            assert!(check_build(bad).is_err(), "{bad}");
        }
    }
}
