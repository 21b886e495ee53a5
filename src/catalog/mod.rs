//! Stage 1, the catalog: what exists, as static typed data.
//!
//! Input: the registry files (embedded at build time, or a path given on the
//! command line). Output: [`registry::Registry`] (implementations and their
//! roles) and [`testcases`] (every test case and measurement with what it
//! runs and how it is judged). Nothing here touches Docker or the network.

pub mod fields;
pub mod registry;
pub mod testcases;
