//! The worker: the process that calls clone3 for every case, in the sandbox. It writes one
//! JSON line per case to the pipe the CLI reads.

use super::arena::Arena;
use super::attempt::{attempt, attempt_prepared, prepare, CgroupTarget, Resources};
use super::cgroup::RunCgroup;
use super::child::CGROUP_LINE_MAX;
use super::{signals, Observed};
use clone3_arches::ArchProfile;
use clone3_suites::{Caller, Case, Env};
use rustix::fd::{AsFd, OwnedFd};
use rustix::fs::{Mode, OFlags};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::time::Duration;

/// One line of the worker's output.
#[derive(Serialize, Deserialize)]
pub struct Line {
    pub index: usize,
    pub observed: Observed,
}

pub struct Plan<'a> {
    pub cases: &'a [Case],
    /// Which cases to run (the others are skipped by the model's gates).
    pub run: &'a [bool],
    pub env: &'a Env,
    pub arch: &'a ArchProfile,
    /// The run's own cgroup2 directory, made by the CLI before the worker starts.
    pub cgroup: CgroupPlan<'a>,
    pub cgroup_v1_dir: Option<&'a str>,
    pub timeout: Duration,
}

/// The target of the CLONE_INTO_CGROUP cases.
#[derive(Clone, Copy)]
pub enum CgroupPlan<'a> {
    /// No case to run needs one.
    NotNeeded,
    Made(&'a RunCgroup),
    /// The CLI could not make it: why (those cases are not run).
    Failed(&'a str),
}

/// Runs the plan and returns the worker's exit code.
///
/// A panic must not unwind out of here: this process is a forked copy of the CLI, and its
/// stack leads back into the CLI's own `catch_unwind`, which would print the CLI's
/// "internal error" from the worker and leave only an exit code for the sandbox to report.
/// It becomes a `fatal` line that names the case instead: the cases not run yet are then
/// not run (125), never failed.
pub fn work(plan: &Plan, out: OwnedFd) -> i32 {
    signals::setup_worker();
    let mut out = std::fs::File::from(out);
    let current = std::cell::Cell::new(None);
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run_all(plan, &mut out, &current)));
    outcome.unwrap_or_else(|panic| {
        let at = current.get().map_or(String::new(), |i: usize| format!(" at {}", plan.cases[i].id));
        let why = format!("the runner panicked{at}: {}", panic_text(&*panic));
        let _ = writeln!(out, "{}", serde_json::json!({ "fatal": why }));
        3
    })
}

fn run_all(plan: &Plan, out: &mut std::fs::File, current: &std::cell::Cell<Option<usize>>) -> i32 {
    let mut res = match resources(plan) {
        Ok(r) => r,
        Err(e) => {
            let _ = writeln!(out, "{}", serde_json::json!({ "fatal": e }));
            return 2;
        }
    };
    let inject = injected_panic();
    for (index, case) in plan.cases.iter().enumerate().filter(|(i, _)| plan.run[*i]) {
        current.set(Some(index));
        let observed = match case.caller {
            Caller::Worker => {
                if inject.as_deref() == Some(case.id.as_str()) {
                    panic!("injected by {INJECT_PANIC}");
                }
                attempt(case, plan.env, plan.arch, &mut res)
            }
            _ => in_helper(case, plan, &mut res, inject.as_deref()),
        };
        let line = serde_json::to_string(&Line { index, observed }).expect("serializable");
        if writeln!(out, "{line}").is_err() {
            break;
        }
    }
    current.set(None);
    drop(res);
    0
}

/// A hidden test hook, not part of the CLI's interface: the id of a case at which the
/// runner panics, so that tests can check what a panic in the sandbox becomes.
const INJECT_PANIC: &str = "CLONE3_ABI_TEST_PANIC_AT";

fn injected_panic() -> Option<String> {
    std::env::var(INJECT_PANIC).ok()
}

fn panic_text(panic: &(dyn std::any::Any + Send)) -> String {
    match (panic.downcast_ref::<&str>(), panic.downcast_ref::<String>()) {
        (Some(s), _) => s.to_string(),
        (_, Some(s)) => s.clone(),
        _ => "(no message)".into(),
    }
}

pub(super) fn resources(plan: &Plan) -> Result<Resources, String> {
    let (report_rd, report_wr) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC).map_err(|e| format!("pipe: {e}"))?;
    let not_cgroup = rustix::fs::open("/", OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty()).map_err(|e| format!("open /: {e}"))?;
    // O_PATH: children read through it, in a mount namespace that may have no /proc.
    let proc_dir = rustix::fs::open("/proc", OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty());
    let proc_dir = proc_dir.map_err(|e| format!("open /proc: {e}"));
    let cgroup = match plan.cgroup {
        CgroupPlan::NotNeeded => Err("the run made no cgroup2 directory (no case asked for one)".to_string()),
        CgroupPlan::Failed(why) => Err(why.to_string()),
        CgroupPlan::Made(made) => open_cgroup(made),
    };
    let v1_dir = match plan.cgroup_v1_dir {
        None => Err("none is mounted".to_string()),
        Some(d) => rustix::fs::open(d, OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty()).map_err(|e| format!("open {d}: {e}")),
    };
    Ok(Resources {
        arena: Arena::new().map_err(|e| format!("mmap: {e}"))?,
        report_rd,
        report_wr,
        cgroup,
        not_cgroup,
        proc_dir,
        v1_dir,
        nonce: 0,
        timeout: plan.timeout,
    })
}

