//! The HTML report: one self-contained file (inline style, no scripts,
//! nothing fetched) with the run's metadata, the matrices of tests and
//! measurements, a colour per outcome, each trial linking to its
//! `output.txt` (relative links, so the report works opened from disk or
//! served with the log directory), the reason on hover and in a list of
//! every trial that did not pass, and the image IDs that ran.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;
use std::path::{Component, Path, PathBuf};

use super::junit::{index, RecordIndex};
use super::{Entry, ReportError, Results};
use crate::outcome::{Outcome, TrialRecord};

const STYLE: &str = "\
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}\
table{border-collapse:collapse;margin:.5em 0 1.5em}\
th,td{border:1px solid #ccc;padding:.3em .5em;vertical-align:top;text-align:left}\
th{background:#f3f3f3}\
.matrix td{max-width:16em}\
.t{display:inline-block;margin:1px;padding:0 .3em;border-radius:3px;color:#fff;text-decoration:none;font:12px/1.6 monospace}\
.succeeded{background:#2e7d32}.failed{background:#c62828}.unsupported{background:#9e9e9e}.flaky{background:#ef6c00}\
.dir{font-size:11px;color:#555;margin-left:.3em}\
.meta th{width:10em}.reason{font-family:monospace;font-size:12px;white-space:pre-wrap}\
.legend .t{margin-right:.2em}";

/// Escapes text for an HTML text node or a double-quoted attribute.
fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && c != '\n' => {
                let _ = write!(out, "{}", c.escape_default());
            }
            c => out.push(c),
        }
    }
    out
}

/// Percent-encodes a relative path for an href, keeping `/`.
fn href(path: &str) -> String {
    let mut out = String::new();
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"/-_.~".contains(&b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

fn absolute(p: &Path) -> PathBuf {
    let abs = if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir().unwrap_or_default().join(p)
    };
    abs.canonicalize().unwrap_or_else(|_| normalise(&abs))
}

fn normalise(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            c => out.push(c),
        }
    }
    out
}

/// The relative path from directory `from` to `to`, `/`-separated.
fn relative(from: &Path, to: &Path) -> String {
    let (from, to) = (absolute(from), absolute(to));
    let a: Vec<Component> = from.components().collect();
    let b: Vec<Component> = to.components().collect();
    let common = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let mut parts: Vec<String> = vec!["..".to_string(); a.len() - common];
    parts.extend(
        b[common..]
            .iter()
            .map(|c| c.as_os_str().to_string_lossy().into_owned()),
    );
    if parts.is_empty() {
        ".".to_string()
    } else {
        parts.join("/")
    }
}

struct Ctx<'a> {
    by_key: RecordIndex<'a>,
    /// From the report's directory to the log directory.
    to_logs: String,
}

impl Ctx<'_> {
    fn record(&self, r: &Results, s: &str, c: &str, t: &str) -> Option<&TrialRecord> {
        self.by_key.get(&(r.protocol, s, c, t)).copied()
    }

    fn trial_dir(&self, rec: &TrialRecord) -> String {
        format!("{}/{}", self.to_logs, rec.log_path_or_default())
    }
}

fn class(e: &Entry) -> &'static str {
    if e.flaky {
        "flaky"
    } else {
        e.outcome.as_str()
    }
}

fn title(name: &str, e: &Entry) -> String {
    let what = if e.flaky {
        "passed on a retry (flaky)".to_string()
    } else {
        e.outcome.as_str().to_string()
    };
    if e.reason.is_empty() {
        format!("{name}: {what}")
    } else {
        format!("{name}: {what}: {}", e.reason)
    }
}

