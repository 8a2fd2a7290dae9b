//! Sleeping on every kernel the agents meet. std's `thread::sleep` goes through glibc,
//! whose i386 build asks for the 32-bit clock_nanosleep whenever the time fits; a kernel
//! built without CONFIG_COMPAT_32BIT_TIME answers ENOSYS, and std then panics. rustix (with
//! its `linux_5_1` feature) asks for clock_nanosleep_time64 on 32-bit arches.

use std::time::{Duration, Instant};

/// Sleeps for `d` (the rest of it after a signal; gives up on any other error).
pub fn sleep(d: Duration) {
    let deadline = Instant::now() + d;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return;
        }
        match rustix::thread::nanosleep(&super::timespec(left)) {
            rustix::thread::NanosleepRelativeResult::Interrupted(_) => continue,
            _ => return,
        }
    }
}
