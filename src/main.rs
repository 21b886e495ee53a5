fn main() {
    std::process::exit(interop_runner::cli::main());
}
