//! CLONE_INTO_CGROUP: copy_clone_args_from_user's checks and cgroup_css_set_fork's.

use crate::case::{Caller, Case, CgroupArg, Gate, Ptr, Size, Stack};
use crate::flags::{CHILD_CLEARTID, INTO_CGROUP, NEWCGROUP, SIGHAND, THREAD, VFORK, VM};

fn cg(id: &str, why: &'static str, cgroup: CgroupArg) -> Case {
    Case { flags: INTO_CGROUP, cgroup, ..Case::base(format!("cgroup.{id}"), why) }
}

pub fn cases() -> Vec<Case> {
    let target = || Case { needs: &[Gate::Cgroup2], ..cg("target", "the child starts in the target cgroup", CgroupArg::Target) };
    vec![
        target(),
        Case { id: "cgroup.target_with_vfork".into(), flags: INTO_CGROUP | VFORK, why: "vfork into a cgroup", ..target() },
        Case { id: "cgroup.target_with_newcgroup".into(), flags: INTO_CGROUP | NEWCGROUP, why: "the new cgroup namespace is rooted at the target", ..target() },
        Case { id: "cgroup.target_ver1_size".into(), size: Size::Bytes(80), why: "usize 80 cannot carry the cgroup field", ..target() },
        Case { id: "cgroup.target_ver0_size".into(), size: Size::Bytes(64), why: "usize 64 cannot either", ..target() },
        cg("closed_fd", "a closed fd is EBADF", CgroupArg::ClosedFd),
        cg("not_cgroupfs", "a directory not on cgroupfs is EBADF", CgroupArg::NotCgroup),
        Case { needs: &[Gate::CgroupV1], ..cg("v1_directory", "cgroup v1 directories are EBADF (only 6.1-rc1 differed)", CgroupArg::V1Dir) },
        cg("fd_above_int_max", "cgroup > INT_MAX is EINVAL", CgroupArg::Raw(1 << 32)),
        cg("fd_u64_max", "cgroup = 2^64-1 is EINVAL", CgroupArg::Raw(u64::MAX)),
        cg("fd_zero", "cgroup 0 is fd 0, not unset: EBADF (found by the fuzzer)", CgroupArg::None),
        Case { flags: 0, ..cg("field_without_flag", "the cgroup field is ignored without the flag", CgroupArg::ClosedFd) },
        // Table gap [4]: a thread cannot change domain cgroups (found by the fuzzer, seed 12345).
        Case {
            id: "cgroup.thread_into_target".into(),
            flags: INTO_CGROUP | THREAD | SIGHAND | VM | CHILD_CLEARTID,
            exit_signal: 0,
            stack: Stack::Mapped(super::STACK),
            child_tid: Ptr::Valid,
            why: "a CLONE_THREAD child into another domain cgroup is EOPNOTSUPP",
            ..target()
        },
        // Table gaps [5] – [8] (suites/TABLE-GAPS.md).
        Case { id: "cgroup.target_o_path".into(), cgroup: CgroupArg::TargetPath, why: "an O_PATH fd of the target works", ..target() },
        Case { id: "cgroup.procs_file".into(), cgroup: CgroupArg::ProcsFile, why: "a cgroupfs file is no cgroup: EBADF", ..target() },
        Case { id: "cgroup.removed_target".into(), cgroup: CgroupArg::Removed, why: "a removed cgroup is ENOENT", ..target() },
        Case {
            id: "cgroup.target_with_subtree_control".into(),
            cgroup: CgroupArg::Busy,
            needs: &[Gate::Cgroup2, Gate::CgroupDomainController],
            why: "a cgroup with a domain controller enabled for its children takes no processes: EBUSY",
            ..target()
        },
        Case {
            id: "cgroup.target_not_writable".into(),
            cgroup: CgroupArg::NotWritable,
            caller: Caller::NoCaps,
            why: "a target whose cgroup.procs the caller may not write is EACCES",
            ..target()
        },
        Case {
            id: "cgroup.target_not_writable_root".into(),
            cgroup: CgroupArg::NotWritable,
            why: "CAP_DAC_OVERRIDE may write it",
            ..target()
        },
        Case {
            id: "cgroup.ancestor_not_writable".into(),
            cgroup: CgroupArg::AncestorNotWritable,
            caller: Caller::NoCaps,
            why: "the common ancestor's cgroup.procs must be writable too: EACCES",
            ..target()
        },
    ]
}
