//! Where the worker runs. Privileged: two fresh PID namespaces (host → ns1 → ns2), each
//! with an init of ours that reaps everything, and the worker as pid 2 of ns2 — so the
//! suite owns the pids of both levels set_tid may name, and killing ns1's init (which the
//! CLI does on a hang) takes every process of the run with it. Unprivileged: a forked
//! worker, with the CLI as child subreaper so nothing escapes.

use super::interrupt;
use super::worker::{work, Line, Plan};
use super::Observed;
use rustix::event::{poll, PollFd, PollFlags};
use rustix::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use std::time::{Duration, Instant};

pub struct RunOptions<'a> {
    pub plan: Plan<'a>,
    pub privileged: bool,
    /// Called after each case with the number done, the case's index and what it saw.
    pub progress: &'a mut dyn FnMut(usize, usize, &Observed),
}

/// Runs every case the plan marks, returning one observation per case (`None`: not run).
pub fn run_cases(opts: RunOptions) -> Vec<Option<Observed>> {
    let plan = &opts.plan;
    let cgroup = match plan.cgroup {
        super::worker::CgroupPlan::Made(c) => Some(c.dir.as_path()),
        _ => None,
    };
    let sandbox = Sandbox { run: plan.run, timeout: plan.timeout, privileged: opts.privileged, cgroup };
    collect(sandbox, opts.progress, move |wr| work(plan, wr))
}

/// What [`collect`] needs of a plan.
struct Sandbox<'a> {
    run: &'a [bool],
    timeout: Duration,
    privileged: bool,
    /// The run's cgroup, removed here if a signal ends the run.
    cgroup: Option<&'a std::path::Path>,
}

/// Starts `job` as the worker, writing its [`Line`]s to the fd it is given, and collects
/// them: one observation per case of `run`.
fn collect(sb: Sandbox, progress: &mut dyn FnMut(usize, usize, &Observed), job: impl FnOnce(OwnedFd) -> i32) -> Vec<Option<Observed>> {
    let n = sb.run.len();
    let mut out: Vec<Option<Observed>> = vec![None; n];
    let fail_all = |why: String| -> Vec<Option<Observed>> { sb.run.iter().map(|r| r.then(|| Observed::NotRun(why.clone()))).collect() };
    // CLOEXEC: nothing the CLI starts meanwhile keeps the read end; the children close it.
    let (rd, wr) = match rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC) {
        Ok(p) => p,
        Err(e) => return fail_all(format!("pipe: {e}")),
    };
    if !sb.privileged {
        become_subreaper();
    }
    let before = if sb.privileged { Vec::new() } else { own_children() };
    interrupt::starting();
    let top = match start(move || job(wr), sb.privileged, Some(rd.as_fd())) {
        Ok(top) => top,
        Err(e) => {
            interrupt::ended();
            interrupt::exit_if("the sandbox was not started");
            return fail_all(format!("could not start the worker: {e}"));
        }
    };
    interrupt::running(top);
    // A case takes at most `timeout` to wait for its child, twice for a helper's.
    let quiet_limit = sb.timeout * 3 + Duration::from_secs(10);
    let mut lines = LineReader { fd: rd, buf: Vec::new() };
    let mut done = 0;
    let mut trouble = None;
    let mut killed = false;
    loop {
        match lines.next(quiet_limit) {
            Next::Line(text) => {
                if let Ok(line) = serde_json::from_str::<Line>(&text) {
                    if line.index < n {
                        done += 1;
                        progress(done, line.index, &line.observed);
                        out[line.index] = Some(line.observed);
                        continue;
                    }
                    trouble = Some(format!("the worker reported case {} of {n}", line.index));
                } else if let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) {
                    trouble = Some(format!("worker: {}", v["fatal"].as_str().unwrap_or(&text)));
                } else {
                    trouble = Some(format!("garbage from the worker: {text:.80}"));
                }
            }
            Next::Eof => break,
            Next::Silent(waited) => {
                trouble = Some(format!("the worker was silent for {:.1}s: killed", waited.as_secs_f64()));
                break;
            }
            Next::Failed(why) => {
                trouble = Some(format!("reading the worker's lines: {why}: killed"));
                break;
            }
            Next::Interrupted => break,
        }
    }
    if trouble.is_some() || interrupt::pending().is_some() {
        unsafe { libc::kill(top, libc::SIGKILL) };
        killed = true;
    }
    let status = wait_bounded(top, killed);
    // Reaped, its pid may be reused: a signal from now on is only recorded.
    interrupt::starting();
    if !sb.privileged {
        if let Err(left) = kill_and_reap(&before, REAP_LIMIT) {
            trouble.get_or_insert(left);
        }
    }
    interrupt::ended();
    let worker_end = match status {
        Ok(st) if libc::WIFEXITED(st) && libc::WEXITSTATUS(st) == 0 => None,
        // init1 passes the worker's end up as an exit code: 128 + the signal.
        Ok(st) if libc::WIFEXITED(st) && libc::WEXITSTATUS(st) > 128 => {
            Some(format!("the worker was killed by signal {}", libc::WEXITSTATUS(st) - 128))
        }
        Ok(st) if libc::WIFSIGNALED(st) => Some(format!("the worker was killed by signal {}", libc::WTERMSIG(st))),
        Ok(st) => Some(format!("the worker ended with exit code {}", libc::WEXITSTATUS(st))),
        Err(why) => Some(why),
    };
    if let Some(sig) = interrupt::pending() {
        // The cgroup's owner (pipeline.rs) does not get to drop it: remove it here.
        if sb.cgroup.is_some() {
            interrupt::remove_cgroups(Instant::now() + REAP_LIMIT);
        }
        interrupt::exit_if(&format!("the sandbox was killed after {done} of {} cases", sb.run.iter().filter(|r| **r).count()));
        unreachable!("signal {sig} pending");
    }
    let all_in = out.iter().zip(sb.run).all(|(o, run)| o.is_some() || !run);
    match trouble.or(worker_end) {
        None if all_in => {}
        // Every line came, but the run did not end well (garbage between the lines, a worker
        // that died after its last line): the run cannot vouch for itself, so it must not be
        // good (125), yet a difference the kernel showed must still count (1). The cause is
        // carried by the last case, the one the worker ended after.
        Some(why) if all_in => {
            let why = format!("every case reported, but {why}");
            if let Some(last) = sb.run.iter().rposition(|r| *r) {
                out[last] = Some(Observed::NotRun(why));
            }
        }
        why => {
            let why = why.unwrap_or_else(|| "the worker ended early (exit code 0)".into());
            for (o, run) in out.iter_mut().zip(sb.run) {
                if o.is_none() && *run {
                    *o = Some(Observed::NotRun(why.clone()));
                }
            }
        }
    }
    out
}

