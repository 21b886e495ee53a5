//! The runner's own log of a trial (`output.txt`): timestamped lines and
//! the containers' consoles as blocks.

use std::sync::Mutex;
use std::time::Instant;

/// The runner's own log of a trial, written to `output.txt`.
#[derive(Debug)]
pub struct TrialLog {
    start: Instant,
    lines: Mutex<Vec<String>>,
    echo: bool,
}

impl TrialLog {
    pub fn new(echo: bool) -> TrialLog {
        TrialLog {
            start: Instant::now(),
            lines: Mutex::new(Vec::new()),
            echo,
        }
    }

    pub fn line(&self, text: impl AsRef<str>) {
        let line = format!(
            "[{:8.3}s] {}",
            self.start.elapsed().as_secs_f64(),
            text.as_ref()
        );
        if self.echo {
            eprintln!("{}", crate::report::escape::terminal(&line));
        }
        if let Ok(mut l) = self.lines.lock() {
            l.push(line);
        }
    }

    /// A block of text (a container's console) without timestamps.
    pub fn block(&self, title: &str, text: &str) {
        if let Ok(mut l) = self.lines.lock() {
            l.push(format!("---- {title} ----"));
            l.push(text.trim_end().to_string());
            l.push(format!("---- end of {title} ----"));
        }
    }

    /// Takes over another log's lines (a setup made ahead), each marked.
    pub fn adopt(&self, other: &TrialLog, mark: &str) {
        let theirs = other.lines.lock().map(|l| l.clone()).unwrap_or_default();
        if let Ok(mut l) = self.lines.lock() {
            l.extend(theirs.into_iter().map(|line| format!("({mark}) {line}")));
        }
    }

    /// Writes the log to `path` if that file exists already, whole and at
    /// once (written aside, then renamed): lines added after the runner
    /// wrote `output.txt` land there too, and a reader never sees half.
    pub fn rewrite(&self, path: &std::path::Path) {
        if !path.exists() {
            return;
        }
        let aside = path.with_extension(format!("txt.{}", std::process::id()));
        if std::fs::write(&aside, self.text()).is_ok() {
            let _ = std::fs::rename(&aside, path);
        }
    }

    pub fn text(&self) -> String {
        self.lines
            .lock()
            .map(|l| l.join("\n") + "\n")
            .unwrap_or_default()
    }
}
