//! interop-runner: a QUIC and WebTransport interoperability test runner.
//!
//! Data flows one way: catalog (registry, testcases) → plan → orchestrate
//! (docker, images, sim) → analyse (trace) → judge (checks) → report.

pub mod images;

pub use quic_trace as trace;
