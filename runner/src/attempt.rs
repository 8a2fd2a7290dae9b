//! One clone3 attempt: lay the case out in the arena, call the arch stub, and gather what
//! the child and the caller saw. Blind to the model: it reports what happened.

use super::arena::{Arena, HOLE_PTR, W_CHILD_TID, W_PARENT_TID, W_PIDFD, W_SET_TID};
use super::child::{child_main, ChildCtx, Report, CGROUP_LINE_MAX};
use super::signals;
use super::Observed;
use clone3_arches::{ArchProfile, CloneArgs};
use clone3_suites::case::{CgroupArg, Placement, Ptr, Stack, Tail, Tid, Tls};
use clone3_suites::flags::*;
use clone3_suites::model::{resolve_tid, TidAt};
use clone3_suites::{Case, ChildView, Env, Fate, Observe, SpAt};
use rustix::event::{poll, PollFd, PollFlags};
use rustix::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::time::{Duration, Instant};

/// What a worker keeps between attempts.
pub struct Resources {
    pub arena: Arena,
    pub report_rd: OwnedFd,
    pub report_wr: OwnedFd,
    /// The run's cgroup2 directory, or why there is none.
    pub cgroup: Result<CgroupTarget, String>,
    pub not_cgroup: OwnedFd,
    /// The worker's /proc (O_PATH), which children read through, or why it did not open.
    pub proc_dir: Result<OwnedFd, String>,
    /// A directory of a cgroup v1 hierarchy, or why there is none.
    pub v1_dir: Result<OwnedFd, String>,
    pub nonce: u64,
    pub timeout: Duration,
}

/// The run's own cgroup2 directories (made and removed by the CLI: `cgroup::RunCgroup`),
/// opened by the worker: one fd per `CgroupArg` that names one.
pub struct CgroupTarget {
    pub fd: OwnedFd,
    /// The line `/proc/self/cgroup` shows for a member: `0::/path`.
    pub proc_line: String,
    /// The target again, opened with O_PATH.
    pub path_fd: OwnedFd,
    /// The target's cgroup.procs file.
    pub procs_fd: OwnedFd,
    /// A cgroup the worker made, opened and removed.
    pub removed: OwnedFd,
    pub locked: OwnedFd,
    pub ancestor_dst: OwnedFd,
    /// `ancestor/src/cgroup.procs`, opened for writing by the worker: a capability-less
    /// caller writes itself into it before the call.
    pub ancestor_src_procs: OwnedFd,
    pub busy: Result<OwnedFd, String>,
}

use clone3_suites::model::CLOSED_FD;

pub fn attempt(case: &Case, env: &Env, arch: &ArchProfile, res: &mut Resources) -> Observed {
    match prepare(case, env, arch, res) {
        Ok(set_tid) => attempt_prepared(case, env, res, set_tid),
        Err(why) => Observed::NotRun(why),
    }
}

/// What the caller's side does before the call, with the worker's full capabilities:
/// fresh memory, and the set_tid values (making a `Freed` pid really used and reaped).
pub fn prepare(case: &Case, env: &Env, arch: &ArchProfile, res: &mut Resources) -> Result<Vec<i32>, String> {
    res.arena.reset();
    prepare_set_tid(case, env, arch)
}

/// The call itself and what follows, after [`prepare`] (possibly in a capability-less
/// child of the worker).
pub fn attempt_prepared(case: &Case, env: &Env, res: &mut Resources, set_tid: Vec<i32>) -> Observed {
    let cgroup = match cgroup_value(case.cgroup, res) {
        Ok(v) => v,
        Err(why) => return Observed::NotRun(why),
    };
    let o = Observe::of(case);
    let proc_fd = match (&res.proc_dir, o.handlers || o.cgroup) {
        (Ok(fd), _) => fd.as_raw_fd(),
        (Err(why), true) => return Observed::NotRun(format!("the child could not look: {why}")),
        (Err(_), false) => -1,
    };
    signals::reset();
    res.nonce += 1;
    let usize_ = case.usize(env.page_size);
    let top = match case.stack {
        Stack::EndsAtUserLimit(n) => match TopOfUserRange::map(env.user_addr_limit, n) {
            Ok(t) => Some(t),
            Err(why) => return Observed::NotRun(why),
        },
        _ => None,
    };
    let (stack_low, stack_size) = top.as_ref().map_or_else(|| stack_of(case, &res.arena), |t| (t.low, t.len));
    let args_ptr = write_args(case, env, res, usize_, set_tid, cgroup, (stack_low, stack_size));
    let mut ctx = ChildCtx {
        report_fd: res.report_wr.as_raw_fd(),
        proc_fd,
        nonce: res.nonce,
        read_tls: o.tls,
        read_handlers: o.handlers,
        child_tid_addr: if o.child_tid { res.arena.word(W_CHILD_TID) as usize } else { 0 },
        cgroup_line: [0; CGROUP_LINE_MAX],
        cgroup_line_len: 0,
    };
    if let (true, Ok(cg)) = (o.cgroup, &res.cgroup) {
        // In a new cgroup namespace the child's own cgroup (the target) is its root.
        let line = if case.flags & NEWCGROUP != 0 { "0::/".as_bytes() } else { cg.proc_line.as_bytes() };
        let n = line.len().min(ctx.cgroup_line.len());
        ctx.cgroup_line[..n].copy_from_slice(&line[..n]);
        ctx.cgroup_line_len = n;
    }
    let ctx_ptr = (&mut ctx as *mut ChildCtx).cast();
    // SAFETY: the tables give every CLONE_VM/SETTLS child its own stack (a suites test
    // checks this), so a fork-like child only ever runs on its own copy of this stack.
    let ret = unsafe {
        if stack_size > 0 {
            clone3_arches::clone3_on_stack(args_ptr, usize_ as usize, child_main, ctx_ptr)
        } else {
            let r = clone3_arches::clone3(args_ptr, usize_ as usize);
            if r == 0 {
                child_main(ctx_ptr, 0);
            }
            r
        }
    };
    if ret < 0 {
        return Observed::from_errno(-ret as i32);
    }
    if case.flags & VM != 0 {
        // A CLONE_VM child may still be on it: never unmap it under its feet.
        std::mem::forget(top);
    }
    match collect(case, ret as i32, stack_low, stack_size, res, &o) {
        Ok(view) => Observed::Ok(view),
        Err(why) => Observed::NotRun(why),
    }
}

