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
