//! The interop matrix: rows are clients, columns servers; each cell lists
//! the test abbreviations per outcome (✓ succeeded, ? unsupported, ✕ failed).

use super::{escape, Results};
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

/// Where a line may break: after a comma, or at a space (which is dropped).
fn tokens(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut from = 0;
    for (i, c) in text.char_indices() {
        if c == ',' {
            out.push(&text[from..=i]);
            from = i + 1;
        } else if c == ' ' && !text[..i].ends_with('±') {
            if from < i {
                out.push(&text[from..i]);
            }
            out.push(" ");
            from = i + 1;
        }
    }
    if from < text.len() {
        out.push(&text[from..]);
    }
    out
}

/// Wraps `text` into lines of at most `width` characters; continuation
/// lines are indented by two spaces. A word longer than a line is cut.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(4);
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for tok in tokens(text) {
        let len = line.chars().count();
        let tlen = tok.chars().count();
        if tok == " " {
            if len > 0 && len < width {
                line.push(' ');
            }
            continue;
        }
        if len + tlen > width && !line.trim().is_empty() {
            lines.push(line.trim_end().to_string());
            line = "  ".to_string();
        }
        for c in tok.chars() {
            if line.chars().count() >= width {
                lines.push(std::mem::replace(&mut line, "  ".to_string()));
            }
            line.push(c);
        }
    }
    if !line.trim().is_empty() {
        lines.push(line.trim_end().to_string());
    }
    lines
}

/// A cell's pieces: text and the outcome that colours it.
type Pieces = Vec<(String, Outcome)>;

/// The pieces of a test cell: one per outcome that occurs, e.g. `✓(H,DC)`;
/// trials that passed only on a retry are listed apart as flaky (`~`).
fn test_cell(r: &Results, server: &str, client: &str) -> Pieces {
    let groups = [
        (Outcome::Succeeded, false, Outcome::Succeeded.symbol()),
        (Outcome::Succeeded, true, FLAKY_SYMBOL),
        (Outcome::Unsupported, false, Outcome::Unsupported.symbol()),
        (Outcome::Failed, false, Outcome::Failed.symbol()),
    ];
    groups
        .into_iter()
        .filter_map(|(o, flaky, symbol)| {
            let abbrs: Vec<String> = r
                .tests
                .iter()
                .filter(|t| {
                    r.get(server, client, &t.name)
                        .is_some_and(|e| e.outcome == o && e.flaky == flaky)
                })
                .map(|t| escape::terminal(&t.abbr).into_owned())
                .collect();
            (!abbrs.is_empty()).then(|| (format!("{symbol}({})", abbrs.join(",")), o))
        })
        .collect()
}

/// Marks trials that passed only on a retry.
pub const FLAKY_SYMBOL: &str = "~";

/// The pieces of a measurement cell: `G: 9000 (± 79) kbps`, or the bare
/// abbreviation when it failed or was unsupported.
fn measurement_cell(r: &Results, server: &str, client: &str) -> Pieces {
    r.measurements
        .iter()
        .filter_map(|m| {
            let e = r.get(server, client, &m.name)?;
            let abbr = escape::terminal(&m.abbr);
            let text = match e.outcome {
                Outcome::Succeeded => format!("{abbr}: {}", escape::terminal(&e.details)),
                _ => abbr.into_owned(),
            };
            Some((text, e.outcome))
        })
        .collect()
}

type CellFn = fn(&Results, &str, &str) -> Pieces;

/// A grid: a header row of server names, then one row per client; each
/// cell is its pieces. Implementations that never ran are left out.
struct Grid {
    servers: Vec<String>,
    rows: Vec<(String, Vec<Pieces>)>,
}