/// The set_tid values the kernel will read (the model's own choice of pids), after
/// making a `Freed` pid really used-and-reaped.
fn prepare_set_tid(case: &Case, env: &Env, arch: &ArchProfile) -> Result<Vec<i32>, String> {
    let newpid = case.flags & NEWPID != 0;
    let n = (case.set_tid.size as usize).min(64);
    let mut tids = Vec::with_capacity(n);
    for index in 0..n {
        let t = case.set_tid.tid(index);
        let v = resolve_tid(t, TidAt { index, newpid }, env, arch).unwrap_or(0);
        if t == Tid::Freed {
            child_at(v).map_err(|e| format!("could not use pid {v} first: clone3: errno {e}"))?;
        }
        // The model promises these free at the worker's own level; never hand the kernel
        // one an earlier case's child still holds (that EEXIST would be ours, not the kernel's).
        let ours_level = index == usize::from(newpid);
        if matches!(t, Tid::Free | Tid::Freed) && ours_level && env.pid_sandbox && held(v) {
            return Err(format!("pid {v}, which the model takes as free, is still held by an earlier case's process"));
        }
        tids.push(v);
    }
    Ok(tids)
}

/// A child at pid `pid` (set_tid at the caller's level) that exits at once, reaped. Its
/// exit_signal is 0: a SIGCHLD child is autoreaped while SIGCHLD is ignored (a case's child
/// that shares our handlers may leave it so until the next case's `signals::reset`), and
/// then the wait can return before the number is given back. Err: clone3's errno.
fn child_at(pid: i32) -> Result<(), i32> {
    let tids = [pid];
    clone3_exit_reap(CloneArgs { set_tid: tids.as_ptr() as u64, set_tid_size: 1, ..unsafe { core::mem::zeroed() } })
}

/// A fork-like clone_args with only exit_signal SIGCHLD.
pub fn sigchld_only() -> CloneArgs {
    CloneArgs { exit_signal: libc::SIGCHLD as u64, ..unsafe { core::mem::zeroed() } }
}

/// clone3 with `args` (fork-like: no VM, no stack); the child exits at once and is reaped.
/// The wait needs no timeout: the child's only instruction after the syscall is exit.
/// Err: clone3's errno.
pub fn clone3_exit_reap(mut args: CloneArgs) -> Result<(), i32> {
    match unsafe { clone3_arches::clone3(&mut args, core::mem::size_of::<CloneArgs>()) } {
        0 => clone3_arches::exit_thread(0),
        r if r < 0 => Err(-r as i32),
        pid => {
            let mut st = 0;
            unsafe { libc::waitpid(pid as i32, &mut st, libc::__WALL) };
            Ok(())
        }
    }
}

