//! `cargo xtask <task>`: builds that need more than `cargo build`.
//!
//! - `agents [TARGET…]`: static clone3-abi binaries (profile `agent`) for the QEMU guests;
//!   prints one path per target, in order.
//! - `dist`: `target/dist/clone3-abi-<version>-x86_64.tar.gz`, the layout of `cli/src/install.rs`:
//!   the static x86_64 build as `bin/clone3-abi`, every agent and its initramfs, the snapshots
//!   and recipes; prints each initramfs's size and fails when a gzip one is above 2 MiB.

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
            agents(&targets, true)
        }
        Some("dist") => dist(),
        _ => {
            eprintln!("usage: cargo xtask agents [TARGET…] | cargo xtask dist");
            ExitCode::from(2)
        }
    }
}

/// The agent initramfs limit: what a small board's bootloader and a LAVA lab carry easily.
const INITRAMFS_LIMIT: u64 = 2 << 20;

fn dist() -> ExitCode {
    let root = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
    if agents(AGENT_TARGETS, false) != ExitCode::SUCCESS {
        return ExitCode::FAILURE;
    }
    let manifest = std::fs::read_to_string(root.join("cli/Cargo.toml")).unwrap_or_default();
    let version = manifest.lines().find_map(|l| l.strip_prefix("version = ")).map(|v| v.trim_matches('"').to_string());
    let Some(version) = version else {
        eprintln!("xtask: no version in cli/Cargo.toml");
        return ExitCode::FAILURE;
    };
    let name = format!("clone3-abi-{version}-x86_64");
    let dist = root.join("target/dist");
    let top = dist.join(&name);
    let _ = std::fs::remove_dir_all(&top);
    let agent = |t: &str| root.join("target").join(t).join("agent/clone3-abi");
    let mut ok = true;
    let mut copy = |from: &std::path::Path, to: std::path::PathBuf| {
        let done = std::fs::create_dir_all(to.parent().unwrap()).and_then(|_| std::fs::copy(from, &to));
        if let Err(e) = done {
            eprintln!("xtask: {} → {}: {e}", from.display(), to.display());
            ok = false;
        }
    };
    // The x86_64 agent is the whole CLI, static: it runs on any x86_64 distribution.
    copy(&agent("x86_64-unknown-linux-gnu"), top.join("bin/clone3-abi"));
    for t in AGENT_TARGETS {
        copy(&agent(t), top.join("lib/clone3-abi/agents").join(t).join("clone3-abi"));
    }
    copy(&root.join("README.md"), top.join("share/doc/clone3-abi/README.md"));
    let _ = std::fs::create_dir_all(top.join("share/clone3-abi"));
    let _ = std::fs::create_dir_all(top.join("share/clone3-abi/ci"));
    // The recipes for other engines go with the tool: a kernel tree's CI fetches the
    // tarball and runs share/clone3-abi/ci/kernel-tree.sh (ci/github, ci/gitlab).
    let shared = [
        ("snapshots", "share/clone3-abi/snapshots"),
        ("qemu-images", "share/clone3-abi/qemu-images"),
        ("ci/kernel-tree.sh", "share/clone3-abi/ci/kernel-tree.sh"),
        ("ci/github", "share/clone3-abi/ci/github"),
        ("ci/gitlab", "share/clone3-abi/ci/gitlab"),
        ("ci/lava", "share/clone3-abi/ci/lava"),
        ("ci/kselftest", "share/clone3-abi/ci/kselftest"),
    ];
    for (from, to) in shared {
        ok &= run(Command::new("cp").arg("-r").arg(root.join(from)).arg(top.join(to)));
    }
    if !ok {
        return ExitCode::FAILURE;
    }
    let bin = top.join("bin/clone3-abi");
    for t in AGENT_TARGETS {
        for (gzip, ext) in [(true, "cpio.gz"), (false, "cpio")] {
            let out = top.join("lib/clone3-abi/initramfs").join(format!("{t}.{ext}"));
            let mut cmd = Command::new(&bin);
            cmd.args(["initramfs", "--agent"]).arg(agent(t)).arg("--out").arg(&out);
            if gzip {
                cmd.arg("--gzip");
            }
            if !run(&mut cmd) {
                return ExitCode::FAILURE;
            }
            let size = std::fs::metadata(&out).map_or(0, |m| m.len());
            // The limit is on what boots stock kernels (gzip); the plain archive, for kernels
            // without RD_GZIP, is the agent's own size.
            let verdict = match (gzip, size > INITRAMFS_LIMIT) {
                (false, _) => "(uncompressed, for kernels without a decompressor)",
                (true, true) => "OVER the 2 MiB limit",
                (true, false) => "≤ 2 MiB",
            };
            println!("initramfs {t:<30} {ext:<8} {:>9} bytes ({:.2} MiB) {verdict}", size, size as f64 / (1 << 20) as f64);
            ok &= !gzip || size <= INITRAMFS_LIMIT;
        }
    }
    let tarball = dist.join(format!("{name}.tar.gz"));
    ok &= run(Command::new("tar").arg("-C").arg(&dist).arg("-czf").arg(&tarball).arg(&name));
    if !ok {
        return ExitCode::FAILURE;
    }
    println!("{}", tarball.display());
    ExitCode::SUCCESS
}

fn run(cmd: &mut Command) -> bool {
    eprintln!("xtask: {cmd:?}");
    cmd.status().is_ok_and(|s| s.success())
}

/// Installs the cross toolchains (ci/setup-cross.sh), then builds the agent per target.
fn agents(targets: &[&str], print: bool) -> ExitCode {
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
        if print {
            println!("{root}/target/{target}/agent/clone3-abi");
        }
    }
    ExitCode::SUCCESS
}
