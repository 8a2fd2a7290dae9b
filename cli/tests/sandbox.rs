//! The sandbox on hosts that differ from a developer's: a 32-bit agent on a kernel without
//! the 32-bit time syscalls; and the sandbox never outliving the CLI (SIGTERM, SIGKILL).

mod common;

use common::{cannot_run_here, cgroup_leftovers, is_root, jump, output_under_filter, stmt};
use std::process::{Command, Output, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The binary's runs are serialized, as in tests/native.rs.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// The i386 syscalls a kernel built without CONFIG_COMPAT_32BIT_TIME does not have (its
/// syscall table points them at sys_ni_syscall: ENOSYS), from arch/x86/entry/syscalls/syscall_32.tbl.
const I386_TIME32: &[(u32, &str)] = &[
    (13, "time"),
    (25, "stime"),
    (30, "utime"),
    (124, "adjtimex"),
    (161, "sched_rr_get_interval"),
    (162, "nanosleep"),
    (177, "rt_sigtimedwait"),
    (240, "futex"),
    (247, "io_getevents"),
    (260, "timer_settime"),
    (261, "timer_gettime"),
    (264, "clock_settime"),
    (265, "clock_gettime"),
    (266, "clock_getres"),
    (267, "clock_nanosleep"),
    (271, "utimes"),
    (279, "mq_timedsend"),
    (280, "mq_timedreceive"),
    (299, "futimesat"),
    (308, "pselect6"),
    (309, "ppoll"),
    (320, "utimensat"),
    (325, "timerfd_settime"),
    (326, "timerfd_gettime"),
    (337, "recvmmsg"),
    (343, "clock_adjtime"),
    (385, "io_pgetevents"),
];

const AUDIT_ARCH_I386: u32 = 0x4000_0003;

/// `bin ARGS` with the i386 32-bit-time syscalls answered ENOSYS, as by a kernel built
/// without CONFIG_COMPAT_32BIT_TIME. x86_64 syscalls (another audit arch) pass.
fn run_without_time32(bin: &str, args: &[&str]) -> Option<Output> {
    // seccomp_data: nr at offset 0, arch at offset 4.
    let mut prog = vec![
        stmt(libc::BPF_LD | libc::BPF_W | libc::BPF_ABS, 4),
        jump(libc::BPF_JEQ, AUDIT_ARCH_I386, 1, 0),
        stmt(libc::BPF_RET | libc::BPF_K, libc::SECCOMP_RET_ALLOW),
        stmt(libc::BPF_LD | libc::BPF_W | libc::BPF_ABS, 0),
    ];
    for &(nr, _) in I386_TIME32 {
        prog.push(jump(libc::BPF_JEQ, nr, 0, 1));
        prog.push(stmt(libc::BPF_RET | libc::BPF_K, libc::SECCOMP_RET_ERRNO | libc::ENOSYS as u32));
    }
    prog.push(stmt(libc::BPF_RET | libc::BPF_K, libc::SECCOMP_RET_ALLOW));
    let mut cmd = Command::new(bin);
    cmd.args(args).current_dir(std::env::temp_dir());
    output_under_filter(cmd, prog)
}

/// The i686 agent `cargo xtask agents` builds.
fn i686_agent() -> Option<String> {
    let p = concat!(env!("CARGO_MANIFEST_DIR"), "/../target/i686-unknown-linux-gnu/agent/clone3-abi");
    if std::path::Path::new(p).exists() {
        Some(p.to_string())
    } else {
        cannot_run_here(&format!("no i686 agent at {p} (cargo xtask agents i686-unknown-linux-gnu)"));
        None
    }
}

#[test]
#[cfg(target_arch = "x86_64")]
fn the_i686_agent_runs_without_the_32bit_time_syscalls() {
    let _g = serial();
    let Some(bin) = i686_agent() else { return };
    // The filter itself: a 32-bit clock_gettime is refused, so the binary cannot have run
    // "good" through the old syscalls.
    let Some(out) = run_without_time32(&bin, &["run"]) else { return };
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("0 failed, 0 skipped") || err.contains("0 failed"), "{err}");
    assert!(!err.contains("not run"), "{err}");
}

/// Starts `clone3-abi ARGS`, with stdout/stderr to files (a full pipe must not stop it).
fn start(args: &[&str], name: &str) -> (std::process::Child, std::path::PathBuf) {
    let dir = common::tmpdir(name);
    let err = dir.join("stderr");
    let child = Command::new(env!("CARGO_BIN_EXE_clone3-abi"))
        .args(args)
        .current_dir(&dir)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(dir.join("stdout")).unwrap())
        .stderr(std::fs::File::create(&err).unwrap())
        .spawn()
        .unwrap();
    (child, err)
}

/// `pid`'s descendants (other runs on this host, whose processes suite_processes() also
/// lists, are not ours to judge).
fn descendants(pid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    let mut todo = vec![pid];
    while let Some(p) = todo.pop() {
        for t in std::fs::read_dir(format!("/proc/{p}/task")).into_iter().flatten().flatten() {
            let text = std::fs::read_to_string(t.path().join("children")).unwrap_or_default();
            for c in text.split_whitespace().filter_map(|c| c.parse().ok()) {
                out.push(c);
                todo.push(c);
            }
        }
    }
    out
}