/// The `cgroup` field to pass. A case whose fd is not there is not run: a closed fd in
/// its place would give EBADF, which is what the kernel answers for a v1 directory.
fn cgroup_value(arg: CgroupArg, res: &Resources) -> Result<u64, String> {
    let runs = |pick: fn(&CgroupTarget) -> Result<&OwnedFd, &String>| match &res.cgroup {
        Ok(c) => pick(c).map(|fd| fd.as_raw_fd() as u64).map_err(String::clone),
        Err(why) => Err(why.clone()),
    };
    Ok(match arg {
        CgroupArg::None => 0,
        CgroupArg::Target => runs(|c| Ok(&c.fd))?,
        CgroupArg::TargetPath => runs(|c| Ok(&c.path_fd))?,
        CgroupArg::ProcsFile => runs(|c| Ok(&c.procs_fd))?,
        CgroupArg::Removed => runs(|c| Ok(&c.removed))?,
        CgroupArg::Busy => runs(|c| c.busy.as_ref())?,
        CgroupArg::NotWritable => runs(|c| Ok(&c.locked))?,
        CgroupArg::AncestorNotWritable => runs(|c| Ok(&c.ancestor_dst))?,
        CgroupArg::ClosedFd => CLOSED_FD,
        CgroupArg::NotCgroup => res.not_cgroup.as_raw_fd() as u64,
        CgroupArg::V1Dir => match &res.v1_dir {
            Ok(fd) => fd.as_raw_fd() as u64,
            Err(why) => return Err(format!("no cgroup v1 directory here: {why}")),
        },
        CgroupArg::Raw(v) => v,
    })
}

/// The `tls` to pass, and the thread pointer the child should then read back.
fn tls_value(tls: Tls, arena: &Arena) -> (u64, usize) {
    match tls {
        Tls::None => (0, 0),
        Tls::Page => (arena.tls as u64, arena.tls),
        // SAFETY: the arena's TLS page is ours and writable.
        Tls::ArchTls => unsafe { clone3_arches::tls_arg(arena.tls as *mut u8) },
        Tls::Raw(v) => (v, v as usize),
    }
}

fn ptr_value(p: Ptr, slot: usize, arena: &Arena) -> u64 {
    match p {
        Ptr::Null => 0,
        Ptr::Valid => arena.word(slot) as u64,
        Ptr::Unmapped => (arena.hole + HOLE_PTR) as u64,
        // Whatever parent_tid holds (only pidfd uses this; see Input::pointer_id).
        Ptr::SameAsParentTid => u64::MAX,
    }
}

/// The child's stack where it is memory of ours (mapped, or the PROT_NONE hole).
fn stack_of(case: &Case, arena: &Arena) -> (usize, usize) {
    match case.stack {
        Stack::Mapped(n) => (arena.stack.high - n as usize, n as usize),
        Stack::Unmapped(n) => (arena.hole, n as usize),
        Stack::None | Stack::Raw { .. } | Stack::PastUserLimit | Stack::EndsAtUserLimit(_) => (0, 0),
    }
}

/// `Stack::EndsAtUserLimit`: the last bytes below the user address limit, mapped for one
/// case and unmapped after it.
struct TopOfUserRange {
    low: usize,
    len: usize,
}

impl TopOfUserRange {
    fn map(limit: u64, len: u64) -> Result<Self, String> {
        use rustix::mm::{mmap_anonymous, MapFlags, ProtFlags};
        let low = limit.checked_sub(len).and_then(|l| usize::try_from(l).ok()).ok_or("the user address limit is out of this task's reach")?;
        // SAFETY: a fresh private mapping where nothing is (NOREPLACE refuses to clobber).
        let got = unsafe { mmap_anonymous(low as *mut _, len as usize, ProtFlags::READ | ProtFlags::WRITE, MapFlags::PRIVATE | MapFlags::FIXED_NOREPLACE) };
        match got {
            Ok(p) if p as usize == low => Ok(Self { low, len: len as usize }),
            Ok(p) => {
                // A kernel before 4.17 takes NOREPLACE as a hint.
                let _ = unsafe { rustix::mm::munmap(p, len as usize) };
                Err(format!("could not map the top of the user range at {low:#x}: the kernel placed it elsewhere"))
            }
            Err(e) => Err(format!("could not map the top of the user range at {low:#x}: {e} (the main stack may be there under ASLR)")),
        }
    }
}

impl Drop for TopOfUserRange {
    fn drop(&mut self) {
        // SAFETY: our own mapping; no child runs on it any more (see attempt_prepared).
        let _ = unsafe { rustix::mm::munmap(self.low as *mut _, self.len) };
    }
}

