//! The code every case's child runs, and the report it sends. It may run on a stack of
//! its own, in memory shared with the caller, with a thread pointer it was just given:
//! so it uses raw syscalls only (rustix's linux_raw backend, no errno, no TLS), allocates
//! nothing, and leaves with the raw `exit`.

use clone3_arches::{exit_thread, read_tls};
use core::ffi::c_void;
use rustix::fd::BorrowedFd;

/// What the caller tells the child, in memory the child can read.
#[repr(C)]
pub struct ChildCtx {
    pub report_fd: i32,
    /// The caller's /proc (an O_PATH fd), which the child reads through: its own mount
    /// namespace may have no /proc (CLONE_EMPTY_MNTNS).
    pub proc_fd: i32,
    pub nonce: u64,
    pub read_tls: bool,
    pub read_handlers: bool,
    /// Read this word (CHILD_SETTID) if non-zero.
    pub child_tid_addr: usize,
    /// The `/proc/self/cgroup` line that means "in the target cgroup" (empty: don't look).
    pub cgroup_line: [u8; CGROUP_LINE_MAX],
    pub cgroup_line_len: usize,
}

/// The longest `/proc/self/cgroup` line a child can compare.
pub const CGROUP_LINE_MAX: usize = 1024;

/// What the child sends: one atomic pipe write (far below PIPE_BUF).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct Report {
    pub nonce: u64,
    pub tid: i32,
    pub child_tid_word: i32,
    pub sp: u64,
    pub tls: u64,
    /// 1 yes, 0 no, [`NOT_ASKED`], or [`COULD_NOT_LOOK`] (its /proc file did not read).
    pub handlers_default: i8,
    /// SIGUSR2 (which the caller ignores) is still SIG_IGN: as `handlers_default`.
    pub ignored_kept: i8,
    pub in_cgroup: i8,
    /// The errno of the /proc read that failed (0: the file read but lacked its line).
    pub proc_errno: i32,
}

/// A report field the caller did not ask for.
pub const NOT_ASKED: i8 = -1;
/// A report field the child was asked for but could not look at: never "no".
pub const COULD_NOT_LOOK: i8 = -2;

impl Report {
    pub const SIZE: usize = core::mem::size_of::<Report>();

    pub fn from_bytes(b: &[u8; Self::SIZE]) -> Self {
        // SAFETY: Report is plain old data of exactly SIZE bytes.
        unsafe { core::ptr::read_unaligned(b.as_ptr().cast()) }
    }
}

/// The child's entry, for both the fork-like path (sp = 0) and the own-stack path.
///
/// # Safety
/// `ctx` points at a live `ChildCtx`.
pub unsafe extern "C" fn child_main(ctx: *mut c_void, sp: usize) -> ! {
    let ctx = &*(ctx as *const ChildCtx);
    let mut r = Report {
        nonce: ctx.nonce,
        tid: rustix::thread::gettid().as_raw_nonzero().get(),
        sp: sp as u64,
        handlers_default: NOT_ASKED,
        ignored_kept: NOT_ASKED,
        in_cgroup: NOT_ASKED,
        ..Report::default()
    };
    if ctx.read_tls {
        r.tls = read_tls() as u64;
    }
    if ctx.child_tid_addr != 0 {
        r.child_tid_word = core::ptr::read_volatile(ctx.child_tid_addr as *const i32);
    }
    // "self" there is this task's pid in that procfs's pid namespace, which is an ancestor
    // of (or is) the child's own: a new one (CLONE_NEWPID) still names the child.
    let proc = BorrowedFd::borrow_raw(ctx.proc_fd);
    if ctx.read_handlers {
        let seen = dispositions(proc, c"self/status");
        r.handlers_default = looked(seen.map(|d| d.0), &mut r.proc_errno);
        r.ignored_kept = looked(seen.map(|d| d.1), &mut r.proc_errno);
    }
    if ctx.cgroup_line_len > 0 {
        r.in_cgroup = looked(in_cgroup(proc, &ctx.cgroup_line[..ctx.cgroup_line_len]), &mut r.proc_errno);
    }
    let bytes = core::slice::from_raw_parts((&r as *const Report).cast::<u8>(), Report::SIZE);
    let _ = rustix::io::write(BorrowedFd::borrow_raw(ctx.report_fd), bytes);
    exit_thread(0)
}

/// 1 or 0 for what the child saw; [`COULD_NOT_LOOK`] (and the errno) when it could not.
fn looked(seen: Result<bool, i32>, errno: &mut i32) -> i8 {
    match seen {
        Ok(b) => i8::from(b),
        Err(e) => {
            *errno = e;
            COULD_NOT_LOOK
        }
    }
}