/// How long a killed sandbox may take to die, and the unprivileged leftovers to go.
const DEATH_LIMIT: Duration = Duration::from_secs(10);
const REAP_LIMIT: Duration = Duration::from_secs(2);

/// waitpid(top), bounded: a task in D state (a kernel deadlock, what the tool may meet)
/// keeps init1 from ending. Unkilled, the worker gets the time its lines allowed (it sent
/// EOF, so it is ending); then it is killed, and has [`DEATH_LIMIT`] to go.
fn wait_bounded(top: i32, killed: bool) -> Result<i32, String> {
    let mut deadline = Instant::now() + DEATH_LIMIT;
    let mut killed = killed;
    loop {
        let mut st = 0;
        let r = unsafe { libc::waitpid(top, &mut st, libc::__WALL | libc::WNOHANG) };
        if r == top {
            return Ok(st);
        }
        if r < 0 {
            let e = std::io::Error::last_os_error();
            if e.raw_os_error() == Some(libc::EINTR) {
                continue;
            }
            return Err(format!("waitpid of the sandbox: {e}"));
        }
        if interrupt::pending().is_some() && !killed {
            unsafe { libc::kill(top, libc::SIGKILL) };
            killed = true;
            deadline = Instant::now() + DEATH_LIMIT;
        }
        if Instant::now() >= deadline {
            if killed {
                return Err(format!("a sandbox task did not die within {}s of SIGKILL (D state?)", DEATH_LIMIT.as_secs()));
            }
            unsafe { libc::kill(top, libc::SIGKILL) };
            killed = true;
            deadline = Instant::now() + DEATH_LIMIT;
        }
        super::time::sleep(Duration::from_millis(1));
    }
}

/// rmdir of the run's cgroup after an interrupt; members just killed may take a moment.
/// Starts `job` as the worker (behind two PID-namespace inits when privileged); returns
/// the pid the CLI waits for and kills, or -1.
pub fn spawn(job: impl FnOnce() -> i32, privileged: bool) -> i32 {
    start(job, privileged, None).unwrap_or(-1)
}

