//! Throughput of decode + decrypt against tshark producing the same fields.
//! `cargo run --release -p quic-trace --example bench -- CAPTURE KEYLOG`
//! (docs/trace.md says how to make the 10 MiB capture.)

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use quic_trace::{analyze, KeyLog, Options};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [capture, keys] = &args[..] else {
        eprintln!("usage: bench CAPTURE KEYLOG");
        std::process::exit(2);
    };
    let bytes =
        std::fs::read(capture).unwrap_or_else(|e| fail(&format!("cannot read {capture}: {e}")));
    let keylog =
        KeyLog::from_files(&[PathBuf::from(keys)]).unwrap_or_else(|e| fail(&e.to_string()));
    let mut best = Duration::MAX;
    let mut packets = 0;
    let mut decrypted = 0;
    for _ in 0..20 {
        let start = Instant::now();
        let trace =
            analyze(&bytes, &keylog, &Options::default()).unwrap_or_else(|e| fail(&e.to_string()));
        best = best.min(start.elapsed());
        packets = trace.packets.len();
        decrypted = trace.packets.iter().filter(|p| p.decrypted).count();
    }
    let mb = bytes.len() as f64 / 1e6;
    println!("capture: {capture} ({mb:.1} MB), {packets} QUIC packets, {decrypted} decrypted");
    println!(
        "quic-trace: {:>9.4} s  {:>8.1} MB/s (best of 20, decode + decrypt + frames + TLS)",
        best.as_secs_f64(),
        mb / best.as_secs_f64()
    );
    // As a user runs it: read the file (from the page cache) and analyse it.
    let mut end_to_end = Duration::MAX;
    for _ in 0..20 {
        let start = Instant::now();
        let data =
            std::fs::read(capture).unwrap_or_else(|e| fail(&format!("cannot read {capture}: {e}")));
        let trace =
            analyze(&data, &keylog, &Options::default()).unwrap_or_else(|e| fail(&e.to_string()));
        end_to_end = end_to_end.min(start.elapsed());
        std::hint::black_box(trace.packets.len());
    }
    println!(
        "  with file read: {:>9.4} s  {:>8.1} MB/s",
        end_to_end.as_secs_f64(),
        mb / end_to_end.as_secs_f64()
    );
    let mut tshark_best = Duration::MAX;
    let mut tshark_pns = 0;
    for _ in 0..3 {
        let start = Instant::now();
        match run_tshark(capture, keys) {
            Ok(pns) => {
                tshark_best = tshark_best.min(start.elapsed());
                tshark_pns = pns;
            }
            Err(why) => {
                println!("tshark not compared: {why}");
                return;
            }
        }
    }
    let t = tshark_best.as_secs_f64();
    println!("tshark:     {t:>9.4} s  {:>8.1} MB/s (best of 3, {tshark_pns} packet numbers, same fields)", mb / t);
    println!(
        "speed-up: {:.0}x (in memory), {:.0}x (with file read)",
        t / best.as_secs_f64(),
        t / end_to_end.as_secs_f64()
    );
}

/// Runs tshark over the capture for the same fields; returns how many packet numbers
/// it printed.
fn run_tshark(capture: &str, keys: &str) -> Result<usize, String> {
    let out = Command::new("tshark")
        .args([
            "-r",
            capture,
            "-o",
            &format!("tls.keylog_file:{keys}"),
            "-Y",
            "quic",
        ])
        .args([
            "-T",
            "fields",
            "-E",
            "occurrence=a",
            "-e",
            "frame.number",
            "-e",
            "quic.long.packet_type",
        ])
        .args([
            "-e",
            "quic.packet_number",
            "-e",
            "quic.key_phase",
            "-e",
            "quic.frame_type",
        ])
        .output()
        .map_err(|e| format!("cannot run tshark: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "tshark failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    Ok(text
        .lines()
        .map(|l| {
            l.split('\t')
                .nth(2)
                .map_or(0, |f| f.split(',').filter(|s| !s.is_empty()).count())
        })
        .sum())
}

fn fail(why: &str) -> ! {
    eprintln!("error: {why}");
    std::process::exit(1);
}
