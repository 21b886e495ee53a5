//! The interop matrix: rows are clients, columns servers; each cell lists
//! the test abbreviations per outcome (✓ succeeded, ? unsupported, ✕ failed).

use super::Results;
use crate::outcome::Outcome;

const GREEN: &str = "\x1b[32m";
const GREY: &str = "\x1b[90m";
const RED: &str = "\x1b[31m";
const RESET: &str = "\x1b[0m";

fn colour(o: Outcome) -> &'static str {
    match o {
        Outcome::Succeeded => GREEN,
        Outcome::Unsupported => GREY,
        Outcome::Failed => RED,
    }
}

fn paint(text: String, o: Outcome, on: bool) -> String {
    if on {
        format!("{}{text}{RESET}", colour(o))
    } else {
        text
    }
}

/// The lines of a test cell: one per outcome that occurs, e.g. `✓(H,DC)`.
fn test_cell(r: &Results, server: &str, client: &str, colour: bool) -> Vec<String> {
    [Outcome::Succeeded, Outcome::Unsupported, Outcome::Failed]
        .into_iter()
        .filter_map(|o| {
            let abbrs: Vec<&str> = r
                .tests
                .iter()
                .filter(|t| {
                    r.get(server, client, &t.name)
                        .is_some_and(|e| e.outcome == o)
                })
                .map(|t| t.abbr.as_str())
                .collect();
            (!abbrs.is_empty())
                .then(|| paint(format!("{}({})", o.symbol(), abbrs.join(",")), o, colour))
        })
        .collect()
}

/// The lines of a measurement cell: `G: 9000 (± 79) kbps`, or the bare
/// abbreviation when it failed or was unsupported.
fn measurement_cell(r: &Results, server: &str, client: &str, colour: bool) -> Vec<String> {
    r.measurements
        .iter()
        .filter_map(|m| {
            let e = r.get(server, client, &m.name)?;
            let text = match e.outcome {
                Outcome::Succeeded => format!("{}: {}", m.abbr, e.details),
                _ => m.abbr.clone(),
            };
            Some(paint(text, e.outcome, colour))
        })
        .collect()
}

type CellFn = fn(&Results, &str, &str, bool) -> Vec<String>;

/// Rows of cells: header first, then one per client; a cell is its lines.
fn grid(r: &Results, cell: CellFn, colour: bool) -> Vec<Vec<Vec<String>>> {
    let servers: Vec<&String> = r
        .servers
        .iter()
        .filter(|s| r.pairs.iter().any(|(ps, _)| ps == *s))
        .collect();
    let mut rows = vec![std::iter::once(vec![String::new()])
        .chain(servers.iter().map(|s| vec![s.to_string()]))
        .collect::<Vec<_>>()];
    for client in r
        .clients
        .iter()
        .filter(|c| r.pairs.iter().any(|(_, pc)| pc == *c))
    {
        let mut row = vec![vec![client.clone()]];
        for server in &servers {
            let has_pair = r.pairs.iter().any(|(s, c)| s == *server && c == client);
            row.push(if has_pair {
                cell(r, server, client, colour)
            } else {
                Vec::new()
            });
        }
        rows.push(row);
    }
    rows
}

/// Display width, not counting colour escapes (every symbol used is one
/// column wide).
fn width(s: &str) -> usize {
    let mut n = 0;
    let mut in_escape = false;
    for ch in s.chars() {
        match (in_escape, ch) {
            (false, '\x1b') => in_escape = true,
            (true, 'm') => in_escape = false,
            (true, _) => {}
            (false, _) => n += 1,
        }
    }
    n
}

fn box_table(rows: &[Vec<Vec<String>>]) -> String {
    let cols = rows.first().map_or(0, Vec::len);
    let widths: Vec<usize> = (0..cols)
        .map(|c| {
            rows.iter()
                .flat_map(|r| r[c].iter().map(|l| width(l)))
                .max()
                .unwrap_or(0)
        })
        .collect();
    let rule = |l: &str, m: &str, r: &str| {
        let parts: Vec<String> = widths.iter().map(|w| "─".repeat(w + 2)).collect();
        format!("{l}{}{r}\n", parts.join(m))
    };
    let mut out = rule("┌", "┬", "┐");
    for (i, row) in rows.iter().enumerate() {
        let height = row.iter().map(Vec::len).max().unwrap_or(0).max(1);
        for line in 0..height {
            out.push('│');
            for (c, cell) in row.iter().enumerate() {
                let text = cell.get(line).map(String::as_str).unwrap_or("");
                out.push_str(&format!(" {text}{} │", " ".repeat(widths[c] - width(text))));
            }
            out.push('\n');
        }
        out.push_str(&if i + 1 == rows.len() {
            rule("└", "┴", "┘")
        } else {
            rule("├", "┼", "┤")
        });
    }
    out
}

