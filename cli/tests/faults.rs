//! The runner's own failures are "cannot test" (125) with the cause on stderr, never a
//! table of FAILs (1): a seccomp filter between the cases and the kernel, a pidfd_open that
//! fails. Each fault is injected into a forked child of the test (a seccomp filter
//! installed between fork and exec), so the test process and the host are left as they were.

mod common;

use common::{cannot_run_here, jump, output_under_filter, stmt};
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
    let mut prog = vec![stmt(libc::BPF_LD | libc::BPF_W | libc::BPF_ABS, 0)];
    for &(nr, action) in rules {
        prog.push(jump(libc::BPF_JEQ, nr as u32, 0, 1));
        prog.push(stmt(libc::BPF_RET | libc::BPF_K, action));
    }
    prog.push(stmt(libc::BPF_RET | libc::BPF_K, libc::SECCOMP_RET_ALLOW));
    run_with_filter(prog, prefix, args)
}

fn run_with_filter(prog: Vec<libc::sock_filter>, prefix: &[&str], args: &[&str]) -> Option<Output> {
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
    output_under_filter(cmd, prog)
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

/// A cgroup of one test's, under the cgroup the test runs in; removed (rmdir) when dropped.
struct TestCgroup {
    /// The cgroup2 mount point (its root is the hierarchy's root).
    mount: std::path::PathBuf,
    dir: std::path::PathBuf,
}

impl TestCgroup {
    fn new(name: &str) -> Option<Self> {
        if !common::is_root() {
            cannot_run_here("needs root to make cgroups and mounts");
            return None;
        }
        let mi = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
        let mount = mi.lines().filter(|l| l.contains(" - cgroup2 ")).find_map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            (f[3] == "/").then(|| std::path::PathBuf::from(f[4]))
        });
        let own = std::fs::read_to_string("/proc/self/cgroup").unwrap();
        let own = own.lines().find_map(|l| l.strip_prefix("0::")).map(|p| p.trim_start_matches('/').to_string());
        let (Some(mount), Some(own)) = (mount, own) else {
            cannot_run_here("needs a cgroup2 mount of the whole hierarchy");
            return None;
        };
        // Not named clone3-abi.*: a run's sweep must never take it for its own.
        let dir = mount.join(own).join(format!("c3-test-{name}.{}", std::process::id()));
        if let Err(e) = std::fs::create_dir(&dir) {
            cannot_run_here(&format!("cannot make {}: {e}", dir.display()));
            return None;
        }
        Some(TestCgroup { mount, dir })
    }

    /// `clone3-abi run ARGS` as a member of this cgroup, after `mounts` in a private mount
    /// namespace of its own (the test's and the host's mounts stay as they are).
    fn run(&self, mounts: Mounts, args: &[&str]) -> Output {
        use std::ffi::CString;
        let c = |p: &std::path::Path| CString::new(p.as_os_str().as_encoded_bytes()).unwrap();
        let (procs, dir, mount) = (c(&self.dir.join("cgroup.procs")), c(&self.dir), c(&self.mount));
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_clone3-abi"));
        cmd.arg("run").args(args).current_dir(std::env::temp_dir());
        // SAFETY: between fork and exec only raw syscalls, on memory made before.
        unsafe {
            cmd.pre_exec(move || {
                let check = |r: libc::c_int| if r < 0 { Err(std::io::Error::last_os_error()) } else { Ok(()) };
                let fd = libc::open(procs.as_ptr(), libc::O_WRONLY);
                check(fd)?;
                // "0" moves the writer.
                check(libc::write(fd, b"0".as_ptr().cast(), 1) as libc::c_int)?;
                libc::close(fd);
                if let Mounts::None = mounts {
                    return Ok(());
                }
                check(libc::unshare(libc::CLONE_NEWNS))?;
                check(libc::mount(core::ptr::null(), c"/".as_ptr(), core::ptr::null(), libc::MS_REC | libc::MS_PRIVATE, core::ptr::null()))?;
                match mounts {
                    Mounts::None => {}
                    Mounts::SubtreeOverHierarchy => {
                        check(libc::mount(dir.as_ptr(), mount.as_ptr(), core::ptr::null(), libc::MS_BIND, core::ptr::null()))?;
                    }
                    Mounts::ReadOnlyOwnCgroup => {
                        check(libc::mount(dir.as_ptr(), dir.as_ptr(), core::ptr::null(), libc::MS_BIND, core::ptr::null()))?;
                        let ro = libc::MS_BIND | libc::MS_REMOUNT | libc::MS_RDONLY;
                        check(libc::mount(core::ptr::null(), dir.as_ptr(), core::ptr::null(), ro, core::ptr::null()))?;
                    }
                }
                Ok(())
            });
        }
        cmd.output().expect("run the binary in the test cgroup")
    }

    /// The `clone3-abi.*` directories in it.
    fn run_dirs(&self) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(&self.dir)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("clone3-abi."))
            .collect();
        v.sort();
        v
    }
}

