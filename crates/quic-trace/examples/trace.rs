//! Stand-in for `interop-runner trace` until the CLI wires it:
//! `cargo run -p quic-trace --example trace -- [--json] [--keylog FILE]... FILE...`

use std::path::PathBuf;

fn main() {
    let mut pcaps: Vec<PathBuf> = Vec::new();
    let mut keylogs: Vec<PathBuf> = Vec::new();
    let mut json = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--json" => json = true,
            "--keylog" => keylogs.extend(args.next().map(PathBuf::from)),
            _ => pcaps.push(PathBuf::from(arg)),
        }
    }
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    match quic_trace::run_trace_command(&pcaps, &keylogs, json, &mut out) {
        Ok(warnings) => {
            for w in warnings {
                eprintln!("warning: {w}");
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}
