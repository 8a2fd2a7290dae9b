//! One rule per kernel check, in the order the kernel makes them. Each names the kernel
//! function and the kernels it holds for (`When`: always, or a feature or fix of
//! [`super::fixes`], which holds the releases, stable point releases and commits). Sources: kernel/fork.c (sys_clone3,
//! copy_clone_args_from_user, clone3_args_valid, clone3_stack_valid, kernel_clone,
//! copy_process), kernel/pid.c (alloc_pid), kernel/nsproxy.c (copy_namespaces),
//! kernel/cgroup/cgroup.c (cgroup_css_set_fork), include/linux/uaccess.h
//! (copy_struct_from_user), read for 5.3 … 7.x; shared/notes/clone3-ground-truth.md holds
//! the line-by-line checks against Debian's 6.1 and 6.12 trees.
//!
//! Kernel configuration (read in Debian 6.12.117: every `#ifdef` on clone3's path in
//! kernel/fork.c, kernel/nsproxy.c, and the headers of the functions they call). What a
//! missing option changes is modelled from [`crate::Features`]: the namespace stubs
//! (below, in create_new_namespaces' order), create_user_ns, cgroup_can_fork, and Debian's
//! userns sysctl. What does not depend on the configuration, checked: CLONE_NEWNS
//! (copy_mnt_ns is always built); CLONE_PIDFD (fs/pidfs.o is obj-y); CLONE_SETTLS (arch
//! code only); CLONE_SYSVSEM without SYSVIPC (copy_semundo's stub in include/linux/sem.h
//! returns 0, and copy_namespaces' NEWIPC|SYSVSEM check has no #ifdef); set_tid's
//! capability (checkpoint_restore_ns_capable, include/linux/capability.h, asks for
//! CAP_CHECKPOINT_RESTORE or CAP_SYS_ADMIN whatever CONFIG_CHECKPOINT_RESTORE is); the
//! flag and size checks of copy_clone_args_from_user and clone3_args_valid (no #ifdef:
//! CLONE_INTO_CGROUP is a known flag without CGROUPS too).

use super::input::{Field, Input, TidAt, MMAP_MIN_ADDR, SANDBOX_OWN_PIDS};
use crate::case::{CgroupArg, Ptr, Tid, Tls};
use crate::flags::*;
use super::fixes;
use crate::{Env, Errno, Have};
use clone3_arches::{AccessOk, TlsRule};

/// What a rule concludes when it fires.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fire {
    Errno(Errno),
    /// The outcome depends on state the suite does not own (e.g. pids taken outside
    /// the sandbox): the case is reported as SKIP with this reason.
    Unpredictable(&'static str),
}

pub struct Rule {
    pub id: &'static str,
    /// The kernel function (and file) holding the check.
    pub function: &'static str,
    /// The kernels the check is in: every release, or as a feature or fix says
    /// ([`super::fixes`]).
    pub when: When,
    /// The commit or release note the rule comes from.
    pub source: &'static str,
    pub check: fn(&Input) -> Option<Fire>,
}

