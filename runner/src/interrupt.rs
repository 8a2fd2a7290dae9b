//! SIGINT, SIGTERM and SIGHUP to the CLI: the sandbox dies with it, and the run's cgroup is
//! removed. The handler only does what is async-signal-safe: it records the signal and
//! SIGKILLs the sandbox's top process (init1, or the unprivileged worker). The run then sees
//! the sandbox end, reaps it, removes its cgroup and exits 128 + the signal ([`exit_if`]).
//! Outside a run the handler removes the run's cgroup if one is made (it is empty then:
//! rmdir is async-signal-safe) and exits at once.
//!
//! Not signal-hook: its flag and pipe helpers would still need this crate's own kill of the
//! sandbox inside the handler, which is all this module is.

use std::sync::atomic::{AtomicI32, AtomicPtr, Ordering};

/// The signal received, 0 if none.
static PENDING: AtomicI32 = AtomicI32::new(0);
/// While a sandbox runs: its top pid (-1: being started, not known yet); 0 otherwise.
static SANDBOX: AtomicI32 = AtomicI32::new(0);

/// The run's cgroup directories while they exist, deepest first: a leaked, null-terminated
/// array of leaked C strings, else null.
static CGROUPS: AtomicPtr<*mut libc::c_char> = AtomicPtr::new(core::ptr::null_mut());

const SIGNALS: [libc::c_int; 3] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP];

extern "C" fn on_signal(sig: libc::c_int) {
    let _ = PENDING.compare_exchange(0, sig, Ordering::SeqCst, Ordering::SeqCst);
    match SANDBOX.load(Ordering::SeqCst) {
        0 => unsafe {
            let mut dir = CGROUPS.load(Ordering::SeqCst);
            while !dir.is_null() && !(*dir).is_null() {
                libc::rmdir(*dir);
                dir = dir.add(1);
            }
            let msg: &[u8] = match sig {
                libc::SIGINT => b"clone3-abi: interrupted by signal 2\n",
                libc::SIGTERM => b"clone3-abi: interrupted by signal 15\n",
                _ => b"clone3-abi: interrupted by signal 1\n",
            };
            libc::write(2, msg.as_ptr().cast(), msg.len());
            libc::_exit(128 + sig)
        },
        top if top > 0 => unsafe {
            libc::kill(top, libc::SIGKILL);
        },
        _ => {}
    }
}

/// Installs the handlers (the CLI, not the agent). No SA_RESTART: a blocking call of the
/// run ends with EINTR.
pub fn install() {
    unsafe {
        let mut sa: libc::sigaction = core::mem::zeroed();
        sa.sa_sigaction = on_signal as *const () as usize;
        libc::sigemptyset(&mut sa.sa_mask);
        for s in SIGNALS {
            libc::sigaddset(&mut sa.sa_mask, s);
        }
        for s in SIGNALS {
            libc::sigaction(s, &sa, core::ptr::null_mut());
        }
    }
}

/// The signal that asked the CLI to stop, if any.
pub fn pending() -> Option<i32> {
    Some(PENDING.load(Ordering::SeqCst)).filter(|&s| s != 0)
}

/// A sandbox is being started, or has been reaped and is being cleaned up after: a signal
/// now is only recorded (the run acts on it).
pub fn starting() {
    SANDBOX.store(-1, Ordering::SeqCst);
}

/// The sandbox's top pid is `top`; kills it at once if a signal came meanwhile.
pub fn running(top: i32) {
    SANDBOX.store(top, Ordering::SeqCst);
    if pending().is_some() {
        unsafe { libc::kill(top, libc::SIGKILL) };
    }
}

/// The sandbox is gone (reaped).
pub fn ended() {
    SANDBOX.store(0, Ordering::SeqCst);
}

/// After a run's clean-up: exits 128 + the signal if one came.
pub fn exit_if(what: &str) {
    if let Some(sig) = pending() {
        use std::io::Write;
        let _ = writeln!(std::io::stderr(), "clone3-abi: interrupted by signal {sig}: {what}");
        std::process::exit(128 + sig);
    }
}

/// The run's cgroups are `dirs`, deepest first (made), or none (empty: removed).
pub fn cgroups(dirs: &[std::path::PathBuf]) {
    use std::os::unix::ffi::OsStrExt;
    let mut list: Vec<*mut libc::c_char> =
        dirs.iter().filter_map(|d| std::ffi::CString::new(d.as_os_str().as_bytes()).ok()).map(|c| c.into_raw()).collect();
    let ptr = if list.is_empty() {
        core::ptr::null_mut()
    } else {
        list.push(core::ptr::null_mut());
        list.leak().as_mut_ptr()
    };
    // Leaked: the handler may be reading the old list (some bytes per run).
    CGROUPS.store(ptr, Ordering::SeqCst);
}

/// Removes the run's cgroups (rmdir, deepest first), waiting until `deadline` for members
/// that were just killed to leave: after a signal, where the cgroups' owner does not get to.
pub fn remove_cgroups(deadline: std::time::Instant) {
    let mut dir = CGROUPS.load(Ordering::SeqCst);
    // SAFETY: the list and its strings are leaked, never freed.
    while !dir.is_null() && unsafe { !(*dir).is_null() } {
        while unsafe { libc::rmdir(*dir) } != 0
            && std::io::Error::last_os_error().raw_os_error() == Some(libc::EBUSY)
            && std::time::Instant::now() < deadline
        {
            super::time::sleep(std::time::Duration::from_millis(10));
        }
        dir = unsafe { dir.add(1) };
    }
}
