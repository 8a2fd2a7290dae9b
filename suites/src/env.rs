//! The facts about the machine the model takes as inputs: probed by the runner, never
//! guessed by the model. Tests build them by hand.

use crate::Release;
use clone3_arches::ArchProfile;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Env {
    pub release: Release,
    /// Page size the kernel uses (AT_PAGESZ).
    pub page_size: u64,
    /// The worker's effective CAP_SYS_ADMIN and CAP_CHECKPOINT_RESTORE.
    pub cap_sys_admin: bool,
    pub cap_checkpoint_restore: bool,
    /// The worker is init of its PID namespace (SIGNAL_UNKILLABLE): CLONE_PARENT fails.
    pub caller_is_pidns_init: bool,
    /// The level of the worker's PID namespace (0 = initial). Children without NEWPID
    /// land at this level.
    pub pid_level: u32,
    /// pid_max as the worker's namespace sees it.
    pub pid_max: i32,
    /// The suite owns the worker's PID namespace and its parent (the sandbox), so it
    /// knows which pids there are taken.
    pub pid_sandbox: bool,
    pub cgroup2: bool,
    pub cgroup_v1: bool,
    /// Unprivileged user namespaces allowed (Debian's kernel.unprivileged_userns_clone).
    pub unprivileged_userns: bool,
    /// One past the highest address access_ok accepts (x86_64: TASK_SIZE_MAX, 2^56 - 4096
    /// under 5-level paging instead of 2^47 - 4096).
    pub user_addr_limit: u64,
}

impl Env {
    /// A root worker inside the suite's two-level PID sandbox: what a privileged run
    /// sees, used by the model's own tests for any release.
    pub fn sandboxed_root(release: Release, arch: &ArchProfile) -> Self {
        Self {
            release,
            page_size: arch.default_page_size,
            cap_sys_admin: true,
            cap_checkpoint_restore: true,
            caller_is_pidns_init: false,
            pid_level: 2,
            pid_max: 32768,
            pid_sandbox: true,
            cgroup2: true,
            cgroup_v1: true,
            unprivileged_userns: true,
            user_addr_limit: arch.user_addr_limit,
        }
    }

    /// An ordinary user on the host, no sandbox.
    pub fn unprivileged(release: Release, arch: &ArchProfile) -> Self {
        Self {
            cap_sys_admin: false,
            cap_checkpoint_restore: false,
            pid_level: 0,
            pid_sandbox: false,
            cgroup2: false,
            ..Self::sandboxed_root(release, arch)
        }
    }
}
