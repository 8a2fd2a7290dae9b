//! Layer 3: the machine's facts the model and the runner need ([`probe`]), and cases
//! turned into real clone3 calls inside a sandbox, one [`Observed`] per case. Used
//! unchanged by native runs, the agent, the fuzzer and the bench; the kernel's taint flags
//! before and after ([`taint`]). Above it: the reporters (`clone3-report`), the QEMU driver
//! (`clone3-qemu`) and the front ends (`clone3-abi`).

mod arena;
mod attempt;
pub mod cgroup;
mod child;
mod sandbox;
mod signals;
mod worker;
pub mod bench;
pub mod interrupt;
pub mod probe;
pub mod taint;
pub mod time;

pub use sandbox::{run_cases, RunOptions};
pub use worker::{CgroupPlan, Plan};

use clone3_suites::{ChildView, Errno};
use serde::{Deserialize, Serialize};

/// A poll/futex timeout.
fn timespec(d: std::time::Duration) -> rustix::time::Timespec {
    rustix::time::Timespec { tv_sec: d.as_secs() as i64, tv_nsec: d.subsec_nanos() as i64 }
}

/// What really happened to one case.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Observed {
    Ok(ChildView),
    Err(Errno),
    /// An errno the model has no name for.
    ErrRaw(i32),
    /// The runner could not run it (setup failed, the worker died, a hang): why.
    NotRun(String),
}

impl Observed {
    pub fn from_errno(raw: i32) -> Self {
        ERRNOS.iter().find(|(n, _)| *n == raw).map_or(Observed::ErrRaw(raw), |(_, e)| Observed::Err(*e))
    }
}

/// This target's errno numbers for the names the model uses.
const ERRNOS: &[(i32, Errno)] = &[
    (libc::EPERM, Errno::EPERM),
    (libc::ENOENT, Errno::ENOENT),
    (libc::EINTR, Errno::EINTR),
    (libc::EBADF, Errno::EBADF),
    (libc::EAGAIN, Errno::EAGAIN),
    (libc::ENOMEM, Errno::ENOMEM),
    (libc::EACCES, Errno::EACCES),
    (libc::EFAULT, Errno::EFAULT),
    (libc::EBUSY, Errno::EBUSY),
    (libc::EEXIST, Errno::EEXIST),
    (libc::EINVAL, Errno::EINVAL),
    (libc::EMFILE, Errno::EMFILE),
    (libc::ENOSPC, Errno::ENOSPC),
    (libc::E2BIG, Errno::E2BIG),
    (libc::ENOSYS, Errno::ENOSYS),
    (libc::EOPNOTSUPP, Errno::EOPNOTSUPP),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_model_errno_has_a_number() {
        for e in Errno::ALL {
            assert!(ERRNOS.iter().any(|(_, m)| m == e), "{e} has no number");
        }
    }
}
