//! The facts about the machine the model takes as inputs: probed by the runner, never
//! guessed by the model. Tests build them by hand.

use crate::Release;
use clone3_arches::ArchProfile;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

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
    /// The worker was started with CLONE_AUTOREAP (v7.1): its CLONE_PARENT children would
    /// get exit_signal 0 without being autoreaped, so copy_process refuses them. The runner's
    /// worker never is; records without the field parse as false.
    #[serde(default, skip_serializing_if = "is_false")]
    pub caller_autoreaped: bool,
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
    /// A domain controller (memory, io, hugetlb, rdma, misc) is enabled in the
    /// `cgroup.subtree_control` of the cgroup the run starts in. Records without the field
    /// parse as false.
    #[serde(default, skip_serializing_if = "is_false")]
    pub cgroup_domain_controller: bool,
    /// Debian's `kernel.unprivileged_userns_clone` sysctl is not 0 (true where the sysctl
    /// does not exist). Only this sysctl: `user.max_user_namespaces` is
    /// [`Features::max_user_namespaces`], and whether the kernel has Debian's patch at all
    /// is [`Features::debian_userns_patch`].
    pub unprivileged_userns: bool,
    /// Ubuntu's `kernel.apparmor_restrict_unprivileged_userns` is 1: a user namespace made
    /// without CAP_SYS_ADMIN is confined by AppArmor's `unprivileged_userns` profile, whose
    /// answers the model does not know (review finding 13). Records without it parse as false.
    #[serde(default, skip_serializing_if = "is_false")]
    pub apparmor_restricts_userns: bool,
    /// One past the highest address access_ok accepts (x86_64: TASK_SIZE_MAX, 2^56 - 4096
    /// under 5-level paging instead of 2^47 - 4096).
    pub user_addr_limit: u64,
    /// The [`crate::Stack::TOP_OF_USER_RANGE`] bytes below `user_addr_limit` could be mapped
    /// (probed): an arm64 kernel built for 52-bit VAs takes stacks up to 2^52 but maps only
    /// below 2^48 on a CPU without LVA. Records without the field parse as true.
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub user_range_top: bool,
    /// What the kernel was built with, as far as clone3 and the runner care. Records
    /// written before this field existed parse as "every feature present".
    #[serde(default)]
    pub kernel: Features,
    /// Fixes the kernel has (true) or lacks (false) whatever its release says, by
    /// [`crate::model::fixes::FIXES`] name: for vendor kernels with backports of their own.
    /// Empty by default, and then not written, so records before the field mean the same.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fixes: BTreeMap<String, bool>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn is_true(b: &bool) -> bool {
    *b
}

fn yes() -> bool {
    true
}

/// Is a kernel feature there? Probed, never assumed: `Unknown` when the probe could not
/// look (an unreadable `/proc/self/ns`, say), and the model then skips what depends on it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Have {
    #[default]
    Yes,
    No,
    Unknown,
}

impl Have {
    pub fn from_bool(b: bool) -> Self {
        if b { Have::Yes } else { Have::No }
    }
}

/// The kernel's build options (and the one limit) that change clone3's answers or what the
/// runner can do. Each namespace kind is read from `/proc/self/ns/<name>`, whose entries
/// fs/proc/namespaces.c (ns_entries) lists only for the options built in; `mnt` is always
/// there, so a listing without it means "could not look". Missing fields default to
/// present, so records from older agents still parse and mean what they meant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Features {
    /// CONFIG_UTS_NS (`ns/uts`).
    pub uts_ns: Have,
    /// CONFIG_IPC_NS (`ns/ipc`; needs SYSVIPC or POSIX_MQUEUE).
    pub ipc_ns: Have,
    /// CONFIG_PID_NS (`ns/pid`): also what the runner's sandbox is built from.
    pub pid_ns: Have,
    /// CONFIG_NET_NS (`ns/net`).
    pub net_ns: Have,
    /// CONFIG_CGROUPS (`ns/cgroup`): cgroup namespaces exist exactly when cgroups do.
    pub cgroups: Have,
    /// CONFIG_TIME_NS (`ns/time`, 5.6+).
    pub time_ns: Have,
    /// CONFIG_USER_NS (`ns/user`).
    pub user_ns: Have,
    /// `cgroup2` is listed in /proc/filesystems (registered by CONFIG_CGROUPS).
    pub cgroup2_fs: Have,
    /// The kernel carries Debian's "add sysctl to disallow unprivileged CLONE_NEWUSER by
    /// default" patch. Seen from the sysctl where CONFIG_USER_NS is on; without USER_NS
    /// the patch leaves no trace (fork.c defines the sysctl's value as 0), so only a
    /// Debian version string or the `clone3abi.debian_patches=` kernel argument tells.
    pub debian_userns_patch: Have,
    /// `user.max_user_namespaces` in the caller's user namespace: `Some(0)` makes
    /// inc_user_namespaces fail (ENOSPC); `None`: could not be read.
    pub max_user_namespaces: Option<u64>,
    /// `user.max_{mnt,uts,ipc,pid,cgroup,net,time}_namespaces` in the caller's user namespace:
    /// 0 makes the namespace's copy fail with ENOSPC (review finding 13, gap [16]).
    pub max_namespaces: NsLimits,
}

