//! Where the worker runs. Privileged: two fresh PID namespaces (host → ns1 → ns2), each
//! with an init of ours that reaps everything, and the worker as pid 2 of ns2 — so the
//! suite owns the pids of both levels set_tid may name, and killing ns1's init (which the
//! CLI does on a hang) takes every process of the run with it. Unprivileged: a forked
//! worker, with the CLI as child subreaper so nothing escapes.

use super::worker::{work, Line, Plan};
use super::Observed;
use rustix::event::{poll, PollFd, PollFlags};
use rustix::fd::{AsFd, BorrowedFd, OwnedFd};

use std::time::{Duration, Instant};

pub struct RunOptions<'a> {
    pub plan: Plan<'a>,
    pub privileged: bool,
    /// Called after each case with the number done.
    pub progress: &'a mut dyn FnMut(usize),
}

/// Runs every case the plan marks, returning one observation per case (`None`: not run).
pub fn run_cases(opts: RunOptions) -> Vec<Option<Observed>> {
    let n = opts.plan.cases.len();
    let mut out: Vec<Option<Observed>> = vec![None; n];
    let (rd, wr) = match rustix::pipe::pipe() {
        Ok(p) => p,
        Err(e) => return fail_all(&opts.plan, format!("pipe: {e}")),
    };
    if !opts.privileged {
        become_subreaper();
    }
    let plan = &opts.plan;
    let top = spawn(move || work(plan, wr), opts.privileged);
    if top < 0 {
        return fail_all(&opts.plan, format!("could not start the worker: {}", std::io::Error::last_os_error()));
    }
    // A case takes at most `timeout` to wait for its child, twice for a helper's.
    let quiet_limit = opts.plan.timeout * 3 + Duration::from_secs(10);
    let mut lines = LineReader { fd: rd, buf: Vec::new() };
    let mut done = 0;
    let mut trouble = None;
    loop {
        match lines.next(quiet_limit) {
            Next::Line(text) => {
                if let Ok(line) = serde_json::from_str::<Line>(&text) {
                    if line.index < n {
                        out[line.index] = Some(line.observed);
                        done += 1;
                        (opts.progress)(done);
                    }
                } else if let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) {
                    trouble = Some(format!("worker: {}", v["fatal"].as_str().unwrap_or(&text)));
                } else {
                    trouble = Some(format!("garbage from the worker: {text:.80}"));
                }
            }
            Next::Eof => break,
            Next::Silent(waited) => {
                trouble = Some(format!("the worker was silent for {:.1}s: killed", waited.as_secs_f64()));
                unsafe { libc::kill(top, libc::SIGKILL) };
                break;
            }
            Next::Failed(why) => {
                trouble = Some(format!("reading the worker's lines: {why}: killed"));
                unsafe { libc::kill(top, libc::SIGKILL) };
                break;
            }
        }
    }
    let mut st = 0;
    unsafe { libc::waitpid(top, &mut st, libc::__WALL) };
    if !opts.privileged {
        reap_orphans();
    }
    let died = trouble.unwrap_or_else(|| match libc::WEXITSTATUS(st) {
        code @ 129.. if libc::WIFEXITED(st) => format!("the worker was killed by signal {}", code - 128),
        _ if libc::WIFSIGNALED(st) => format!("the worker was killed by signal {}", libc::WTERMSIG(st)),
        code => format!("the worker ended early (exit code {code})"),
    });
    for (i, o) in out.iter_mut().enumerate() {
        if o.is_none() && opts.plan.run[i] {
            *o = Some(Observed::NotRun(died.clone()));
        }
    }
    if let Some(m) = opts.plan.cgroup2_mount {
        // Only there if the worker died before removing it; empty once its members are gone.
        let _ = std::fs::remove_dir(format!("{m}/clone3-abi.{}", opts.plan.tag));
    }
    out
}

fn fail_all(plan: &Plan, why: String) -> Vec<Option<Observed>> {
    plan.run.iter().map(|r| r.then(|| Observed::NotRun(why.clone()))).collect()
}

