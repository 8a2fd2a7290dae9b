//! The QEMU matrix end to end: all five guests against their snapshots, and the ways a
//! kernel can fail to be testable (exit 125 with a one-line reason, never "good" or "bad").
//! Needs qemu-system and the cross toolchains (ci/setup-qemu.sh, ci/setup-cross.sh); where
//! they are missing the tests say so and pass only outside CI.

use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::Mutex;

/// One guest matrix at a time: they share the two cores and the agents' build.
static SERIAL: Mutex<()> = Mutex::new(());

fn provisioned() -> bool {
    let ok = ["qemu-system-x86_64", "qemu-system-i386", "qemu-system-aarch64", "qemu-system-riscv64"]
        .iter()
        .all(|b| Command::new(b).arg("--version").output().is_ok_and(|o| o.status.success()));
    if !ok {
        assert!(std::env::var_os("CI").is_none(), "CI must provision QEMU (ci/setup-qemu.sh)");
        eprintln!("SKIP: qemu-system is not installed (bash ci/setup-qemu.sh)");
    }
    ok
}

fn qemu(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_clone3-abi")).arg("qemu").args(args).output().expect("run the binary")
}

fn text(o: &Output) -> (String, String) {
    (String::from_utf8_lossy(&o.stdout).into_owned(), String::from_utf8_lossy(&o.stderr).into_owned())
}

#[test]
fn all_guests_match_the_model_and_their_snapshots() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    if !provisioned() {
        return;
    }
    let out = qemu(&["--arch", "all"]);
    let (ktap, err) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    for guest in ["x86_64", "i386", "i386-native", "aarch64", "riscv64", "x86_64-sid"] {
        assert!(ktap.contains(&format!("  # Subtest: {guest}\n")), "no subtest for {guest}");
        // Each guest against its own stored baseline, not one match for all six.
        let said = err.lines().find(|l| l.starts_with(&format!("clone3-abi: {guest} ")) && l.contains(": baseline "));
        assert!(said.is_some_and(|l| l.contains(&format!("/{guest}/")) && l.contains(": matches (")), "{guest}: {said:?}\n{err}");
    }
    assert!(!ktap.contains("not ok"), "{ktap}");
}

#[test]
fn the_version_matrix_matches_the_model_and_its_snapshots() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    if !provisioned() {
        return;
    }
    // Every series 5.10 to 7.3 the mirror serves: `--matrix versions` less the stock six
    // (the test above).
    let guests = [
        ("x86_64-bullseye", "5.10"), ("i386-bullseye", "5.10"), ("i386-native-bullseye", "5.10"), ("aarch64-bullseye", "5.10"),
        ("x86_64-bookworm", "6.1"), ("i386-bookworm", "6.1"), ("aarch64-bookworm", "6.1"),
        ("aarch64-sid", "7.2"), ("riscv64-sid", "7.2"), ("x86_64-backports", "7.3"), ("aarch64-backports", "7.3"),
    ];
    let names: Vec<&str> = guests.iter().map(|(g, _)| *g).collect();
    let out = qemu(&["--arch", &names.join(",")]);
    let (ktap, err) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    for (guest, series) in guests {
        assert!(ktap.contains(&format!("  # Subtest: {guest}\n")), "no subtest for {guest}");
        let said = err.lines().find(|l| l.starts_with(&format!("clone3-abi: {guest} {series}: baseline ")));
        assert!(said.is_some_and(|l| l.contains(": matches (")), "{guest}: {said:?}\n{err}");
    }
    assert!(err.contains("clone3-abi: x86_64-backports: kernel 7.3.4 is newer than the newest series the model knows (7.2)"), "{err}");
    assert!(!ktap.contains("not ok"), "{ktap}");
}

#[test]
fn a_file_that_is_not_a_kernel_cannot_test() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let out = qemu(&["--arch", "x86_64", "--kernel", "/etc/hostname", "--agent", "/etc/hostname"]);
    let (_, err) = text(&out);
    assert_eq!(out.status.code(), Some(125), "{err}");
    assert!(err.contains("is not a kernel image"), "{err}");
    let out = qemu(&["--arch", "sparc"]);
    assert_eq!(out.status.code(), Some(128));
}

