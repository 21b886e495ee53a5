//! interop-runner: a QUIC and WebTransport interoperability test runner.
//!
//! Data flows one way: catalog (`registry`, `testcases`) → `plan` →
//! orchestrate (`images`, the simulator) → analyse (`trace`) → judge →
//! `outcome` → `report`.

pub mod certs;
pub mod files;
pub mod images;
pub mod outcome;
pub mod plan;
pub mod registry;
pub mod report;
pub mod testcases;

pub use quic_trace as trace;
