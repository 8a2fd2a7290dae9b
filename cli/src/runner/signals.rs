//! The worker's signal set-up: every signal blocked, so any exit_signal a case asks for
//! waits as pending (where the runner looks for it) instead of killing or stopping the
//! worker; and a SIGUSR1 handler for children to inherit (or lose, with CLEAR_SIGHAND).

extern "C" fn on_sigusr1(_: libc::c_int) {}

pub fn setup_worker() {
    unsafe {
        let mut all: libc::sigset_t = core::mem::zeroed();
        libc::sigfillset(&mut all);
        libc::sigprocmask(libc::SIG_BLOCK, &all, core::ptr::null_mut());
        let mut sa: libc::sigaction = core::mem::zeroed();
        sa.sa_sigaction = on_sigusr1 as *const () as usize;
        libc::sigaction(libc::SIGUSR1, &sa, core::ptr::null_mut());
    }
}

/// Throws away every pending signal.
pub fn drain() {
    unsafe {
        let mut all: libc::sigset_t = core::mem::zeroed();
        libc::sigfillset(&mut all);
        let zero = libc::timespec { tv_sec: 0, tv_nsec: 0 };
        while libc::sigtimedwait(&all, core::ptr::null_mut(), &zero) > 0 {}
    }
}

/// Was `sig` pending (and is no longer)? 0 and out-of-range values never are.
pub fn take_pending(sig: u64) -> bool {
    if sig == 0 || sig > 64 {
        return false;
    }
    unsafe {
        let mut pending: libc::sigset_t = core::mem::zeroed();
        libc::sigpending(&mut pending);
        let seen = libc::sigismember(&pending, sig as i32) == 1;
        drain();
        seen
    }
}
