//! End-to-end runs of the real binary on the running kernel: exit codes, KTAP shape, the
//! snapshot for this kernel, and that nothing of the run is left on the machine.

mod common;

use common::{cannot_run_here, cgroup_leftovers, is_root, suite_processes, tmpdir};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Mutex;

/// Every test that starts the binary is serialized: the leak check counts processes
/// machine-wide.
static SERIAL: Mutex<()> = Mutex::new(());

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_clone3-abi"))
}

fn run(args: &[&str]) -> Output {
    bin().arg("run").args(args).output().expect("run the binary")
}

fn release_series() -> String {
    let r = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap();
    let mut it = r.trim().split(|c: char| !c.is_ascii_digit());
    format!("{}.{}", it.next().unwrap(), it.next().unwrap())
}

fn stored_snapshot() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../snapshots/x86_64").join(format!("{}.snap", release_series()))
}

#[test]
fn full_run_matches_the_model_and_leaves_nothing_behind() {
    let _guard = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let mounts_before = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let procs_before = suite_processes();
    let dir = tmpdir("full");
    let json = dir.join("run.json");
    let out = run(&["--json", json.to_str().unwrap(), "--bless", "--snapshots", dir.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "every case must behave as the model predicts:\n{stderr}");

    // KTAP: the version line, a plan per level, one result per case.
    let ktap = String::from_utf8(out.stdout).unwrap();
    assert!(ktap.starts_with("KTAP version 1\n"));
    let doc: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let cases = doc["cases"].as_array().unwrap();
    assert!(cases.len() >= 250);
    let results = ktap.lines().filter(|l| l.starts_with("  ok ") || l.starts_with("  not ok ")).count();
    assert_eq!(results, cases.len());
    // As root every case runs but those that need what no privilege gives: a domain controller
    // the host's cgroup hands down (the run changes no cgroup of the host's), CLONE_AUTOREAP
    // (7.1) for its caller, a mappable top of the user range.
    let beyond_root = ["cgroup.target_with_subtree_control", "combo.parent_from_autoreaped", "combo.fork_from_autoreaped", "stack.ends_at_user_limit"];
    let skipped: Vec<&str> = cases.iter().filter(|c| c["verdict"]["verdict"] == "skip").filter_map(|c| c["id"].as_str()).collect();
    if is_root() {
        let unexpected: Vec<&&str> = skipped.iter().filter(|id| !beyond_root.contains(id)).collect();
        assert!(unexpected.is_empty(), "as root on this machine kind these cases must run: {unexpected:?}\n{stderr}");
    } else {
        assert!(ktap.contains("# SKIP needs CAP_SYS_ADMIN"));
    }

    // Nothing left: processes, namespaces (they die with their processes), mounts, cgroups.
    assert_eq!(suite_processes(), procs_before, "processes left behind");
    assert_eq!(std::fs::read_to_string("/proc/self/mountinfo").unwrap(), mounts_before, "mounts changed");
    assert!(cgroup_leftovers().is_empty(), "cgroup directories left: {:?}", cgroup_leftovers());

    // The outcome table as a reviewable snapshot, per arch and kernel series.
    if is_root() {
        let written = dir.join("x86_64").join(format!("{}.snap", release_series()));
        let text = std::fs::read_to_string(written).unwrap();
        let body = text.splitn(3, "---\n").nth(2).unwrap().to_string();
        insta::with_settings!({
            snapshot_path => "../../snapshots/x86_64",
            prepend_module_to_snapshot => false,
            omit_expression => true,
        }, {
            insta::assert_snapshot!(release_series(), body);
        });
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_changed_baseline_is_a_failure_with_the_diff() {
    let _guard = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    if !is_root() || !stored_snapshot().exists() {
        return cannot_run_here("needs root and a stored snapshot for this kernel");
    }
    let dir = tmpdir("diff");
    let snap = dir.join("x86_64").join(format!("{}.snap", release_series()));
    std::fs::create_dir_all(snap.parent().unwrap()).unwrap();
    let stored = std::fs::read_to_string(stored_snapshot()).unwrap();
    // Pretend the kernel used to give E2BIG where it now gives EINVAL.
    let line = stored.lines().find(|l| l.starts_with("size.zero ")).unwrap();
    std::fs::write(&snap, stored.replace(line, &line.replace("EINVAL", "E2BIG"))).unwrap();
    let out = run(&["--snapshots", dir.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("-size.zero") && stderr.contains("+size.zero"), "{stderr}");
    // --filter still compares what it ran (the repro line of a difference uses it).
    let out = run(&["--snapshots", dir.to_str().unwrap(), "--filter", "size.zero"]);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let out = run(&["--snapshots", dir.to_str().unwrap(), "--filter", "size.one"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));

    // The real baseline matches.
    let ok = run(&[]);
    assert_eq!(ok.status.code(), Some(0), "{}", String::from_utf8_lossy(&ok.stderr));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_corrupt_baseline_cannot_test_and_a_missing_one_is_said() {
    let _guard = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tmpdir("corrupt");
    let out = run(&["--snapshots", dir.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "no baseline: judged by the model alone, and said:\n{stderr}");
    assert!(stderr.contains(": baseline: none (") && stderr.contains("judged by the model alone"), "{stderr}");
    let out = run(&["--snapshots", dir.to_str().unwrap(), "--require-baseline"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(125), "a required baseline that is missing cannot test:\n{stderr}");
    assert!(stderr.contains("one was required: cannot test"), "{stderr}");
    let snap = dir.join("x86_64").join(format!("{}.snap", release_series()));
    std::fs::create_dir_all(snap.parent().unwrap()).unwrap();
    std::fs::write(&snap, "not a snapshot\n").unwrap();
    let out = run(&["--snapshots", dir.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(125), "{stderr}");
    assert!(stderr.contains("corrupt snapshot") && stderr.contains("fix:"), "{stderr}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn an_unprivileged_run_skips_with_reasons_and_matches_its_own_baseline() {
    let _guard = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    if !is_root() || Command::new("setpriv").arg("--version").output().is_err() {
        return cannot_run_here("needs root and setpriv to become nobody");
    }
    // nobody may not be able to reach the checkout (a clone under a 0700 directory): the
    // snapshot goes to a directory it can read.
    let name = format!("x86_64/{}.unprivileged.snap", release_series());
    let snapshots = tmpdir("unprivileged");
    std::fs::create_dir_all(snapshots.join("x86_64")).unwrap();
    let checked_in = Path::new(env!("CARGO_MANIFEST_DIR")).join("../snapshots").join(&name);
    if checked_in.exists() {
        std::fs::copy(&checked_in, snapshots.join(&name)).unwrap();
    }
    for d in [snapshots.clone(), snapshots.join("x86_64")] {
        std::fs::set_permissions(d, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    }
    let out = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all"])
        .arg(env!("CARGO_BIN_EXE_clone3-abi"))
        .args(["run", "--snapshots"])
        .arg(&snapshots)
        .current_dir(std::env::temp_dir())
        .output()
        .unwrap();
    std::fs::remove_dir_all(&snapshots).unwrap();
    let (ktap, err) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(ktap.contains("# SKIP needs CAP_SYS_ADMIN"), "{ktap}");
    assert!(err.contains(" 0 failed,") && !err.contains(" 0 skipped"), "{err}");
    if checked_in.exists() {
        assert!(err.contains(".unprivileged.snap: matches ("), "{err}");
    }
}

#[test]
fn usage_errors_never_look_like_a_bad_kernel() {
    let _guard = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    // git bisect run reads 1..127 (but 125) as "bad": a wrong command line must abort.
    let out = bin().arg("run").arg("--no-such-flag").output().unwrap();
    assert_eq!(out.status.code(), Some(128));
    let out = run(&["--filter", "no-case-has-this-id"]);
    assert_eq!(out.status.code(), Some(128));
}

#[test]
fn list_prints_every_case_with_a_stable_id() {
    let _guard = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let out = bin().arg("list").output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.lines().count() >= 250);
    assert!(text.lines().any(|l| l.starts_with("size.page_plus_8 ")));
    assert!(text.lines().any(|l| l.starts_with("set_tid.nested_3_levels ")));
}

#[test]
fn ksft_mode_prints_flat_ktap_and_exits_as_kselftest_does() {
    let _guard = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let out = run(&["--ksft", "--filter", "size."]);
    let ktap = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let n = ktap.lines().filter(|l| l.starts_with("ok ") || l.starts_with("not ok ")).count();
    assert!(ktap.starts_with(&format!("KTAP version 1\n1..{n}\n")) && !ktap.contains("# Subtest"), "{ktap}");
    assert!(ktap.lines().last().unwrap().starts_with(&format!("# Totals: pass:{n} fail:0 xfail:0 xpass:0 skip:0")), "{ktap}");
    if !is_root() || Command::new("setpriv").arg("--version").output().is_err() {
        return cannot_run_here("needs root and setpriv to become nobody");
    }
    // Nothing of it can run without privileges: kselftest's skip.
    let out = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all"])
        .arg(env!("CARGO_BIN_EXE_clone3-abi"))
        .args(["run", "--ksft", "--filter", "set_tid.nested_"])
        .current_dir(std::env::temp_dir())
        .output()
        .unwrap();
    let ktap = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(4), "{ktap}{}", String::from_utf8_lossy(&out.stderr));
    assert!(ktap.lines().filter(|l| l.starts_with("ok ")).all(|l| l.contains(" # SKIP ")), "{ktap}");
}