/// Writes the struct (and the tail) where the case places it; returns the pointer to pass.
fn write_args(case: &Case, env: &Env, res: &Resources, usize_: u64, set_tid: Vec<i32>, cgroup: u64, mapped: (usize, usize)) -> *mut CloneArgs {
    let a = &res.arena;
    // Raw values stay 64-bit: on a 32-bit agent `as usize` would cut them (seen on i686:
    // 0xfffffffffffff000 became 0xfffff000 and passed access_ok).
    let (stack, stack_size) = match case.stack {
        Stack::PastUserLimit => Stack::past_user_limit(env.user_addr_limit),
        Stack::Raw { stack, size } => (stack, size),
        _ => (mapped.0 as u64, mapped.1 as u64),
    };
    for (i, t) in set_tid.iter().enumerate() {
        unsafe { a.word(W_SET_TID + 4 * i).write(*t) };
    }
    let parent_tid = ptr_value(case.parent_tid, W_PARENT_TID, a);
    let args = CloneArgs {
        flags: case.flags,
        pidfd: match case.pidfd {
            Ptr::SameAsParentTid => parent_tid,
            p => ptr_value(p, W_PIDFD, a),
        },
        child_tid: ptr_value(case.child_tid, W_CHILD_TID, a),
        parent_tid,
        exit_signal: case.exit_signal,
        stack,
        stack_size,
        tls: tls_value(case.tls, a).0,
        set_tid: ptr_value(case.set_tid.ptr, W_SET_TID, a),
        set_tid_size: case.set_tid.size,
        cgroup,
    };
    let mut image = [0u8; 88];
    // SAFETY: CloneArgs is 88 bytes of u64 fields (asserted in clone3-arches).
    unsafe { core::ptr::write_unaligned(image.as_mut_ptr().cast::<CloneArgs>(), args) };
    // Where the struct starts, and how many of its bytes are readable.
    let (start, readable) = match case.placement {
        Placement::Mapped => (a.args, usize::MAX),
        Placement::Null => return core::ptr::null_mut(),
        Placement::Unmapped => return a.hole as *mut CloneArgs,
        Placement::GuardAt(n) => (a.args_end - n as usize, n as usize),
    };
    let room = a.args_end - start;
    let n = image.len().min(readable).min(room);
    unsafe { core::ptr::copy_nonoverlapping(image.as_ptr(), start as *mut u8, n) };
    if let Tail::NonZeroAt(off) = case.tail {
        if (off as usize) < readable.min(room) && off < usize_ {
            unsafe { (start as *mut u8).add(off as usize).write(0x5a) };
        }
    }
    start as *mut CloneArgs
}

/// After a successful clone3: wait (bounded) for the child's report and its end, and
/// measure every field `Observe` names.
fn collect(case: &Case, ret: i32, stack_low: usize, stack_size: usize, res: &mut Resources, o: &Observe) -> Result<ChildView, String> {
    let f = case.flags;
    let thread = f & THREAD != 0;
    let ours = !thread && f & PARENT == 0;
    let kernel_pidfd = (f & PIDFD != 0 && case.pidfd == Ptr::Valid)
        .then(|| unsafe { res.arena.word(W_PIDFD).read() })
        .filter(|fd| *fd >= 0)
        .map(|fd| unsafe { OwnedFd::from_raw_fd(fd) });
    // How to learn of the child's end: a thread has none (CLEARTID tells instead).
    let own_pidfd;
    let watch = if thread {
        Watch::Nothing
    } else if let Some(fd) = &kernel_pidfd {
        Watch::Pidfd(fd.as_fd())
    } else {
        match rustix::process::pidfd_open(rustix::process::Pid::from_raw(ret).unwrap(), rustix::process::PidfdFlags::empty()) {
            Ok(fd) => {
                own_pidfd = fd;
                Watch::Pidfd(own_pidfd.as_fd())
            }
            // A CLONE_PARENT child may be dead and reaped by init before we get here.
            Err(rustix::io::Errno::SRCH) => Watch::Gone,
            // EMFILE, a seccomp filter, a kernel without pidfds: poll instead of guessing.
            Err(_) if ours => Watch::WaitId(ret),
            Err(e) => Watch::Signal0(ret, e),
        }
    };
    let deadline = Instant::now() + res.timeout;
    let (report, exited) = wait_report(res, &watch, deadline);
    if let (Watch::Signal0(_, e), None, false) = (&watch, &report, exited) {
        // Without a pidfd a zombie someone else has not reaped yet looks alive.
        unsafe { libc::kill(ret, libc::SIGKILL) };
        if f & VM != 0 {
            // It may still be on the stack: never hand that to another child.
            let _ = res.arena.replace_stack();
        }
        return Err(format!(
            "pidfd_open failed ({e}) and the CLONE_PARENT child neither reported nor went away: a hang and a death look alike"
        ));
    }
    let cleartid_woke = if o.cleartid { Some(wait_cleared(res.arena.word(W_CHILD_TID), deadline)) } else { None };
    let mut view = ChildView::default();
    let pidfd_ok = kernel_pidfd.as_ref().map(|fd| if ours { signal_zero(fd) } else { names_a_pid(fd) });
    let mut fate = report.map(|_| Fate::Reported);
    if ours {
        if !exited {
            kill(ret, watch.pidfd());
            fate = Some(Fate::Hung);
        }
        let (reaped, sig) = reap(ret, kernel_pidfd.as_ref());
        if fate.is_none() {
            fate = Some(match sig {
                Some(s) => Fate::Signaled(s),
                None => Fate::Silent,
            });
        }
        view.pidfd_usable = pidfd_ok.map(|ok| ok && (reaped || kernel_pidfd.is_none()));
    } else {
        if fate.is_none() {
            fate = Some(if thread || !exited { Fate::Hung } else { Fate::Silent });
        }
        view.pidfd_usable = pidfd_ok;
        if thread && cleartid_woke != Some(true) {
            // The thread may still be on the stack: never hand it to another child.
            let _ = res.arena.replace_stack();
        }
        if case.set_tid.size > 0 {
            // A pid the model chose: the next case may choose it again, so it must be
            // free before this case ends (a thread is released a moment after its
            // CLEARTID wake, a CLONE_PARENT child when init reaps it; under load, many
            // cases later — seen as EEXIST findings of the fuzzer).
            wait_released(ret, Instant::now() + res.timeout);
        }
    }
    view.fate = fate;
    if o.caller_sigchld {
        view.caller_sigchld_ignored = Some(signals::sigchld_ignored());
    }
    view.cleartid_woke = cleartid_woke;
    if o.exit_signal {
        view.exit_signal_seen = Some(exit_signal_seen(case.exit_signal)?);
    }
    if o.parent_tid {
        view.parent_tid_written = Some(unsafe { res.arena.word(W_PARENT_TID).read() } == ret);
    }
    if o.ret_pid {
        view.ret_pid = Some(ret);
    }
    if let Some(r) = report {
        if o.sp {
            let off = r.sp as i64 - stack_low as i64;
            view.sp = Some(match off {
                o if o == stack_size as i64 => SpAt::Top,
                0 => SpAt::Base,
                o => SpAt::Other(o),
            });
        }
        if o.tls {
            view.tls_readback = Some(r.tls == tls_value(case.tls, &res.arena).1 as u64);
        }
        if o.tid {
            view.tid_in_ns = Some(r.tid);
        }
        if o.child_tid {
            view.child_tid_written = Some(r.child_tid_word == r.tid);
        }
        if o.handlers {
            view.handlers_default = Some(looked_at(r.handlers_default, "/proc/self/status", r.proc_errno)?);
            view.ignored_kept = Some(looked_at(r.ignored_kept, "/proc/self/status", r.proc_errno)?);
        }
        if o.cgroup {
            view.in_cgroup = Some(looked_at(r.in_cgroup, "/proc/self/cgroup", r.proc_errno)?);
        }
    }
    Ok(view)
}

