//! Whole captures: pcap/pcapng framing, link layers, IP/UDP, QUIC headers, Initial
//! decryption attempts. Seeds: fuzz/seeds/capture.
#![no_main]

use libfuzzer_sys::fuzz_target;
use quic_trace::{analyze, KeyLog, Options};

fuzz_target!(|data: &[u8]| {
    let _ = analyze(data, &KeyLog::default(), &Options::default());
});
