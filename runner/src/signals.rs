//! The worker's signal set-up: every signal blocked, so any exit_signal a case asks for
//! waits as pending (where the runner looks for it) instead of killing or stopping the
//! worker; a SIGUSR1 handler for children to inherit (or lose, with CLEAR_SIGHAND), and
//! SIGUSR2 ignored (which CLEAR_SIGHAND keeps).
//!
//! Raw rt_sig* syscalls with a full 64-bit mask: glibc's sigfillset/sigprocmask leave out
//! its internal signals 32 and 33, and a child with exit_signal 32 then killed the worker
//! (found by the fuzzer, seed 7).

/// The kernel's sigset for our arches: one bit per signal 1–64.
const ALL: u64 = u64::MAX;
const SIGSET_SIZE: usize = 8;

extern "C" fn on_sigusr1(_: libc::c_int) {}

pub fn setup_worker() {
    unsafe {
        // Children the cases kill (SIGSEGV on an unmapped stack) leave no core files.
        let none = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
        libc::setrlimit(libc::RLIMIT_CORE, &none);
        // fd 0 is what a cgroup field of 0 names: keep it on something that is no cgroup.
        let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDONLY);
        if null > 0 {
            libc::dup2(null, 0);
            libc::close(null);
        }
        libc::syscall(libc::SYS_rt_sigprocmask, libc::SIG_BLOCK, &ALL as *const u64, 0usize, SIGSET_SIZE);
        let mut sa: libc::sigaction = core::mem::zeroed();
        sa.sa_sigaction = on_sigusr1 as *const () as usize;
        libc::sigaction(libc::SIGUSR1, &sa, core::ptr::null_mut());
        // And one ignored signal, which CLEAR_SIGHAND keeps ignored.
        sa.sa_sigaction = libc::SIG_IGN;
        libc::sigaction(libc::SIGUSR2, &sa, core::ptr::null_mut());
    }
}

/// Before each case: SIGCHLD back to SIG_DFL (a child sharing our handlers may have set it
/// to SIG_IGN: see `caller_sigchld_ignored`), and every pending signal thrown away.
pub fn reset() {
    unsafe {
        let mut sa: libc::sigaction = core::mem::zeroed();
        sa.sa_sigaction = libc::SIG_DFL;
        libc::sigaction(libc::SIGCHLD, &sa, core::ptr::null_mut());
    }
    drain();
}

/// Is SIGCHLD's disposition SIG_IGN?
pub fn sigchld_ignored() -> bool {
    unsafe {
        let mut old: libc::sigaction = core::mem::zeroed();
        libc::sigaction(libc::SIGCHLD, core::ptr::null(), &mut old) == 0 && old.sa_sigaction == libc::SIG_IGN
    }
}

/// Throws away every pending signal.
fn drain() {
    let zero = KernelTimespec { tv_sec: 0, tv_nsec: 0 };
    unsafe {
        while libc::syscall(SYS_RT_SIGTIMEDWAIT, &ALL as *const u64, 0usize, &zero as *const KernelTimespec, SIGSET_SIZE) > 0 {}
    }
}

/// The kernel's `__kernel_timespec`: 64-bit fields on every arch. (libc's `timespec` has a
/// 32-bit `tv_sec` on i686, which only the 32-bit-time syscalls take.)
#[repr(C)]
struct KernelTimespec {
    tv_sec: i64,
    tv_nsec: i64,
}

/// rt_sigtimedwait with a `__kernel_timespec`. On 32-bit arches that is
/// rt_sigtimedwait_time64 (5.1): a kernel built without CONFIG_COMPAT_32BIT_TIME (and an
/// x86_64 kernel's compat path without it) answers the old one with ENOSYS.
#[cfg(target_pointer_width = "64")]
const SYS_RT_SIGTIMEDWAIT: libc::c_long = libc::SYS_rt_sigtimedwait;
#[cfg(all(target_pointer_width = "32", target_arch = "x86"))]
const SYS_RT_SIGTIMEDWAIT: libc::c_long = 421;

/// Was `sig` pending (and is no longer)? 0 and out-of-range values never are.
pub fn take_pending(sig: u64) -> bool {
    if sig == 0 || sig > 64 {
        return false;
    }
    let mut pending: u64 = 0;
    unsafe { libc::syscall(libc::SYS_rt_sigpending, &mut pending as *mut u64, SIGSET_SIZE) };
    drain();
    pending & (1 << (sig - 1)) != 0
}