/// A report field the child was asked for: what it saw, or why the case could not look.
fn looked_at(field: i8, file: &str, errno: i32) -> Result<bool, String> {
    match field {
        0 | 1 => Ok(field == 1),
        _ if errno != 0 => Err(format!("the child could not read {file}: {}", std::io::Error::from_raw_os_error(errno))),
        _ => Err(format!("the child found no answer in {file}")),
    }
}

/// Did the child's end leave a signal pending for the caller? The worker blocks every
/// signal and `signals::reset` threw the old ones away before the call, so for exit_signal
/// 0 the question is whether any signal at all became pending; otherwise whether that one
/// did. Either way the pending set is thrown away by the next case's reset.
fn exit_signal_seen(sig: u64) -> Result<bool, String> {
    if sig != 0 {
        return Ok(signals::take_pending(sig));
    }
    let mut pending: u64 = 0;
    // The kernel's sigset for our arches: one bit per signal 1-64 (see signals.rs).
    match unsafe { libc::syscall(libc::SYS_rt_sigpending, &mut pending as *mut u64, 8usize) } {
        0 => Ok(pending != 0),
        _ => Err(format!("rt_sigpending: {}", std::io::Error::last_os_error())),
    }
}

/// How the caller learns that a child it did not make a thread of has ended.
enum Watch<'a> {
    /// Its pidfd (the kernel's CLONE_PIDFD one, or ours from pidfd_open) polls readable.
    Pidfd(rustix::fd::BorrowedFd<'a>),
    /// pidfd_open failed: our own child is polled with waitid(WNOWAIT), which leaves it
    /// for `reap`.
    WaitId(i32),
    /// pidfd_open failed for a child someone else reaps (CLONE_PARENT: the namespace init
    /// reaps it at once; an unprivileged run's CLI only at the end): polled with
    /// kill(pid, 0) until ESRCH, or until /proc shows a zombie.
    Signal0(i32, rustix::io::Errno),
    /// Already gone (pidfd_open gave ESRCH).
    Gone,
    /// A thread: nothing to watch.
    Nothing,
}