/// Is SIGUSR1's handler (the caller installs one) back to SIG_DFL? Read from the
/// `SigCgt` mask in `status` under `proc` (self/status): glibc's sigaction reads the stack-protector canary
/// through the thread pointer, which CLONE_SETTLS may have pointed anywhere (a child with
/// tls 0 died of SIGSEGV in it: found by the fuzzer). `Err(errno)` when the file does not
/// read, `Err(0)` when it has no SigCgt line.
#[cfg(test)]
fn handlers_default(proc: BorrowedFd, status: &core::ffi::CStr) -> Result<bool, i32> {
    dispositions(proc, status).map(|d| d.0)
}

/// [`handlers_default`], and whether SIGUSR2 (the caller sets it to SIG_IGN) is still
/// ignored, from the `SigIgn` mask of the same read.
fn dispositions(proc: BorrowedFd, status: &core::ffi::CStr) -> Result<(bool, bool), i32> {
    let mut buf = [0u8; 4096];
    let status = read_proc(proc, status, &mut buf)?;
    let mask = |name: &[u8]| -> Result<u64, i32> {
        let line = status.split(|&b| b == b'\n').find(|l| l.starts_with(name)).ok_or(0)?;
        Ok(line[name.len()..].iter().filter(|b| b.is_ascii_hexdigit()).fold(0u64, |m, &b| {
            (m << 4) | u64::from((b as char).to_digit(16).unwrap_or(0))
        }))
    };
    let bit = |sig: i32| 1u64 << (sig - 1);
    Ok((mask(b"SigCgt:")? & bit(libc::SIGUSR1) == 0, mask(b"SigIgn:")? & bit(libc::SIGUSR2) != 0))
}

/// Is `line` one of /proc/self/cgroup's lines? Matched as the file streams by, in a small
/// buffer: a fuzz input's stack may be 8 KiB, and the file of a hybrid host with long paths
/// is not small. `Err` as for [`handlers_default`] when the file does not read or is empty.
fn in_cgroup(proc: BorrowedFd, line: &[u8]) -> Result<bool, i32> {
    let fd = open_under(proc, c"self/cgroup")?;
    let mut matcher = LineMatcher::new(line);
    let mut buf = [0u8; 256];
    let mut total = 0;
    loop {
        match rustix::io::read(fd.fd(), &mut buf) {
            Ok(0) => break,
            Ok(n) => {
                total += n;
                if matcher.feed(&buf[..n]) {
                    return Ok(true);
                }
            }
            Err(e) => return Err(e.raw_os_error()),
        }
    }
    if total == 0 {
        return Err(0);
    }
    Ok(matcher.feed(b"\n"))
}

/// Finds a whole line in text fed piece by piece.
struct LineMatcher<'a> {
    line: &'a [u8],
    /// How much of `line` the current line has matched so far; `None`: it differs.
    at: Option<usize>,
}

impl<'a> LineMatcher<'a> {
    fn new(line: &'a [u8]) -> Self {
        Self { line, at: Some(0) }
    }

    /// Feeds more text; true once a whole line equal to `line` has gone by.
    fn feed(&mut self, text: &[u8]) -> bool {
        for &b in text {
            if b == b'\n' {
                if self.at == Some(self.line.len()) {
                    return true;
                }
                self.at = Some(0);
            } else {
                self.at = self.at.filter(|&k| self.line.get(k) == Some(&b)).map(|k| k + 1);
            }
        }
        false
    }
}

/// A file the child opened, closed with the raw syscall. Dropping a std `OwnedFd` calls
/// glibc's close, a cancellation point that reads the thread's state through the thread
/// pointer, which CLONE_SETTLS may have pointed anywhere: i386 and riscv64 children with
/// SETTLS|CLEAR_SIGHAND died of SIGSEGV there (the guest fuzzer, seed 31).
struct ChildFd(i32);

impl ChildFd {
    fn fd(&self) -> BorrowedFd<'_> {
        // SAFETY: open until drop.
        unsafe { BorrowedFd::borrow_raw(self.0) }
    }
}

impl Drop for ChildFd {
    fn drop(&mut self) {
        // SAFETY: ours, closed once; rustix's linux_raw close is the bare syscall.
        unsafe { rustix::io::close(self.0) }
    }
}

/// Opens `path` under the /proc fd `proc` for reading.
fn open_under(proc: BorrowedFd, path: &core::ffi::CStr) -> Result<ChildFd, i32> {
    use rustix::fd::IntoRawFd;
    let fd = rustix::fs::openat(proc, path, rustix::fs::OFlags::RDONLY, rustix::fs::Mode::empty()).map_err(|e| e.raw_os_error())?;
    Ok(ChildFd(fd.into_raw_fd()))
}

