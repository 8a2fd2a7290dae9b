//! The runner's own failures are "cannot test" (125) with the cause on stderr, never a
//! table of FAILs (1): a seccomp filter between the cases and the kernel, a pidfd_open that
//! fails. Each fault is injected into a forked child of the test (a seccomp filter
//! installed between fork and exec), so the test process and the host are left as they were.

mod common;

use common::cannot_run_here;
use std::os::unix::process::CommandExt;
use std::process::{Command, Output};
use std::sync::Mutex;

/// The binary's runs are serialized, as in tests/native.rs.
static SERIAL: Mutex<()> = Mutex::new(());

/// `clone3-abi run ARGS` under a seccomp filter that answers each `(syscall, action)` pair
/// with its action; `None` where this kernel takes no seccomp filters.
fn run_filtered(rules: &[(libc::c_long, u32)], args: &[&str]) -> Option<Output> {
    run_filtered_as(rules, &[], args)
}

/// The same, started through `prefix` (e.g. setpriv to become nobody) if not empty.
fn run_filtered_as(rules: &[(libc::c_long, u32)], prefix: &[&str], args: &[&str]) -> Option<Output> {
    // Classic BPF: load the syscall number, answer each listed one, allow the rest. The
    // number is compared whatever the audit arch: the binary runs as this test's arch, and
    // clone3 (435) and pidfd_open (434) have the same number on every arch it supports.
    let stmt = |code: u32, k: u32| libc::sock_filter { code: code as u16, jt: 0, jf: 0, k };
    let mut prog = vec![stmt(libc::BPF_LD | libc::BPF_W | libc::BPF_ABS, 0)];
    for &(nr, action) in rules {
        prog.push(libc::sock_filter { code: (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16, jt: 0, jf: 1, k: nr as u32 });
        prog.push(stmt(libc::BPF_RET | libc::BPF_K, action));
    }
    prog.push(stmt(libc::BPF_RET | libc::BPF_K, libc::SECCOMP_RET_ALLOW));
    let bin = env!("CARGO_BIN_EXE_clone3-abi");
    let mut cmd = match prefix.split_first() {
        Some((first, rest)) => {
            let mut c = Command::new(first);
            c.args(rest).arg(bin);
            c
        }
        None => Command::new(bin),
    };
    cmd.arg("run").args(args).current_dir(std::env::temp_dir());
    // SAFETY: between fork and exec only prctl and seccomp are called, on memory made before.
    unsafe {
        cmd.pre_exec(move || {
            let fprog = libc::sock_fprog { len: prog.len() as u16, filter: prog.as_ptr() as *mut _ };
            if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0
                || libc::syscall(libc::SYS_seccomp, libc::SECCOMP_SET_MODE_FILTER, 0, &fprog as *const libc::sock_fprog) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    match cmd.output() {
        Ok(out) => Some(out),
        Err(e) => {
            cannot_run_here(&format!("no seccomp filter could be installed: {e}"));
            None
        }
    }
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn clone3_answered_with_eperm_cannot_test() {
    let _guard = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let Some(out) = run_filtered(&[(libc::SYS_clone3, libc::SECCOMP_RET_ERRNO | libc::EPERM as u32)], &["--no-snapshot"]) else { return };
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(125), "a filter's EPERM is not the kernel's answer:\n{err}");
    assert!(err.contains("clone3 is filtered (seccomp?): clone3(NULL, 0) gave EPERM"), "{err}");
    assert!(!err.contains("FAIL"), "{err}");
}

#[test]
fn clone3_killing_the_process_cannot_test() {
    let _guard = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    // SECCOMP_RET_KILL_PROCESS and SECCOMP_RET_TRAP (SIGSYS, default action: die) both kill
    // whoever calls clone3: the probe's child, not the CLI.
    for action in [libc::SECCOMP_RET_KILL_PROCESS, libc::SECCOMP_RET_TRAP] {
        let Some(out) = run_filtered(&[(libc::SYS_clone3, action)], &["--no-snapshot"]) else { return };
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(125), "action {action:#x}: {:?}\n{err}", out.status);
        let want = format!("clone3 is filtered (seccomp?): clone3(NULL, 0) killed the probe process with signal {}", libc::SIGSYS);
        assert!(err.contains(&want), "action {action:#x}:\n{err}");
    }
}

#[test]
fn a_failing_pidfd_open_is_not_a_hung_child() {
    let _guard = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    // EMFILE as a full fd table would give it; EPERM as a filter would. The runner then
    // watches its children with waitid(WNOWAIT) and kill(pid, 0): every case still observes
    // what the kernel did.
    for errno in [libc::EMFILE, libc::EPERM] {
        let Some(out) = run_filtered(&[(libc::SYS_pidfd_open, libc::SECCOMP_RET_ERRNO | errno as u32)], &["--no-snapshot"]) else { return };
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(0), "pidfd_open failing with errno {errno} is no kernel difference:\n{err}");
        assert!(!err.contains("FAIL") && !err.contains("NOT RUN"), "{err}");
    }
    // As a normal user CLONE_PARENT children are the CLI's, which reaps them only at the end:
    // without a pidfd their zombies must not read as hangs.
    if !common::is_root() || Command::new("setpriv").arg("--version").output().is_err() {
        return cannot_run_here("the unprivileged half needs root and setpriv to become nobody");
    }
    let nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all"];
    let rules = [(libc::SYS_pidfd_open, libc::SECCOMP_RET_ERRNO | libc::EMFILE as u32)];
    let Some(out) = run_filtered_as(&rules, &nobody, &["--no-snapshot"]) else { return };
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "as nobody:\n{err}");
    assert!(err.contains("(not root: privileged cases skipped)") && !err.contains("FAIL"), "{err}");
}