/// One `user.max_*_namespaces` value per kind that copy_namespaces creates; `None`: could
/// not be read. Records without them parse as the default of a fresh user namespace.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct NsLimits {
    pub mnt: Option<u64>,
    pub uts: Option<u64>,
    pub ipc: Option<u64>,
    pub pid: Option<u64>,
    pub cgroup: Option<u64>,
    pub net: Option<u64>,
    pub time: Option<u64>,
}

impl NsLimits {
    pub const DEFAULT: NsLimits = NsLimits {
        mnt: Some(MAX_USER_NAMESPACES_DEFAULT),
        uts: Some(MAX_USER_NAMESPACES_DEFAULT),
        ipc: Some(MAX_USER_NAMESPACES_DEFAULT),
        pid: Some(MAX_USER_NAMESPACES_DEFAULT),
        cgroup: Some(MAX_USER_NAMESPACES_DEFAULT),
        net: Some(MAX_USER_NAMESPACES_DEFAULT),
        time: Some(MAX_USER_NAMESPACES_DEFAULT),
    };

    /// The sysctl names under /proc/sys/user, in the order of the fields.
    pub const NAMES: [&'static str; 7] = [
        "max_mnt_namespaces",
        "max_uts_namespaces",
        "max_ipc_namespaces",
        "max_pid_namespaces",
        "max_cgroup_namespaces",
        "max_net_namespaces",
        "max_time_namespaces",
    ];

    pub fn from_values(v: [Option<u64>; 7]) -> Self {
        NsLimits { mnt: v[0], uts: v[1], ipc: v[2], pid: v[3], cgroup: v[4], net: v[5], time: v[6] }
    }
}

impl Default for NsLimits {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl Default for Features {
    fn default() -> Self {
        Self::ALL
    }
}

impl Features {
    /// A kernel with every option clone3 can use.
    pub const ALL: Features = Features {
        uts_ns: Have::Yes,
        ipc_ns: Have::Yes,
        pid_ns: Have::Yes,
        net_ns: Have::Yes,
        cgroups: Have::Yes,
        time_ns: Have::Yes,
        user_ns: Have::Yes,
        cgroup2_fs: Have::Yes,
        debian_userns_patch: Have::Yes,
        max_user_namespaces: Some(MAX_USER_NAMESPACES_DEFAULT),
        max_namespaces: NsLimits::DEFAULT,
    };
}

/// What a fresh user namespace allows (kernel/user_namespace.c: ucount_max = INT_MAX for
/// a child namespace; the initial one is init_user_ns's max_threads / 2).
pub const MAX_USER_NAMESPACES_DEFAULT: u64 = i32::MAX as u64;

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
            caller_autoreaped: false,
            pid_level: 2,
            pid_max: 32768,
            pid_sandbox: true,
            cgroup2: true,
            cgroup_v1: true,
            cgroup_domain_controller: true,
            unprivileged_userns: true,
            apparmor_restricts_userns: false,
            user_addr_limit: arch.user_addr_limit,
            user_range_top: true,
            kernel: Features::ALL,
            fixes: BTreeMap::new(),
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
            cgroup_domain_controller: false,
            ..Self::sandboxed_root(release, arch)
        }
    }
}