/// Reads a small file under the /proc fd `proc` into `buf` with raw syscalls; `Err(errno)`
/// if it does not open or a read fails.
fn read_proc<'a>(proc: BorrowedFd, path: &core::ffi::CStr, buf: &'a mut [u8]) -> Result<&'a [u8], i32> {
    let fd = open_under(proc, path)?;
    let mut len = 0;
    while len < buf.len() {
        match rustix::io::read(fd.fd(), &mut buf[len..]) {
            Ok(0) => break,
            Ok(n) => len += n,
            Err(e) => return Err(e.raw_os_error()),
        }
    }
    Ok(&buf[..len])
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustix::fd::{AsFd, OwnedFd};

    fn proc_dir() -> OwnedFd {
        use rustix::fs::{Mode, OFlags};
        rustix::fs::open("/proc", OFlags::PATH | OFlags::DIRECTORY, Mode::empty()).unwrap()
    }

    fn own_cgroup_line() -> String {
        let own = std::fs::read_to_string("/proc/self/cgroup").unwrap();
        own.lines().find(|l| l.starts_with("0::")).unwrap().to_string()
    }

    #[test]
    fn an_unreadable_status_is_not_looked_at_never_no() {
        let proc = proc_dir();
        let mut errno = 0;
        assert_eq!(looked(handlers_default(proc.as_fd(), c"self/no-such-file"), &mut errno), COULD_NOT_LOOK);
        assert_eq!(errno, libc::ENOENT);
        // A file without the line is no answer either.
        errno = 0;
        assert_eq!(looked(handlers_default(proc.as_fd(), c"self/cmdline"), &mut errno), COULD_NOT_LOOK);
        assert_eq!(errno, 0);
        // The real one reads: the test harness has no SIGUSR1 handler.
        assert_eq!(handlers_default(proc.as_fd(), c"self/status"), Ok(true));
    }

    #[test]
    fn a_cgroup_line_is_found_across_reads() {
        let mut m = LineMatcher::new(b"0::/a/b");
        assert!(!m.feed(b"12:pids:/a/b\n0::/a"));
        assert!(m.feed(b"/b\n"));
        let mut m = LineMatcher::new(b"0::/a/b");
        assert!(!m.feed(b"0::/a/bc\n0::/a/\n"));
        let proc = proc_dir();
        assert_eq!(in_cgroup(proc.as_fd(), own_cgroup_line().as_bytes()), Ok(true));
        assert_eq!(in_cgroup(proc.as_fd(), b"0::/no/such/cgroup"), Ok(false));
    }

    /// What a CLONE_EMPTY_MNTNS child (7.1) meets, on kernels without it: a mount namespace
    /// with no /proc, and a new pid namespace whose init is pid 1 to itself.
    #[test]
    fn a_child_without_proc_in_a_new_pid_namespace_reads_through_the_fd() {
        if !rustix::process::geteuid().is_root() {
            eprintln!("skipped: needs root for unshare(CLONE_NEWNS | CLONE_NEWPID)");
            return;
        }
        let (proc, line) = (proc_dir(), own_cgroup_line());
        // Forked, so the harness keeps its namespaces; exit codes say which step failed.
        match unsafe { libc::fork() } {
            0 => unsafe { libc::_exit(without_proc(proc.as_fd(), line.as_bytes())) },
            pid => assert_eq!(exit_code(pid), 0, "1-3: no namespace or /proc still there; 4-7: the read through the fd"),
        }
    }

    /// In a forked child: drops /proc from a new mount namespace, then looks as pid 1 of a
    /// new pid namespace; 0 if everything read.
    fn without_proc(proc: BorrowedFd, line: &[u8]) -> i32 {
        unsafe {
            let (null, private) = (core::ptr::null(), libc::MS_REC | libc::MS_PRIVATE);
            if libc::unshare(libc::CLONE_NEWNS) != 0 || libc::mount(null, c"/".as_ptr(), null, private, core::ptr::null()) != 0 {
                return 1;
            }
            if libc::umount2(c"/proc".as_ptr(), libc::MNT_DETACH) != 0 || std::path::Path::new("/proc/self/status").exists() {
                return 2;
            }
            if libc::unshare(libc::CLONE_NEWPID) != 0 {
                return 3;
            }
            match libc::fork() {
                0 => libc::_exit(as_init(proc, line)),
                pid => exit_code(pid),
            }
        }
    }

    fn as_init(proc: BorrowedFd, line: &[u8]) -> i32 {
        // "self" is this task as the procfs's (ancestor) pid namespace numbers it, not 1.
        let me = rustix::fs::readlinkat(proc, c"self", Vec::new()).map(|p| p.to_string_lossy().parse::<i32>());
        match (rustix::process::getpid().as_raw_nonzero().get(), me) {
            (1, Ok(Ok(pid))) if pid > 1 => {}
            _ => return 4,
        }
        if handlers_default(proc, c"self/status") != Ok(true) {
            return 5;
        }
        if in_cgroup(proc, line) != Ok(true) {
            return 6;
        }
        if handlers_default(proc, c"thread-self/status") != Ok(true) {
            return 7;
        }
        0
    }

    fn exit_code(pid: i32) -> i32 {
        let mut st = 0;
        assert_eq!(unsafe { libc::waitpid(pid, &mut st, 0) }, pid);
        if libc::WIFEXITED(st) { libc::WEXITSTATUS(st) } else { 100 + st }
    }
}