impl Drop for TestCgroup {
    fn drop(&mut self) {
        for _ in 0..200 {
            match std::fs::remove_dir(&self.dir) {
                Err(e) if e.raw_os_error() == Some(libc::EBUSY) => std::thread::sleep(std::time::Duration::from_millis(10)),
                _ => return,
            }
        }
    }
}

#[derive(Clone, Copy)]
enum Mounts {
    None,
    /// The test cgroup bound over the hierarchy's mount point: mountinfo's root field is
    /// then the test cgroup, not `/`.
    SubtreeOverHierarchy,
    /// The test cgroup's directory bound onto itself read-only.
    ReadOnlyOwnCgroup,
}

/// The KTAP result line of one case.
fn result_line<'a>(ktap: &'a str, id: &str) -> &'a str {
    let id_of = |l: &str| l.split_whitespace().skip_while(|w| *w == "not" || *w == "ok").nth(1).map(str::to_string);
    ktap.lines().find(|l| id_of(l).as_deref() == Some(id)).unwrap_or_else(|| panic!("no result for {id}:\n{ktap}"))
}

#[test]
fn the_run_cgroup_goes_under_the_clis_own_through_a_mounted_subtree() {
    let _guard = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let Some(cg) = TestCgroup::new("subtree") else { return };
    // Left by earlier runs: only the stale ones without members may go, with the empty
    // cgroups a run makes inside its own.
    let me = std::process::id();
    let stale = cg.dir.join("clone3-abi.2147483000.0123456789abcdef");
    let busy = cg.dir.join("clone3-abi.2147483001.0123456789abcdef");
    let alive = cg.dir.join(format!("clone3-abi.{me}.0123456789abcdef"));
    let locked = cg.dir.join("clone3-abi.2147483002.0123456789abcdef");
    for d in [&stale, &busy, &alive, &locked] {
        std::fs::create_dir(d).unwrap();
    }
    std::fs::create_dir_all(stale.join("ancestor/src")).unwrap();
    std::fs::create_dir(busy.join("inner")).unwrap();
    let mut member = std::process::Command::new("sleep").arg("60").spawn().unwrap();
    std::fs::write(busy.join("inner/cgroup.procs"), member.id().to_string()).unwrap();
    let lock = std::fs::File::open(&locked).unwrap();
    assert_eq!(unsafe { libc::flock(std::os::fd::AsRawFd::as_raw_fd(&lock), libc::LOCK_EX | libc::LOCK_NB) }, 0);

    let out = cg.run(Mounts::SubtreeOverHierarchy, &["--no-snapshot", "--filter", "cgroup."]);
    let (ktap, err) = (String::from_utf8_lossy(&out.stdout), stderr(&out));
    let left = cg.run_dirs();
    drop(lock);
    let _ = member.kill();
    let _ = member.wait();
    let _ = std::fs::remove_dir(busy.join("inner"));
    for d in [&stale, &busy, &alive, &locked] {
        let _ = std::fs::remove_dir(d);
    }
    assert_eq!(out.status.code(), Some(0), "{err}");
    let target = result_line(&ktap, "cgroup.target");
    assert!(target.starts_with("  ok ") && !target.contains("# SKIP"), "{target}\n{err}");
    let name = |p: &std::path::Path| p.file_name().unwrap().to_string_lossy().into_owned();
    let mut kept = vec![name(&busy), name(&locked), name(&alive)];
    kept.sort();
    assert_eq!(left, kept, "the stale directory without members goes, the run's own is removed, nothing else is touched");
}

#[test]
fn a_read_only_own_cgroup_skips_the_target_cases_with_the_reason() {
    let _guard = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let Some(cg) = TestCgroup::new("ro") else { return };
    let out = cg.run(Mounts::ReadOnlyOwnCgroup, &["--no-snapshot", "--filter", "cgroup."]);
    let (ktap, err) = (String::from_utf8_lossy(&out.stdout), stderr(&out));
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("is read-only: CLONE_INTO_CGROUP target cases are skipped"), "{err}");
    let target = result_line(&ktap, "cgroup.target");
    assert!(target.contains("# SKIP needs a writable cgroup2 mount"), "{target}");
    // The cases that need no cgroup of the run's still ran.
    assert!(result_line(&ktap, "cgroup.closed_fd").starts_with("  ok ") && !result_line(&ktap, "cgroup.closed_fd").contains("SKIP"));
    assert!(cg.run_dirs().is_empty());
}

