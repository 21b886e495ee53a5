//! Tests of images/endpoint/add-backports.sh, the script that derives a
//! backports source from the sources list an image already has.

use std::path::Path;
use std::process::Command;

const SCRIPT: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/images/endpoint/add-backports.sh"
));

fn run(apt_dir: &Path, codename: &str) -> (bool, String, String) {
    let script = apt_dir.join("add-backports.sh");
    std::fs::write(&script, SCRIPT).unwrap();
    let output = Command::new("sh")
        .arg(&script)
        .arg(apt_dir)
        .arg(codename)
        .output()
        .unwrap();
    let written = std::fs::read_to_string(apt_dir.join("sources.list.d/interop-backports.list"))
        .unwrap_or_default();
    (
        output.status.success(),
        written,
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn apt_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("sources.list.d")).unwrap();
    dir
}

#[test]
fn one_line_sources_give_one_backports_line_per_archive() {
    let dir = apt_dir();
    std::fs::write(
        dir.path().join("sources.list"),
        "# comment\n\
         deb http://archive.invalid/debian bookworm main\n\
         deb-src http://archive.invalid/debian bookworm main\n\
         deb [arch=amd64] http://archive.invalid/debian bookworm main contrib\n\
         deb http://security.invalid/debian-security bookworm-security main\n",
    )
    .unwrap();
    let (ok, written, stderr) = run(dir.path(), "bookworm");
    assert!(ok, "{stderr}");
    assert_eq!(
        written,
        "deb http://archive.invalid/debian bookworm-backports main\n"
    );
}

#[test]
fn options_are_kept() {
    let dir = apt_dir();
    std::fs::write(
        dir.path().join("sources.list"),
        "deb [signed-by=/k.gpg arch=amd64] http://archive.invalid/debian bookworm main\n",
    )
    .unwrap();
    let (ok, written, stderr) = run(dir.path(), "bookworm");
    assert!(ok, "{stderr}");
    assert_eq!(
        written,
        "deb [signed-by=/k.gpg arch=amd64] http://archive.invalid/debian bookworm-backports main\n"
    );
}

#[test]
fn deb822_sources_are_understood() {
    let dir = apt_dir();
    std::fs::write(
        dir.path().join("sources.list.d/debian.sources"),
        "Types: deb\n\
         URIs: http://archive.invalid/debian\n\
         Suites: bookworm bookworm-updates\n\
         Components: main\n\
         Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n\
         \n\
         Types: deb\n\
         URIs: http://security.invalid/debian-security\n\
         Suites: bookworm-security\n\
         Components: main\n",
    )
    .unwrap();
    let (ok, written, stderr) = run(dir.path(), "bookworm");
    assert!(ok, "{stderr}");
    assert_eq!(
        written,
        "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://archive.invalid/debian bookworm-backports main\n"
    );
}

#[test]
fn no_matching_suite_fails_with_a_reason() {
    let dir = apt_dir();
    std::fs::write(
        dir.path().join("sources.list"),
        "deb http://archive.invalid/debian trixie main\n",
    )
    .unwrap();
    let (ok, written, stderr) = run(dir.path(), "bookworm");
    assert!(!ok);
    assert!(written.is_empty());
    assert!(
        stderr.contains("no 'deb' source for suite bookworm"),
        "{stderr}"
    );
}
