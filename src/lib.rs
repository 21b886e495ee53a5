//! interop-runner: a QUIC and WebTransport interoperability test runner.
//!
//! One folder per stage; data flows one way (docs/architecture.md):
//!
//! `catalog` (implementations, test cases) → `plan` (the trials of a run) →
//! `orchestrate` (materials, images, Docker, the simulator: one run leaves a
//! run directory) → `analyse` (its traces and key logs read once) → `judge`
//! (evidence and analysis against the test's rule, no I/O: a verdict) → `outcome` (the record a trial
//! leaves) → `report` (matrix, result.json). `front` holds the two ways in:
//! the command line and the cargo-test harness. `input` reads the files users
//! and endpoints hand in (regular files, bounded). `layout` names the
//! containers of a run and the files of its directory for every stage.

pub mod analyse;
pub mod catalog;
pub mod front;
pub mod judge;
pub mod layout;
pub mod orchestrate;
pub mod outcome;
pub mod plan;
pub mod report;

pub use quic_trace as trace;
pub use wirecap::input;
