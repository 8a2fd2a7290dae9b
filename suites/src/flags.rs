//! `CLONE_*` flags as u64, from `linux-raw-sys` (its pinned uapi headers), plus the few
//! newer than that pin, which we take from `include/uapi/linux/sched.h` of the release
//! named beside each. Which release accepts which flag is the model's business.

use linux_raw_sys::general as g;

pub const CSIGNAL: u64 = 0xff; // include/uapi/linux/sched.h: "signal mask to be sent at exit"
pub const NEWTIME: u64 = g::CLONE_NEWTIME as u64;
pub const VM: u64 = g::CLONE_VM as u64;
pub const FS: u64 = g::CLONE_FS as u64;
pub const FILES: u64 = g::CLONE_FILES as u64;
pub const SIGHAND: u64 = g::CLONE_SIGHAND as u64;
pub const PIDFD: u64 = g::CLONE_PIDFD as u64;
pub const PTRACE: u64 = g::CLONE_PTRACE as u64;
pub const VFORK: u64 = g::CLONE_VFORK as u64;
pub const PARENT: u64 = g::CLONE_PARENT as u64;
pub const THREAD: u64 = g::CLONE_THREAD as u64;
pub const NEWNS: u64 = g::CLONE_NEWNS as u64;
pub const SYSVSEM: u64 = g::CLONE_SYSVSEM as u64;
pub const SETTLS: u64 = g::CLONE_SETTLS as u64;
pub const PARENT_SETTID: u64 = g::CLONE_PARENT_SETTID as u64;
pub const CHILD_CLEARTID: u64 = g::CLONE_CHILD_CLEARTID as u64;
pub const DETACHED: u64 = g::CLONE_DETACHED as u64;
pub const UNTRACED: u64 = g::CLONE_UNTRACED as u64;
pub const CHILD_SETTID: u64 = g::CLONE_CHILD_SETTID as u64;
pub const NEWCGROUP: u64 = g::CLONE_NEWCGROUP as u64;
pub const NEWUTS: u64 = g::CLONE_NEWUTS as u64;
pub const NEWIPC: u64 = g::CLONE_NEWIPC as u64;
pub const NEWUSER: u64 = g::CLONE_NEWUSER as u64;
pub const NEWPID: u64 = g::CLONE_NEWPID as u64;
pub const NEWNET: u64 = g::CLONE_NEWNET as u64;
pub const IO: u64 = g::CLONE_IO as u64;
pub const CLEAR_SIGHAND: u64 = g::CLONE_CLEAR_SIGHAND;
pub const INTO_CGROUP: u64 = g::CLONE_INTO_CGROUP;
// v7.1 include/uapi/linux/sched.h (after linux-raw-sys 0.12's pin).
pub const AUTOREAP: u64 = 1 << 34;
pub const NNP: u64 = 1 << 35;
pub const PIDFD_AUTOKILL: u64 = 1 << 36;
pub const EMPTY_MNTNS: u64 = 1 << 37;

/// Every namespace flag `copy_namespaces` checks for CAP_SYS_ADMIN (NEWUSER is not one:
/// `create_user_ns` has rules of its own).
pub const NEW_NS_NEEDING_ADMIN: u64 = NEWNS | NEWUTS | NEWIPC | NEWPID | NEWNET | NEWCGROUP | NEWTIME;

/// Stable lower-case names for single bits, used in case ids (`flags.alone_newpid`).
pub fn bit_name(bit: u32) -> String {
    let known = match 1u64 << bit {
        NEWTIME => "newtime",
        VM => "vm",
        FS => "fs",
        FILES => "files",
        SIGHAND => "sighand",
        PIDFD => "pidfd",
        PTRACE => "ptrace",
        VFORK => "vfork",
        PARENT => "parent",
        THREAD => "thread",
        NEWNS => "newns",
        SYSVSEM => "sysvsem",
        SETTLS => "settls",
        PARENT_SETTID => "parent_settid",
        CHILD_CLEARTID => "child_cleartid",
        DETACHED => "detached",
        UNTRACED => "untraced",
        CHILD_SETTID => "child_settid",
        NEWCGROUP => "newcgroup",
        NEWUTS => "newuts",
        NEWIPC => "newipc",
        NEWUSER => "newuser",
        NEWPID => "newpid",
        NEWNET => "newnet",
        IO => "io",
        CLEAR_SIGHAND => "clear_sighand",
        INTO_CGROUP => "into_cgroup",
        AUTOREAP => "autoreap",
        NNP => "nnp",
        PIDFD_AUTOKILL => "pidfd_autokill",
        EMPTY_MNTNS => "empty_mntns",
        _ if bit < 7 => return format!("csignal_bit{bit}"),
        _ => return format!("bit{bit}"),
    };
    known.to_string()
}
