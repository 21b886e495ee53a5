include!("build_support/static_link.rs");

fn main() {
    // The probe runs inside throwaway containers next to the simulator.
    link_static_bins(&["sim-probe"]);
}
