//! interop-runner: a QUIC and WebTransport interoperability test runner.
//!
//! Data flows one way: catalog (`registry`, `testcases`) → `plan` →
//! orchestrate (`runner`, `trial`, `materials`, `docker`, `images`, the
//! simulator) → analyse (`trace`) → judge (`checks`) → `outcome` → `report`.
//! `harness` and `cli` are the two front ends.

pub mod certs;
pub mod checks;
pub mod cleanup;
pub mod cli;
pub mod config;
pub mod docker;
pub mod files;
pub mod harness;
pub mod images;
pub mod materials;
pub mod outcome;
pub mod plan;
pub mod registry;
pub mod report;
pub mod runner;
pub mod testcases;
pub mod trial;

pub use quic_trace as trace;
