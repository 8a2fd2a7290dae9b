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
            Caller::NoCaps => without_caps(case, plan, &mut res, inject.as_deref()),
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
    if made.proc_line.len() > CGROUP_LINE_MAX {
        return Err(format!("the run's cgroup path is longer than the {CGROUP_LINE_MAX} bytes a child can compare: {}", made.proc_line));
    }
    let fd = rustix::fs::open(&made.dir, OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty())
        .map_err(|e| format!("open {}: {e}", made.dir.display()))?;
    Ok(CgroupTarget { fd, proc_line: made.proc_line.clone() })
}

/// Runs one case in a child of the worker that dropped every capability; the child
/// sends its `Observed` back as JSON.
fn without_caps(case: &Case, plan: &Plan, res: &mut Resources, inject: Option<&str>) -> Observed {
    let set_tid = match prepare(case, plan.env, plan.arch, res) {
        Ok(t) => t,
        Err(why) => return Observed::NotRun(why),
    };
    let Ok((rd, wr)) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC) else {
        return Observed::NotRun("pipe failed".into());
    };
    match unsafe { libc::fork() } {
        -1 => Observed::NotRun(format!("fork: {}", std::io::Error::last_os_error())),
        0 => {
            drop(rd);
            let none = rustix::thread::CapabilitySet::empty();
            let sets = rustix::thread::CapabilitySets { effective: none, permitted: none, inheritable: none };
            // A panic here must not unwind into the worker's loop, in this process.
            let observed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                if inject == Some(case.id.as_str()) {
                    panic!("injected by {INJECT_PANIC}");
                }
                match rustix::thread::set_capabilities(None, sets) {
                    Ok(()) => attempt_prepared(case, plan.env, res, set_tid),
                    Err(e) => Observed::NotRun(format!("capset: {e}")),
                }
            }))
            .unwrap_or_else(|panic| Observed::NotRun(format!("the runner panicked at {} (capability-less helper): {}", case.id, panic_text(&*panic))));
            let mut f = std::fs::File::from(wr);
            let _ = f.write_all(serde_json::to_string(&observed).unwrap_or_default().as_bytes());
            unsafe { libc::_exit(0) }
        }
        pid => {
            drop(wr);
            let text = super::sandbox::read_bounded(rd.as_fd(), plan.timeout * 2);
            let mut st = 0;
            if text.is_none() {
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
            unsafe { libc::waitpid(pid, &mut st, libc::__WALL) };
            match text.and_then(|t| serde_json::from_str(&t).ok()) {
                Some(o) => o,
                None => Observed::NotRun("the capability-less helper sent nothing".into()),
            }
        }
    }
}