fn markdown_table(rows: &[Vec<Vec<String>>]) -> String {
    let mut out = String::new();
    for (i, row) in rows.iter().enumerate() {
        let cells: Vec<String> = row.iter().map(|c| c.join("<br>")).collect();
        out.push_str(&format!("| {} |\n", cells.join(" | ")));
        if i == 0 {
            out.push_str(&format!("|{}\n", "---|".repeat(row.len())));
        }
    }
    out
}

/// The matrix for a terminal: boxes, and colour when `colour` is set.
pub fn render_terminal(r: &Results, colour: bool) -> String {
    let mut out = String::new();
    if !r.tests.is_empty() {
        out.push_str(&box_table(&grid(r, test_cell, colour)));
    }
    if !r.measurements.is_empty() {
        out.push_str(&box_table(&grid(r, measurement_cell, colour)));
    }
    out
}

/// The matrix as Markdown tables, cells' lines joined by `<br>`.
pub fn render_markdown(r: &Results) -> String {
    let mut parts = Vec::new();
    if !r.tests.is_empty() {
        parts.push(markdown_table(&grid(r, test_cell, false)));
    }
    if !r.measurements.is_empty() {
        parts.push(markdown_table(&grid(r, measurement_cell, false)));
    }
    parts.join("\n")
}

/// Colour only for a terminal, and never with `NO_COLOR` set.
pub fn colour_for_stdout() -> bool {
    use std::io::IsTerminal;
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

/// The matrices of several results (one per protocol), each headed by its
/// protocol when there is more than one.
pub fn render_all(results: &[Results], markdown: bool, colour: bool) -> String {
    let mut out = String::new();
    for r in results {
        if results.len() > 1 {
            out.push_str(&format!("\n{}:\n", r.protocol));
        }
        out.push_str(&if markdown {
            render_markdown(r)
        } else {
            render_terminal(r, colour)
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::MeasurementValue;
    use crate::report::tests::{record, small_results};

    fn sample() -> Results {
        let mut r = small_results(
            &["quic-go", "ngtcp2"],
            &["aioquic"],
            "handshake,transfer,retry,goodput",
        );
        use Outcome::*;
        r.insert(&record("quic-go", "aioquic", "handshake", Succeeded));
        r.insert(&record("quic-go", "aioquic", "transfer", Succeeded));
        r.insert(&record("quic-go", "aioquic", "retry", Failed));
        r.insert(&record("ngtcp2", "aioquic", "handshake", Unsupported));
        r.insert(&record("ngtcp2", "aioquic", "transfer", Failed));
        let mut g = record("quic-go", "aioquic", "goodput", Succeeded);
        g.measurement = Some(MeasurementValue {
            values: vec![9000.0, 9100.0],
            unit: "kbps".into(),
        });
        r.insert(&g);
        r.insert(&record("ngtcp2", "aioquic", "goodput", Failed));
        r
    }

    #[test]
    fn terminal_matrix_plain() {
        let text = render_terminal(&sample(), false);
        let expected = "\
┌─────────┬─────────┬────────┐
│         │ quic-go │ ngtcp2 │
├─────────┼─────────┼────────┤
│ aioquic │ ✓(H,DC) │ ?(H)   │
│         │ ✕(S)    │ ✕(DC)  │
└─────────┴─────────┴────────┘
┌─────────┬─────────────────────┬────────┐
│         │ quic-go             │ ngtcp2 │
├─────────┼─────────────────────┼────────┤
│ aioquic │ G: 9050 (± 71) kbps │ G      │
└─────────┴─────────────────────┴────────┘
";
        assert_eq!(text, expected);
        assert!(!text.contains('\x1b'));
    }

    #[test]
    fn terminal_matrix_colour_keeps_alignment() {
        let text = render_terminal(&sample(), true);
        assert!(text.contains("\x1b[32m✓(H,DC)\x1b[0m"));
        assert!(text.contains("\x1b[31m✕(S)\x1b[0m"));
        assert!(text.contains("\x1b[90m?(H)\x1b[0m"));
        let widths: Vec<usize> = text.lines().take(6).map(width).collect();
        assert!(widths.iter().all(|w| *w == widths[0]), "{widths:?}");
    }

    #[test]
    fn several_protocols_get_headings_one_does_not() {
        let one = render_all(&[sample()], false, false);
        assert_eq!(one, render_terminal(&sample(), false));
        let mut wt = sample();
        wt.protocol = crate::catalog::testcases::Protocol::WebTransport;
        let two = render_all(&[sample(), wt], true, false);
        assert!(two.starts_with("\nquic:\n|  | quic-go"), "{two}");
        assert!(two.contains("\nwebtransport:\n"), "{two}");
    }

    #[test]
    fn markdown_matrix() {
        let md = render_markdown(&sample());
        assert!(md.starts_with("|  | quic-go | ngtcp2 |\n|---|---|---|\n| aioquic | ✓(H,DC)<br>✕(S) | ?(H)<br>✕(DC) |\n"), "{md}");
        assert!(md.contains("| aioquic | G: 9050 (± 71) kbps | G |"), "{md}");
    }
}
