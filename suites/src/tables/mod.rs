//! The case tables: one module per family, each a list of struct literals. Expected
//! results are not here: the model derives them.

mod cgroup;
mod combo;
mod exit_signal;
mod flags;
mod ns;
mod pidfd;
mod set_tid;
mod sighand;
mod size;
mod stack;
mod tid;
mod tls;

use crate::Case;

/// Every case, in a stable order (families, then table order).
pub fn all() -> Vec<Case> {
    [
        size::cases(),
        flags::cases(),
        combo::cases(),
        exit_signal::cases(),
        stack::cases(),
        set_tid::cases(),
        pidfd::cases(),
        cgroup::cases(),
        sighand::cases(),
        tid::cases(),
        tls::cases(),
        ns::cases(),
    ]
    .concat()
}

/// A stack big enough for the child's report code.
pub(crate) const STACK: u64 = 64 * 1024;

#[cfg(test)]
mod tests;
