//! Decrypted-payload parsers: frames, CRYPTO reassembly and the TLS messages in it,
//! transport parameters, key log text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use quic_trace::frame::parse_frames;
use quic_trace::tls::{self, CryptoStream};

fuzz_target!(|data: &[u8]| {
    let mut stream = CryptoStream::default();
    let mut messages = Vec::new();
    let list = parse_frames(data, |offset, chunk| messages.extend(stream.add(offset, chunk)));
    let _ = list.frames.len();
    for body in [data].into_iter().chain(messages.iter().map(|(_, b)| b.as_slice())) {
        let _ = tls::parse_client_hello(body);
        let _ = tls::parse_server_hello(body);
        let _ = tls::parse_encrypted_extensions(body);
        let _ = tls::parse_certificate(body);
    }
    let _ = quic_trace::KeyLog::default().add_text(data, "fuzz");
});
