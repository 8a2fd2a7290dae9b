//! `cargo xtask <task>`: builds that need more than `cargo build`.
//!
//! - `agents`: static clone3-abi binaries for every QEMU guest architecture.

use std::process::{Command, ExitCode};

/// The Rust targets of the QEMU guests' agents.
const AGENT_TARGETS: &[&str] =
    &["x86_64-unknown-linux-gnu", "i686-unknown-linux-gnu", "aarch64-unknown-linux-gnu", "riscv64gc-unknown-linux-gnu"];

fn main() -> ExitCode {
    let task = std::env::args().nth(1).unwrap_or_default();
    match task.as_str() {
        "agents" => agents(),
        _ => {
            eprintln!("usage: cargo xtask agents");
            ExitCode::from(2)
        }
    }
}

fn run(cmd: &mut Command) -> bool {
    eprintln!("xtask: {cmd:?}");
    cmd.status().is_ok_and(|s| s.success())
}

/// Installs the cross toolchains (ci/setup-cross.sh), then builds the agent per target.
fn agents() -> ExitCode {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    if !run(Command::new("bash").arg(format!("{root}/ci/setup-cross.sh"))) {
        eprintln!("xtask: installing the cross toolchains failed");
        return ExitCode::FAILURE;
    }
    for target in AGENT_TARGETS {
        let ok = run(Command::new(env!("CARGO")).current_dir(root).args(["build", "--release", "-p", "clone3-abi", "--target", target]));
        if !ok {
            eprintln!("xtask: building the agent for {target} failed");
            return ExitCode::FAILURE;
        }
        println!("{root}/target/{target}/release/clone3-abi");
    }
    ExitCode::SUCCESS
}