#[test]
fn a_kernel_that_panics_or_hangs_cannot_test() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    if !provisioned() {
        return;
    }
    // An /init the kernel cannot execute: "Kernel panic - not syncing: No working init found".
    let junk = std::env::temp_dir().join(format!("clone3-abi-junk-init-{}", std::process::id()));
    std::fs::write(&junk, b"not an executable").unwrap();
    let out = qemu(&["--arch", "riscv64", "--agent", junk.to_str().unwrap(), "--accel", "tcg"]);
    let (ktap, err) = text(&out);
    assert_eq!(out.status.code(), Some(125), "{err}");
    assert!(err.contains("the kernel crashed before it reached the agent: ") && err.contains("Kernel panic"), "{err}");
    // Not a skip: KTAP readers must see it fail.
    assert!(ktap.contains("not ok 1 riscv64 # cannot test: ") && !ktap.contains("# SKIP"), "{ktap}");
    // A guest that outlives the watchdog is killed and reported as hung.
    let out = qemu(&["--arch", "riscv64", "--watchdog", "1", "--accel", "tcg"]);
    let (_, err) = text(&out);
    assert_eq!(out.status.code(), Some(125), "{err}");
    assert!(err.contains("hung past the watchdog"), "{err}");
    // A kernel that has not reached the agent within the boot limit is stopped there.
    let out = qemu(&["--arch", "riscv64", "--boot-timeout", "1", "--accel", "tcg"]);
    let (_, err) = text(&out);
    assert_eq!(out.status.code(), Some(125), "{err}");
    assert!(err.contains("the kernel did not reach the agent within 1s"), "{err}");
    std::fs::remove_file(junk).unwrap();
}

#[test]
fn a_baseline_mismatch_is_bad_with_the_diff() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    if !provisioned() {
        return;
    }
    let stored = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../snapshots/riscv64/6.12.snap");
    let text_in = std::fs::read_to_string(&stored).unwrap();
    let line = text_in.lines().find(|l| l.starts_with("size.page_plus_8 ")).unwrap();
    let changed = std::env::temp_dir().join(format!("clone3-abi-baseline-{}.snap", std::process::id()));
    std::fs::write(&changed, text_in.replace(line, &line.replace("E2BIG", "EINVAL"))).unwrap();
    let out = qemu(&["--arch", "riscv64", "--baseline", changed.to_str().unwrap()]);
    let (_, err) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("-size.page_plus_8") && err.contains("+size.page_plus_8"), "{err}");
    std::fs::remove_file(changed).unwrap();
}

#[test]
fn the_aarch64_guest_fuzzes_twenty_thousand_inputs_without_findings() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    if !provisioned() {
        return;
    }
    let dir = std::env::temp_dir().join(format!("clone3-abi-qfuzz-{}", std::process::id()));
    let out = qemu(&["--arch", "aarch64", "--fuzz", "20000", "--seed", "7", "--findings", dir.to_str().unwrap()]);
    let (_, err) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("aarch64: 20000 fuzz inputs, 0 findings"), "{err}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_kernel_without_clone3_cannot_test() {
    // qemu-user implements no clone3: the agent sees ENOSYS, as under a kernel without it
    // or a seccomp filter that hides it.
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let agent = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/aarch64-unknown-linux-gnu/agent/clone3-abi");
    let runner = Command::new("qemu-aarch64-static").arg("--version").output();
    if runner.is_err() || !agent.exists() {
        assert!(std::env::var_os("CI").is_none(), "CI must provision qemu-user-static and the agents");
        eprintln!("SKIP: needs qemu-aarch64-static and the aarch64 agent (cargo xtask agents)");
        return;
    }
    let out = Command::new("qemu-aarch64-static").arg(&agent).args(["run", "--no-snapshot"]).output().unwrap();
    let (ktap, err) = text(&out);
    assert_eq!(out.status.code(), Some(125), "{err}");
    assert!(err.contains("clone3 returns ENOSYS"), "{err}");
    assert!(ktap.contains("ok 1 clone3 # SKIP clone3 returns ENOSYS"), "{ktap}");
}