/// One trial's badge: a link to its output.txt when it ran.
fn badge(ctx: &Ctx, r: &Results, key: (&str, &str, &str), label: &str, e: &Entry) -> String {
    let (s, c, t) = key;
    let name = crate::plan::trial_name(r.protocol, s, c, t);
    let attrs = format!(
        "class=\"t {}\" title=\"{}\" data-trial=\"{}\" data-outcome=\"{}\"",
        class(e),
        esc(&title(&name, e)),
        esc(&name),
        if e.flaky { "flaky" } else { e.outcome.as_str() }
    );
    match ctx.record(r, s, c, t) {
        // The record's own outcome: a trial that ran keeps its logs even
        // when the auto-unsupported rule shows it as unsupported.
        Some(rec) if rec.outcome != Outcome::Unsupported => format!(
            "<a {attrs} href=\"{}\">{}</a>",
            href(&format!("{}/output.txt", ctx.trial_dir(rec))),
            esc(label)
        ),
        _ => format!("<span {attrs}>{}</span>", esc(label)),
    }
}

fn matrix(ctx: &Ctx, r: &Results, measurements: bool, out: &mut String) {
    let absent: Vec<String> = r.not_run().into_iter().map(|n| n.name).collect();
    let columns = if measurements {
        &r.measurements
    } else {
        &r.tests
    };
    let any = |s: &str, c: &str| columns.iter().any(|t| r.get(s, c, &t.name).is_some());
    let servers: Vec<&String> = r
        .servers
        .iter()
        .filter(|s| !absent.contains(s) && r.clients.iter().any(|c| any(s, c)))
        .collect();
    let clients: Vec<&String> = r
        .clients
        .iter()
        .filter(|c| !absent.contains(c) && r.servers.iter().any(|s| any(s, c)))
        .collect();
    if columns.is_empty() || servers.is_empty() || clients.is_empty() {
        return;
    }
    let kind = if measurements {
        "measurements"
    } else {
        "tests"
    };
    let _ =
        write!(
        out,
        "<h3>{}</h3>\n<table class=\"matrix\" id=\"{kind}-{}\">\n<tr><th>client ↓ server →</th>",
        if measurements { "Measurements" } else { "Tests" },
        r.protocol
    );
    for s in &servers {
        let _ = write!(out, "<th>{}</th>", esc(s));
    }
    out.push_str("</tr>\n");
    for c in &clients {
        let _ = write!(out, "<tr><th>{}</th>", esc(c));
        for s in &servers {
            out.push_str("<td>");
            let mut pair_dir = None;
            for t in columns.iter() {
                let Some(e) = r.get(s, c, &t.name) else {
                    continue;
                };
                let label = match (&e.outcome, measurements) {
                    (Outcome::Succeeded, true) => format!("{}: {}", t.abbr, e.details),
                    _ => t.abbr.clone(),
                };
                out.push_str(&badge(ctx, r, (s, c, &t.name), &label, e));
                let ran = ctx
                    .record(r, s, c, &t.name)
                    .filter(|rec| rec.outcome != Outcome::Unsupported);
                pair_dir = pair_dir.or(ran);
            }
            if let Some(rec) = pair_dir {
                let dir = ctx.trial_dir(rec);
                let parent = dir.rsplit_once('/').map_or(dir.as_str(), |(p, _)| p);
                let _ = write!(out, "<a class=\"dir\" href=\"{}/\">logs</a>", href(parent));
            }
            out.push_str("</td>");
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</table>\n");
}

/// Trials that failed, were unsupported or flaky; those of implementations
/// that never ran are in their own list.
fn problems(ctx: &Ctx, r: &Results, out: &mut String) {
    let absent: Vec<String> = r.not_run().into_iter().map(|n| n.name).collect();
    let rows: Vec<(String, String, String, &Entry)> = r
        .trial_keys()
        .into_iter()
        .filter(|(s, c, _)| !absent.contains(s) && !absent.contains(c))
        .filter_map(|(s, c, t)| {
            let e = r.get(&s, &c, &t)?;
            (e.outcome != Outcome::Succeeded || e.flaky).then_some((s, c, t, e))
        })
        .collect();
    if rows.is_empty() {
        return;
    }
    let _ = write!(
        out,
        "<h3>Trials that did not simply pass ({})</h3>\n<table class=\"problems\">\n\
         <tr><th>trial</th><th>outcome</th><th>reason</th><th>logs</th></tr>\n",
        rows.len()
    );
    for (s, c, t, e) in rows {
        let name = crate::plan::trial_name(r.protocol, &s, &c, &t);
        let mut reason = e.reason.clone();
        let rec = ctx.record(r, &s, &c, &t);
        if let Some(rec) = rec.filter(|_| e.flaky) {
            reason = format!("earlier attempts: {}", rec.earlier_failures.join(" | "));
        }
        let links = match rec {
            Some(rec) if rec.outcome != Outcome::Unsupported => {
                let dir = ctx.trial_dir(rec);
                format!(
                    "<a href=\"{}\">output.txt</a> <a href=\"{}/\">directory</a>",
                    href(&format!("{dir}/output.txt")),
                    href(&dir)
                )
            }
            _ => String::new(),
        };
        let _ = writeln!(
            out,
            "<tr id=\"{}\"><td>{}</td><td><span class=\"t {}\">{}</span></td><td class=\"reason\">{}</td><td>{links}</td></tr>",
            esc(&name),
            esc(&name),
            class(e),
            if e.flaky { "flaky" } else { e.outcome.as_str() },
            esc(&reason)
        );
    }
    out.push_str("</table>\n");
}

fn not_run(r: &Results, out: &mut String) {
    let absent = r.not_run();
    if absent.is_empty() {
        return;
    }
    let _ = write!(
        out,
        "<h3>Not run ({})</h3>\n<ul class=\"not-run\">\n",
        absent.len()
    );
    for n in absent {
        let _ = writeln!(
            out,
            "<li><b>{}</b> ({}): <span class=\"reason\">{}</span></li>",
            esc(&n.name),
            n.roles,
            esc(n.why())
        );
    }
    out.push_str("</ul>\n");
}

fn time_text(epoch: f64) -> String {
    let Ok(t) = time::OffsetDateTime::from_unix_timestamp(epoch as i64) else {
        return format!("{epoch:.0}");
    };
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
        t.year(),
        t.month() as u8,
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

fn metadata(results: &[Results], records: &[TrialRecord], log_dir: &Path, out: &mut String) {
    let start = results
        .iter()
        .map(|r| r.start_time)
        .fold(f64::INFINITY, f64::min);
    let end = results.iter().map(|r| r.end_time).fold(0.0, f64::max);
    let count = |o: Outcome| records.iter().filter(|r| r.outcome == o).count();
    let flaky = records.iter().filter(|r| r.is_flaky()).count();
    let rows = [
        ("started", time_text(start)),
        ("ended", time_text(end)),
        ("duration", format!("{:.0} s", (end - start).max(0.0))),
        ("log directory", log_dir.display().to_string()),
        (
            "trials",
            format!(
                "{} run: {} succeeded ({flaky} of them flaky), {} failed, {} unsupported",
                records.len(),
                count(Outcome::Succeeded),
                count(Outcome::Failed),
                count(Outcome::Unsupported)
            ),
        ),
        (
            "runner",
            format!("interop-runner {}", env!("CARGO_PKG_VERSION")),
        ),
    ];
    out.push_str("<table class=\"meta\">\n");
    for (k, v) in rows {
        let _ = writeln!(out, "<tr><th>{k}</th><td>{}</td></tr>", esc(&v));
    }
    out.push_str("</table>\n");
    out.push_str(
        "<p class=\"legend\"><span class=\"t succeeded\">succeeded</span><span class=\"t failed\">failed</span>\
         <span class=\"t unsupported\">unsupported</span><span class=\"t flaky\">flaky (passed on a retry)</span> \
         Hover over a trial for its reason; click it for its output.txt.</p>\n",
    );
}

fn images(records: &[TrialRecord], out: &mut String) {
    let mut ids: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for r in records {
        for (role, id) in &r.images {
            let name = if role == "server" {
                &r.server
            } else {
                &r.client
            };
            ids.entry(name.as_str()).or_default().insert(id.as_str());
        }
    }
    if ids.is_empty() {
        return;
    }
    out.push_str("<h2>Images</h2>\n<table class=\"images\">\n<tr><th>implementation</th><th>image ID</th></tr>\n");
    for (name, set) in ids {
        let list: Vec<String> = set.into_iter().map(esc).collect();
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td><code>{}</code></td></tr>",
            esc(name),
            list.join("<br>")
        );
    }
    out.push_str("</table>\n");
}

/// The report as one HTML document; links are relative to `report_dir`.
pub fn render_html(
    results: &[Results],
    records: &[TrialRecord],
    log_dir: &Path,
    report_dir: &Path,
) -> String {
    let ctx = Ctx {
        by_key: index(records),
        to_logs: relative(report_dir, log_dir),
    };
    let mut out = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>interop-runner results</title>\n<style>{STYLE}</style>\n</head>\n<body>\n\
         <h1>Interop results</h1>\n"
    );
    metadata(results, records, log_dir, &mut out);
    for r in results {
        let _ = writeln!(out, "<h2 id=\"{0}\">{0}</h2>", r.protocol);
        matrix(&ctx, r, false, &mut out);
        matrix(&ctx, r, true, &mut out);
        not_run(r, &mut out);
        problems(&ctx, r, &mut out);
    }
    images(records, &mut out);
    out.push_str("</body>\n</html>\n");
    out
}

pub fn write_html(
    results: &[Results],
    records: &[TrialRecord],
    log_dir: &Path,
    path: &Path,
) -> Result<(), ReportError> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let text = render_html(results, records, log_dir, &dir);
    std::fs::write(path, text).map_err(|source| ReportError::Write {
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tests::{record, small_results};

    #[test]
    fn relative_links_from_the_report_to_the_logs() {
        assert_eq!(relative(Path::new("/a/b"), Path::new("/a/b/logs")), "logs");
        assert_eq!(
            relative(Path::new("/a/b"), Path::new("/a/c/logs")),
            "../c/logs"
        );
        assert_eq!(relative(Path::new("/a/b"), Path::new("/a/b")), ".");
        assert_eq!(href("x y/#1/ü"), "x%20y/%231/%C3%BC");
    }

    #[test]
    fn flaky_trials_are_orange_with_their_earlier_failures() {
        let mut r = small_results(&["quic-go"], &["aioquic"], "handshake");
        let mut rec = record("quic-go", "aioquic", "handshake", Outcome::Succeeded);
        rec.earlier_failures = vec!["the client exited with code 1".into()];
        r.insert(&rec);
        let html = render_html(&[r], &[rec], Path::new("/l"), Path::new("/l"));
        assert!(html.contains("class=\"t flaky\""), "{html}");
        assert!(html.contains("data-outcome=\"flaky\""), "{html}");
        assert!(
            html.contains("earlier attempts: the client exited with code 1"),
            "{html}"
        );
    }

    #[test]
    fn names_and_reasons_cannot_inject_markup() {
        let mut r = small_results(&["quic-go"], &["aioquic"], "handshake");
        let mut rec = record("quic-go", "aioquic", "handshake", Outcome::Failed);
        rec.reason = "<script>alert(1)</script> \"quoted\" \x1b[31m".into();
        r.insert(&rec);
        let html = render_html(&[r], &[rec], Path::new("/l"), Path::new("/l"));
        assert!(!html.contains("<script>"), "{html}");
        assert!(
            html.contains("&lt;script&gt;alert(1)&lt;/script&gt; &quot;quoted&quot; \\u{1b}[31m")
        );
        assert!(
            html.contains("href=\"./quic-go_aioquic/handshake/output.txt\""),
            "{html}"
        );
    }
}
