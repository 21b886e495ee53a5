//! The two ways in: the `interop-runner` command line and the cargo-test
//! harness (`tests/interop.rs`).
//!
//! Input: flags or `INTEROP_*` environment variables. Output: a plan handed
//! to the orchestrator, then the report printed or written. `config` holds
//! what both share, so a flag and its variable mean the same.

pub mod cli;
pub mod config;
mod error;
pub mod harness;
pub mod progress;
pub mod reports;
pub mod values;

pub use error::FrontError;

#[cfg(test)]
mod readme_figures;