/// Which kernels have a rule. Releases are never compared here: features and fixes are
/// named entries of [`super::fixes`], and a fix may be overridden per run (`Env::fixes`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum When {
    /// As old as clone3.
    Always,
    /// From the release that brought this feature on.
    Feature(&'static str),
    /// Before the release that brought this feature (the check it lifted).
    BeforeFeature(&'static str),
    /// In kernels with this fix, mainline or stable.
    Fix(&'static str),
    /// In kernels without it.
    BeforeFix(&'static str),
}

impl Rule {
    pub fn applies_to(&self, env: &Env) -> bool {
        match self.when {
            When::Always => true,
            When::Feature(f) => env.has_feature(f),
            When::BeforeFeature(f) => !env.has_feature(f),
            When::Fix(f) => env.has(f),
            When::BeforeFix(f) => !env.has(f),
        }
    }

    pub fn source_line(&self) -> String {
        let span = match self.when {
            When::Always => "5.3+".to_string(),
            When::Feature(f) => format!("since {}", fixes::feature(f).since),
            When::BeforeFeature(f) => format!("until {}", fixes::feature(f).since),
            When::Fix(f) => format!("with {f}: {}", fixes::fix(f).releases()),
            When::BeforeFix(f) => format!("without {f}: before {}", fixes::fix(f).releases()),
        };
        format!("{} ({span}): {}", self.function, self.source)
    }
}

fn err(e: Errno) -> Option<Fire> {
    Some(Fire::Errno(e))
}

fn when(cond: bool, e: Errno) -> Option<Fire> {
    if cond { err(e) } else { None }
}

use Errno::*;
use When::*;

pub static RULES: &[Rule] = &[
    Rule {
        id: "entry.no_clone3",
        function: "arch syscall table / __ARCH_BROKEN_SYS_CLONE3",
        when: Always,
        source: "clone3 wired up per arch from 5.3 (x86, arm64, riscv, …); ia64 never. Which release an arch \
                 gained it is the arch profile's (`clone3_since`), the one release comparison outside model::fixes",
        check: |i| {
            let has = i.arch.clone3_since.is_some_and(|(ma, mi)| i.release() >= crate::Release::new(ma, mi, 0));
            when(!has, ENOSYS)
        },
    },
    Rule {
        id: "copy_args.size_above_page",
        function: "copy_clone_args_from_user (kernel/fork.c)",
        when: Always,
        source: "usize > PAGE_SIZE is refused before the pointer is touched",
        check: |i| when(i.usize > i.env.page_size, E2BIG),
    },
    Rule {
        id: "copy_args.size_below_ver0",
        function: "copy_clone_args_from_user (kernel/fork.c)",
        when: Always,
        source: "usize < CLONE_ARGS_SIZE_VER0 (64)",
        check: |i| when(i.usize < 64, EINVAL),
    },
    Rule {
        id: "copy_args.tail",
        function: "copy_struct_from_user → check_zeroed_user (include/linux/uaccess.h, lib/usercopy.c)",
        when: Always,
        source: "bytes in [ksize, usize) scanned in address order, an aligned word at a time: a fault \
                 gives EFAULT, a non-zero byte E2BIG, whichever comes first (5.3 had its own byte loop with the \
                 same result; guard pages are word-aligned, so bytes and words agree)",
        check: |i| {
            (i.ksize..i.usize).find_map(|b| {
                if b >= i.readable() {
                    err(EFAULT)
                } else if i.byte_nonzero(b) {
                    err(E2BIG)
                } else {
                    None
                }
            })
        },
    },
    Rule {
        id: "copy_args.head_fault",
        function: "copy_struct_from_user (include/linux/uaccess.h)",
        when: Always,
        source: "copy_from_user of min(usize, ksize) bytes faults",
        check: |i| when(i.usize.min(i.ksize) > i.readable(), EFAULT),
    },
    Rule {
        id: "copy_args.set_tid_size_above_max",
        function: "copy_clone_args_from_user (kernel/fork.c)",
        when: Feature("set_tid"),
        source: "set_tid_size > MAX_PID_NS_LEVEL (32); \"fork: extend clone3() to support setting a PID\"",
        check: |i| when(i.set_tid_size() > 32, EINVAL),
    },
    Rule {
        id: "copy_args.set_tid_size_without_array",
        function: "copy_clone_args_from_user (kernel/fork.c)",
        when: Feature("set_tid"),
        source: "!set_tid && set_tid_size > 0",
        check: |i| when(i.set_tid_ptr() == Ptr::Null && i.set_tid_size() > 0, EINVAL),
    },
    Rule {
        id: "copy_args.set_tid_array_without_size",
        function: "copy_clone_args_from_user (kernel/fork.c)",
        when: Feature("set_tid"),
        source: "set_tid && set_tid_size == 0",
        check: |i| when(i.set_tid_ptr() != Ptr::Null && i.set_tid_size() == 0, EINVAL),
    },
    Rule {
        id: "copy_args.exit_signal_high_bits",
        function: "copy_clone_args_from_user (kernel/fork.c)",
        when: Always,
        source: "exit_signal & ~CSIGNAL; a0eb9abd8af9 \"fork: block invalid exit signals with clone3()\", merged into \
                 mainline on 12 Sep 2019 (merge 98dcb386e5c3), before v5.3 was tagged (15 Sep): every kernel with \
                 clone3 has it (review finding 1; the model used to start it at 5.4)",
        check: |i| when(i.case.exit_signal & !CSIGNAL != 0, EINVAL),
    },
    Rule {
        id: "copy_args.exit_signal_invalid",
        function: "copy_clone_args_from_user (kernel/fork.c)",
        when: BeforeFix("exit_signal_in_kernel_clone"),
        source: "!valid_signal(exit_signal): > _NSIG; a0eb9abd8af9 (before v5.3, with the rule above); moved to \
                 kernel_clone by 09e7827e7857 (v7.1)",
        check: |i| when(i.case.exit_signal > i.arch.nsig, EINVAL),
    },
    Rule {
        id: "copy_args.into_cgroup_bad",
        function: "copy_clone_args_from_user (kernel/fork.c)",
        when: Feature("into_cgroup"),
        source: "CLONE_INTO_CGROUP with cgroup > INT_MAX or usize < VER2; \"clone3: allow spawning processes into cgroups\"",
        check: |i| {
            let bad = i.usize < 88 || i.kernel_cgroup() > i32::MAX as u64;
            when(i.has(INTO_CGROUP) && bad, EINVAL)
        },
    },
    Rule {
        id: "copy_args.set_tid_fault",
        function: "copy_clone_args_from_user (kernel/fork.c)",
        when: Feature("set_tid"),
        source: "copy_from_user of the set_tid array (set_tid_size * sizeof(pid_t)) faults",
        check: |i| when(i.set_tid_size() > 0 && i.set_tid_ptr() == Ptr::Unmapped, EFAULT),
    },
    Rule {
        id: "args_valid.unknown_flags",
        function: "clone3_args_valid (kernel/fork.c)",
        when: Always,
        source: "flags outside CLONE_LEGACY_FLAGS | CLONE_CLEAR_SIGHAND (feature clear_sighand, 5.5) | \
                 CLONE_INTO_CGROUP (into_cgroup, 5.7) | the v7.1 flags AUTOREAP, NNP, PIDFD_AUTOKILL \
                 (autoreap_nnp_autokill) and EMPTY_MNTNS (empty_mntns)",
        check: |i| {
            let mut known = 0xffff_ffffu64;
            if i.feature("clear_sighand") {
                known |= CLEAR_SIGHAND;
            }
            if i.feature("into_cgroup") {
                known |= INTO_CGROUP;
            }
            if i.feature("autoreap_nnp_autokill") {
                known |= AUTOREAP | NNP | PIDFD_AUTOKILL;
            }
            if i.feature("empty_mntns") {
                known |= EMPTY_MNTNS;
            }
            when(i.flags() & !known != 0, EINVAL)
        },
    },
    Rule {
        id: "args_valid.csignal_or_detached",
        function: "clone3_args_valid (kernel/fork.c)",
        when: Always,
        source: "flags & (CLONE_DETACHED | CSIGNAL); CLONE_NEWTIME (0x80, inside CSIGNAL) is exempt with fix \
                 newtime_in_clone3 (a402f1e35313 \"fork: allow CLONE_NEWTIME in clone3 flags\": 6.3, 5.10.175, 5.15.103, \
                 6.1.20, 6.2.7)",
        check: |i| {
            let csignal = if i.fixed("newtime_in_clone3") { CSIGNAL & !NEWTIME } else { CSIGNAL };
            when(i.flags() & (DETACHED | csignal) != 0, EINVAL)
        },
    },
    Rule {
        id: "args_valid.sighand_and_clear_sighand",
        function: "clone3_args_valid (kernel/fork.c)",
        when: Feature("clear_sighand"),
        source: "CLONE_SIGHAND | CLONE_CLEAR_SIGHAND together; \"clone3: add CLONE_CLEAR_SIGHAND\"",
        check: |i| when(i.has(SIGHAND) && i.has(CLEAR_SIGHAND), EINVAL),
    },
    Rule {
        id: "args_valid.thread_or_parent_with_exit_signal",
        function: "clone3_args_valid (kernel/fork.c)",
        when: Always,
        source: "(CLONE_THREAD | CLONE_PARENT) && exit_signal",
        check: |i| when(i.flags() & (THREAD | PARENT) != 0 && i.case.exit_signal != 0, EINVAL),
    },
    Rule {
        id: "args_valid.stack_size_without_stack",
        function: "clone3_stack_valid (kernel/fork.c)",
        when: Fix("clone3_stack_validation"),
        source: "stack == 0 && stack_size > 0; fa729c4df558 \"clone3: validate stack arguments\" (5.4, 5.3.11). Both \
                 values as the kernel holds them: a 32-bit kernel keeps their low 32 bits (struct kernel_clone_args' \
                 unsigned longs; review finding 9)",
        check: |i| when(i.kernel_stack() == 0 && i.kernel_stack_size() > 0, EINVAL),
    },
    Rule {
        id: "args_valid.stack_without_size",
        function: "clone3_stack_valid (kernel/fork.c)",
        when: Fix("clone3_stack_validation"),
        source: "stack != 0 && stack_size == 0; fa729c4df558",
        check: |i| when(i.kernel_stack() != 0 && i.kernel_stack_size() == 0, EINVAL),
    },
    Rule {
        id: "args_valid.stack_not_user",
        function: "clone3_stack_valid (kernel/fork.c)",
        when: Fix("clone3_stack_validation"),
        source: "!access_ok(stack, stack_size): EINVAL, not EFAULT; fa729c4df558. What access_ok takes is the \
                 arch's (ArchProfile::access_ok): a range ending at or below the limit; on x86_64 kernels any range \
                 below 2^63 with x86_access_ok_sign_bit and without x86_user_ptr_max (6.4 – 6.11.5), one ending \
                 below the limit with x86_user_ptr_max and without x86_access_ok_off_by_one (6.11.6 – 6.11.10, \
                 6.12.0 – 6.12.1); nothing refused under ALTERNATE_USER_ADDRESS_SPACE (parisc; review findings 2, 3)",
        check: |i| {
            let (s, n) = (i.kernel_stack(), i.kernel_stack_size());
            when(s != 0 && !access_ok(i, s, n), EINVAL)
        },
    },
    Rule {
        id: "kernel_clone.pidfd_is_parent_tid",
        function: "kernel_clone (kernel/fork.c)",
        when: Always,
        source: "CLONE_PIDFD | CLONE_PARENT_SETTID with pidfd == parent_tid (both NULL, or both the same \
                 unmapped address, included)",
        check: |i| {
            let same = i.pointer_id(i.case.pidfd, Field::Pidfd) == i.pointer_id(i.case.parent_tid, Field::ParentTid);
            when(i.has(PIDFD) && i.has(PARENT_SETTID) && same, EINVAL)
        },
    },
    Rule {
        id: "kernel_clone.exit_signal_invalid",
        function: "kernel_clone (kernel/fork.c)",
        when: Fix("exit_signal_in_kernel_clone"),
        source: "!valid_signal(exit_signal), moved here from copy_clone_args_from_user by 09e7827e7857",
        check: |i| when(i.case.exit_signal > i.arch.nsig, EINVAL),
    },
    Rule {
        id: "copy_process.newns_with_fs",
        function: "copy_process (kernel/fork.c)",
        when: Always,
        source: "(CLONE_NEWNS | CLONE_FS) == both",
        check: |i| when(i.has(NEWNS) && i.has(FS), EINVAL),
    },
    Rule {
        id: "copy_process.newuser_with_fs",
        function: "copy_process (kernel/fork.c)",
        when: Always,
        source: "(CLONE_NEWUSER | CLONE_FS) == both",
        check: |i| when(i.has(NEWUSER) && i.has(FS), EINVAL),
    },
    Rule {
        id: "copy_process.debian_userns_sysctl",
        function: "copy_process (kernel/fork.c, Debian patch add-sysctl-to-disallow-unprivileged-CLONE_NEWUSER)",
        when: Always,
        source: "NEWUSER without CAP_SYS_ADMIN while kernel.unprivileged_userns_clone = 0 (Debian kernels only); \
                 without CONFIG_USER_NS the patched fork.c defines unprivileged_userns_clone as 0, so every caller \
                 without CAP_SYS_ADMIN gets EPERM here, before create_user_ns's EINVAL (Debian 6.12.117 kernel/fork.c)",
        check: debian_userns_sysctl,
    },
    Rule {
        id: "copy_process.thread_without_sighand",
        function: "copy_process (kernel/fork.c)",
        when: Always,
        source: "CLONE_THREAD requires CLONE_SIGHAND",
        check: |i| when(i.has(THREAD) && !i.has(SIGHAND), EINVAL),
    },
    Rule {
        id: "copy_process.sighand_without_vm",
        function: "copy_process (kernel/fork.c)",
        when: Always,
        source: "CLONE_SIGHAND requires CLONE_VM",
        check: |i| when(i.has(SIGHAND) && !i.has(VM), EINVAL),
    },
    Rule {
        id: "copy_process.parent_from_init",
        function: "copy_process (kernel/fork.c)",
        when: Always,
        source: "CLONE_PARENT from a SIGNAL_UNKILLABLE task (a PID-namespace init)",
        check: |i| when(i.has(PARENT) && i.env.caller_is_pidns_init, EINVAL),
    },
    Rule {
        id: "copy_process.thread_with_new_user_or_pid",
        function: "copy_process (kernel/fork.c)",
        when: Always,
        source: "CLONE_THREAD with CLONE_NEWUSER or CLONE_NEWPID",
        check: |i| when(i.has(THREAD) && i.flags() & (NEWUSER | NEWPID) != 0, EINVAL),
    },
    Rule {
        id: "copy_process.pidfd_with_thread",
        function: "copy_process (kernel/fork.c)",
        when: BeforeFeature("pidfd_thread"),
        source: "CLONE_PIDFD with CLONE_THREAD; allowed from 6.9 (\"pidfd: allow CLONE_THREAD | CLONE_PIDFD together\")",
        check: |i| when(i.has(PIDFD) && i.has(THREAD), EINVAL),
    },
    Rule {
        id: "copy_process.autoreap_invalid",
        function: "copy_process (kernel/fork.c)",
        when: Feature("autoreap_nnp_autokill"),
        source: "CLONE_AUTOREAP with CLONE_THREAD, CLONE_PARENT or an exit signal (\"pidfd: add CLONE_AUTOREAP, \
                 CLONE_NNP, and CLONE_PIDFD_AUTOKILL\", v7.1; order read from the v5 series and a copy of the \
                 merged code, checked on Debian sid 7.2.13 for the table cases)",
        check: |i| when(i.has(AUTOREAP) && (i.has(THREAD) || i.has(PARENT) || i.case.exit_signal != 0), EINVAL),
    },
    Rule {
        id: "copy_process.parent_from_autoreaped",
        function: "copy_process (kernel/fork.c)",
        when: Feature("autoreap_nnp_autokill"),
        source: "CLONE_PARENT from a task started with CLONE_AUTOREAP: its child would get exit_signal 0 without \
                 being autoreaped. Brauner added the check on Oleg's review of the v7.1 series (fsdevel, 28 Feb 2026); \
                 placed after the AUTOREAP checks and before CLONE_NNP's, as a copy of the merged fork.c has it \
                 (review finding 11). The runner's worker is never autoreaped (Env::caller_autoreaped); \
                 Caller::Autoreaped is a child of it that is",
        check: |i| when(i.has(PARENT) && (i.env.caller_autoreaped || i.case.caller == crate::Caller::Autoreaped), EINVAL),
    },
    Rule {
        id: "copy_process.nnp_with_thread",
        function: "copy_process (kernel/fork.c)",
        when: Feature("autoreap_nnp_autokill"),
        source: "CLONE_NNP with CLONE_THREAD: threads share credentials (v7.1)",
        check: |i| when(i.has(NNP) && i.has(THREAD), EINVAL),
    },
    Rule {
        id: "copy_process.pidfd_autokill_invalid",
        function: "copy_process (kernel/fork.c)",
        when: Feature("autoreap_nnp_autokill"),
        source: "CLONE_PIDFD_AUTOKILL needs CLONE_PIDFD and CLONE_AUTOREAP, and no CLONE_THREAD (v7.1)",
        check: |i| when(i.has(PIDFD_AUTOKILL) && (!i.has(PIDFD) || !i.has(AUTOREAP) || i.has(THREAD)), EINVAL),
    },
    Rule {
        id: "copy_process.pidfd_autokill_needs_nnp_or_admin",
        function: "copy_process (kernel/fork.c)",
        when: Feature("autoreap_nnp_autokill"),
        source: "CLONE_PIDFD_AUTOKILL without CLONE_NNP needs CAP_SYS_ADMIN (v7.1; clone3-ground-truth.md)",
        check: |i| when(i.has(PIDFD_AUTOKILL) && !i.has(NNP) && !i.caller_admin(), EPERM),
    },
    Rule {
        id: "copy_creds.no_user_ns",
        function: "create_user_ns (include/linux/user_namespace.h, the !CONFIG_USER_NS stub) from copy_creds (kernel/cred.c)",
        when: Always,
        source: "without CONFIG_USER_NS create_user_ns returns -EINVAL; copy_creds calls it for CLONE_NEWUSER after \
                 copy_process's flag checks and before copy_namespaces (so an unprivileged NEWUSER|NEWPID is EINVAL, \
                 not EPERM); checked in Debian 6.12.117",
        check: |i| if i.has(NEWUSER) { missing(i.env.kernel.user_ns, "CONFIG_USER_NS") } else { None },
    },
    Rule {
        id: "create_user_ns.max_user_namespaces",
        function: "create_user_ns → inc_user_namespaces → inc_ucount (kernel/user_namespace.c, kernel/ucount.c)",
        when: Always,
        source: "user.max_user_namespaces = 0 in the caller's user namespace: inc_ucount finds no room, ENOSPC \
                 (before the chroot and uid-mapping EPERMs; any caller, root included; checked in Debian 6.12.117)",
        check: |i| {
            if !i.has(NEWUSER) {
                return None;
            }
            match i.max_user_namespaces() {
                Some(n) => when(n == 0, ENOSPC),
                None => Some(Fire::Unpredictable("user.max_user_namespaces could not be read")),
            }
        },
    },
    Rule {
        id: "create_user_ns.apparmor_restriction",
        function: "create_user_ns → security_create_user_ns (kernel/user_namespace.c; AppArmor's userns_create hook, Ubuntu)",
        when: Always,
        source: "with kernel.apparmor_restrict_unprivileged_userns = 1 (Ubuntu 23.10 on) a user namespace made without \
                 CAP_SYS_ADMIN is confined by the unprivileged_userns profile: the namespace may be made while the \
                 capabilities in it are denied, or refused, as the profile says; not modelled (review finding 13)",
        check: |i| {
            let confined = i.has(NEWUSER) && !i.caller_admin() && i.env.apparmor_restricts_userns;
            confined.then_some(Fire::Unpredictable("Ubuntu's AppArmor user-namespace restriction is on: not modelled"))
        },
    },
    Rule {
        id: "copy_namespaces.needs_cap_sys_admin",
        function: "copy_namespaces (kernel/nsproxy.c)",
        when: Always,
        source: "CLONE_NEW{NS,UTS,IPC,PID,NET,CGROUP,TIME} need CAP_SYS_ADMIN in the child's user namespace \
                 (which a NEWUSER caller owns, as a caller in a user namespace of its own owns that one)",
        check: |i| {
            let admin = i.caller_admin() || i.case.caller.owns_user_ns();
            when(i.flags() & NEW_NS_NEEDING_ADMIN != 0 && !i.has(NEWUSER) && !admin, EPERM)
        },
    },
    Rule {
        id: "copy_namespaces.newipc_with_sysvsem",
        function: "copy_namespaces (kernel/nsproxy.c)",
        when: Always,
        source: "CLONE_NEWIPC | CLONE_SYSVSEM together",
        check: |i| when(i.has(NEWIPC) && i.has(SYSVSEM), EINVAL),
    },
    // create_new_namespaces (kernel/nsproxy.c) calls copy_mnt_ns (always built), copy_utsname,
    // copy_ipcs, copy_pid_ns, copy_cgroup_ns, copy_net_ns, copy_time_ns in this order; the
    // first failure decides. Each !CONFIG stub returns -EINVAL for its flag, except
    // copy_cgroup_ns, whose !CONFIG_CGROUPS stub (include/linux/cgroup.h) returns the old
    // namespace: CLONE_NEWCGROUP without cgroups succeeds and shares the caller's (none).
    Rule {
        id: "create_new_namespaces.max_mnt_namespaces",
        function: "copy_mnt_ns (fs/namespace.c) → inc_mnt_namespaces → inc_ucount (kernel/ucount.c)",
        when: Always,
        source: "user.max_mnt_namespaces = 0 in the caller's user namespace (or any above it): ENOSPC, the first namespace copy_namespaces creates \
                 (review finding 13, gap [16])",
        check: |i| ns_limit(i, NEWNS, i.ns_limits().mnt, "user.max_mnt_namespaces could not be read"),
    },
    Rule {
        id: "create_new_namespaces.no_uts_ns",
        function: "copy_utsname (include/linux/utsname.h, the !CONFIG_UTS_NS stub)",
        when: Always,
        source: "CLONE_NEWUTS without CONFIG_UTS_NS: -EINVAL, after copy_namespaces' EPERM and NEWIPC|SYSVSEM checks",
        check: |i| ns_stub(i, NEWUTS, i.env.kernel.uts_ns, "CONFIG_UTS_NS"),
    },
    Rule {
        id: "create_new_namespaces.max_uts_namespaces",
        function: "copy_utsname (kernel/utsname.c) → inc_uts_namespaces → inc_ucount (kernel/ucount.c)",
        when: Always,
        source: "user.max_uts_namespaces = 0 in the caller's user namespace (or any above it): ENOSPC, after the CONFIG_UTS_NS stub \
                 (review finding 13, gap [16])",
        check: |i| ns_limit(i, NEWUTS, i.ns_limits().uts, "user.max_uts_namespaces could not be read"),
    },
    Rule {
        id: "create_new_namespaces.no_ipc_ns",
        function: "copy_ipcs (include/linux/ipc_namespace.h, the !CONFIG_IPC_NS stub)",
        when: Always,
        source: "CLONE_NEWIPC without CONFIG_IPC_NS (which needs SYSVIPC or POSIX_MQUEUE): -EINVAL",
        check: |i| ns_stub(i, NEWIPC, i.env.kernel.ipc_ns, "CONFIG_IPC_NS"),
    },
    Rule {
        id: "create_new_namespaces.max_ipc_namespaces",
        function: "copy_ipcs (ipc/namespace.c) → inc_ipc_namespaces → inc_ucount (kernel/ucount.c)",
        when: Always,
        source: "user.max_ipc_namespaces = 0 in the caller's user namespace (or any above it): ENOSPC, after the CONFIG_IPC_NS stub \
                 (review finding 13, gap [16])",
        check: |i| ns_limit(i, NEWIPC, i.ns_limits().ipc, "user.max_ipc_namespaces could not be read"),
    },
    Rule {
        id: "create_new_namespaces.no_pid_ns",
        function: "copy_pid_ns (include/linux/pid_namespace.h, the !CONFIG_PID_NS stub)",
        when: Always,
        source: "CLONE_NEWPID without CONFIG_PID_NS: -EINVAL",
        check: |i| ns_stub(i, NEWPID, i.env.kernel.pid_ns, "CONFIG_PID_NS"),
    },
    Rule {
        id: "create_new_namespaces.max_pid_namespaces",
        function: "copy_pid_ns → create_pid_namespace (kernel/pid_namespace.c) → inc_pid_namespaces → inc_ucount (kernel/ucount.c)",
        when: Always,
        source: "user.max_pid_namespaces = 0 in the caller's user namespace (or any above it): ENOSPC, after the CONFIG_PID_NS stub \
                 (review finding 13, gap [16])",
        check: |i| ns_limit(i, NEWPID, i.ns_limits().pid, "user.max_pid_namespaces could not be read"),
    },
    Rule {
        id: "create_new_namespaces.max_cgroup_namespaces",
        function: "copy_cgroup_ns (kernel/cgroup/namespace.c) → inc_cgroup_namespaces → inc_ucount (kernel/ucount.c)",
        when: Always,
        source: "user.max_cgroup_namespaces = 0 in the caller's user namespace (or any above it): ENOSPC, called between copy_pid_ns and copy_net_ns (without CONFIG_CGROUPS nothing is counted) \
                 (review finding 13, gap [16])",
        check: |i| match i.env.kernel.cgroups {
            Have::No => None,
            _ => ns_limit(i, NEWCGROUP, i.ns_limits().cgroup, "user.max_cgroup_namespaces could not be read"),
        },
    },
    Rule {
        id: "create_new_namespaces.no_net_ns",
        function: "copy_net_ns (include/net/net_namespace.h, the !CONFIG_NET_NS stub)",
        when: Always,
        source: "CLONE_NEWNET without CONFIG_NET_NS: -EINVAL (called after copy_cgroup_ns)",
        check: |i| ns_stub(i, NEWNET, i.env.kernel.net_ns, "CONFIG_NET_NS"),
    },
    Rule {
        id: "create_new_namespaces.max_net_namespaces",
        function: "copy_net_ns (net/core/net_namespace.c) → inc_net_namespaces → inc_ucount (kernel/ucount.c)",
        when: Always,
        source: "user.max_net_namespaces = 0 in the caller's user namespace (or any above it): ENOSPC, after the CONFIG_NET_NS stub \
                 (review finding 13, gap [16])",
        check: |i| ns_limit(i, NEWNET, i.ns_limits().net, "user.max_net_namespaces could not be read"),
    },
    Rule {
        id: "create_new_namespaces.no_time_ns",
        function: "copy_time_ns (include/linux/time_namespace.h, the !CONFIG_TIME_NS stub)",
        when: Always,
        source: "CLONE_NEWTIME without CONFIG_TIME_NS: -EINVAL (the last namespace copied)",
        check: |i| ns_stub(i, NEWTIME, i.env.kernel.time_ns, "CONFIG_TIME_NS"),
    },
    Rule {
        id: "create_new_namespaces.max_time_namespaces",
        function: "copy_time_ns (kernel/time/namespace.c) → inc_time_namespaces → inc_ucount (kernel/ucount.c)",
        when: Always,
        source: "user.max_time_namespaces = 0 in the caller's user namespace (or any above it): ENOSPC, after the CONFIG_TIME_NS stub \
                 (review finding 13, gap [16])",
        check: |i| ns_limit(i, NEWTIME, i.ns_limits().time, "user.max_time_namespaces could not be read"),
    },
    Rule {
        id: "copy_thread.settls",
        function: "copy_thread / set_new_tls (arch/*/kernel/process*.c)",
        when: Always,
        source: "x86_64: do_arch_prctl_64(ARCH_SET_FS) refuses tls >= TASK_SIZE_MAX (EPERM); i386/ia32: tls is a \
                 struct user_desc * (unreadable: EFAULT, entry_number outside the TLS slots: EINVAL); \
                 arm64/riscv64: any value",
        check: |i| {
            if !i.has(SETTLS) {
                return None;
            }
            let tls = i.kernel_tls();
            match i.arch.tls {
                TlsRule::FsBase => when(tls >= i.env.user_addr_limit, EPERM),
                TlsRule::UserDesc => match i.case.tls {
                    Tls::ArchTls => None,
                    // A zeroed user_desc names entry 0, outside the TLS slots.
                    Tls::Page => err(EINVAL),
                    // A raw value inside the user range (on a native 32-bit kernel, any value
                    // cut to 32 bits may be) can name readable memory: EINVAL or success then,
                    // not EFAULT (the i386-native guest fuzzer, seed 31: 0x0831419b, the binary).
                    Tls::Raw(_) if (MMAP_MIN_ADDR..i.env.user_addr_limit).contains(&tls) => {
                        Some(Fire::Unpredictable("a raw tls inside the user address range may name a readable user_desc"))
                    }
                    Tls::None | Tls::Raw(_) => err(EFAULT),
                },
                TlsRule::Register => None,
            }
        },
    },
    Rule {
        id: "alloc_pid.set_tid",
        function: "alloc_pid (kernel/pid.c)",
        when: Feature("set_tid"),
        source: "set_tid_size > level + 1: EINVAL; then per level, innermost first: tid < 1 or >= the level's pid_max (see level_pid_max): EINVAL; \
                 tid != 1 in a namespace without a reaper: EINVAL; no CAP_CHECKPOINT_RESTORE (5.9+; CAP_SYS_ADMIN \
                 5.5–5.8) in the level's user namespace: EPERM; taken: EEXIST. With fix alloc_pid_checks_first (6d864a1b1825, \
                 7.0): the range and capability checks of every level first, then per level innermost first taken: EEXIST, \
                 then no reaper and the pid it got != 1: EINVAL",
        check: alloc_pid_set_tid,
    },
    Rule {
        id: "copy_process.pidfd_put_user",
        function: "copy_process (kernel/fork.c)",
        when: Always,
        source: "put_user(pidfd, args->pidfd) faults (a bad parent_tid is never reported)",
        check: |i| {
            let (target, _) = i.pointer_id(i.case.pidfd, Field::Pidfd);
            when(i.has(PIDFD) && matches!(target, Ptr::Null | Ptr::Unmapped), EFAULT)
        },
    },
    Rule {
        id: "cgroup_can_fork.bad_fd",
        function: "cgroup_css_set_fork (kernel/cgroup/cgroup.c)",
        when: Feature("into_cgroup"),
        source: "the cgroup fd is closed, not a directory on cgroupfs, or a cgroup v1 directory: EBADF \
                 (cgroup 0 is fd 0, which the runner keeps on /dev/null or the console). Without CONFIG_CGROUPS \
                 cgroup_can_fork is a stub returning 0 (include/linux/cgroup.h): the flag is accepted, the fd never read",
        check: |i| {
            if !i.has(INTO_CGROUP) {
                return None;
            }
            match i.env.kernel.cgroups {
                Have::Yes => {}
                Have::No => return None,
                Have::Unknown => return Some(Fire::Unpredictable(unknown_reason("CONFIG_CGROUPS"))),
            }
            match i.case.cgroup {
                CgroupArg::ClosedFd | CgroupArg::NotCgroup | CgroupArg::V1Dir | CgroupArg::None => err(EBADF),
                // The runner has fewer than 64 fds open; which of them a small number names is its business.
                CgroupArg::Raw(v) if v < 64 => Some(Fire::Unpredictable("cgroup names one of the runner's own fds")),
                CgroupArg::Raw(_) => err(EBADF),
                // css_tryget_online_from_dir wants a kernfs directory (gap [8]).
                CgroupArg::ProcsFile => err(EBADF),
                CgroupArg::Target
                | CgroupArg::TargetPath
                | CgroupArg::Removed
                | CgroupArg::Busy
                | CgroupArg::NotWritable
                | CgroupArg::AncestorNotWritable => None,
            }
        },
    },
    Rule {
        id: "cgroup_get_from_file.offline",
        function: "cgroup_css_set_fork → cgroup_get_from_file → css_tryget_online_from_dir (kernel/cgroup/cgroup.c)",
        when: Feature("into_cgroup"),
        source: "a removed cgroup's css is offline (kill_css at rmdir), so css_tryget_online fails: -ENOENT, \
                 before the v1 check; cgroup_css_set_fork's own cgroup_is_dead → -ENODEV is not reached \
                 (gap [5]; read in 6.1 and 6.12)",
        check: |i| when(into(i, CgroupArg::Removed), ENOENT),
    },
    Rule {
        id: "cgroup_may_write.target",
        function: "cgroup_css_set_fork → cgroup_may_write (kernel/cgroup/cgroup.c)",
        when: Feature("into_cgroup"),
        source: "inode_permission(MAY_WRITE) on the target's cgroup.procs: mode 0444 is -EACCES for a caller \
                 without CAP_DAC_OVERRIDE, its owner included (gap [7]; ef2c41cf38a7, 5.7)",
        check: |i| when(into(i, CgroupArg::NotWritable) && !i.caller_dac_override(), EACCES),
    },
    Rule {
        id: "cgroup_procs_write_permission.common_ancestor",
        function: "cgroup_attach_permissions → cgroup_procs_write_permission (kernel/cgroup/cgroup.c)",
        when: Feature("into_cgroup"),
        source: "the caller must be allowed to write the cgroup.procs of the closest common ancestor of its own \
                 cgroup and the target: mode 0444 there is -EACCES without CAP_DAC_OVERRIDE (gap [7]). The runner \
                 moves only a capability-less caller next to the target; the worker's common ancestor is the \
                 run's starting cgroup, which it may write",
        check: |i| {
            let moved = i.case.caller == crate::Caller::NoCaps;
            when(into(i, CgroupArg::AncestorNotWritable) && moved && !i.caller_dac_override(), EACCES)
        },
    },
    Rule {
        id: "cgroup_migrate_vet_dst.no_internal_process",
        function: "cgroup_attach_permissions → cgroup_migrate_vet_dst (kernel/cgroup/cgroup.c)",
        when: Feature("into_cgroup"),
        source: "a non-root cgroup with a domain controller in cgroup.subtree_control cannot be a thread root and \
                 takes no processes: -EBUSY, before the thread-domain check (gap [6]; read in 6.1 and 6.12)",
        check: |i| when(into(i, CgroupArg::Busy), EBUSY),
    },
    Rule {
        id: "cgroup_attach_permissions.thread_domain",
        function: "cgroup_css_set_fork → cgroup_attach_permissions (kernel/cgroup/cgroup.c)",
        when: Feature("into_cgroup"),
        source: "CLONE_INTO_CGROUP came with ef2c41cf38a7 (\"clone3: allow spawning processes into cgroups\", 5.7); \
                 cgroup_css_set_fork passes threadgroup = !(flags & CLONE_THREAD), and a thread may only move \
                 within its own domain: src dom_cgrp != dst dom_cgrp gives EOPNOTSUPP. The runner's target is \
                 a fresh (domain) cgroup below the caller's, so a thread into it is EOPNOTSUPP (read in 6.1 and 6.12)",
        check: |i| {
            // Every cgroup of the run's is a fresh domain cgroup below the caller's.
            if i.has(INTO_CGROUP) && i.case.cgroup.is_runs() && i.env.kernel.cgroups == Have::Yes && i.has(THREAD) {
                err(EOPNOTSUPP)
            } else {
                None
            }
        },
    },
];

/// CLONE_INTO_CGROUP into `arg`, on a kernel with cgroups (without them cgroup_can_fork is a stub).
fn into(i: &Input, arg: CgroupArg) -> bool {
    i.has(INTO_CGROUP) && i.case.cgroup == arg && i.env.kernel.cgroups == Have::Yes
}

/// A feature the kernel may lack: `No` is the stub's EINVAL; `Unknown` cannot be predicted.
fn missing(have: Have, option: &'static str) -> Option<Fire> {
    match have {
        Have::Yes => None,
        Have::No => err(EINVAL),
        Have::Unknown => Some(Fire::Unpredictable(unknown_reason(option))),
    }
}

/// A namespace kind's `user.max_*_namespaces`: 0 is ENOSPC for its flag.
fn ns_limit(i: &Input, flag: u64, limit: Option<u64>, unread: &'static str) -> Option<Fire> {
    match (i.has(flag), limit) {
        (false, _) => None,
        (true, Some(n)) => when(n == 0, ENOSPC),
        (true, None) => Some(Fire::Unpredictable(unread)),
    }
}

fn ns_stub(i: &Input, flag: u64, have: Have, option: &'static str) -> Option<Fire> {
    if i.has(flag) { missing(have, option) } else { None }
}

/// "not looked at" reasons, one per option (Fire carries a static string).
fn unknown_reason(option: &'static str) -> &'static str {
    match option {
        "CONFIG_UTS_NS" => "whether the kernel has CONFIG_UTS_NS is unknown (/proc/self/ns could not be read)",
        "CONFIG_IPC_NS" => "whether the kernel has CONFIG_IPC_NS is unknown (/proc/self/ns could not be read)",
        "CONFIG_PID_NS" => "whether the kernel has CONFIG_PID_NS is unknown (/proc/self/ns could not be read)",
        "CONFIG_NET_NS" => "whether the kernel has CONFIG_NET_NS is unknown (/proc/self/ns could not be read)",
        "CONFIG_TIME_NS" => "whether the kernel has CONFIG_TIME_NS is unknown (/proc/self/ns could not be read)",
        "CONFIG_USER_NS" => "whether the kernel has CONFIG_USER_NS is unknown (/proc/self/ns could not be read)",
        "CONFIG_CGROUPS" => "whether the kernel has CONFIG_CGROUPS is unknown (/proc/self/ns could not be read)",
        _ => "a kernel option could not be read",
    }
}

/// Debian's patch (add-sysctl-to-disallow-unprivileged-CLONE_NEWUSER-by-default), in
/// copy_process after the NEWNS|FS and NEWUSER|FS checks: NEWUSER without CAP_SYS_ADMIN
/// (capable(), the initial user namespace) fails while unprivileged_userns_clone is 0.
fn debian_userns_sysctl(i: &Input) -> Option<Fire> {
    if !i.has(NEWUSER) || i.caller_admin() {
        return None;
    }
    let k = &i.env.kernel;
    match (k.debian_userns_patch, k.user_ns) {
        (Have::No, _) => None,
        (Have::Yes, Have::Yes) => when(!i.env.unprivileged_userns, EPERM),
        (Have::Yes, Have::No) => err(EPERM),
        (Have::Yes, Have::Unknown) => Some(Fire::Unpredictable(unknown_reason("CONFIG_USER_NS"))),
        (Have::Unknown, _) => Some(Fire::Unpredictable(
            "whether the kernel carries Debian's unprivileged_userns_clone patch is unknown (without CONFIG_USER_NS it \
             leaves no trace; state it with clone3abi.debian_patches=0/1 on the kernel command line)",
        )),
    }
}

/// alloc_pid's set_tid checks (kernel/pid.c). Two orders, by fix `alloc_pid_checks_first`.
///
/// 5.5 … 6.19 (read in Debian 6.12.118): one loop, per level innermost first: the range
/// check, the no-reaper check and the capability check come before that level's idr_alloc
/// (EEXIST), so the first failing level decides.
///
/// 7.0 on ("pid: only take pidmap_lock once on alloc", 6d864a1b1825; read in Debian 7.2.13's
/// kernel/pid.c, review finding 12): a first loop, before pidmap_lock is taken, checks every
/// set_tid level innermost first for range (EINVAL) then capability (EPERM); a second loop,
/// under the lock, allocates each level innermost first (a taken pid: EEXIST) and only after a
/// level's allocation checks its reaper: no reaper and the pid it got is not 1, EINVAL. So an
/// inner taken pid no longer hides an outer range or capability error (`[Own, 0]` is EINVAL,
/// not EEXIST), and an outer EPERM now hides an inner no-reaper EINVAL (NEWUSER|NEWPID with
/// `[Free, x]` from a caller without the capability in its own user namespace). The reaper
/// check still runs at the new namespace's level before the outer levels are allocated, so
/// `NEWPID, [Free, Own]` stays EINVAL.
fn alloc_pid_set_tid(i: &Input) -> Option<Fire> {
    let n = i.set_tid_size();
    if n == 0 {
        return None;
    }
    if n > u64::from(i.child_level()) + 1 {
        return err(EINVAL);
    }
    if i.fixed("alloc_pid_checks_first") {
        for (tid, at) in i.tid_levels() {
            let value = match tid_value(i, tid, at) {
                Ok(v) => v,
                Err(f) => return Some(f),
            };
            if let Some(f) = tid_out_of_range(i, value, at).or_else(|| tid_not_permitted(i, at)) {
                return Some(f);
            }
        }
        for (tid, at) in i.tid_levels() {
            let value = tid_value(i, tid, at).ok()?;
            if let Some(f) = tid_taken(i, tid, value, at) {
                return Some(f);
            }
            if value != 1 && at.new_ns() {
                return err(EINVAL);
            }
        }
        return None;
    }
    for (tid, at) in i.tid_levels() {
        let value = match tid_value(i, tid, at) {
            Ok(v) => v,
            Err(f) => return Some(f),
        };
        if let Some(f) = tid_out_of_range(i, value, at) {
            return Some(f);
        }
        if value != 1 && at.new_ns() {
            return err(EINVAL);
        }
        if let Some(f) = tid_not_permitted(i, at).or_else(|| tid_taken(i, tid, value, at)) {
            return Some(f);
        }
    }
    None
}

fn tid_value(i: &Input, tid: Tid, at: TidAt) -> Result<i32, Fire> {
    i.tid_value(tid, at).ok_or(Fire::Unpredictable("set_tid names the caller's pid outside the sandbox"))
}

/// tid < 1 or >= the level's pid_max: EINVAL.
fn tid_out_of_range(i: &Input, value: i32, at: TidAt) -> Option<Fire> {
    when(value < 1 || value >= super::input::level_pid_max(i.env, i.arch, i.level_of(at)), EINVAL)
}

/// checkpoint_restore_ns_capable in the level's user namespace (CAP_SYS_ADMIN only before
/// set_tid_checkpoint_restore): EPERM.
fn tid_not_permitted(i: &Input, at: TidAt) -> Option<Fire> {
    // A level created by this clone under NEWUSER belongs to a user namespace the
    // caller owns, so the caller is capable there (cap_capable's owner rule).
    let owned_userns = at.new_ns() && i.has(NEWUSER);
    let admin_only = !i.feature("set_tid_checkpoint_restore");
    let capable = owned_userns || if admin_only { i.caller_admin() } else { i.caller_checkpoint_restore() };
    when(!capable, EPERM)
}

/// idr_alloc of exactly `value` fails (ENOSPC, reported as EEXIST).
fn tid_taken(i: &Input, tid: Tid, value: i32, at: TidAt) -> Option<Fire> {
    match taken(i, tid, value, at) {
        Some(t) => when(t, EEXIST),
        None => Some(Fire::Unpredictable("set_tid reaches a pid level outside the suite's sandbox")),
    }
}

/// Is `value` taken at this level? `None` where the suite does not own the level.
fn taken(i: &Input, tid: Tid, value: i32, at: TidAt) -> Option<bool> {
    let Some(above) = at.above_caller() else {
        return Some(false); // a fresh namespace has no pids yet
    };
    if !i.env.pid_sandbox || above >= SANDBOX_OWN_PIDS.len() {
        return None;
    }
    // Taken in the sandbox: the inits (pid 1 at each level, and init #2 is pid 2 one level
    // up) and the worker; `Free`/`Freed` are chosen away from everything the run allocates.
    Some(match tid {
        Tid::Own => true,
        Tid::Free | Tid::Freed => false,
        Tid::Value(_) | Tid::PidMax | Tid::HostPidMax => value <= SANDBOX_OWN_PIDS[above],
    })
}

/// access_ok(s, n) as clone3_stack_valid calls it (n is not a compile-time constant, so
/// x86_64's single-pointer shortcut for small constant sizes does not apply).
fn access_ok(i: &Input, s: u64, n: u64) -> bool {
    let limit = i.env.user_addr_limit;
    let end = s.checked_add(n);
    match i.arch.access_ok {
        AccessOk::Always => true,
        AccessOk::X86_64 if i.fixed("x86_access_ok_sign_bit") && !i.fixed("x86_user_ptr_max") => {
            end.is_some_and(|e| e < 1 << 63)
        }
        AccessOk::X86_64 if i.fixed("x86_user_ptr_max") && !i.fixed("x86_access_ok_off_by_one") => {
            end.is_some_and(|e| e < limit)
        }
        AccessOk::X86_64 | AccessOk::Limit => end.is_some_and(|e| e <= limit),
    }
}

impl Input<'_> {
    /// CAP_SYS_ADMIN in the initial user namespace of whoever calls clone3 (the autoreaped
    /// caller keeps the worker's; one in a user namespace of its own has none there).
    pub fn caller_admin(&self) -> bool {
        self.env.cap_sys_admin && matches!(self.case.caller, crate::Caller::Worker | crate::Caller::Autoreaped)
    }

    /// CAP_DAC_OVERRIDE over the run's cgroup files, owned by uid 0: the worker runs as root
    /// with every capability wherever it has CAP_SYS_ADMIN (the runner's sandbox); NoCaps has
    /// none; a caller in a user namespace of its own has it there, and uid 0 is mapped in it,
    /// which is what capable_wrt_inode_uidgid asks.
    pub fn caller_dac_override(&self) -> bool {
        self.caller_admin() || self.env.cap_sys_admin && self.case.caller.owns_user_ns()
    }

    pub fn caller_checkpoint_restore(&self) -> bool {
        (self.env.cap_checkpoint_restore || self.env.cap_sys_admin) && matches!(self.case.caller, crate::Caller::Worker | crate::Caller::Autoreaped)
    }
}
