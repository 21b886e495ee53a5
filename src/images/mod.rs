//! Builds the images a run needs (base, sim, endpoint, iperf) from nothing.