/// Starts `job` as the worker (behind two PID-namespace inits when privileged); returns
/// the pid the CLI waits for and kills.
pub fn spawn(job: impl FnOnce() -> i32, privileged: bool) -> i32 {
    let run_worker = move || -> ! {
        let code = job();
        unsafe { libc::_exit(code) }
    };
    if !privileged {
        return match unsafe { libc::fork() } {
            0 => run_worker(),
            pid => pid,
        };
    }
    let newpid = libc::CLONE_NEWPID as u64 | libc::SIGCHLD as u64;
    // The legacy clone stub, fork-like: each init is the first process of its namespace.
    let init1 = unsafe { clone3_arches::clone_legacy(newpid, 0, 0, 0, 0) };
    if init1 != 0 {
        return init1 as i32;
    }
    let init2 = unsafe { clone3_arches::clone_legacy(newpid, 0, 0, 0, 0) };
    if init2 != 0 {
        init_until(init2 as i32);
    }
    match unsafe { libc::fork() } {
        0 => run_worker(),
        worker => init_until(worker),
    }
}

/// A namespace init: reap everything until `child` ends, then end with its status (the
/// kernel then kills whatever is left in the namespace).
fn init_until(child: i32) -> ! {
    if child < 0 {
        unsafe { libc::_exit(3) }
    }
    loop {
        let mut st = 0;
        let p = unsafe { libc::waitpid(-1, &mut st, libc::__WALL) };
        if p == child || p < 0 {
            // Pass the worker's end up: its exit code, or 128 + the signal that killed it.
            let code = if libc::WIFEXITED(st) { libc::WEXITSTATUS(st) } else { 128 + libc::WTERMSIG(st) };
            unsafe { libc::_exit(code) }
        }
    }
}

pub fn become_subreaper() {
    let _ = rustix::process::set_child_subreaper(Some(rustix::process::getpid()));
}

/// Unprivileged runs: CLONE_PARENT children land on the CLI (our subreaper role); give
/// them a moment, then reap what is there and kill what is still running.
pub fn reap_orphans() {
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let mut st = 0;
        let p = unsafe { libc::waitpid(-1, &mut st, libc::__WALL | libc::WNOHANG) };
        if p <= 0 {
            if p < 0 || Instant::now() > deadline {
                break;
            }
            super::time::sleep(Duration::from_millis(10));
        }
    }
}

struct LineReader {
    fd: OwnedFd,
    buf: Vec<u8>,
}

enum Next {
    Line(String),
    Eof,
    /// Nothing came for this long (measured, not the limit asked for).
    Silent(Duration),
    /// poll or read failed: the cause.
    Failed(String),
}

impl LineReader {
    /// The next line, EOF, or why none came within `quiet`.
    fn next(&mut self, quiet: Duration) -> Next {
        let start = Instant::now();
        loop {
            if let Some(pos) = self.buf.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.buf.drain(..=pos).collect();
                return Next::Line(String::from_utf8_lossy(&line[..pos]).into_owned());
            }
            match wait_readable(self.fd.as_fd(), quiet.saturating_sub(start.elapsed())) {
                Ok(true) => {}
                Ok(false) => return Next::Silent(start.elapsed()),
                Err(e) => return Next::Failed(format!("poll: {e}")),
            }
            let mut chunk = [0u8; 8192];
            match rustix::io::read(&self.fd, &mut chunk) {
                Ok(0) => return Next::Eof,
                Ok(k) => self.buf.extend_from_slice(&chunk[..k]),
                Err(rustix::io::Errno::INTR) => {}
                Err(e) => return Next::Failed(format!("read: {e}")),
            }
        }
    }
}

/// Is `fd` readable within `limit` (false: the time ran out)? Err: poll itself failed
/// (ENOSYS where a kernel lacks the syscall, …), which is no silence.
fn wait_readable(fd: BorrowedFd, limit: Duration) -> Result<bool, rustix::io::Errno> {
    let mut fds = [PollFd::new(&fd, PollFlags::IN)];
    let deadline = Instant::now() + limit;
    loop {
        let ts = super::timespec(deadline.saturating_duration_since(Instant::now()));
        match poll(&mut fds, Some(&ts)) {
            Ok(n) => return Ok(n > 0),
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(e),
        }
    }
}

/// Reads until EOF, giving up after `limit`.
pub fn read_bounded(fd: BorrowedFd, limit: Duration) -> Option<String> {
    let deadline = Instant::now() + limit;
    let mut buf = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || !wait_readable(fd, left).unwrap_or(false) {
            return None;
        }
        let mut chunk = [0u8; 4096];
        match rustix::io::read(fd, &mut chunk) {
            Ok(0) => return String::from_utf8(buf).ok(),
            Ok(k) => buf.extend_from_slice(&chunk[..k]),
            Err(rustix::io::Errno::INTR) => {}
            Err(_) => return None,
        }
    }
}