/// The x86_64 kernels of two stock guests (6.12 and 7.2), fetched by a run if not cached.
fn stock_kernels() -> (PathBuf, PathBuf) {
    let cache = std::env::var_os("CLONE3_ABI_CACHE").map(PathBuf::from).unwrap_or_else(|| PathBuf::from(std::env::var("HOME").unwrap()).join(".cache/clone3-abi"));
    let find = || {
        let glob = |dir_prefix: &str, file_prefix: &str| {
            std::fs::read_dir(cache.join("kernels")).ok()?.flatten().filter(|d| d.file_name().to_string_lossy().starts_with(dir_prefix)).find_map(|d| {
                std::fs::read_dir(d.path()).ok()?.flatten().map(|f| f.path()).find(|p| {
                    let n = p.file_name().unwrap().to_string_lossy().into_owned();
                    n.starts_with(file_prefix) && !n.ends_with(".elf")
                })
            })
        };
        Some((glob("linux-image-6.12.117+deb13-amd64_", "vmlinuz-")?, glob("linux-binary-7.2.13+deb14-amd64_", "vmlinuz")?))
    };
    find().unwrap_or_else(|| {
        let o = qemu(&["--arch", "x86_64,x86_64-sid", "--no-snapshot"]);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o).1);
        find().expect("the run cached both kernels")
    })
}

/// A real `git bisect` over a repository whose commits swap a 6.12 kernel for a 7.2 one,
/// judged by a model told the kernels lack exit_signal_in_kernel_clone (v7.1): 6.12 is
/// good, 7.2 is bad, and a commit whose build fails is skipped (125), never blamed.
#[test]
fn bisect_finds_the_commit_that_changed_the_kernel() {
    let _guard = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    if !provisioned() {
        return;
    }
    let (old, new) = stock_kernels();
    let repo = tempfile::tempdir().unwrap();
    let git = |args: &[&str]| {
        let o = Command::new("git").args(["-c", "user.name=t", "-c", "user.email=t@t"]).args(args).current_dir(repo.path()).output().unwrap();
        assert!(o.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    };
    git(&["init", "-q"]);
    std::fs::write(repo.path().join("build.sh"), "case $(cat which) in broken) exit 1;; old) cp \"$OLD\" bzImage;; new) cp \"$NEW\" bzImage;; esac\n").unwrap();
    let mut planted = String::new();
    for (i, which) in ["old", "old", "old", "new", "broken", "new"].iter().enumerate() {
        std::fs::write(repo.path().join("which"), which).unwrap();
        std::fs::write(repo.path().join("step"), i.to_string()).unwrap();
        git(&["add", "build.sh", "which", "step"]);
        git(&["commit", "-qm", &format!("step {i}: {which}")]);
        if i == 3 {
            planted = git(&["rev-parse", "--short", "HEAD"]);
        }
    }
    std::fs::write(repo.path().join(".git/info/exclude"), "bzImage\n").unwrap();
    let tip = git(&["rev-parse", "HEAD"]);
    let out = Command::new(env!("CARGO_BIN_EXE_clone3-abi"))
        .args(["bisect", "--good", "HEAD~5", "--bad", "HEAD", "--arch", "x86_64", "--build", "sh build.sh", "--kernel", "bzImage"])
        .args(["--", "--fixes=-exit_signal_in_kernel_clone"])
        .env("OLD", &old)
        .env("NEW", &new)
        .current_dir(repo.path())
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert!(stdout.starts_with(&format!("first bad commit: {planted} step 3: new")), "{stdout}{stderr}");
    assert!(stdout.contains("  FAIL x86_64 exit_signal.nsig_plus_1_with_unmapped_set_tid: expected EINVAL, got EFAULT"), "{stdout}");
    // Every step's verdict is what its kernel deserves; the broken build, if visited, is a skip.
    for line in stderr.lines().filter(|l| l.starts_with("clone3-abi: step ")) {
        let ok = (line.starts_with("clone3-abi: step good:") && line.ends_with(": old"))
            || (line.starts_with("clone3-abi: step bad:") && line.ends_with(": new"))
            || (line.starts_with("clone3-abi: step skip:") && line.ends_with(": broken"));
        assert!(ok, "{line}\n{stderr}");
    }
    assert_eq!(git(&["rev-parse", "HEAD"]), tip, "the tree is back where it was (git bisect reset)");
}
