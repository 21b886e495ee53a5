fn main() {
    eprintln!("interop-runner: not implemented yet");
    std::process::exit(1);
}
