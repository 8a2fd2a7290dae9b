//! The one pipeline every front end uses: case tables → model → runner → verdicts.
//! `run` (native), the agent (PID 1 in a guest) and the QEMU driver all go through here.

use crate::probe::Probe;
use crate::runner::cgroup::RunCgroup;
use crate::runner::{run_cases, CgroupPlan, Observed, Plan, RunOptions};
use clone3_suites::case::CgroupArg;
use clone3_suites::Case;
use std::time::Duration;

pub use clone3_report::evaluate;
pub use clone3_suites::predict_all;

/// The runner's plan for `cases` on the machine `probe` read, without a cgroup of its
/// own ([`execute`] makes one when a case needs it).
pub fn plan<'a>(cases: &'a [Case], run: &'a [bool], probe: &'a Probe, timeout: Duration) -> Plan<'a> {
    Plan {
        cases,
        run,
        env: &probe.env,
        arch: &probe.arch,
        cgroup: CgroupPlan::NotNeeded,
        cgroup_v1_dir: probe.cgroup_v1_dir.as_deref(),
        timeout,
    }
}

/// What a run shows while it goes.
pub enum Progress<'a> {
    Quiet,
    /// A progress bar on the terminal.
    Bar,
    /// Each case's index and observation as soon as the worker reports it.
    Each(&'a mut dyn FnMut(usize, &Observed)),
}

/// Runs the cases `run_mask` marks, showing `progress`.
pub fn execute(cases: &[Case], run_mask: &[bool], probe: &Probe, timeout: Duration, mut progress: Progress) -> Vec<Option<Observed>> {
    let bar = if matches!(progress, Progress::Bar) {
        indicatif::ProgressBar::new(run_mask.iter().filter(|r| **r).count() as u64)
    } else {
        indicatif::ProgressBar::hidden()
    };
    bar.set_style(indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} cases").expect("template"));
    // The run's cgroup, when a case to run targets one: made before the worker starts,
    // removed when `made` is dropped, after the sandbox has ended. A failure to make it
    // leaves those cases not run (cannot test), never the whole run.
    let needed = probe.env.cgroup2
        && probe.env.cap_sys_admin
        && cases.iter().zip(run_mask).any(|(c, run)| *run && c.cgroup.is_runs());
    let busy = cases.iter().zip(run_mask).any(|(c, run)| *run && c.cgroup == CgroupArg::Busy);
    let made = needed.then(|| match &probe.cgroup2_parent {
        Some(parent) => RunCgroup::make(parent, busy),
        None => Err("no cgroup2 directory for the run".to_string()),
    });
    let mut plan = plan(cases, run_mask, probe, timeout);
    plan.cgroup = match &made {
        None => CgroupPlan::NotNeeded,
        Some(Ok(made)) => CgroupPlan::Made(made),
        Some(Err(why)) => CgroupPlan::Failed(why),
    };
    // The runner's `privileged` builds the PID-namespace sandbox: only where the probe
    // found it buildable (root, and a kernel with PID namespaces).
    let mut each = |n: usize, index: usize, o: &Observed| match &mut progress {
        Progress::Each(f) => f(index, o),
        _ => bar.set_position(n as u64),
    };
    let observed = run_cases(RunOptions { plan, privileged: probe.env.pid_sandbox, progress: &mut each });
    bar.finish_and_clear();
    drop(made);
    observed
}

/// `clone3(NULL, 0)` is EINVAL wherever clone3 exists (the size check comes first); ENOSYS
/// means it does not, or a seccomp filter hides it. Anything else, or the probe dying of a
/// signal (a filter answering SECCOMP_RET_KILL or TRAP: SIGSYS), means a filter stands
/// between the cases and the kernel: every case would see the filter's answer, so the run
/// cannot test. The call is made in a forked child, so that a killing filter kills only it.
pub fn clone3_missing() -> Option<String> {
    const FILTERED: &str = "clone3 is filtered (seccomp?)";
    let name = |e: i32| format!("{} ({})", errno_name(e), std::io::Error::from_raw_os_error(e));
    match clone3_null_in_child() {
        Ok(Answer::Returned(r)) if r == -(libc::EINVAL as i64) => None,
        Ok(Answer::Returned(r)) if r == -(libc::ENOSYS as i64) => Some(
            "clone3 returns ENOSYS: the kernel lacks it, or a seccomp filter blocks it (container runtimes do; glibc then falls back to clone)".into(),
        ),
        Ok(Answer::Returned(r)) if r < 0 && r > -4096 => {
            Some(format!("{FILTERED}: clone3(NULL, 0) gave {} where every kernel with clone3 gives EINVAL", name(-r as i32)))
        }
        Ok(Answer::Returned(r)) => Some(format!("{FILTERED}: clone3(NULL, 0) returned {r} where every kernel with clone3 gives EINVAL")),
        Ok(Answer::Killed(sig)) => Some(format!("{FILTERED}: clone3(NULL, 0) killed the probe process with signal {sig} ({})", signal_name(sig))),
        Err(why) => Some(format!("could not probe clone3: {why}")),
    }
}

