//! The interop matrix as cargo tests: one trial per server × client × test,
//! named `<server>_<client>_<test>` (`webtransport::…` for WebTransport).
//! Options beyond cargo's filter come from INTEROP_* variables (README).

fn main() {
    std::process::exit(interop_runner::front::harness::main());
}