#[test]
fn a_cgroup_the_run_cannot_make_is_not_run_and_the_rest_still_runs() {
    let _guard = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let Some(cg) = TestCgroup::new("full") else { return };
    // A delegated subtree with no room for one more cgroup: mkdir gives EAGAIN, which no
    // probe sees coming.
    std::fs::write(cg.dir.join("cgroup.max.descendants"), "0").unwrap();
    let out = cg.run(Mounts::None, &["--no-snapshot"]);
    let (ktap, err) = (String::from_utf8_lossy(&out.stdout), stderr(&out));
    assert_eq!(out.status.code(), Some(125), "{err}");
    // One line for the one cause, naming the first cases.
    let line = err.lines().find(|l| l.starts_with("  NOT RUN ")).unwrap_or_default();
    assert!(line.contains(" cases (") && line.contains(": not run: cannot make the run's cgroup"), "{err}");
    assert!(err.contains("Resource temporarily unavailable"), "{err}");
    assert!(!err.contains("FAIL"), "{err}");
    // Only the cases that target the run's cgroup are not run.
    let not_run: usize = err
        .lines()
        .find_map(|l| l.strip_prefix("clone3-abi: ")?.strip_suffix(" cases could not be run by the tool (cannot test; see above)")?.parse().ok())
        .unwrap_or(0);
    let passed = ktap.lines().filter(|l| l.starts_with("  ok ") && !l.contains("# SKIP")).count();
    assert!((1..20).contains(&not_run) && passed >= 250, "{not_run} not run, {passed} passed:\n{err}");
}

/// `clone3-abi run ARGS` with the worker's hidden panic hook set to case `at`.
fn run_panicking_at(at: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_clone3-abi"))
        .arg("run")
        .args(args)
        .env("CLONE3_ABI_TEST_PANIC_AT", at)
        .env("RUST_BACKTRACE", "0")
        .current_dir(std::env::temp_dir())
        .output()
        .expect("run the binary")
}

#[test]
fn a_panic_in_the_worker_is_cannot_test_with_its_message() {
    let _guard = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let out = run_panicking_at("size.ver1", &["--no-snapshot"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(125), "{err}");
    // The case it died in and every one after: one cause, one line.
    let line = err.lines().find(|l| l.starts_with("  NOT RUN ")).unwrap_or_default();
    assert!(line.contains(" cases (size.ver1, "), "{err}");
    assert!(line.ends_with(": not run: worker: the runner panicked at size.ver1: injected by CLONE3_ABI_TEST_PANIC_AT"), "{err}");
    // Not the CLI's own catch-all, printed by the worker's copy of it.
    assert!(!err.contains("internal error") && !err.contains("FAIL"), "{err}");
    // The cases before it ran.
    assert!(err.contains("clone3-abi: ") && !err.contains(" 0 passed,"), "{err}");
}

#[test]
fn a_panic_in_the_capability_less_helper_loses_only_its_case() {
    let _guard = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    if !common::is_root() {
        return cannot_run_here("the capability-less helper runs only as root");
    }
    let out = run_panicking_at("set_tid.no_caps", &["--no-snapshot", "--filter", "set_tid."]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(125), "{err}");
    let not_run: Vec<&str> = err.lines().filter(|l| l.starts_with("  NOT RUN ")).collect();
    assert_eq!(not_run, ["  NOT RUN set_tid.no_caps: not run: the runner panicked at set_tid.no_caps (capability-less helper): injected by CLONE3_ABI_TEST_PANIC_AT"], "{err}");
    assert!(!err.contains("FAIL"), "{err}");
}

#[test]
fn a_refused_pid_namespace_cannot_test() {
    let _guard = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    if !common::is_root() {
        return cannot_run_here("only root builds the PID-namespace sandbox");
    }
    // clone(CLONE_NEWPID | ...) answered with EPERM, as a container's profile may: the
    // sandbox cannot start. The flags are clone's first argument; its low word is at
    // offset 16 of seccomp_data on the little-endian arches this runs on.
    let prog = vec![
        stmt(libc::BPF_LD | libc::BPF_W | libc::BPF_ABS, 0),
        jump(libc::BPF_JEQ, libc::SYS_clone as u32, 0, 3),
        stmt(libc::BPF_LD | libc::BPF_W | libc::BPF_ABS, 16),
        jump(libc::BPF_JSET, libc::CLONE_NEWPID as u32, 0, 1),
        stmt(libc::BPF_RET | libc::BPF_K, libc::SECCOMP_RET_ERRNO | libc::EPERM as u32),
        stmt(libc::BPF_RET | libc::BPF_K, libc::SECCOMP_RET_ALLOW),
    ];
    let Some(out) = run_with_filter(prog, &[], &["--no-snapshot"]) else { return };
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(125), "{err}");
    // The clone stub's own -errno, not errno (which read "Success (os error 0)").
    assert!(err.contains("not run: could not start the worker: Operation not permitted (os error 1)"), "{err}");
    assert!(!err.contains("FAIL"), "{err}");
}

#[test]
fn a_worker_killed_by_a_signal_cannot_test() {
    let _guard = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    // As the OOM killer would, mid-run: only the worker calls pidfd_send_signal (for the
    // first CLONE_PIDFD case), and the filter kills it for that.
    let rules = [(libc::SYS_pidfd_send_signal, libc::SECCOMP_RET_KILL_PROCESS)];
    let Some(out) = run_filtered(&rules, &["--no-snapshot"]) else { return };
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(125), "{err}");
    assert!(err.contains(&format!("not run: the worker was killed by signal {}", libc::SIGSYS)), "{err}");
    assert!(!err.contains("FAIL"), "{err}");
}
