//! The network simulator: forwards packets between the client-side and the
//! server-side network through a modelled link, and records both sides' traces.

pub mod gso;
pub mod impair;
pub mod link;
pub mod nat;
pub mod packet;
pub mod rng;
pub mod scenario;
pub mod units;

/// Entry point of the `interop-sim` binary; returns the process exit code.
pub fn main_with_args(_args: Vec<String>) -> i32 {
    eprintln!("interop-sim: not implemented yet");
    1
}