fn open_cgroup(made: &RunCgroup) -> Result<CgroupTarget, String> {
    use super::cgroup::{ANCESTOR_DST, ANCESTOR_SRC, LOCKED, REMOVED};
    if made.proc_line.len() > CGROUP_LINE_MAX {
        return Err(format!("the run's cgroup path is longer than the {CGROUP_LINE_MAX} bytes a child can compare: {}", made.proc_line));
    }
    let open = |p: &std::path::Path, flags: OFlags| {
        rustix::fs::open(p, flags | OFlags::CLOEXEC, Mode::empty()).map_err(|e| format!("open {}: {e}", p.display()))
    };
    let dir = |p: &std::path::Path| open(p, OFlags::RDONLY | OFlags::DIRECTORY);
    let removed_dir = made.dir.join(REMOVED);
    std::fs::create_dir(&removed_dir).map_err(|e| format!("cannot make {}: {e}", removed_dir.display()))?;
    let removed = dir(&removed_dir);
    std::fs::remove_dir(&removed_dir).map_err(|e| format!("cannot remove {}: {e}", removed_dir.display()))?;
    Ok(CgroupTarget {
        fd: dir(&made.dir)?,
        proc_line: made.proc_line.clone(),
        path_fd: open(&made.dir, OFlags::PATH | OFlags::DIRECTORY)?,
        procs_fd: open(&made.dir.join("cgroup.procs"), OFlags::RDONLY)?,
        removed: removed?,
        locked: dir(&made.dir.join(LOCKED))?,
        ancestor_dst: dir(&made.dir.join(ANCESTOR_DST))?,
        ancestor_src_procs: open(&made.dir.join(ANCESTOR_SRC).join("cgroup.procs"), OFlags::WRONLY)?,
        busy: made.busy.as_ref().map_err(String::clone).and_then(|b| dir(b)),
    })
}

/// `CgroupArg::AncestorNotWritable`: the capability-less caller first joins the target's
/// sibling, so that their parent (whose cgroup.procs is read-only) is the common ancestor.
fn move_next_to_target(case: &Case, res: &Resources) -> Result<(), String> {
    if case.cgroup != clone3_suites::CgroupArg::AncestorNotWritable {
        return Ok(());
    }
    let cg = res.cgroup.as_ref().map_err(String::clone)?;
    // "0" is the writer itself, whatever its pid namespace.
    rustix::io::write(&cg.ancestor_src_procs, b"0").map(drop).map_err(|e| format!("cannot join the target's sibling cgroup: {e}"))
}

/// Runs one case in a helper child of the worker, which sends its `Observed` back as JSON:
/// for `Caller::NoCaps` a fork that drops every capability, for the `Caller::UserNs*` ones a
/// fork that unshares a user namespace, for `Caller::Autoreaped` a clone3(CLONE_AUTOREAP)
/// child, which keeps the worker's capabilities ([`become_caller`]).
fn in_helper(case: &Case, plan: &Plan, res: &mut Resources, inject: Option<&str>) -> Observed {
    let set_tid = match prepare(case, plan.env, plan.arch, res) {
        Ok(t) => t,
        Err(why) => return Observed::NotRun(why),
    };
    let Ok((rd, wr)) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC) else {
        return Observed::NotRun("pipe failed".into());
    };
    let helper = match Helper::start(case.caller) {
        Ok(h) => h,
        Err(why) => return Observed::NotRun(why),
    };
    let Some(helper) = helper else {
        drop(rd);
        // A panic here must not unwind into the worker's loop, in this process.
        let observed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            if inject == Some(case.id.as_str()) {
                panic!("injected by {INJECT_PANIC}");
            }
            match become_caller(case, res) {
                Ok(()) => attempt_prepared(case, plan.env, res, set_tid),
                Err(why) => Observed::NotRun(why),
            }
        }))
        .unwrap_or_else(|panic| Observed::NotRun(format!("the runner panicked at {} ({}): {}", case.id, helper_name(case.caller), panic_text(&*panic))));
        let mut f = std::fs::File::from(wr);
        let _ = f.write_all(serde_json::to_string(&observed).unwrap_or_default().as_bytes());
        unsafe { libc::_exit(0) }
    };
    drop(wr);
    let text = super::sandbox::read_bounded(rd.as_fd(), plan.timeout * 2);
    helper.end(text.is_none(), plan.timeout);
    match text.and_then(|t| serde_json::from_str(&t).ok()) {
        Some(o) => o,
        None => Observed::NotRun(format!("the {} sent nothing", helper_name(case.caller))),
    }
}