impl Watch<'_> {
    fn pidfd(&self) -> Option<rustix::fd::BorrowedFd<'_>> {
        match self {
            Watch::Pidfd(fd) => Some(*fd),
            _ => None,
        }
    }

    /// For the polled kinds: has the child ended by now?
    fn ended_now(&self) -> bool {
        match *self {
            Watch::WaitId(pid) => {
                let mut info: libc::siginfo_t = unsafe { core::mem::zeroed() };
                let flags = libc::WEXITED | libc::WNOWAIT | libc::WNOHANG | libc::__WALL;
                // ECHILD: not waitable any more (autoreaped): ended as well.
                let r = unsafe { libc::waitid(libc::P_PID, pid as libc::id_t, &mut info, flags) };
                r != 0 || unsafe { info.si_pid() } != 0
            }
            Watch::Signal0(pid, _) => {
                let gone = unsafe { libc::kill(pid, 0) != 0 && *libc::__errno_location() == libc::ESRCH };
                gone || zombie(pid)
            }
            Watch::Gone => true,
            Watch::Pidfd(_) | Watch::Nothing => false,
        }
    }

    fn polled(&self) -> bool {
        matches!(self, Watch::WaitId(..) | Watch::Signal0(..))
    }
}

/// Is `pid` a zombie? Read from /proc/<pid>/stat, only where /proc shows our own PID
/// namespace (an unprivileged run; in the sandbox the inits reap at once, so kill(pid, 0)
/// tells).
fn zombie(pid: i32) -> bool {
    let ours = std::fs::read_link("/proc/self").is_ok_and(|p| p.as_os_str() == rustix::process::getpid().as_raw_nonzero().to_string().as_str());
    ours && std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .is_ok_and(|t| t.rsplit_once(')').is_some_and(|(_, rest)| matches!(rest.trim_start().as_bytes().first(), Some(b'Z' | b'X'))))
}

/// Polls the report pipe (and the child's pidfd, or its polled end) until the report is
/// in and the child has ended, or the deadline passes. Stale reports (other nonces) are
/// dropped. A child watched with kill(pid, 0) is done once it reported: as a zombie of a
/// caller that does not reap (an unprivileged run's CLI) it would never look ended.
fn wait_report(res: &Resources, watch: &Watch, deadline: Instant) -> (Option<Report>, bool) {
    let mut report = None;
    let mut exited = matches!(watch, Watch::Gone);
    // The polled kinds look every `step`, from 100 µs up to 10 ms.
    let mut step = Duration::from_micros(100);
    loop {
        let need_end = !matches!(watch, Watch::Nothing | Watch::Signal0(..));
        let done = report.is_some() && (exited || !need_end);
        let left = deadline.saturating_duration_since(Instant::now());
        if done || left.is_zero() || (exited && report.is_none() && !readable(&res.report_rd)) {
            return (report, exited);
        }
        let mut fds = vec![PollFd::new(&res.report_rd, PollFlags::IN)];
        if let (Some(fd), false) = (watch.pidfd(), exited) {
            fds.push(PollFd::from_borrowed_fd(fd, PollFlags::IN));
        }
        let wait = if watch.polled() && !exited { left.min(step) } else { left };
        step = (step * 2).min(Duration::from_millis(10));
        let ts = super::timespec(wait);
        if poll(&mut fds, Some(&ts)).is_err() {
            continue;
        }
        let pipe_ready = fds[0].revents().contains(PollFlags::IN);
        if fds.len() > 1 && !fds[1].revents().is_empty() {
            exited = true;
        }
        drop(fds);
        if !exited && watch.polled() {
            exited = watch.ended_now();
        }
        if pipe_ready {
            if let Some(r) = read_report(&res.report_rd) {
                if r.nonce == res.nonce {
                    report = Some(r);
                }
            }
        }
    }
}

fn readable(fd: &OwnedFd) -> bool {
    let mut fds = [PollFd::new(fd, PollFlags::IN)];
    let zero = super::timespec(Duration::ZERO);
    poll(&mut fds, Some(&zero)).is_ok_and(|n| n > 0)
}

fn read_report(fd: &OwnedFd) -> Option<Report> {
    let mut buf = [0u8; Report::SIZE];
    match rustix::io::read(fd, &mut buf) {
        Ok(n) if n == Report::SIZE => Some(Report::from_bytes(&buf)),
        _ => None,
    }
}

/// Waits (bounded) until CHILD_CLEARTID zeroes the word, through the futex it wakes.
fn wait_cleared(word: *mut i32, deadline: Instant) -> bool {
    // SAFETY: the word lives in the arena for the whole run; AtomicU32 has i32's layout.
    let atom = unsafe { &*(word as *const core::sync::atomic::AtomicU32) };
    loop {
        let v = atom.load(core::sync::atomic::Ordering::SeqCst);
        if v == 0 {
            return true;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return false;
        }
        let ts = super::timespec(left);
        let _ = rustix::thread::futex::wait(atom, rustix::thread::futex::Flags::empty(), v, Some(&ts));
    }
}

/// pidfd_send_signal(fd, 0) succeeds: the fd names our (unreaped) child. rustix's Signal
/// cannot be 0, hence the raw call.
fn signal_zero(fd: &OwnedFd) -> bool {
    unsafe { libc::syscall(libc::SYS_pidfd_send_signal, fd.as_raw_fd(), 0, 0usize, 0) == 0 }
}