/// Waits until the run's sandbox is there (init1, init2 and a worker at least, so that
/// the prctl is made), at most 20 s; its pids.
fn wait_for_sandbox(cli: u32) -> Vec<u32> {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        let d = descendants(cli);
        if d.len() >= 3 {
            return d;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    panic!("no sandbox came up under {cli}");
}

/// Those of `pids` still alive (not zombies: a zombie has died).
fn alive(pids: &[u32]) -> Vec<String> {
    pids.iter()
        .filter_map(|p| std::fs::read_to_string(format!("/proc/{p}/stat")).ok().map(|s| (p, s)))
        .filter(|(_, s)| !s.rsplit(')').next().unwrap_or("").trim_start().starts_with('Z'))
        .map(|(p, s)| format!("{p}: {s:.60}"))
        .collect()
}

/// The `clone3-abi.<cli>.*` cgroups (a run's are named by its pid).
fn cgroups_of(cli: u32) -> Vec<String> {
    cgroup_leftovers().into_iter().filter(|d| d.contains(&format!("/clone3-abi.{cli}."))).collect()
}

/// Polls until nothing of the run is left, at most `limit`; the leftovers otherwise.
fn gone_within(cli: u32, pids: &[u32], limit: Duration) -> Result<(), String> {
    let deadline = Instant::now() + limit;
    loop {
        let procs = alive(pids);
        let cgs = cgroups_of(cli);
        if procs.is_empty() && cgs.is_empty() {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!("processes {procs:?}, cgroups {cgs:?}"));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// SIGTERM during a long fuzz run: the CLI kills the sandbox, removes the run's cgroup and
/// exits 128 + SIGTERM = 143, within a few seconds.
#[test]
fn sigterm_kills_the_sandbox_and_removes_the_cgroup() {
    let _g = serial();
    if !is_root() {
        return cannot_run_here("needs root (the PID-namespace sandbox and a cgroup)");
    }
    let (mut cli, err) = start(&["fuzz", "--iterations", "200000", "--seed", "1"], "sigterm");
    let id = cli.id();
    std::thread::sleep(Duration::from_millis(300));
    // Every process the CLI has started by now, while one sandbox at least runs.
    let mut pids = wait_for_sandbox(id);
    pids.extend(descendants(id));
    let t = Instant::now();
    unsafe { libc::kill(id as i32, libc::SIGTERM) };
    let status = wait_child(&mut cli, Duration::from_secs(20));
    let text = std::fs::read_to_string(&err).unwrap_or_default();
    assert_eq!(status.and_then(|s| s.code()), Some(143), "{text}");
    assert!(t.elapsed() < Duration::from_secs(10), "took {:?}", t.elapsed());
    assert!(text.contains("interrupted by signal 15"), "{text}");
    gone_within(id, &pids, Duration::from_secs(3)).unwrap();
}

/// SIGKILL of the CLI: no handler runs, the parent-death signal takes the sandbox down
/// (here a stopped one, which would otherwise stay forever).
#[test]
fn sigkill_of_the_cli_takes_the_sandbox_with_it() {
    let _g = serial();
    if !is_root() {
        return cannot_run_here("needs root (the PID-namespace sandbox)");
    }
    let (mut cli, _) = start(&["fuzz", "--iterations", "200000", "--seed", "2"], "sigkill");
    let id = cli.id();
    std::thread::sleep(Duration::from_millis(300));
    let pids = wait_for_sandbox(id);
    // Stopped, the sandbox cannot end its batch on its own: only a kill ends it.
    for &p in &pids {
        unsafe { libc::kill(p as i32, libc::SIGSTOP) };
    }
    unsafe { libc::kill(id as i32, libc::SIGKILL) };
    let _ = cli.wait();
    // The cgroup may stay (no code of ours ran); the next run's sweep removes it.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let left = alive(&pids);
        if left.is_empty() {
            break;
        }
        assert!(Instant::now() < deadline, "still running 5 s after the CLI's SIGKILL: {left:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The same as a normal user (setpriv to nobody): the worker is the CLI's own child, and
/// what it left (CLONE_PARENT children land on the CLI, the subreaper) is killed too.
#[test]
fn sigterm_as_a_normal_user_kills_what_the_run_started() {
    let _g = serial();
    if !is_root() || Command::new("setpriv").arg("--version").output().is_err() {
        return cannot_run_here("needs root and setpriv (to become nobody)");
    }
    let dir = common::tmpdir("sigterm-user");
    let err = dir.join("stderr");
    let mut cli = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", env!("CARGO_BIN_EXE_clone3-abi")])
        .args(["fuzz", "--iterations", "200000", "--seed", "3", "--findings", "/tmp"])
        .current_dir("/tmp")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&err).unwrap())
        .spawn()
        .unwrap();
    // setpriv execs the CLI in place: same pid.
    let id = cli.id();
    std::thread::sleep(Duration::from_millis(300));
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut pids = descendants(id);
    while pids.is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
        pids = descendants(id);
    }
    assert!(!pids.is_empty(), "no worker came up");
    unsafe { libc::kill(id as i32, libc::SIGTERM) };
    let status = wait_child(&mut cli, Duration::from_secs(20));
    let text = std::fs::read_to_string(&err).unwrap_or_default();
    assert_eq!(status.and_then(|s| s.code()), Some(143), "{text}");
    assert!(alive(&pids).is_empty(), "left running: {:?}", alive(&pids));
}

fn wait_child(c: &mut std::process::Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(s) = c.try_wait().unwrap() {
            return Some(s);
        }
        if Instant::now() > deadline {
            let _ = c.kill();
            let _ = c.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}