fn grid(r: &Results, cell: CellFn) -> Grid {
    let absent: Vec<String> = r.not_run().into_iter().map(|n| n.name).collect();
    let shown = |name: &String| !absent.contains(name);
    let servers: Vec<String> = r
        .servers
        .iter()
        .filter(|s| shown(s) && r.pairs.iter().any(|(ps, _)| ps == *s))
        .cloned()
        .collect();
    let mut rows = Vec::new();
    for client in r
        .clients
        .iter()
        .filter(|c| shown(c) && r.pairs.iter().any(|(_, pc)| pc == *c))
    {
        let cells = servers
            .iter()
            .map(|server| {
                let has_pair = r.pairs.iter().any(|(s, c)| s == server && c == client);
                if has_pair {
                    cell(r, server, client)
                } else {
                    Vec::new()
                }
            })
            .collect();
        rows.push((client.clone(), cells));
    }
    // A client or server without any entry here (a measurement grid of
    // clients that ran only tests) would be an empty row or column.
    rows.retain(|(_, cells): &(String, Vec<Pieces>)| cells.iter().any(|p| !p.is_empty()));
    let keep: Vec<bool> = (0..servers.len())
        .map(|i| rows.iter().any(|(_, cells)| !cells[i].is_empty()))
        .collect();
    for (_, cells) in &mut rows {
        let mut i = 0;
        cells.retain(|_| {
            i += 1;
            keep[i - 1]
        });
    }
    let servers = servers
        .into_iter()
        .zip(&keep)
        .filter_map(|(s, k)| k.then_some(s))
        .collect();
    Grid { servers, rows }
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

/// The narrowest a column is made before the table is split in two.
const MIN_COLUMN: usize = 10;

/// The widest content a server column may have so that a table of `cols`
/// server columns fits `total` columns.
fn column_budget(g: &Grid, cols: usize, total: usize) -> usize {
    let label = g
        .rows
        .iter()
        .map(|(c, _)| escape::terminal(c).chars().count())
        .max()
        .unwrap_or(0);
    let cols = cols.max(1);
    // │ label │ cell │ cell │: 3 per column plus the first bar.
    let room = total.saturating_sub(label + 4 + 3 * cols);
    room / cols
}

impl Grid {
    /// The grid split by server columns into as few tables as keep each
    /// column at least [`MIN_COLUMN`] wide (one column each at worst).
    fn split(self, total: usize) -> Vec<(Grid, usize)> {
        let n = self.servers.len().max(1);
        let per_table = (1..=n)
            .rev()
            .find(|k| column_budget(&self, *k, total) >= MIN_COLUMN)
            .unwrap_or(1);
        let budget = column_budget(&self, per_table, total).max(MIN_COLUMN);
        let mut out = Vec::new();
        for (i, servers) in self.servers.chunks(per_table).enumerate() {
            let from = i * per_table;
            let rows = self
                .rows
                .iter()
                .map(|(c, cells)| (c.clone(), cells[from..from + servers.len()].to_vec()))
                .collect();
            out.push((
                Grid {
                    servers: servers.to_vec(),
                    rows,
                },
                budget,
            ));
        }
        out
    }
}

/// Cells laid out as lines: pieces wrapped to `budget` and painted.
fn lay_out(g: &Grid, budget: usize, colour: bool) -> Vec<Vec<Vec<String>>> {
    let name_lines = |n: &str| wrap(&escape::terminal(n), budget);
    let mut rows = vec![std::iter::once(vec![String::new()])
        .chain(g.servers.iter().map(|s| name_lines(s)))
        .collect::<Vec<_>>()];
    for (client, cells) in &g.rows {
        let mut row = vec![vec![escape::terminal(client).into_owned()]];
        for pieces in cells {
            let lines = pieces
                .iter()
                .flat_map(|(text, o)| wrap(text, budget).into_iter().map(|l| paint(l, *o, colour)))
                .collect();
            row.push(lines);
        }
        rows.push(row);
    }
    rows
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

fn markdown_table(g: &Grid) -> String {
    let cell = |pieces: &Pieces| {
        pieces
            .iter()
            .map(|(t, _)| escape::markdown(t))
            .collect::<Vec<_>>()
            .join("<br>")
    };
    let mut out = format!(
        "|  | {} |\n|{}\n",
        g.servers
            .iter()
            .map(|s| escape::markdown(s))
            .collect::<Vec<_>>()
            .join(" | "),
        "---|".repeat(g.servers.len() + 1)
    );
    for (client, cells) in &g.rows {
        let cells: Vec<String> = cells.iter().map(cell).collect();
        out.push_str(&format!(
            "| {} | {} |\n",
            escape::markdown(client),
            cells.join(" | ")
        ));
    }
    out
}

/// One line per implementation that never ran, wrapped to `total`.
fn not_run_lines(r: &Results, total: usize) -> String {
    let absent = r.not_run();
    if absent.is_empty() {
        return String::new();
    }
    let mut out = format!("not run ({}):\n", absent.len());
    for n in absent {
        let line = format!(
            "{} ({}): {}",
            escape::terminal(&n.name),
            n.roles,
            escape::terminal(n.why())
        );
        for l in wrap(&line, total.saturating_sub(2)) {
            out.push_str(&format!("  {l}\n"));
        }
    }
    out
}

/// The matrix for a terminal `total` columns wide: boxes, cells wrapped to
/// fit, colour when `colour` is set; implementations that never ran are
/// listed underneath with the reason.
pub fn render_terminal(r: &Results, colour: bool, total: usize) -> String {
    let mut out = String::new();
    for (present, cell) in [
        (!r.tests.is_empty(), test_cell as CellFn),
        (!r.measurements.is_empty(), measurement_cell as CellFn),
    ] {
        let g = grid(r, cell);
        if present && !g.rows.is_empty() && !g.servers.is_empty() {
            for (part, budget) in g.split(total) {
                out.push_str(&box_table(&lay_out(&part, budget, colour)));
            }
        }
    }
    out.push_str(&not_run_lines(r, total));
    out
}

/// The matrix as Markdown tables, cells' lines joined by `<br>`; the
/// implementations that never ran as a list underneath.
pub fn render_markdown(r: &Results) -> String {
    let mut parts = Vec::new();
    if !r.tests.is_empty() {
        parts.push(markdown_table(&grid(r, test_cell)));
    }
    if !r.measurements.is_empty() {
        parts.push(markdown_table(&grid(r, measurement_cell)));
    }
    let absent = r.not_run();
    if !absent.is_empty() {
        let items: Vec<String> = absent
            .iter()
            .map(|n| {
                format!(
                    "- {} ({}): {}\n",
                    escape::markdown(&n.name),
                    n.roles,
                    escape::markdown(n.why())
                )
            })
            .collect();
        parts.push(format!("Not run:\n\n{}", items.concat()));
    }
    parts.join("\n")
}

/// Colour only for a terminal, and never with `NO_COLOR` set.
pub fn colour_for_stdout() -> bool {
    use std::io::IsTerminal;
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

/// Widest a matrix may be: the terminal's width when stdout is one, else
/// `COLUMNS`, else 160.
pub fn screen_width() -> usize {
    use std::io::IsTerminal;
    if std::io::stdout().is_terminal() {
        // SAFETY: TIOCGWINSZ fills the winsize we pass and reads nothing else.
        let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
        let ok = unsafe { libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut ws) } == 0;
        if ok && ws.ws_col >= 40 {
            return usize::from(ws.ws_col);
        }
    }
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<usize>().ok())
        .filter(|c| *c >= 40)
        .unwrap_or(DEFAULT_WIDTH)
}

/// The width a matrix is laid out for when the screen's is not known.
pub const DEFAULT_WIDTH: usize = 160;

/// The matrices of several results (one per protocol), each headed by its
/// protocol when there is more than one.
pub fn render_all(results: &[Results], markdown: bool, colour: bool) -> String {
    render_all_at(results, markdown, colour, screen_width())
}

/// [`render_all`] for a given width.
pub fn render_all_at(results: &[Results], markdown: bool, colour: bool, total: usize) -> String {
    let mut out = String::new();
    for r in results {
        if results.len() > 1 {
            out.push_str(&format!("\n{}:\n", r.protocol));
        }
        out.push_str(&if markdown {
            render_markdown(r)
        } else {
            render_terminal(r, colour, total)
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
            cpu_saturated: Vec::new(),
        });
        r.insert(&g);
        r.insert(&record("ngtcp2", "aioquic", "goodput", Failed));
        r
    }

    #[test]
    fn terminal_matrix_plain() {
        let text = render_terminal(&sample(), false, 160);
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
        let text = render_terminal(&sample(), true, 160);
        assert!(text.contains("\x1b[32m✓(H,DC)\x1b[0m"));
        assert!(text.contains("\x1b[31m✕(S)\x1b[0m"));
        assert!(text.contains("\x1b[90m?(H)\x1b[0m"));
        let widths: Vec<usize> = text.lines().take(6).map(width).collect();
        assert!(widths.iter().all(|w| *w == widths[0]), "{widths:?}");
    }

    #[test]
    fn several_protocols_get_headings_one_does_not() {
        let one = render_all_at(&[sample()], false, false, 160);
        assert_eq!(one, render_terminal(&sample(), false, 160));
        let mut wt = sample();
        wt.protocol = crate::catalog::testcases::Protocol::WebTransport;
        let two = render_all_at(&[sample(), wt], true, false, 160);
        assert!(two.starts_with("\nquic:\n|  | quic-go"), "{two}");
        assert!(two.contains("\nwebtransport:\n"), "{two}");
    }

    #[test]
    fn markdown_matrix() {
        let md = render_markdown(&sample());
        assert!(md.starts_with("|  | quic-go | ngtcp2 |\n|---|---|---|\n| aioquic | ✓(H,DC)<br>✕(S) | ?(H)<br>✕(DC) |\n"), "{md}");
        assert!(md.contains("| aioquic | G: 9050 (± 71) kbps | G |"), "{md}");
    }

    /// The offline default run: every registry implementation selected,
    /// only the locally built ones available, every default test and
    /// measurement with mixed outcomes.
    fn offline_default_run() -> (Results, usize) {
        use crate::catalog::registry::Registry;
        use crate::catalog::testcases::{self, Protocol};
        let reg = Registry::embedded(Protocol::Quic);
        let local = |n: &str| reg.get(n).is_some_and(|i| i.build.is_some());
        let servers: Vec<&str> = reg.servers().into_iter().collect();
        let clients: Vec<&str> = reg.clients().into_iter().collect();
        let cases: Vec<_> = testcases::tests(Protocol::Quic)
            .iter()
            .filter(|t| t.default)
            .chain(testcases::default_measurements(Protocol::Quic))
            .collect();
        let names: Vec<&str> = cases.iter().map(|t| t.name).collect();
        let mut r = small_results(&servers, &clients, &names.join(","));
        let mut absent = 0;
        for n in reg.names() {
            absent += usize::from(!local(n));
        }
        for (i, t) in cases.iter().enumerate() {
            for (j, s) in servers.iter().enumerate() {
                for (k, c) in clients.iter().enumerate() {
                    let o = match (i + j + k) % 5 {
                        0 => Outcome::Failed,
                        1 => Outcome::Unsupported,
                        _ => Outcome::Succeeded,
                    };
                    let mut rec = record(s, c, t.name, o);
                    if !local(s) || !local(c) {
                        let who = if local(s) { c } else { s };
                        rec.outcome = Outcome::Unsupported;
                        rec.unavailable = Some(who.to_string());
                        rec.reason = format!("{who} (server): image {who}:latest is not available locally and cannot be pulled: no registry");
                    } else if t.is_measurement() && o == Outcome::Succeeded {
                        rec.measurement = Some(MeasurementValue {
                            values: vec![9100.0, 8800.0, 9455.0],
                            unit: "kbps".into(),
                            cpu_saturated: Vec::new(),
                        });
                    }
                    r.insert(&rec);
                }
            }
        }
        (r, absent)
    }

    #[test]
    fn offline_default_run_fits_160_columns_and_lists_absent_implementations_once() {
        let (r, absent) = offline_default_run();
        if let Some(w) = std::env::var_os("SHOW_MATRIX") {
            let w = w.to_str().and_then(|w| w.parse().ok()).unwrap_or(160);
            eprintln!("{}", render_terminal(&r, false, w));
        }
        assert!(
            absent > 0,
            "the registry has implementations without a local build"
        );
        for total in [160, 120, 100, 80] {
            let text = render_terminal(&r, true, total);
            let widest = text.lines().map(width).max().unwrap();
            assert!(widest <= total, "{widest} > {total}:\n{text}");
            let listed = text
                .lines()
                .skip_while(|l| !l.starts_with("not run"))
                .filter(|l| !l.starts_with("   "))
                .count();
            assert_eq!(listed, absent + 1, "{text}");
        }
        let text = render_terminal(&r, false, 160);
        for n in r.not_run() {
            let header = text.lines().nth(1).unwrap();
            assert!(!header.contains(&format!(" {} ", n.name)), "{header}");
            assert_eq!(text.matches(&format!("  {} (", n.name)).count(), 1);
        }
        // every local pair's cell is in the table: 8 or 9 local names
        assert!(text.lines().nth(1).unwrap().contains("quic-go"));
        let md = render_markdown(&r);
        assert!(md.contains("Not run:\n\n- "), "{md}");
        assert!(!md.lines().next().unwrap().contains(&r.not_run()[0].name));
    }

    #[test]
    fn control_characters_in_names_and_reasons_are_escaped() {
        let mut r = small_results(&["quic-go", "ngtcp2"], &["aioquic"], "handshake");
        r.servers[1] = "evil\x1b[2J\u{202e}".to_string();
        r.pairs[1].0 = r.servers[1].clone();
        let mut rec = record(
            &r.servers[1].clone(),
            "aioquic",
            "handshake",
            Outcome::Unsupported,
        );
        rec.unavailable = Some(r.servers[1].clone());
        rec.reason = "pull failed:\r\n\x1b[31mdenied | <b>".into();
        r.insert(&rec);
        let mut rec = record("quic-go", "aioquic", "handshake", Outcome::Succeeded);
        rec.abbr = "H\x07".into();
        r.insert(&rec);
        r.tests[0].abbr = "H\x07".into();
        let text = render_terminal(&r, false, 160);
        assert!(
            !text
                .chars()
                .any(|c| c.is_control() && c != '\n' || c == '\u{202e}'),
            "{text:?}"
        );
        assert!(
            text.contains("evil\\u{1b}[2J\\u{202e} (server): pull failed:\\r\\n\\u{1b}[31mdenied"),
            "{text}"
        );
        assert!(text.contains("✓(H\\u{7})"), "{text}");
        let md = render_markdown(&r);
        assert!(!md.contains('\x1b') && !md.contains('\r'), "{md:?}");
        assert!(md.contains("denied \\| &lt;b&gt;"), "{md}");
    }

    #[test]
    fn flaky_trials_are_listed_apart() {
        let mut r = small_results(&["quic-go"], &["aioquic"], "handshake,transfer");
        let mut flaky = record("quic-go", "aioquic", "transfer", Outcome::Succeeded);
        flaky.earlier_failures = vec!["timed out".into()];
        r.insert(&record(
            "quic-go",
            "aioquic",
            "handshake",
            Outcome::Succeeded,
        ));
        r.insert(&flaky);
        let text = render_terminal(&r, false, 160);
        assert!(
            text.contains("│ ✓(H)    │") && text.contains("│ ~(DC)   │"),
            "{text}"
        );
        assert!(render_markdown(&r).contains("✓(H)<br>~(DC)"));
    }

    #[test]
    fn long_cells_wrap_at_commas_and_spaces() {
        assert_eq!(wrap("✓(H,DC,LR,C20,M,S)", 10), ["✓(H,DC,LR,", "  C20,M,S)"]);
        assert_eq!(
            wrap("G: 9050 (± 71) kbps", 12),
            ["G: 9050", "  (± 71)", "  kbps"]
        );
        assert_eq!(wrap("abcdefghij", 6), ["abcdef", "  ghij"]);
        assert_eq!(wrap("short", 10), ["short"]);
    }
}