/// The fd is a pidfd: its fdinfo has a `Pid:` line. For children someone else reaps (a
/// thread, a CLONE_PARENT child), which may be gone by now, so signalling proves nothing.
fn names_a_pid(fd: &OwnedFd) -> bool {
    std::fs::read_to_string(format!("/proc/self/fdinfo/{}", fd.as_raw_fd()))
        .is_ok_and(|t| t.lines().any(|l| l.starts_with("Pid:")))
}

fn kill(pid: i32, pidfd: Option<rustix::fd::BorrowedFd>) {
    match pidfd {
        Some(fd) => {
            let _ = rustix::process::pidfd_send_signal(fd, rustix::process::Signal::KILL);
        }
        None => unsafe {
            libc::kill(pid, libc::SIGKILL);
        },
    }
}

/// Waits (bounded) until a child someone else reaps (a thread, a CLONE_PARENT child) no
/// longer holds its pid; returns whether it is gone.
fn wait_released(pid: i32, deadline: Instant) -> bool {
    while held(pid) {
        if Instant::now() >= deadline {
            return false;
        }
        super::time::sleep(Duration::from_micros(50));
    }
    true
}

fn process_alive(pid: i32) -> bool {
    unsafe { libc::kill(pid, 0) == 0 || *libc::__errno_location() != libc::ESRCH }
}

fn thread_alive(tid: i32) -> bool {
    let me = rustix::process::getpid().as_raw_nonzero().get();
    unsafe { libc::syscall(libc::SYS_tgkill, me, tid, 0) == 0 || *libc::__errno_location() != libc::ESRCH }
}

/// `pid` is still taken at our level: a task of ours holds it (a process, or a thread of the
/// worker; kill() looks a pid up as a thread-group id, so a thread is asked by tgkill), or the
/// number is still allocated. The last is its own question: release_task detaches the task
/// from its pid (kill and tgkill answer ESRCH from then) a moment before the number is given
/// back, and a set_tid in that moment is EEXIST (seen: the fuzz pid-ownership test, 1–3 of
/// 800 cases once in a few runs, with pidfd_open already asked as well).
fn held(pid: i32) -> bool {
    pid > 0 && (process_alive(pid) || thread_alive(pid) || number_allocated(pid))
}

/// Is the number `pid` allocated at our level? Asked the way a case will use it: a child
/// with set_tid = [pid] that exits at once (EEXIST while the number is taken; reaped, its
/// number is free again when the wait returns). Where set_tid is not ours to use (no
/// CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE over this pid namespace), pidfd_open: ESRCH
/// when no pid has the number (find_get_pid), EINVAL or a pidfd when one does; a kernel
/// without it or a full fd table says nothing.
fn number_allocated(pid: i32) -> bool {
    match child_at(pid) {
        Ok(()) => return false,
        Err(libc::EEXIST) => return true,
        Err(_) => {}
    }
    let Some(p) = rustix::process::Pid::from_raw(pid) else { return false };
    match rustix::process::pidfd_open(p, rustix::process::PidfdFlags::empty()) {
        Ok(_) | Err(rustix::io::Errno::INVAL) => true,
        Err(_) => false,
    }
}

