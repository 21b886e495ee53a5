//! The `interop-runner trace` command: analyse captures and print their packets.

use std::io::Write;
use std::path::PathBuf;

use crate::decoder::{analyze, Options};
use crate::error::TraceError;
use crate::keylog::KeyLog;
use crate::output;

/// Analyses each capture with the merged key logs and writes its packets to `out`
/// (JSON lines or text). Returns warnings for the user (truncated captures,
/// connections the key logs do not cover).
pub fn run_trace_command(
    pcaps: &[PathBuf],
    keylogs: &[PathBuf],
    json: bool,
    out: &mut dyn Write,
) -> Result<Vec<String>, TraceError> {
    run_trace_command_with(pcaps, keylogs, json, &Options::default(), out)
}

/// [`run_trace_command`] with what the caller knows about the capture (for a
/// `--server ADDR` option: which address is the server).
pub fn run_trace_command_with(
    pcaps: &[PathBuf],
    keylogs: &[PathBuf],
    json: bool,
    options: &Options,
    out: &mut dyn Write,
) -> Result<Vec<String>, TraceError> {
    let keylog = KeyLog::from_files(keylogs)?;
    let mut warnings = Vec::new();
    for path in pcaps {
        let bytes = wirecap::input::read_bytes(path, wirecap::input::CAPTURE_LIMIT)?;
        let trace = analyze(&bytes, &keylog, options)?;
        let name = path.display().to_string();
        let label = (pcaps.len() > 1).then_some(name.as_str());
        match write_trace(&trace, label, json, out) {
            Ok(()) => {}
            // The reader (`head`, a pager) stopped reading: not an error.
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(warnings),
            Err(e) => return Err(TraceError::Output(e)),
        }
        warnings.extend(trace.warnings.iter().map(|w| format!("{name}: {w}")));
        if !keylogs.is_empty() {
            for (i, c) in trace
                .connections
                .iter()
                .enumerate()
                .filter(|(_, c)| c.decrypted_with_keys == 0)
            {
                let why = if c.keys_found {
                    "the given key logs have secrets for it, but they decrypted none of its packets"
                } else {
                    "the given key logs have no secrets for it"
                };
                warnings.push(format!(
                    "{name}: connection {i} (ODCID {}): {why}, so only its Initial packets were decrypted",
                    c.original_dcid
                ));
            }
        }
    }
    Ok(warnings)
}

fn write_trace(
    trace: &crate::Trace,
    label: Option<&str>,
    json: bool,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    if json {
        return output::write_json(trace, label, out);
    }
    if let Some(l) = label {
        writeln!(out, "== {l}")?;
    }
    output::write_text(trace, out)
}
