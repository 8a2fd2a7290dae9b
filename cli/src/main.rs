fn main() -> std::process::ExitCode {
    clone3_abi::main()
}
