fn main() {
    std::process::exit(interop_runner::front::cli::main());
}