enum Answer {
    /// The raw return value (-errno on failure).
    Returned(i64),
    Killed(i32),
}

/// Forks, calls `clone3(NULL, 0)` in the child and brings back what it returned, or the
/// signal that killed it. Both waits are bounded: the child makes one syscall and exits.
fn clone3_null_in_child() -> Result<Answer, String> {
    use rustix::fd::AsFd;
    let (rd, wr) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC).map_err(|e| format!("pipe: {e}"))?;
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        // The child: async-signal-safe calls only. No core file if the filter kills it.
        unsafe {
            let none = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
            libc::setrlimit(libc::RLIMIT_CORE, &none);
            let r = clone3_arches::clone3(core::ptr::null_mut(), 0);
            if r == 0 {
                // A kernel that made a child of this: it only leaves.
                libc::_exit(0);
            }
            let bytes = (r as i64).to_ne_bytes();
            let _ = rustix::io::write(&wr, &bytes);
            libc::_exit(0)
        }
    }
    if pid < 0 {
        return Err(format!("fork: {}", std::io::Error::last_os_error()));
    }
    drop(wr);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let mut buf = [0u8; 8];
    let mut got = 0;
    while got < buf.len() {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        let mut fds = [rustix::event::PollFd::new(&rd, rustix::event::PollFlags::IN)];
        let ts = rustix::time::Timespec { tv_sec: left.as_secs() as i64, tv_nsec: left.subsec_nanos() as i64 };
        match rustix::event::poll(&mut fds, Some(&ts)) {
            Ok(0) => break,
            Ok(_) => match rustix::io::read(rd.as_fd(), &mut buf[got..]) {
                Ok(0) | Err(_) => break,
                Ok(n) => got += n,
            },
            Err(rustix::io::Errno::INTR) => {}
            Err(_) => break,
        }
    }
    let status = wait_bounded(pid, deadline);
    match (got == buf.len(), status) {
        (true, _) => Ok(Answer::Returned(i64::from_ne_bytes(buf))),
        (false, Some(st)) if libc::WIFSIGNALED(st) => Ok(Answer::Killed(libc::WTERMSIG(st))),
        (false, Some(st)) => Err(format!("the probe child ended without an answer (status {st:#x})")),
        (false, None) => Err("the probe child gave no answer within 10 s: killed".into()),
    }
}

/// waitpid until `deadline`, then SIGKILL and reap; `None` if it had to be killed.
fn wait_bounded(pid: i32, deadline: std::time::Instant) -> Option<i32> {
    let mut st = 0;
    loop {
        let r = unsafe { libc::waitpid(pid, &mut st, libc::WNOHANG) };
        if r == pid {
            return Some(st);
        }
        if r < 0 {
            return None;
        }
        if std::time::Instant::now() >= deadline {
            unsafe {
                libc::kill(pid, libc::SIGKILL);
                libc::waitpid(pid, &mut st, 0);
            }
            return None;
        }
        crate::runner::time::sleep(Duration::from_millis(1));
    }
}

fn errno_name(e: i32) -> String {
    match Observed::from_errno(e) {
        Observed::Err(name) => name.to_string(),
        _ => format!("errno {e}"),
    }
}

fn signal_name(sig: i32) -> String {
    // SAFETY: strsignal returns a pointer to a static (or thread-local) string.
    let s = unsafe { libc::strsignal(sig) };
    if s.is_null() {
        return format!("signal {sig}");
    }
    unsafe { std::ffi::CStr::from_ptr(s) }.to_string_lossy().into_owned()
}

/// Said once per kernel newer than the model's newest series: its predictions are that
/// series', so a difference may be a change the model does not know yet.
pub fn beyond_model_note(release: clone3_suites::Release) -> String {
    let &(major, minor) = clone3_suites::Release::SERIES.last().expect("series");
    format!("kernel {release} is newer than the newest series the model knows ({major}.{minor}): predicted as {major}.{minor} behaves; a difference may be a change since")
}
