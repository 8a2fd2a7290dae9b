//! Seeded fuzzing on the host kernel: a bounded smoke run finds nothing and leaves nothing
//! behind, and a finding turns into a table case and a C program that compiles.

mod common;

use common::{cgroup_leftovers, suite_processes, tmpdir};
use std::process::Command;
use std::sync::Mutex;

/// The leak check counts processes machine-wide: no other run of ours at the same time.
static SERIAL: Mutex<()> = Mutex::new(());

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_clone3-abi"))
}

/// The issue's own command: once two "expected success (ret_pid 16384), got EEXIST"
/// findings (a pid an earlier input's thread still held) and one EOPNOTSUPP (a thread into
/// another cgroup domain, which the model lacked).
#[test]
fn a_hundred_thousand_seeded_inputs_agree_with_the_model_and_leak_nothing() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let before = suite_processes();
    let dir = tmpdir("smoke");
    let out = bin().args(["fuzz", "--iterations", "100000", "--seed", "12345", "--findings"]).arg(&dir).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "findings:\n{err}");
    assert!(err.lines().any(|l| l == "clone3-abi fuzz: 0 findings"), "{err}");
    assert!(!err.contains("could not be judged"), "{err}");
    assert_eq!(suite_processes(), before, "processes left behind");
    assert!(cgroup_leftovers().is_empty(), "{:?}", cgroup_leftovers());
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_finding_becomes_a_table_case_and_a_c_program() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tmpdir("repro");
    let out = bin().args(["fuzz", "--write-seeds"]).arg(&dir).output().unwrap();
    assert!(out.status.success());
    let seed = dir.join("set_tid.nested_3_levels");
    let c_file = dir.join("repro.c");
    let out = bin().arg("repro").arg(&seed).arg("--c-out").arg(&c_file).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("flags: flags::NEWPID") && text.contains("Tid::Free"), "{text}");
    if Command::new("cc").arg("--version").output().is_ok() {
        let exe = dir.join("repro");
        let cc = Command::new("cc").arg("-O2").arg("-Wall").arg("-o").arg(&exe).arg(&c_file).output().unwrap();
        assert!(cc.status.success(), "{}", String::from_utf8_lossy(&cc.stderr));
    }
    std::fs::remove_dir_all(dir).unwrap();
}
