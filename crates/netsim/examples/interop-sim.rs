//! The simulator built from this crate alone (`cargo build -p netsim --example
//! interop-sim`), for the benchmark and the namespace test bed; the shipped
//! binary is the root package's `interop-sim`, which runs the same code.
fn main() {
    std::process::exit(netsim::main_with_args(std::env::args().collect()));
}
