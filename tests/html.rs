//! The HTML report of a real run, rendered by a real browser: headless
//! Chromium (Debian's `chromium` package) loads the report that
//! `interop-runner report` makes from the trial records of a real run
//! (`tests/fixtures/reports-run`), the DOM it builds is checked against the
//! records, and a screenshot must show the outcome colours.
//!
//! Ignored by default (it needs Chromium); `.ci/run` installs Chromium
//! and runs it with `--ignored`.

use std::path::{Path, PathBuf};
use std::process::Command;

use interop_runner::outcome::{Outcome, TrialRecord};

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/reports-run")
}

fn chromium() -> &'static str {
    for name in ["chromium", "chromium-browser", "google-chrome"] {
        if Command::new(name).arg("--version").output().is_ok() {
            return name;
        }
    }
    panic!("no Chromium found: install Debian's chromium package (apt-get install chromium)");
}

fn browser(args: &[&str], page: &Path) -> std::process::Output {
    let url = format!("file://{}", page.display());
    let out = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--hide-scrollbars",
        ])
        .args(args)
        .arg(url)
        .output()
        .expect("chromium runs");
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn records() -> Vec<TrialRecord> {
    let mut out = Vec::new();
    for server_client in std::fs::read_dir(fixture()).unwrap() {
        let server_client = server_client.unwrap().path();
        for test in std::fs::read_dir(&server_client).unwrap() {
            let p = test.unwrap().path().join(TrialRecord::FILE_NAME);
            if p.is_file() {
                out.push(TrialRecord::read(&p).unwrap());
            }
        }
    }
    out
}

/// Counts the pixels of one colour (±8 per channel) in an RGB(A) PNG.
fn pixels_of(png_path: &Path, rgb: [u8; 3]) -> usize {
    let decoder = png::Decoder::new(std::io::BufReader::new(
        std::fs::File::open(png_path).unwrap(),
    ));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let step = info.color_type.samples();
    buf[..info.buffer_size()]
        .chunks(step)
        .filter(|px| px.len() >= 3 && (0..3).all(|i| px[i].abs_diff(rgb[i]) <= 8))
        .count()
}

#[test]
#[ignore = "needs Chromium (Debian's chromium package); .ci/run runs it"]
fn the_report_of_a_real_run_renders_in_headless_chromium() {
    let records = records();
    assert!(records.len() >= 16, "{} records", records.len());
    let out = tempfile::tempdir().unwrap();
    let html = out.path().join("report.html");
    let status = Command::new(env!("CARGO_BIN_EXE_interop-runner"))
        .arg("report")
        .arg(fixture())
        .arg("--html")
        .arg(&html)
        .status()
        .unwrap();
    assert!(status.success());

    let dom = String::from_utf8(browser(&["--dump-dom"], &html).stdout).unwrap();
    assert!(dom.contains("<h1>Interop results</h1>"), "{dom}");
    // Implementations that never ran are listed once, not as badges.
    let (never, ran): (Vec<&TrialRecord>, Vec<&TrialRecord>) =
        records.iter().partition(|r| r.unavailable.is_some());
    assert!(
        !never.is_empty(),
        "the fixture has an unavailable implementation"
    );
    for rec in &never {
        let name = rec.unavailable.as_deref().unwrap();
        assert_eq!(
            dom.matches(&format!("<li><b>{name}</b>")).count(),
            1,
            "{name}"
        );
    }
    assert_eq!(
        dom.matches("data-trial=").count(),
        ran.len(),
        "one badge per trial"
    );
    for rec in &ran {
        let name = rec.trial_name();
        assert!(dom.contains(&format!("data-trial=\"{name}\"")), "{name}");
        let link = format!("/{}/output.txt\"", rec.log_path_or_default());
        if rec.outcome != Outcome::Unsupported {
            assert!(dom.contains(&link), "{name}: no link to its output.txt");
        }
    }
    // (failed and unsupported together: the auto-unsupported rule may
    // turn one into the other)
    let shown = |o: &str| dom.matches(&format!("data-outcome=\"{o}\"")).count();
    let passed = ran
        .iter()
        .filter(|r| r.outcome == Outcome::Succeeded)
        .count();
    assert_eq!(shown("succeeded") + shown("flaky"), passed);
    assert_eq!(shown("failed") + shown("unsupported"), ran.len() - passed);
    if let Some(failed) = records.iter().find(|r| r.outcome == Outcome::Failed) {
        // the reason is on the badge (hover) and in the table of problems
        let first_words: String = failed.reason.chars().take(30).collect();
        assert!(
            dom.contains(&first_words.replace('"', "&quot;")),
            "{first_words}"
        );
    }
    // every link is relative and leads to a file or directory of the run
    for link in dom.split("href=\"").skip(1) {
        let link = &link[..link.find('"').unwrap()];
        assert!(!link.contains("://") && !link.starts_with('/'), "{link}");
        assert!(out.path().join(link).exists(), "{link} leads nowhere");
    }
    // self-contained: nothing fetched
    assert!(
        !dom.contains("src=\"http") && !dom.contains("<link "),
        "{dom}"
    );

    let shot = out.path().join("report.png");
    let arg = format!("--screenshot={}", shot.display());
    browser(&[&arg, "--window-size=1400,1000"], &html);
    let green = pixels_of(&shot, [0x2e, 0x7d, 0x32]);
    assert!(
        green > 500,
        "{green} green pixels: the succeeded colour is not on screen"
    );
    if records.iter().any(|r| r.outcome == Outcome::Failed) {
        let red = pixels_of(&shot, [0xc6, 0x28, 0x28]);
        assert!(
            red > 100,
            "{red} red pixels: the failed colour is not on screen"
        );
    }
}
