//! Flag combinations the kernel refuses (clone3_args_valid, copy_process,
//! copy_namespaces) and the ones libraries really use.

use super::STACK;
use crate::case::{Case, CgroupArg, Gate, Ptr, Stack};
use crate::flags::*;

fn combo(id: &str, why: &'static str, flags: u64, exit_signal: u64) -> Case {
    Case { flags, exit_signal, ..Case::base(format!("combo.{id}"), why) }
}

/// A thread-like child: own stack, and CHILD_CLEARTID so the caller knows it is gone.
fn threadlike(id: &str, why: &'static str, flags: u64) -> Case {
    Case {
        stack: Stack::Mapped(STACK),
        child_tid: Ptr::Valid,
        ..combo(id, why, flags | CHILD_CLEARTID, 0)
    }
}

pub fn cases() -> Vec<Case> {
    vec![
        Case { stack: Stack::Mapped(STACK), ..combo("thread_without_sighand", "CLONE_THREAD needs CLONE_SIGHAND", THREAD | VM, 0) },
        Case { stack: Stack::Mapped(STACK), ..combo("sighand_without_vm", "CLONE_SIGHAND needs CLONE_VM", SIGHAND, SIGCHLD_) },
        Case { stack: Stack::Mapped(STACK), ..combo("sighand_with_clear_sighand", "SIGHAND and CLEAR_SIGHAND contradict", SIGHAND | VM | CLEAR_SIGHAND, SIGCHLD_) },
        Case { stack: Stack::Mapped(STACK), ..combo("thread_with_exit_signal", "a thread cannot have an exit signal", THREAD | SIGHAND | VM, SIGCHLD_) },
        combo("parent_with_exit_signal", "CLONE_PARENT cannot have an exit signal", PARENT, SIGCHLD_),
        combo("newns_with_fs", "a new mount namespace cannot share fs_struct", NEWNS | FS, SIGCHLD_),
        combo("newuser_with_fs", "a new user namespace cannot share fs_struct", NEWUSER | FS, SIGCHLD_),
        Case { stack: Stack::Mapped(STACK), ..combo("thread_with_newuser", "a thread cannot get a new user namespace", THREAD | SIGHAND | VM | NEWUSER, 0) },
        Case { stack: Stack::Mapped(STACK), ..combo("thread_with_newpid", "a thread cannot get a new PID namespace", THREAD | SIGHAND | VM | NEWPID, 0) },
        combo("newipc_with_sysvsem", "a new IPC namespace cannot share SysV undo lists", NEWIPC | SYSVSEM, SIGCHLD_),
        Case { pidfd: Ptr::Valid, ..combo("pidfd_with_detached", "CLONE_DETACHED is refused by clone3", PIDFD | DETACHED, SIGCHLD_) },
        combo("csignal_in_flags", "the exit signal may not be given in flags (flags = SIGCHLD)", SIGCHLD_, SIGCHLD_),
        combo("csignal_bit6_with_vfork", "a CSIGNAL bit next to a valid flag", 0x40 | VFORK, SIGCHLD_),
        combo("unknown_high_bit_with_vfork", "an unknown high bit next to a valid flag", (1 << 40) | VFORK, SIGCHLD_),
        combo("all_legacy_bits", "every bit of the legacy flag word", 0xffff_ffff, SIGCHLD_),
        combo("all_bits", "every bit", u64::MAX, SIGCHLD_),
        Case { stack: Stack::Mapped(STACK), ..combo("clear_sighand_with_thread_sighand", "CLEAR_SIGHAND next to a thread", THREAD | SIGHAND | VM | CLEAR_SIGHAND, 0) },
        Case { stack: Stack::Mapped(STACK), ..combo("newuser_newpid_thread", "threads never change namespaces", THREAD | SIGHAND | VM | NEWUSER | NEWPID, 0) },
        combo("newns_newuser_fs", "NEWNS|FS is checked before NEWUSER|FS", NEWNS | NEWUSER | FS, SIGCHLD_),
        combo("newipc_sysvsem_newpid", "NEWIPC|SYSVSEM with another namespace", NEWIPC | SYSVSEM | NEWPID, SIGCHLD_),
        combo("parent_settid_pidfd_both_null", "PIDFD|PARENT_SETTID with both pointers NULL are equal pointers", PIDFD | PARENT_SETTID, SIGCHLD_),
        Case {
            pidfd: Ptr::Unmapped,
            parent_tid: Ptr::Unmapped,
            ..combo("pidfd_parent_tid_same_unmapped", "one unmapped address for both is still the same word", PIDFD | PARENT_SETTID, SIGCHLD_)
        },
        Case {
            pidfd: Ptr::SameAsParentTid,
            parent_tid: Ptr::Valid,
            ..combo("pidfd_is_parent_tid", "pidfd and parent_tid may not be the same word", PIDFD | PARENT_SETTID, SIGCHLD_)
        },
        Case { cgroup: CgroupArg::Target, size: crate::Size::Bytes(80), needs: &[Gate::Cgroup2], ..combo("into_cgroup_ver1", "CLONE_INTO_CGROUP needs usize >= VER2", INTO_CGROUP, SIGCHLD_) },
        Case { cgroup: CgroupArg::Raw(1 << 31), ..combo("into_cgroup_fd_above_int_max", "the cgroup fd must fit in an int", INTO_CGROUP, SIGCHLD_) },
        Case { stack: Stack::Mapped(STACK), ..combo("vm_with_exit_signal_zero", "CLONE_VM child nobody is told about", VM, 0) },
        // Valid combinations.
        Case {
            parent_tid: Ptr::Valid,
            ..threadlike(
                "pthread_like",
                "glibc pthread_create's flags, less SETTLS (the child keeps the caller's TLS)",
                THREAD | SIGHAND | VM | FS | FILES | SYSVSEM | PARENT_SETTID,
            )
        },
        threadlike("thread_sighand_vm", "the minimal thread", THREAD | SIGHAND | VM),
        threadlike("thread_parent", "a thread may also name CLONE_PARENT", THREAD | SIGHAND | VM | PARENT),
        Case { stack: Stack::Mapped(STACK), ..combo("vfork_vm", "posix_spawn's CLONE_VFORK|CLONE_VM", VFORK | VM, SIGCHLD_) },
        Case { stack: Stack::Mapped(STACK), ..combo("sighand_vm_files_fs", "a process sharing everything but the thread group", SIGHAND | VM | FILES | FS, SIGCHLD_) },
        combo("vfork_files", "vfork sharing the fd table", VFORK | FILES, SIGCHLD_),
        combo("newuser_newpid", "a new user and PID namespace", NEWUSER | NEWPID, SIGCHLD_),
        combo("all_namespaces", "every namespace flag at once", NEWNS | NEWUTS | NEWIPC | NEWPID | NEWNET | NEWCGROUP | NEWUSER | NEWTIME, SIGCHLD_),
        combo("parent_exit_signal_zero", "CLONE_PARENT with exit_signal 0: the grandparent reaps", PARENT, 0),
        combo("io_untraced_ptrace_sysvsem", "flags that never fail alone, together", IO | UNTRACED | PTRACE | SYSVSEM, SIGCHLD_),
        // The v7.1 flags (unknown, so EINVAL, before 7.1).
        combo("autoreap_no_exit_signal", "an autoreaped child: no exit signal, no zombie", AUTOREAP, 0),
        Case { stack: Stack::Mapped(STACK), ..combo("autoreap_thread", "threads are never autoreaped", AUTOREAP | THREAD | SIGHAND | VM, 0) },
        combo("autoreap_parent", "CLONE_PARENT cannot be autoreaped", AUTOREAP | PARENT, 0),
        Case { pidfd: Ptr::Valid, ..combo("autoreap_pidfd", "an autoreaped child with a pidfd", AUTOREAP | PIDFD, 0) },
        Case { stack: Stack::Mapped(STACK), ..combo("nnp_thread", "threads share credentials: no CLONE_NNP", NNP | THREAD | SIGHAND | VM, 0) },
        combo("nnp", "no_new_privs for the child alone", NNP, SIGCHLD_),
        Case { pidfd: Ptr::Valid, ..combo("pidfd_autokill_without_autoreap", "kill-on-close needs CLONE_AUTOREAP", PIDFD | PIDFD_AUTOKILL, SIGCHLD_) },
        Case { pidfd: Ptr::Valid, ..combo("pidfd_autokill", "kill-on-close with its pidfd and autoreap", PIDFD | AUTOREAP | PIDFD_AUTOKILL, 0) },
        Case {
            pidfd: Ptr::Valid,
            caller: crate::case::Caller::NoCaps,
            ..combo("pidfd_autokill_no_caps", "without CLONE_NNP, kill-on-close needs CAP_SYS_ADMIN", PIDFD | AUTOREAP | PIDFD_AUTOKILL, 0)
        },
        Case {
            pidfd: Ptr::Valid,
            caller: crate::case::Caller::NoCaps,
            ..combo("pidfd_autokill_nnp_no_caps", "with CLONE_NNP it needs no capability", PIDFD | AUTOREAP | PIDFD_AUTOKILL | NNP, 0)
        },
        combo("empty_mntns_with_fs", "CLONE_EMPTY_MNTNS implies CLONE_NEWNS, which refuses CLONE_FS", EMPTY_MNTNS | FS, SIGCHLD_),
        // Review finding 11: a caller that is itself autoreaped, and its control.
        Case {
            caller: crate::case::Caller::Autoreaped,
            needs: &[crate::case::Gate::AutoreapedCaller],
            ..combo("parent_from_autoreaped", "an autoreaped task's CLONE_PARENT child would be neither reaped nor signalled", PARENT, 0)
        },
        Case {
            caller: crate::case::Caller::Autoreaped,
            needs: &[crate::case::Gate::AutoreapedCaller],
            ..combo("fork_from_autoreaped", "an autoreaped task forks like any other", 0, SIGCHLD_)
        },
    ]
}

const SIGCHLD_: u64 = crate::case::SIGCHLD;
