//! The simulator binary that goes into the `interop-runner/sim` image.
fn main() {
    std::process::exit(netsim::main_with_args(std::env::args().collect()));
}
