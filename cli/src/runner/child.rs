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
    pub nonce: u64,
    pub read_tls: bool,
    pub read_handlers: bool,
    /// Read this word (CHILD_SETTID) if non-zero.
    pub child_tid_addr: usize,
    /// The `/proc/self/cgroup` line that means "in the target cgroup" (empty: don't look).
    pub cgroup_line: [u8; 200],
    pub cgroup_line_len: usize,
}

/// What the child sends: one atomic pipe write (far below PIPE_BUF).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct Report {
    pub nonce: u64,
    pub tid: i32,
    pub child_tid_word: i32,
    pub sp: u64,
    pub tls: u64,
    /// 1 yes, 0 no, -1 not looked at.
    pub handlers_default: i8,
    pub in_cgroup: i8,
}

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
        handlers_default: -1,
        in_cgroup: -1,
        ..Report::default()
    };
    if ctx.read_tls {
        r.tls = read_tls() as u64;
    }
    if ctx.child_tid_addr != 0 {
        r.child_tid_word = core::ptr::read_volatile(ctx.child_tid_addr as *const i32);
    }
    if ctx.read_handlers {
        r.handlers_default = i8::from(handlers_default());
    }
    if ctx.cgroup_line_len > 0 {
        r.in_cgroup = in_cgroup(&ctx.cgroup_line[..ctx.cgroup_line_len]) as i8;
    }
    let bytes = core::slice::from_raw_parts((&r as *const Report).cast::<u8>(), Report::SIZE);
    let _ = rustix::io::write(BorrowedFd::borrow_raw(ctx.report_fd), bytes);
    exit_thread(0)
}

/// Is SIGUSR1's handler (the caller installs one) back to SIG_DFL? Read from the
/// `SigCgt` mask in /proc/self/status: glibc's sigaction reads the stack-protector canary
/// through the thread pointer, which CLONE_SETTLS may have pointed anywhere (a child with
/// tls 0 died of SIGSEGV in it: found by the fuzzer).
fn handlers_default() -> bool {
    let mut buf = [0u8; 4096];
    let status = read_proc(c"/proc/self/status", &mut buf);
    let Some(line) = status.split(|&b| b == b'\n').find(|l| l.starts_with(b"SigCgt:")) else { return false };
    let caught = line[7..].iter().filter(|b| b.is_ascii_hexdigit()).fold(0u64, |m, &b| {
        (m << 4) | u64::from((b as char).to_digit(16).unwrap_or(0))
    });
    caught & (1 << (libc::SIGUSR1 - 1)) == 0
}

fn in_cgroup(line: &[u8]) -> bool {
    let mut buf = [0u8; 4096];
    read_proc(c"/proc/self/cgroup", &mut buf).split(|&b| b == b'\n').any(|l| l == line)
}

/// Reads a small /proc file into `buf` with raw syscalls; empty on any error.
fn read_proc<'a>(path: &core::ffi::CStr, buf: &'a mut [u8]) -> &'a [u8] {
    let Ok(fd) = rustix::fs::open(path, rustix::fs::OFlags::RDONLY, rustix::fs::Mode::empty()) else {
        return &[];
    };
    let mut len = 0;
    while len < buf.len() {
        match rustix::io::read(&fd, &mut buf[len..]) {
            Ok(0) | Err(_) => break,
            Ok(n) => len += n,
        }
    }
    &buf[..len]
}