fn helper_name(caller: Caller) -> &'static str {
    match caller {
        Caller::Worker => "worker",
        Caller::NoCaps => "capability-less helper",
        Caller::Autoreaped => "autoreaped helper",
        Caller::UserNs | Caller::UserNsWithoutRoom => "user-namespace helper",
    }
}

/// What the helper does before the call: NoCaps moves (for `AncestorNotWritable`) and
/// drops every capability; the user-namespace callers unshare and map themselves; the
/// autoreaped caller is ready as it starts.
fn become_caller(case: &Case, res: &Resources) -> Result<(), String> {
    match case.caller {
        Caller::Worker | Caller::Autoreaped => Ok(()),
        Caller::NoCaps => {
            move_next_to_target(case, res)?;
            let none = rustix::thread::CapabilitySet::empty();
            let sets = rustix::thread::CapabilitySets { effective: none, permitted: none, inheritable: none };
            rustix::thread::set_capabilities(None, sets).map_err(|e| format!("capset: {e}"))
        }
        Caller::UserNs | Caller::UserNsWithoutRoom => {
            let proc = res.proc_dir.as_ref().map_err(String::clone)?;
            // SAFETY: a single-threaded fork of the worker, and only the user namespace.
            unsafe { rustix::thread::unshare_unsafe(rustix::thread::UnshareFlags::NEWUSER) }.map_err(|e| format!("unshare(CLONE_NEWUSER): {e}"))?;
            // Root there is us (uid and gid 0 outside): the one mapping a process may write
            // for itself, gid_map after setgroups is denied (user_namespaces(7)).
            let mut writes = vec![("self/setgroups", "deny"), ("self/uid_map", "0 0 1"), ("self/gid_map", "0 0 1")];
            if case.caller == Caller::UserNsWithoutRoom {
                // The namespace's own limits (kernel/ucount.c: writable by its CAP_SYS_RESOURCE).
                writes.extend([("sys/user/max_user_namespaces", "0"), ("sys/user/max_pid_namespaces", "0")]);
            }
            for (file, text) in writes {
                let fd = rustix::fs::openat(proc, file, OFlags::WRONLY | OFlags::CLOEXEC, Mode::empty())
                    .map_err(|e| format!("open /proc/{file} in the caller's user namespace: {e}"))?;
                rustix::io::write(&fd, text.as_bytes()).map_err(|e| format!("write {text:?} to /proc/{file}: {e}"))?;
            }
            Ok(())
        }
    }
}

/// A running helper, seen from the worker.
enum Helper {
    Forked(libc::pid_t),
    /// Reaped by the kernel when it exits: its pidfd says when.
    Autoreaped(OwnedFd),
}

impl Helper {
    /// `None` in the helper itself.
    fn start(caller: Caller) -> Result<Option<Self>, String> {
        if caller != Caller::Autoreaped {
            return match unsafe { libc::fork() } {
                -1 => Err(format!("fork: {}", std::io::Error::last_os_error())),
                0 => Ok(None),
                pid => Ok(Some(Helper::Forked(pid))),
            };
        }
        let mut pidfd: i32 = -1;
        let mut args = clone3_arches::CloneArgs {
            flags: clone3_suites::flags::AUTOREAP | clone3_suites::flags::PIDFD,
            pidfd: &mut pidfd as *mut i32 as u64,
            // CLONE_AUTOREAP takes no exit signal.
            exit_signal: 0,
            ..super::attempt::sigchld_only()
        };
        // SAFETY: fork-like (no CLONE_VM, no stack): the child returns here on a copy of
        // this single-threaded worker, like fork's.
        match unsafe { clone3_arches::clone3(&mut args, core::mem::size_of::<clone3_arches::CloneArgs>()) } {
            0 => Ok(None),
            r if r < 0 => Err(format!("cannot start an autoreaped caller: clone3(CLONE_AUTOREAP): {}", std::io::Error::from_raw_os_error(-r as i32))),
            _ => Ok(Some(Helper::Autoreaped(unsafe { rustix::fd::FromRawFd::from_raw_fd(pidfd) }))),
        }
    }

    /// Kills it when `kill`, and waits (bounded) until it is gone.
    fn end(self, kill: bool, timeout: Duration) {
        match self {
            Helper::Forked(pid) => {
                let mut st = 0;
                if kill {
                    unsafe { libc::kill(pid, libc::SIGKILL) };
                }
                unsafe { libc::waitpid(pid, &mut st, libc::__WALL) };
            }
            Helper::Autoreaped(fd) => {
                if kill {
                    let _ = rustix::process::pidfd_send_signal(&fd, rustix::process::Signal::KILL);
                }
                // Readable once it has exited; the kernel reaps it.
                let _ = super::sandbox::wait_readable(fd.as_fd(), timeout);
                // A CLONE_PARENT child of it is the worker's: reap what has ended.
                while unsafe { libc::waitpid(-1, std::ptr::null_mut(), libc::WNOHANG | libc::__WALL) } > 0 {}
            }
        }
    }
}
