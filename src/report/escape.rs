//! Text from outside the runner (implementation names from a registry
//! file, reasons quoting an endpoint's console) is shown on terminals and
//! in Markdown; a control character or a bidirectional override there
//! could move the cursor, clear the screen or reorder what people read.
//! These functions make such characters visible instead.

use std::borrow::Cow;
use std::fmt::Write;

/// Characters that change how a terminal or a renderer lays out the text
/// around them: C0/C1 controls, DEL, and the bidirectional embeddings,
/// overrides and isolates.
fn is_garbling(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// The text with every garbling character written as a Rust escape
/// (`\u{1b}`, `\n`), so one line stays one line and colours stay ours.
pub fn terminal(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_garbling) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if is_garbling(c) {
            let _ = write!(out, "{}", c.escape_default());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// For a Markdown table cell: escaped as for a terminal, and the characters
/// that would end the cell or start HTML written as entities.
pub fn markdown(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in terminal(text).chars() {
        match c {
            '|' => out.push_str("\\|"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '`' => out.push_str("\\`"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_and_bidi_overrides_become_visible() {
        assert_eq!(terminal("quic-go"), "quic-go");
        assert!(matches!(terminal("plain"), Cow::Borrowed(_)));
        assert_eq!(terminal("a\x1b[2Jb"), "a\\u{1b}[2Jb");
        assert_eq!(terminal("line\r\nnext\t"), "line\\r\\nnext\\t");
        assert_eq!(terminal("x\u{202e}y\u{7f}"), "x\\u{202e}y\\u{7f}");
        assert_eq!(terminal("✓ ± ü"), "✓ ± ü");
    }

    #[test]
    fn markdown_cells_cannot_be_broken_out_of() {
        assert_eq!(markdown("a|b<br>`c`&\n"), "a\\|b&lt;br&gt;\\`c\\`&amp;\\n");
    }
}
