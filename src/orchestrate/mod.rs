//! Stage 3, orchestration: turns a planned trial into a run directory.
//!
//! Input: a [`crate::plan::Trial`] and run options. Output: the run's
//! directory (endpoint logs, key logs, the simulator's two traces), the
//! downloads checked against their sources, exit codes, and finally the
//! trial's [`crate::outcome::TrialRecord`] after the judge has spoken.
//!
//! `runner` owns the Docker connection and per-process caches and runs one
//! trial per call; `trial` is one run; `materials` makes what endpoints get
//! (certificates, files, `REQUESTS`); `images` builds or finds every image;
//! `docker` is the Engine API; `cleanup` makes sure nothing leaks;
//! `background` runs what a verdict need not wait for (teardown).

pub mod ahead;
pub mod background;
pub mod cleanup;
pub mod cpu;
pub mod docker;
pub mod error;
pub mod gate;
pub mod images;
pub mod materials;
pub mod runner;
pub mod trial;