/// Reaps our child (through its pidfd when the kernel gave one); returns whether that
/// worked and the signal that killed it, if any.
fn reap(pid: i32, pidfd: Option<&OwnedFd>) -> (bool, Option<i32>) {
    let mut info: libc::siginfo_t = unsafe { core::mem::zeroed() };
    let (idtype, id) = match pidfd {
        Some(fd) => (libc::P_PIDFD, fd.as_raw_fd() as libc::id_t),
        None => (libc::P_PID, pid as libc::id_t),
    };
    let r = unsafe { libc::waitid(idtype, id, &mut info, libc::WEXITED | libc::__WALL) };
    if r != 0 {
        return (false, None);
    }
    let killed = info.si_code == libc::CLD_KILLED || info.si_code == libc::CLD_DUMPED;
    (true, killed.then(|| unsafe { info.si_status() }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::worker::{resources, Plan};

    #[test]
    fn a_field_the_child_could_not_look_at_is_no_answer() {
        assert_eq!(looked_at(1, "/proc/self/status", 0), Ok(true));
        assert_eq!(looked_at(0, "/proc/self/status", 0), Ok(false));
        let why = looked_at(super::super::child::COULD_NOT_LOOK, "/proc/self/status", libc::EACCES).unwrap_err();
        assert!(why.contains("could not read /proc/self/status") && why.contains("Permission denied"), "{why}");
        assert!(looked_at(super::super::child::NOT_ASKED, "/proc/self/cgroup", 0).is_err());
    }

    #[test]
    fn exit_signal_zero_sees_any_signal_that_became_pending() {
        // In a forked child, so the test harness's signal mask stays as it is: block every
        // signal, make one pending, look, throw it away, look again.
        match unsafe { libc::fork() } {
            0 => unsafe {
                let all = u64::MAX;
                libc::syscall(libc::SYS_rt_sigprocmask, libc::SIG_BLOCK, &all as *const u64, 0usize, 8usize);
                let quiet = exit_signal_seen(0) == Ok(false);
                libc::syscall(libc::SYS_tgkill, libc::getpid(), libc::gettid(), libc::SIGUSR2);
                let seen = exit_signal_seen(0) == Ok(true);
                signals::reset();
                let gone = exit_signal_seen(0) == Ok(false);
                libc::_exit(if quiet && seen && gone { 0 } else { 1 + i32::from(quiet) + 2 * i32::from(seen) + 4 * i32::from(gone) })
            },
            pid => {
                let mut st = 0;
                assert_eq!(unsafe { libc::waitpid(pid, &mut st, 0) }, pid);
                assert!(libc::WIFEXITED(st) && libc::WEXITSTATUS(st) == 0, "status {st:#x}");
            }
        }
    }

    /// A child in a mount namespace without /proc (as CLONE_EMPTY_MNTNS makes on 7.1) and a
    /// new pid namespace still reports its handlers: it reads through the worker's /proc fd.
    #[test]
    fn a_child_without_proc_still_looks_at_its_handlers() {
        if !rustix::process::geteuid().is_root() {
            eprintln!("skipped: needs root for CLONE_NEWNS | CLONE_NEWPID");
            return;
        }
        let probe = crate::probe::probe().expect("the kernel's facts");
        let all = clone3_suites::tables::all();
        let find = |id: &str| all.iter().find(|c| c.id == id).expect("the case").clone();
        let mut cases = vec![find("sighand.clear"), find("sighand.inherited")];
        for c in &mut cases {
            c.flags |= NEWNS | NEWPID;
        }
        let plan = Plan {
            cases: &cases,
            run: &[true, true],
            env: &probe.env,
            arch: &probe.arch,
            cgroup: crate::CgroupPlan::NotNeeded,
            cgroup_v1_dir: None,
            timeout: Duration::from_secs(5),
        };
        // Forked: the worker's signal set-up and the lost /proc stay out of the harness.
        match unsafe { libc::fork() } {
            0 => unsafe { libc::_exit(handlers_without_proc(&plan)) },
            pid => {
                let mut st = 0;
                assert_eq!(unsafe { libc::waitpid(pid, &mut st, 0) }, pid);
                assert!(libc::WIFEXITED(st), "status {st:#x}");
                assert_eq!(libc::WEXITSTATUS(st), 0, "1: no /proc-less namespace; 2, 3: a case saw the wrong thing");
            }
        }
    }

    /// In a forked child: the worker's resources, then /proc unmounted, then both cases; 0
    /// if CLEAR_SIGHAND's child saw SIG_DFL and the other the inherited handler.
    fn handlers_without_proc(plan: &Plan) -> i32 {
        signals::setup_worker();
        let mut res = resources(plan).expect("resources");
        let root = c"/".as_ptr();
        let gone = unsafe {
            libc::unshare(libc::CLONE_NEWNS) == 0
                && libc::mount(core::ptr::null(), root, core::ptr::null(), libc::MS_REC | libc::MS_PRIVATE, core::ptr::null()) == 0
                && libc::umount2(c"/proc".as_ptr(), libc::MNT_DETACH) == 0
        };
        if !gone || std::path::Path::new("/proc/self").exists() {
            return 1;
        }
        for (code, (case, want)) in (2..).zip(plan.cases.iter().zip([true, false])) {
            match attempt(case, plan.env, plan.arch, &mut res) {
                Observed::Ok(view) if view.handlers_default == Some(want) => {}
                other => {
                    eprintln!("{}: {other:?}", case.id);
                    return code;
                }
            }
        }
        0
    }

    #[test]
    fn a_v1_case_without_a_v1_directory_is_not_run() {
        let probe = crate::probe::probe().expect("the kernel's facts");
        let case = clone3_suites::tables::all().into_iter().find(|c| c.id == "cgroup.v1_directory").expect("the case");
        let plan = Plan {
            cases: std::slice::from_ref(&case),
            run: &[true],
            env: &probe.env,
            arch: &probe.arch,
            cgroup: crate::CgroupPlan::NotNeeded,
            cgroup_v1_dir: Some("/nonexistent/cgroup-v1"),
            timeout: Duration::from_secs(1),
        };
        let mut res = resources(&plan).expect("resources");
        // Never a closed fd in its place (the kernel's EBADF would pass for the v1 answer).
        match attempt(&case, &probe.env, &probe.arch, &mut res) {
            Observed::NotRun(why) => assert!(why.contains("no cgroup v1 directory here: open /nonexistent/cgroup-v1"), "{why}"),
            other => panic!("ran without a v1 directory: {other:?}"),
        }
    }
}
