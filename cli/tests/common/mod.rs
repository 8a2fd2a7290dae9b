//! Helpers shared by the integration tests: what a run may leave behind.
#![allow(dead_code)]

use std::collections::BTreeSet;

/// Processes that are in a PID namespace below ours, and our own binary's processes.
pub fn suite_processes() -> BTreeSet<String> {
    let depth = |status: &str| status.lines().find(|l| l.starts_with("NSpid:")).map_or(0, |l| l.split_whitespace().count());
    let mine = depth(&std::fs::read_to_string("/proc/self/status").unwrap());
    let mut out = BTreeSet::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if !name.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let Ok(status) = std::fs::read_to_string(e.path().join("status")) else { continue };
        let comm = status.lines().next().unwrap_or("").to_string();
        if depth(&status) > mine || comm.contains("clone3-abi") {
            out.insert(format!("{name} {comm}"));
        }
    }
    out
}

/// `clone3-abi.*` directories anywhere in the cgroup2 hierarchy (a run makes its own
/// under the cgroup it was started in).
pub fn cgroup_leftovers() -> Vec<String> {
    fn walk(dir: &std::path::Path, depth: usize, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            if !e.file_type().is_ok_and(|t| t.is_dir()) {
                continue;
            }
            if e.file_name().to_string_lossy().starts_with("clone3-abi.") {
                out.push(e.path().display().to_string());
            } else if depth > 0 {
                walk(&e.path(), depth - 1, out);
            }
        }
    }
    let mut out = Vec::new();
    let mi = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    for m in mi.lines().filter(|l| l.contains(" - cgroup2 ")).filter_map(|l| l.split_whitespace().nth(4)) {
        walk(std::path::Path::new(m), 6, &mut out);
    }
    out
}

/// A test that cannot run here says so; in CI, where everything is provisioned and we run
/// as root, that is a failure rather than a silent pass.
pub fn cannot_run_here(why: &str) {
    assert!(std::env::var_os("CI").is_none(), "in CI this test must run: {why}");
    eprintln!("SKIP: {why}");
}

pub fn is_root() -> bool {
    unsafe { libc::geteuid() == 0 }
}

/// A fresh, empty scratch directory for one test.
pub fn tmpdir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("clone3-abi-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Classic BPF for the seccomp filters the fault tests install: a statement.
pub fn stmt(code: u32, k: u32) -> libc::sock_filter {
    libc::sock_filter { code: code as u16, jt: 0, jf: 0, k }
}

/// A conditional jump on the accumulator against `k`.
pub fn jump(op: u32, k: u32, jt: u8, jf: u8) -> libc::sock_filter {
    libc::sock_filter { code: (libc::BPF_JMP | op | libc::BPF_K) as u16, jt, jf, k }
}

/// Runs `cmd` with the seccomp filter `prog` installed between fork and exec (the test
/// process itself stays unfiltered); `None` (said by `cannot_run_here`) if it could not be.
pub fn output_under_filter(mut cmd: std::process::Command, prog: Vec<libc::sock_filter>) -> Option<std::process::Output> {
    use std::os::unix::process::CommandExt;
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
