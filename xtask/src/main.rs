//! `cargo xtask <task>`: builds that need more than `cargo build`.
//!
//! - `agents [TARGET…]`: static clone3-abi binaries (profile `agent`) for the QEMU guests;
//!   prints one path per target, in order.

use std::process::{Command, ExitCode};

/// The Rust targets of the QEMU guests' agents.
const AGENT_TARGETS: &[&str] =
    &["x86_64-unknown-linux-gnu", "i686-unknown-linux-gnu", "aarch64-unknown-linux-gnu", "riscv64gc-unknown-linux-gnu"];

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    match args.next().as_deref() {
        Some("agents") => {
            let wanted: Vec<String> = args.collect();
            let targets: Vec<&str> =
                if wanted.is_empty() { AGENT_TARGETS.to_vec() } else { wanted.iter().map(String::as_str).collect() };
            agents(&targets)
        }
        _ => {
            eprintln!("usage: cargo xtask agents [TARGET…]");
            ExitCode::from(2)
        }
    }
}

fn run(cmd: &mut Command) -> bool {
    eprintln!("xtask: {cmd:?}");
    cmd.status().is_ok_and(|s| s.success())
}

/// Installs the cross toolchains (ci/setup-cross.sh), then builds the agent per target.
fn agents(targets: &[&str]) -> ExitCode {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    if let Some(t) = targets.iter().find(|t| !AGENT_TARGETS.contains(t)) {
        eprintln!("xtask: unknown agent target {t}; known: {}", AGENT_TARGETS.join(", "));
        return ExitCode::from(2);
    }
    if !run(Command::new("bash").arg(format!("{root}/ci/setup-cross.sh")).stdout(std::process::Stdio::null())) {
        eprintln!("xtask: installing the cross toolchains failed");
        return ExitCode::FAILURE;
    }
    for target in targets {
        let mut cmd = Command::new(env!("CARGO"));
        cmd.current_dir(root).args(["build", "-q", "--profile", "agent", "-p", "clone3-abi", "--target", target]);
        // Static for x86_64 too; given on the command line, since in .cargo/config.toml it
        // would also reach host builds of proc-macro crates.
        cmd.args(["--config", &format!("target.{target}.rustflags=[\"-C\", \"target-feature=+crt-static\"]")]);
        if !run(&mut cmd) {
            eprintln!("xtask: building the agent for {target} failed");
            return ExitCode::FAILURE;
        }
        println!("{root}/target/{target}/agent/clone3-abi");
    }
    ExitCode::SUCCESS
}
