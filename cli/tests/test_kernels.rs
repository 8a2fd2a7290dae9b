//! Kernels people really build, not Debian's: the 6.12 tinyconfig kernels of
//! ci/build-test-kernels.sh, booted with `qemu --kernel` and judged by the model alone.
//! `lean` has namespaces and cgroups but no COMPAT_32BIT_TIME (a y2038-clean config, so
//! the i386 agent must use the time64 syscalls); `nons` lacks PID_NS, USER_NS, TIME_NS and
//! CGROUPS, so the model must predict the !CONFIG stubs and skip what cannot run.
//! A correct kernel of any config gives 0. Under CI the kernels are built (cached under
//! ~/.cache/clone3-abi); elsewhere the tests use them if built and say so if not.

use std::process::{Command, Output};
use std::sync::Mutex;

static SERIAL: Mutex<()> = Mutex::new(());

/// The bzImage of test kernel `name`, built by ci/build-test-kernels.sh.
fn kernel(name: &str) -> Option<String> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../ci/build-test-kernels.sh");
    let ci = std::env::var_os("CI").is_some();
    let mut cmd = Command::new("bash");
    cmd.arg(script);
    if !ci {
        cmd.arg("--cached");
    }
    let out = cmd.arg(name).output().expect("bash");
    assert!(out.status.success(), "build-test-kernels: {}", String::from_utf8_lossy(&out.stderr));
    let path = String::from_utf8_lossy(&out.stdout).lines().find_map(|l| l.strip_prefix(&format!("{name}=")).map(String::from));
    if path.is_none() {
        assert!(!ci, "CI must build the test kernel {name}");
        eprintln!("SKIP: test kernel {name} not built (bash ci/build-test-kernels.sh {name})");
    }
    path
}

fn qemu_available() -> bool {
    let ok = Command::new("qemu-system-x86_64").arg("--version").output().is_ok_and(|o| o.status.success());
    if !ok {
        assert!(std::env::var_os("CI").is_none(), "CI must provision QEMU (ci/setup-qemu.sh)");
        eprintln!("SKIP: qemu-system-x86_64 is not installed (bash ci/setup-qemu.sh)");
    }
    ok
}

fn boot(arch: &str, image: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_clone3-abi"))
        .args(["qemu", "--arch", arch, "--accel", "tcg", "--watchdog", "120", "--kernel", image])
        .output()
        .expect("clone3-abi runs")
}

/// Boots `name` as `arch`; asserts exit 0, judged by the model alone, and returns the KTAP.
fn good(name: &str, arch: &str) -> Option<String> {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    if !qemu_available() {
        return None;
    }
    let image = kernel(name)?;
    let out = boot(arch, &image);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{name} as {arch}:\n{err}");
    assert!(err.contains(&format!("{arch} 6.12: baseline: none (--kernel without --baseline")), "{err}");
    let last = err.lines().last().unwrap_or_default();
    assert!(last.contains(" passed, 0 failed, "), "{err}");
    assert!(!err.contains("could not be run"), "{err}");
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// `ok N id` with no directive: the case ran and matched the model.
fn ran_and_matched(ktap: &str, id: &str) -> bool {
    ktap.lines().any(|l| {
        let l = l.trim_start();
        l.starts_with("ok ") && l.split_whitespace().nth(2) == Some(id) && !l.contains('#')
    })
}

#[test]
fn lean_x86_64_is_good_by_the_model_alone() {
    let Some(ktap) = good("lean", "x86_64") else { return };
    assert!(ran_and_matched(&ktap, "set_tid.two_levels") && ran_and_matched(&ktap, "cgroup.target"), "{ktap}");
}

/// The case: every one of 323 cases was "not run: the worker was silent for 25s",
/// all within 1 s of boot, because the i386 agent called 32-bit time syscalls.
#[test]
fn lean_i386_without_compat_32bit_time_is_good() {
    let Some(ktap) = good("lean", "i386") else { return };
    assert!(ran_and_matched(&ktap, "set_tid.two_levels") && ran_and_matched(&ktap, "tls.arch_tls"), "{ktap}");
}

#[test]
fn a_kernel_without_pid_user_time_namespaces_and_cgroups_is_good() {
    let Some(ktap) = good("nons", "x86_64") else { return };
    // The !CONFIG stubs really answered what the model said (EINVAL from the stubs of
    // copy_namespaces, copy_pid_ns, create_user_ns, copy_time_ns) ...
    for id in ["flags.alone_newpid", "flags.alone_newuser", "flags.alone_newtime", "flags.alone_newcgroup"] {
        assert!(ran_and_matched(&ktap, id), "{id}:\n{ktap}");
    }
    // ... and what needs the missing parts is a SKIP that names them.
    assert!(ktap.contains("set_tid.two_levels # SKIP needs the suite's PID-namespace sandbox: the kernel has no PID namespaces"), "{ktap}");
    assert!(ktap.contains("cgroup.target # SKIP needs cgroup2: the kernel has no cgroups"), "{ktap}");
}