/// [`spawn`], closing `close` (the read end of the worker's pipe) in every child.
///
/// The top process (init1, or the unprivileged worker) gets SIGKILL as its parent-death
/// signal, so it never outlives the CLI, even a SIGKILLed one; init1's death takes both
/// namespaces with it. Should the CLI have died before the prctl, the top process sees it
/// (its parent changed; for init1, the CLI's pidfd polls readable) and leaves.
fn start(job: impl FnOnce() -> i32, privileged: bool, close: Option<BorrowedFd>) -> std::io::Result<i32> {
    let cli = unsafe { libc::getpid() };
    let close = close.map(|fd| fd.as_raw_fd());
    let in_child = move || unsafe {
        for s in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
            libc::signal(s, libc::SIG_DFL);
        }
        if let Some(fd) = close {
            libc::close(fd);
        }
    };
    let run_worker = move || -> ! {
        let code = job();
        unsafe { libc::_exit(code) }
    };
    if !privileged {
        return match unsafe { libc::fork() } {
            0 => {
                in_child();
                unsafe {
                    libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong, 0, 0, 0);
                    if libc::getppid() != cli {
                        libc::_exit(125);
                    }
                }
                run_worker()
            }
            -1 => Err(std::io::Error::last_os_error()),
            pid => Ok(pid),
        };
    }
    // Not CLOEXEC: nothing execs; closed in the CLI below and in init1 once looked at.
    let cli_fd = Some(unsafe { libc::syscall(libc::SYS_pidfd_open, cli, 0) as i32 }).filter(|&fd| fd >= 0);
    let newpid = libc::CLONE_NEWPID as u64 | libc::SIGCHLD as u64;
    // The legacy clone stub, fork-like: each init is the first process of its namespace.
    // It returns -errno, and errno is left as it was.
    let init1 = unsafe { clone3_arches::clone_legacy(newpid, 0, 0, 0, 0) };
    if init1 != 0 {
        if let Some(fd) = cli_fd {
            unsafe { libc::close(fd) };
        }
        if init1 < 0 {
            return Err(std::io::Error::from_raw_os_error(-init1 as i32));
        }
        return Ok(init1 as i32);
    }
    in_child();
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong, 0, 0, 0);
    }
    if cli_gone(cli_fd) {
        unsafe { libc::_exit(125) };
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

/// In init1, after the prctl: has the CLI (`cli`, a pidfd) already ended? getppid() cannot
/// tell: it is 0 in a new PID namespace whoever the parent is.
fn cli_gone(cli: Option<i32>) -> bool {
    let Some(fd) = cli else { return false };
    let fd = unsafe { BorrowedFd::borrow_raw(fd) };
    let mut fds = [PollFd::new(&fd, PollFlags::IN)];
    let gone = poll(&mut fds, Some(&super::timespec(Duration::ZERO))).is_ok_and(|n| n > 0);
    unsafe { libc::close(fd.as_raw_fd()) };
    gone
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

/// The CLI's children now, from /proc/self/task/*/children (each thread's own).
fn own_children() -> Vec<i32> {
    let mut out = Vec::new();
    for t in std::fs::read_dir("/proc/self/task").into_iter().flatten().flatten() {
        if let Ok(text) = std::fs::read_to_string(t.path().join("children")) {
            out.extend(text.split_whitespace().filter_map(|p| p.parse::<i32>().ok()));
        }
    }
    out
}

/// Unprivileged runs: what the worker left behind lands on the CLI (the child subreaper):
/// CLONE_PARENT children, orphaned grandchildren. Kills every child of the CLI that was
/// not there before the run (`before`), again as more are reparented to it, and reaps
/// them, until none is left or `limit` runs out (then: the cause).
pub fn kill_and_reap(before: &[i32], limit: Duration) -> Result<(), String> {
    let deadline = Instant::now() + limit;
    loop {
        let ours: Vec<i32> = own_children().into_iter().filter(|p| !before.contains(p)).collect();
        for &p in &ours {
            unsafe { libc::kill(p, libc::SIGKILL) };
        }
        for &p in &ours {
            let mut st = 0;
            unsafe { libc::waitpid(p, &mut st, libc::__WALL | libc::WNOHANG) };
        }
        if ours.is_empty() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(format!("{} process(es) of the run did not die within {}s: {ours:?}", ours.len(), limit.as_secs()));
        }
        super::time::sleep(Duration::from_millis(5));
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
    /// The CLI got SIGINT/SIGTERM/SIGHUP.
    Interrupted,
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
            // In slices, so that a signal handled on another thread is seen soon.
            let left = quiet.saturating_sub(start.elapsed());
            match wait_readable(self.fd.as_fd(), left.min(Duration::from_millis(250))) {
                _ if interrupt::pending().is_some() => return Next::Interrupted,
                Ok(true) => {}
                Ok(false) if left > Duration::from_millis(250) => continue,
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
pub(super) fn wait_readable(fd: BorrowedFd, limit: Duration) -> Result<bool, rustix::io::Errno> {
    let mut fds = [PollFd::new(&fd, PollFlags::IN)];
    let deadline = Instant::now() + limit;
    loop {
        let ts = super::timespec(deadline.saturating_duration_since(Instant::now()));
        match poll(&mut fds, Some(&ts)) {
            Ok(n) => return Ok(n > 0),
            Err(rustix::io::Errno::INTR) if interrupt::pending().is_none() => continue,
            Err(rustix::io::Errno::INTR) => return Ok(false),
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// Runs `f` in a forked, single-threaded child of the test process: an unprivileged
    /// collection kills and reaps every new child of its process, which here would include
    /// other tests' (a compiler run by another thread, say).
    fn isolated(f: impl FnOnce() -> Result<(), String>) {
        match unsafe { libc::fork() } {
            0 => {
                let code = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
                    Ok(Ok(())) => 0,
                    Ok(Err(why)) => {
                        let _ = writeln!(std::io::stderr(), "{why}");
                        1
                    }
                    Err(_) => 2,
                };
                unsafe { libc::_exit(code) }
            }
            pid => {
                let mut st = 0;
                assert_eq!(unsafe { libc::waitpid(pid, &mut st, 0) }, pid);
                assert!(libc::WIFEXITED(st) && libc::WEXITSTATUS(st) == 0, "the test's child: status {st:#x}");
            }
        }
    }

    fn sandbox(run: &[bool]) -> Sandbox<'_> {
        Sandbox { run, timeout: Duration::from_secs(1), privileged: false, cgroup: None }
    }

    /// A worker that sends `lines`, then ends with `code`.
    fn fake(lines: &[String], code: i32) -> impl FnOnce(OwnedFd) -> i32 + '_ {
        move |fd| {
            let mut f = std::fs::File::from(fd);
            for l in lines {
                let _ = writeln!(f, "{l}");
            }
            code
        }
    }

    fn line(index: usize) -> String {
        line_of(index, Observed::ErrRaw(22))
    }

    fn line_of(index: usize, observed: Observed) -> String {
        serde_json::to_string(&Line { index, observed }).unwrap()
    }

    fn check(lines: Vec<String>, code: i32, run: Vec<bool>, want: Vec<Option<Observed>>) {
        isolated(move || {
            let out = collect(sandbox(&run), &mut |_, _, _| {}, fake(&lines, code));
            if out == want {
                Ok(())
            } else {
                Err(format!("got {out:?}, want {want:?}"))
            }
        });
    }

    #[test]
    fn every_line_and_exit_0_is_what_it_sent() {
        check(vec![line(0), line(1)], 0, vec![true, true], vec![Some(Observed::ErrRaw(22)); 2]);
    }

    #[test]
    fn every_line_but_a_worker_exit_code_other_than_0_cannot_test_yet_keeps_the_others() {
        let want = Observed::NotRun("every case reported, but the worker ended with exit code 3".into());
        check(vec![line(0), line(1)], 3, vec![true, true], vec![Some(Observed::ErrRaw(22)), Some(want)]);
    }

    #[test]
    fn every_line_and_garbage_between_them_cannot_test_yet_keeps_the_others() {
        let want = Observed::NotRun("every case reported, but garbage from the worker: oops".into());
        check(vec![line(0), "oops".into(), line(1)], 0, vec![true, true], vec![Some(Observed::ErrRaw(22)), Some(want)]);
    }

    #[test]
    fn a_worker_that_dies_early_leaves_the_rest_not_run() {
        let why = Observed::NotRun("the worker ended early (exit code 0)".into());
        check(vec![line(0)], 0, vec![true, true, false], vec![Some(Observed::ErrRaw(22)), Some(why), None]);
    }

    #[test]
    fn what_the_worker_leaves_running_is_killed_and_reaped() {
        // An unprivileged run: a grandchild that outlives the worker lands on us (the
        // subreaper) and would sleep for a minute. The worker reports its pid.
        isolated(|| {
            let out = collect(sandbox(&[true]), &mut |_, _, _| {}, |fd| {
                let pid = unsafe { libc::fork() };
                if pid == 0 {
                    drop(fd);
                    super::super::time::sleep(Duration::from_secs(60));
                    unsafe { libc::_exit(0) };
                }
                let mut f = std::fs::File::from(fd);
                let _ = writeln!(f, "{}", line_of(0, Observed::ErrRaw(pid)));
                0
            });
            let Some(Some(Observed::ErrRaw(pid))) = out.first().cloned() else { return Err(format!("{out:?}")) };
            let left = own_children();
            let gone = unsafe { libc::kill(pid, 0) } != 0;
            if left.is_empty() && gone {
                Ok(())
            } else {
                Err(format!("left: {left:?}, grandchild {pid} gone: {gone}"))
            }
        });
    }
}
