//! The model on its own: version boundaries and arch profiles, each expectation taken from
//! the kernel source of the release named (not from the model's output).

use crate::case::{Case, CgroupArg, Ptr, SetTid, Size, Stack, Tail, Tid};
use crate::flags::*;
use crate::{predict, ChildView, Env, Errno, Expect, Fate, Release, SpAt};
use clone3_arches::ArchProfile;

fn on(c: &Case, r: (u32, u32, u32), arch: ArchProfile) -> Expect {
    let env = Env::sandboxed_root(Release::new(r.0, r.1, r.2), &arch);
    predict(c, &env, &arch).expect
}

fn x86(c: &Case, r: (u32, u32, u32)) -> Expect {
    on(c, r, ArchProfile::X86_64)
}

fn errno(e: Errno) -> Expect {
    Expect::Err(e)
}

fn is_ok(e: &Expect) -> bool {
    matches!(e, Expect::Ok(_))
}

fn case(f: impl FnOnce(&mut Case)) -> Case {
    let mut c = Case::base("t.t", "test");
    f(&mut c);
    c
}

#[test]
fn struct_size_grows_with_release() {
    // usize 80 carrying set_tid: unknown tail on 5.3/5.4 (ksize 64), fields from 5.5.
    let c = case(|c| {
        c.size = Size::Bytes(80);
        c.set_tid = SetTid::new(Ptr::Valid, 1, &[Tid::Free]);
    });
    assert_eq!(x86(&c, (5, 4, 0)), errno(Errno::E2BIG));
    assert!(is_ok(&x86(&c, (5, 5, 0))));
    // A non-zero cgroup word: E2BIG before 5.7, read from 5.7.
    let c = case(|c| c.cgroup = CgroupArg::Raw(5));
    assert_eq!(x86(&c, (5, 6, 0)), errno(Errno::E2BIG));
    assert!(is_ok(&x86(&c, (5, 7, 0))));
    // Huge set_tid_size at usize 88: E2BIG on 5.3/5.4, EINVAL from 5.5 (ground-truth B.3).
    let c = case(|c| c.set_tid = SetTid::new(Ptr::Valid, 1 << 40, &[]));
    assert_eq!(x86(&c, (5, 3, 11)), errno(Errno::E2BIG));
    assert_eq!(x86(&c, (5, 5, 0)), errno(Errno::EINVAL));
}

#[test]
fn size_checks_come_before_the_pointer() {
    let null = |n| case(|c| (c.size, c.placement) = (n, crate::Placement::Null));
    assert_eq!(x86(&null(Size::Page(8)), (6, 12, 0)), errno(Errno::E2BIG));
    assert_eq!(x86(&null(Size::Bytes(0)), (6, 12, 0)), errno(Errno::EINVAL));
    assert_eq!(x86(&null(Size::Bytes(88)), (6, 12, 0)), errno(Errno::EFAULT));
    let tail = case(|c| (c.size, c.tail) = (Size::Bytes(96), Tail::NonZeroAt(90)));
    assert_eq!(x86(&tail, (6, 12, 0)), errno(Errno::E2BIG));
}

#[test]
fn newtime_in_clone3_from_6_3() {
    let c = case(|c| c.flags = NEWTIME);
    assert_eq!(x86(&c, (6, 2, 0)), errno(Errno::EINVAL));
    assert!(is_ok(&x86(&c, (6, 3, 0))));
    // Backported to 6.1.20.
    assert_eq!(x86(&c, (6, 1, 19)), errno(Errno::EINVAL));
    assert!(is_ok(&x86(&c, (6, 1, 20))));
}

#[test]
fn pidfd_with_thread_from_6_9() {
    let c = case(|c| {
        c.flags = PIDFD | THREAD | SIGHAND | VM | CHILD_CLEARTID;
        c.exit_signal = 0;
        c.pidfd = Ptr::Valid;
        c.child_tid = Ptr::Valid;
        c.stack = Stack::Mapped(65536);
    });
    assert_eq!(x86(&c, (6, 8, 0)), errno(Errno::EINVAL));
    assert!(is_ok(&x86(&c, (6, 9, 0))));
}

#[test]
fn exit_signal_check_moved_in_7_1() {
    let c = case(|c| {
        c.exit_signal = 65;
        c.set_tid = SetTid::new(Ptr::Unmapped, 1, &[]);
    });
    assert_eq!(x86(&c, (7, 0, 0)), errno(Errno::EINVAL));
    assert_eq!(x86(&c, (7, 1, 0)), errno(Errno::EFAULT));
    let plain = case(|c| c.exit_signal = 65);
    assert_eq!(x86(&plain, (7, 1, 0)), errno(Errno::EINVAL));
    assert!(is_ok(&x86(&case(|c| c.exit_signal = 64), (6, 12, 0))));
}

#[test]
fn clear_sighand_and_into_cgroup_are_unknown_flags_before_their_release() {
    assert_eq!(x86(&case(|c| c.flags = CLEAR_SIGHAND), (5, 4, 0)), errno(Errno::EINVAL));
    assert!(is_ok(&x86(&case(|c| c.flags = CLEAR_SIGHAND), (5, 5, 0))));
    let cg = case(|c| (c.flags, c.cgroup) = (INTO_CGROUP, CgroupArg::Target));
    // On 5.6 the non-zero cgroup word is unknown tail: E2BIG comes before the flag check.
    assert_eq!(x86(&cg, (5, 6, 0)), errno(Errno::E2BIG));
    let cg80 = case(|c| (c.flags, c.size) = (INTO_CGROUP, Size::Bytes(80)));
    assert_eq!(x86(&cg80, (5, 6, 0)), errno(Errno::EINVAL));
    assert!(is_ok(&x86(&cg, (5, 7, 0))));
    assert_eq!(x86(&case(|c| c.flags = NNP), (7, 0, 0)), errno(Errno::EINVAL));
}

#[test]
fn stack_rule_per_profile() {
    let c = case(|c| c.stack = Stack::Mapped(65536));
    let sp = |e: Expect| match e {
        Expect::Ok(ChildView { sp, .. }) => sp,
        other => panic!("{other:?}"),
    };
    assert_eq!(sp(x86(&c, (6, 12, 0))), Some(SpAt::Top));
    assert_eq!(sp(on(&c, (6, 12, 0), ArchProfile::AARCH64)), Some(SpAt::Top));
    assert_eq!(sp(on(&c, (6, 12, 0), ArchProfile::PARISC)), Some(SpAt::Base));
    // 5.3.0–5.3.10 used `stack` as the SP: a grows-down child faults on its first push.
    match x86(&c, (5, 3, 5)) {
        Expect::Ok(v) => assert_eq!(v.fate, Some(Fate::Signaled(11))),
        other => panic!("{other:?}"),
    }
    // Before 5.3.11 a size without a stack was not refused.
    let bad = case(|c| c.stack = Stack::Raw { stack: 0, size: 4096 });
    assert!(is_ok(&x86(&bad, (5, 3, 5))));
    assert_eq!(x86(&bad, (5, 3, 11)), errno(Errno::EINVAL));
}

#[test]
fn ia64_has_no_clone3_but_its_stack_rule_is_modelled() {
    let c = case(|c| c.stack = Stack::Mapped(65536));
    assert_eq!(on(&c, (6, 6, 0), ArchProfile::IA64), errno(Errno::ENOSYS));
    // As a profile with clone3 (what an out-of-tree ia64 port would do): stack passed through.
    let ia64_with_clone3 = ArchProfile { clone3_since: Some((5, 3)), ..ArchProfile::IA64 };
    match on(&c, (6, 6, 0), ia64_with_clone3) {
        Expect::Ok(v) => assert_eq!(v.sp, Some(SpAt::Base)),
        other => panic!("{other:?}"),
    }
    // 16 KiB pages: usize 8192 fits, E2BIG only past 16384.
    let big = case(|c| c.size = Size::Bytes(8192));
    assert!(is_ok(&on(&big, (6, 6, 0), ia64_with_clone3)));
    assert_eq!(x86(&big, (6, 6, 0)), errno(Errno::E2BIG));
}

#[test]
fn settls_per_arch() {
    let c = case(|c| {
        c.flags = SETTLS;
        c.tls = crate::Tls::Raw(u64::MAX);
        c.stack = Stack::Mapped(65536);
    });
    assert_eq!(x86(&c, (6, 12, 0)), errno(Errno::EPERM));
    assert!(is_ok(&on(&c, (6, 12, 0), ArchProfile::AARCH64)));
    assert_eq!(on(&c, (6, 12, 0), ArchProfile::I386_COMPAT), errno(Errno::EFAULT));
}

#[test]
fn set_tid_capability_and_levels() {
    let free = |caller| case(|c| {
        c.set_tid = SetTid::new(Ptr::Valid, 1, &[Tid::Free]);
        c.caller = caller;
    });
    assert!(is_ok(&x86(&free(crate::Caller::Worker), (6, 12, 0))));
    assert_eq!(x86(&free(crate::Caller::NoCaps), (6, 12, 0)), errno(Errno::EPERM));
    // Taken pid at the caller's level.
    let own = case(|c| c.set_tid = SetTid::new(Ptr::Valid, 1, &[Tid::Own]));
    assert_eq!(x86(&own, (6, 12, 0)), errno(Errno::EEXIST));
    // The worker sits at level 2: four entries without NEWPID is one too many.
    let deep = case(|c| c.set_tid = SetTid::new(Ptr::Valid, 4, &[]));
    assert_eq!(x86(&deep, (6, 12, 0)), errno(Errno::EINVAL));
    // Not in the sandbox, a valid pid at a level we do not own cannot be predicted.
    let env = Env::unprivileged(Release::new(6, 12, 0), &ArchProfile::X86_64);
    let root_outside = Env { cap_sys_admin: true, cap_checkpoint_restore: true, ..env };
    assert!(matches!(predict(&free(crate::Caller::Worker), &root_outside, &ArchProfile::X86_64).expect, Expect::Skip(_)));
}

#[test]
fn namespaces_without_capabilities() {
    let env = Env::unprivileged(Release::new(6, 12, 0), &ArchProfile::X86_64);
    let p = |flags| predict(&case(|c| c.flags = flags), &env, &ArchProfile::X86_64).expect;
    assert_eq!(p(NEWPID), errno(Errno::EPERM));
    assert_eq!(p(NEWIPC | SYSVSEM), errno(Errno::EPERM));
    assert!(is_ok(&p(NEWUSER | NEWPID)));
    let debian_off = Env { unprivileged_userns: false, ..env };
    assert_eq!(predict(&case(|c| c.flags = NEWUSER), &debian_off, &ArchProfile::X86_64).expect, errno(Errno::EPERM));
}

#[test]
fn pidfd_equal_to_parent_tid() {
    let both_null = case(|c| c.flags = PIDFD | PARENT_SETTID);
    assert_eq!(x86(&both_null, (6, 12, 0)), errno(Errno::EINVAL));
    let null_pidfd = case(|c| c.flags = PIDFD);
    assert_eq!(x86(&null_pidfd, (6, 12, 0)), errno(Errno::EFAULT));
}

#[test]
fn clear_sighand_dropped_on_old_native_32_bit_kernels() {
    let c = case(|c| c.flags = CLEAR_SIGHAND);
    let handlers = |arch, r| match on(&c, r, arch) {
        Expect::Ok(v) => v.handlers_default,
        other => panic!("{other:?}"),
    };
    assert_eq!(handlers(ArchProfile::I386_NATIVE, (6, 1, 100)), Some(false));
    assert_eq!(handlers(ArchProfile::I386_NATIVE, (6, 1, 157)), Some(true));
    assert_eq!(handlers(ArchProfile::I386_NATIVE, (6, 6, 0)), Some(false));
    assert_eq!(handlers(ArchProfile::I386_COMPAT, (6, 1, 100)), Some(true));
    assert_eq!(handlers(ArchProfile::I386_NATIVE, (6, 18, 0)), Some(true));
}

// Kernels built without an option: each stub read in Debian's 6.12.117 tree
// (include/linux/{utsname,ipc_namespace,pid_namespace,time_namespace,user_namespace,
// cgroup}.h, include/net/net_namespace.h), called in create_new_namespaces' order.

use crate::{Features, Have};

/// Root on a kernel without `off`'s options: no PID sandbox unless PID_NS is there.
fn root_without(off: impl FnOnce(&mut Features)) -> Env {
    let mut k = Features::ALL;
    off(&mut k);
    let base = Env::sandboxed_root(Release::new(6, 12, 117), &ArchProfile::X86_64);
    if k.pid_ns == Have::Yes {
        Env { kernel: k, ..base }
    } else {
        Env { kernel: k, pid_sandbox: false, pid_level: 0, ..base }
    }
}

fn run(env: &Env, c: &Case) -> (Expect, &'static str) {
    let p = predict(c, env, &ArchProfile::X86_64);
    (p.expect, p.rule)
}

fn flags_by(flags: u64, caller: crate::Caller) -> Case {
    case(|c| (c.flags, c.caller) = (flags, caller))
}

use crate::Caller::{NoCaps, Worker};

#[test]
fn newtime_without_time_ns() {
    let env = root_without(|k| k.time_ns = Have::No);
    assert_eq!(run(&env, &flags_by(NEWTIME, Worker)), (errno(Errno::EINVAL), "create_new_namespaces.no_time_ns"));
    // copy_namespaces' capability check comes first.
    assert_eq!(run(&env, &flags_by(NEWTIME, NoCaps)), (errno(Errno::EPERM), "copy_namespaces.needs_cap_sys_admin"));
    // Under a new user namespace the caller is capable, and the stub answers.
    assert_eq!(run(&env, &flags_by(NEWUSER | NEWTIME, NoCaps)).0, errno(Errno::EINVAL));
    // Before 6.3 clone3 refused NEWTIME as a CSIGNAL bit, whatever the config.
    let old = Env { release: Release::new(6, 2, 0), ..env };
    assert_eq!(run(&old, &flags_by(NEWTIME, Worker)).1, "args_valid.csignal_or_detached");
}

#[test]
fn newuser_without_user_ns() {
    // A stock kernel (no Debian patch): create_user_ns' stub, for every caller, before
    // copy_namespaces' EPERM.
    let stock = root_without(|k| (k.user_ns, k.debian_userns_patch) = (Have::No, Have::No));
    assert_eq!(run(&stock, &flags_by(NEWUSER, Worker)), (errno(Errno::EINVAL), "copy_creds.no_user_ns"));
    assert_eq!(run(&stock, &flags_by(NEWUSER, NoCaps)), (errno(Errno::EINVAL), "copy_creds.no_user_ns"));
    assert_eq!(run(&stock, &flags_by(NEWUSER | NEWPID, NoCaps)).1, "copy_creds.no_user_ns");
    // The flag checks before copy_creds still come first.
    assert_eq!(run(&stock, &flags_by(NEWUSER | FS, Worker)).1, "copy_process.newuser_with_fs");
    // Debian's patched fork.c reads unprivileged_userns_clone as 0 without USER_NS.
    let debian = root_without(|k| k.user_ns = Have::No);
    assert_eq!(run(&debian, &flags_by(NEWUSER, NoCaps)), (errno(Errno::EPERM), "copy_process.debian_userns_sysctl"));
    assert_eq!(run(&debian, &flags_by(NEWUSER, Worker)), (errno(Errno::EINVAL), "copy_creds.no_user_ns"));
    // Not knowing whether the patch is there: only the callers it would stop are skipped.
    let unknown = root_without(|k| (k.user_ns, k.debian_userns_patch) = (Have::No, Have::Unknown));
    assert!(matches!(run(&unknown, &flags_by(NEWUSER, NoCaps)).0, Expect::Skip(_)));
    assert_eq!(run(&unknown, &flags_by(NEWUSER, Worker)).0, errno(Errno::EINVAL));
}

#[test]
fn newpid_without_pid_ns_and_the_sandbox_it_cannot_build() {
    let env = root_without(|k| k.pid_ns = Have::No);
    assert_eq!(run(&env, &flags_by(NEWPID, Worker)), (errno(Errno::EINVAL), "create_new_namespaces.no_pid_ns"));
    assert_eq!(run(&env, &flags_by(NEWPID, NoCaps)).0, errno(Errno::EPERM));
    // NEWUSER|NEWPID unprivileged: the user namespace is made, then copy_pid_ns refuses.
    assert_eq!(run(&env, &flags_by(NEWUSER | NEWPID, NoCaps)), (errno(Errno::EINVAL), "create_new_namespaces.no_pid_ns"));
    // set_tid with NEWPID never reaches alloc_pid.
    let c = case(|c| (c.flags, c.set_tid) = (NEWPID, SetTid::new(Ptr::Valid, 1, &[Tid::Value(1)])));
    assert_eq!(run(&env, &c).1, "create_new_namespaces.no_pid_ns");
    // A case that needs the sandbox says why it cannot have it.
    let sandboxed = case(|c| c.needs = &[crate::Gate::PidSandbox]);
    match run(&env, &sandboxed).0 {
        Expect::Skip(why) => assert!(why.contains("CONFIG_PID_NS"), "{why}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn cgroups_off_newcgroup_and_into_cgroup_succeed() {
    let env = root_without(|k| (k.cgroups, k.cgroup2_fs) = (Have::No, Have::No));
    let env = Env { cgroup2: false, cgroup_v1: false, ..env };
    // copy_cgroup_ns' !CONFIG_CGROUPS stub returns the old namespace: no error.
    assert!(is_ok(&run(&env, &flags_by(NEWCGROUP, Worker)).0));
    assert_eq!(run(&env, &flags_by(NEWCGROUP, NoCaps)).0, errno(Errno::EPERM));
    // cgroup_can_fork's stub returns 0: the fd is never looked at.
    let closed = case(|c| (c.flags, c.cgroup) = (INTO_CGROUP, CgroupArg::ClosedFd));
    assert!(is_ok(&run(&env, &closed).0));
    // copy_clone_args_from_user's check is not config-dependent.
    let big = case(|c| (c.flags, c.cgroup) = (INTO_CGROUP, CgroupArg::Raw(1 << 32)));
    assert_eq!(run(&env, &big).0, errno(Errno::EINVAL));
    let target = case(|c| (c.flags, c.cgroup, c.needs) = (INTO_CGROUP, CgroupArg::Target, &[crate::Gate::Cgroup2]));
    match run(&env, &target).0 {
        Expect::Skip(why) => assert!(why.contains("CONFIG_CGROUPS"), "{why}"),
        other => panic!("{other:?}"),
    }
    // With cgroups but an unusable mount the reason says that instead.
    let ro = Env { cgroup2: false, ..Env::sandboxed_root(Release::new(6, 12, 0), &ArchProfile::X86_64) };
    match run(&ro, &target).0 {
        Expect::Skip(why) => assert!(why.contains("read-only"), "{why}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn net_ipc_uts_without_their_namespaces() {
    let env = root_without(|k| (k.net_ns, k.ipc_ns, k.uts_ns) = (Have::No, Have::No, Have::No));
    assert_eq!(run(&env, &flags_by(NEWNET, Worker)), (errno(Errno::EINVAL), "create_new_namespaces.no_net_ns"));
    assert_eq!(run(&env, &flags_by(NEWIPC, Worker)), (errno(Errno::EINVAL), "create_new_namespaces.no_ipc_ns"));
    assert_eq!(run(&env, &flags_by(NEWUTS, Worker)), (errno(Errno::EINVAL), "create_new_namespaces.no_uts_ns"));
    // NEWIPC|SYSVSEM is refused before any namespace is copied.
    assert_eq!(run(&env, &flags_by(NEWIPC | SYSVSEM, Worker)).1, "copy_namespaces.newipc_with_sysvsem");
    assert_eq!(run(&env, &flags_by(NEWNET, NoCaps)).0, errno(Errno::EPERM));
    // NEWNS needs nothing (copy_mnt_ns is always built).
    assert!(is_ok(&run(&env, &flags_by(NEWNS, Worker)).0));
    // Order: uts before ipc before pid before net before time.
    let all_off = root_without(|k| (k.uts_ns, k.ipc_ns, k.pid_ns, k.net_ns, k.time_ns) = (Have::No, Have::No, Have::No, Have::No, Have::No));
    assert_eq!(run(&all_off, &flags_by(NEWNET | NEWTIME | NEWPID, Worker)).1, "create_new_namespaces.no_pid_ns");
    assert_eq!(run(&all_off, &flags_by(NEWNET | NEWTIME | NEWUTS, Worker)).1, "create_new_namespaces.no_uts_ns");
    assert_eq!(run(&all_off, &flags_by(NEWNET | NEWTIME, Worker)).1, "create_new_namespaces.no_net_ns");
}

#[test]
fn max_user_namespaces_zero_is_enospc() {
    let env = root_without(|k| k.max_user_namespaces = Some(0));
    assert_eq!(run(&env, &flags_by(NEWUSER, Worker)), (errno(Errno::ENOSPC), "create_user_ns.max_user_namespaces"));
    assert_eq!(run(&env, &flags_by(NEWUSER | NEWPID, NoCaps)).0, errno(Errno::ENOSPC));
    // Debian's sysctl comes first for the unprivileged.
    let debian_off = Env { unprivileged_userns: false, ..env.clone() };
    assert_eq!(run(&debian_off, &flags_by(NEWUSER, NoCaps)).0, errno(Errno::EPERM));
    // Without USER_NS the stub answers before any count.
    let stubbed = root_without(|k| (k.max_user_namespaces, k.user_ns, k.debian_userns_patch) = (Some(0), Have::No, Have::No));
    assert_eq!(run(&stubbed, &flags_by(NEWUSER, Worker)).0, errno(Errno::EINVAL));
    let unread = root_without(|k| k.max_user_namespaces = None);
    assert!(matches!(run(&unread, &flags_by(NEWUSER, Worker)).0, Expect::Skip(_)));
    assert!(is_ok(&run(&unread, &flags_by(NEWPID, Worker)).0));
}

#[test]
fn unknown_features_skip_only_what_depends_on_them() {
    let env = root_without(|k| {
        (k.uts_ns, k.ipc_ns, k.pid_ns, k.net_ns, k.cgroups, k.time_ns, k.user_ns) =
            (Have::Unknown, Have::Unknown, Have::Unknown, Have::Unknown, Have::Unknown, Have::Unknown, Have::Unknown)
    });
    match run(&env, &flags_by(NEWTIME, Worker)).0 {
        Expect::Skip(why) => assert!(why.contains("CONFIG_TIME_NS") && why.contains("could not be read"), "{why}"),
        other => panic!("{other:?}"),
    }
    // An earlier rule still decides.
    assert_eq!(run(&env, &flags_by(NEWTIME, NoCaps)).0, errno(Errno::EPERM));
    assert_eq!(run(&env, &flags_by(NEWNS | FS | NEWUSER, Worker)).0, errno(Errno::EINVAL));
    assert!(is_ok(&run(&env, &flags_by(0, Worker)).0));
    let closed = case(|c| (c.flags, c.cgroup) = (INTO_CGROUP, CgroupArg::ClosedFd));
    assert!(matches!(run(&env, &closed).0, Expect::Skip(_)));
}

/// The end-to-end kernel: 6.12 with PID_NS, USER_NS, TIME_NS and CGROUPS off, as root in
/// a guest (no sandbox, no cgroup mount), built from Debian's tree (the patch is there).
#[test]
fn table_on_a_kernel_without_pid_user_time_ns_and_cgroups() {
    let env = root_without(|k| {
        (k.pid_ns, k.user_ns, k.time_ns, k.cgroups, k.cgroup2_fs) = (Have::No, Have::No, Have::No, Have::No, Have::No)
    });
    let env = Env { cgroup2: false, cgroup_v1: false, ..env };
    let by_id = |id: &str| {
        let c = crate::tables::all().into_iter().find(|c| c.id == id).unwrap_or_else(|| panic!("no case {id}"));
        predict(&c, &env, &ArchProfile::X86_64).expect
    };
    assert_eq!(by_id("ns.no_caps_newuser"), errno(Errno::EPERM));
    assert_eq!(by_id("ns.no_caps_newtime"), errno(Errno::EPERM));
    assert_eq!(by_id("combo.newuser_newpid"), errno(Errno::EINVAL));
    assert_eq!(by_id("cgroup.closed_fd"), Expect::Ok(ChildView { fate: Some(Fate::Reported), exit_signal_seen: Some(true), ..Default::default() }));
    assert!(matches!(by_id("cgroup.target"), Expect::Skip(_)));
    for c in crate::tables::all() {
        let p = predict(&c, &env, &ArchProfile::X86_64);
        if let Expect::Skip(why) = &p.expect {
            assert!(!why.is_empty(), "{}", c.id);
        }
    }
}

#[test]
fn env_records_without_kernel_features_still_parse() {
    let env = Env::sandboxed_root(Release::new(6, 12, 0), &ArchProfile::X86_64);
    let mut v = serde_json::to_value(&env).unwrap();
    v.as_object_mut().unwrap().remove("kernel");
    let old: Env = serde_json::from_value(v).unwrap();
    assert_eq!(old, env);
    assert_eq!(old.kernel, Features::ALL);
    // Fields added to Features later default to present, too.
    let mut v = serde_json::to_value(&env).unwrap();
    v["kernel"].as_object_mut().unwrap().remove("time_ns");
    v["kernel"]["pid_ns"] = serde_json::json!("no");
    let partial: Env = serde_json::from_value(v).unwrap();
    assert_eq!((partial.kernel.pid_ns, partial.kernel.time_ns), (Have::No, Have::Yes));
    let back: Env = serde_json::from_str(&serde_json::to_string(&partial).unwrap()).unwrap();
    assert_eq!(back, partial);
}


/// kernel/cgroup/cgroup.c (6.1, 6.12): cgroup_css_set_fork asks cgroup_attach_permissions
/// with threadgroup = !(flags & CLONE_THREAD), and a thread cannot leave its domain.
#[test]
fn a_thread_into_another_cgroup_domain_is_eopnotsupp() {
    let thread = case(|c| {
        (c.flags, c.exit_signal, c.cgroup) = (THREAD | SIGHAND | VM | INTO_CGROUP, 0, CgroupArg::Target);
        c.stack = Stack::Mapped(64 << 10);
    });
    assert_eq!(x86(&thread, (5, 7, 0)), errno(Errno::EOPNOTSUPP));
    assert_eq!(x86(&thread, (6, 12, 0)), errno(Errno::EOPNOTSUPP));
    let process = case(|c| {
        (c.flags, c.cgroup) = (VM | INTO_CGROUP, CgroupArg::Target);
        c.stack = Stack::Mapped(64 << 10);
    });
    assert!(is_ok(&x86(&process, (6, 12, 0))));
}

// The review of December 2026 (shared/notes/reviews/model-vs-kernel.md), finding by finding:
// inputs the table does not have, on the releases that tell the behaviours apart.

fn fate(e: Expect) -> Option<Fate> {
    match e {
        Expect::Ok(v) => v.fate,
        other => panic!("{other:?}"),
    }
}

/// Finding 1: a0eb9abd8af9 was merged before v5.3 was tagged.
#[test]
fn every_clone3_kernel_validates_exit_signal() {
    for sig in [65, 0xff, 0x100, u64::MAX] {
        assert_eq!(x86(&case(|c| c.exit_signal = sig), (5, 3, 0)), errno(Errno::EINVAL), "{sig:#x}");
    }
}

/// Finding 2: x86_64's access_ok by release (the table's past_user_limit ends one page past the
/// limit; these end exactly at it, and far above it).
#[test]
fn x86_64_access_ok_windows() {
    let limit = ArchProfile::X86_64.user_addr_limit;
    let at_limit = case(|c| c.stack = Stack::Raw { stack: limit - 4096, size: 4096 });
    let high = case(|c| c.stack = Stack::Raw { stack: 1 << 62, size: 4096 });
    let past = case(|c| c.stack = Stack::PastUserLimit);
    for r in [(6, 1, 192), (6, 11, 11), (6, 12, 2), (6, 12, 117)] {
        assert!(is_ok(&x86(&at_limit, r)), "{r:?}");
        assert_eq!(x86(&high, r), errno(Errno::EINVAL), "{r:?}");
    }
    // 6.4 – 6.11.5 looked at the sign bit only: the child gets a stack that is not there.
    for r in [(6, 4, 0), (6, 6, 50), (6, 8, 12), (6, 11, 5)] {
        // A non-canonical SP: SIGBUS (#SS) or SIGSEGV, so the fate is not predicted.
        assert_eq!(fate(x86(&high, r)), None, "{r:?}");
        assert_eq!(fate(x86(&past, r)), Some(Fate::Signaled(11)), "{r:?}");
        assert_eq!(fate(on(&past, r, ArchProfile::I386_COMPAT)), Some(Fate::Signaled(11)), "{r:?}");
    }
    assert_eq!(on(&past, (6, 6, 50), ArchProfile::I386_NATIVE), errno(Errno::EINVAL));
    // 6.11.6 – 6.11.10 and 6.12.0 – 6.12.1 refused a range ending exactly at TASK_SIZE_MAX.
    for r in [(6, 11, 6), (6, 11, 10), (6, 12, 0), (6, 12, 1)] {
        assert_eq!(x86(&at_limit, r), errno(Errno::EINVAL), "{r:?}");
        assert_eq!(x86(&past, r), errno(Errno::EINVAL), "{r:?}");
    }
}

/// Finding 3: parisc's access_ok accepts every range; the child then runs on nothing.
#[test]
fn parisc_access_ok_refuses_nothing() {
    for id in ["stack.wraps_around", "stack.kernel_address", "stack.past_user_limit"] {
        let c = crate::tables::all().into_iter().find(|c| c.id == id).unwrap();
        assert_eq!(fate(on(&c, (6, 12, 0), ArchProfile::PARISC)), Some(Fate::Signaled(11)), "{id}");
        assert_eq!(on(&c, (6, 12, 0), ArchProfile::AARCH64), errno(Errno::EINVAL), "{id}");
    }
    // The stack-and-size pairing is still checked.
    assert_eq!(on(&case(|c| c.stack = Stack::Raw { stack: 0x10000, size: 0 }), (6, 12, 0), ArchProfile::PARISC), errno(Errno::EINVAL));
}

/// Finding 5: arm64, riscv64 and parisc took clone3's tls from the wrong place before 5.4.12.
#[test]
fn settls_was_lost_on_arm64_riscv_parisc_before_copy_thread_tls() {
    let c = case(|c| (c.flags, c.tls, c.stack) = (SETTLS, crate::Tls::Page, Stack::Mapped(65536)));
    let readback = |arch, r| match on(&c, r, arch) {
        Expect::Ok(v) => v.tls_readback,
        other => panic!("{other:?}"),
    };
    for arch in [ArchProfile::AARCH64, ArchProfile::RISCV64, ArchProfile::PARISC] {
        assert_eq!(readback(arch, (5, 3, 18)), Some(false), "{}", arch.name);
        assert_eq!(readback(arch, (5, 4, 11)), Some(false), "{}", arch.name);
        assert_eq!(readback(arch, (5, 4, 12)), Some(true), "{}", arch.name);
        assert_eq!(readback(arch, (5, 5, 0)), Some(true), "{}", arch.name);
    }
    let x = case(|c| (c.flags, c.tls, c.stack) = (SETTLS, crate::Tls::Raw(0x1000), Stack::Mapped(65536)));
    assert!(matches!(x86(&x, (5, 4, 5)), Expect::Ok(ChildView { tls_readback: Some(true), .. })));
}

/// Finding 6: the NEWTIME fix reached 5.10, 5.15 and 6.2 too.
#[test]
fn newtime_backports() {
    let c = case(|c| c.flags = NEWTIME);
    for (before, after) in [((5, 10, 174), (5, 10, 175)), ((5, 15, 102), (5, 15, 103)), ((6, 2, 6), (6, 2, 7))] {
        assert_eq!(x86(&c, before), errno(Errno::EINVAL), "{before:?}");
        assert!(is_ok(&x86(&c, after)), "{after:?}");
    }
    let nocaps = case(|c| (c.flags, c.caller) = (NEWTIME, crate::Caller::NoCaps));
    assert_eq!(x86(&nocaps, (5, 10, 180)), errno(Errno::EPERM));
}

/// Finding 8: copy_sighand's fix in every stable series that took it.
#[test]
fn clear_sighand_fix_per_stable_series() {
    let c = case(|c| c.flags = CLEAR_SIGHAND);
    let handlers = |r| match on(&c, r, ArchProfile::I386_NATIVE) {
        Expect::Ok(v) => v.handlers_default,
        other => panic!("{other:?}"),
    };
    for (before, after) in [((5, 10, 245), (5, 10, 246)), ((5, 15, 194), (5, 15, 195)), ((6, 6, 112), (6, 6, 113)), ((6, 17, 3), (6, 17, 4))] {
        assert_eq!(handlers(before), Some(false), "{before:?}");
        assert_eq!(handlers(after), Some(true), "{after:?}");
    }
}

/// Finding 9: a 32-bit kernel cuts stack, stack_size and tls to their low 32 bits.
#[test]
fn native_32_bit_kernels_cut_the_stack_fields() {
    let size_high = case(|c| c.stack = Stack::Raw { stack: 0, size: 1 << 32 });
    let stack_high = case(|c| c.stack = Stack::Raw { stack: 1 << 32, size: 0 });
    for c in [&size_high, &stack_high] {
        assert_eq!(fate(on(c, (6, 12, 0), ArchProfile::I386_NATIVE)), Some(Fate::Reported));
        assert_eq!(on(c, (6, 12, 0), ArchProfile::I386_COMPAT), errno(Errno::EINVAL));
    }
    let kernel = crate::tables::all().into_iter().find(|c| c.id == "stack.kernel_address").unwrap();
    let p = predict(&kernel, &Env::sandboxed_root(Release::new(6, 12, 0), &ArchProfile::I386_NATIVE), &ArchProfile::I386_NATIVE);
    assert_eq!((p.expect, p.rule), (errno(Errno::EINVAL), "args_valid.stack_size_without_stack"));
}

/// Finding 10: before 5.3.11 a raw stack value reached the child as its SP.
#[test]
fn raw_stacks_reached_the_child_before_5_3_11() {
    let c = crate::tables::all().into_iter().find(|c| c.id == "stack.stack_without_size").unwrap();
    assert_eq!(fate(x86(&c, (5, 3, 5))), Some(Fate::Signaled(11)));
    assert_eq!(x86(&c, (5, 3, 11)), errno(Errno::EINVAL));
    // SP 0 means "keep the caller's SP": that child reports.
    assert_eq!(fate(x86(&case(|c| c.stack = Stack::Raw { stack: 0, size: 4096 }), (5, 3, 5))), Some(Fate::Reported));
}

/// Finding 11: v7.1 refuses CLONE_PARENT from a task started with CLONE_AUTOREAP.
#[test]
fn parent_from_an_autoreaped_caller() {
    let c = case(|c| (c.flags, c.exit_signal) = (PARENT, 0));
    let env = |r| Env { caller_autoreaped: true, ..Env::sandboxed_root(Release::new(7, 1, r), &ArchProfile::X86_64) };
    let p = predict(&c, &env(0), &ArchProfile::X86_64);
    assert_eq!((p.expect, p.rule), (errno(Errno::EINVAL), "copy_process.parent_from_autoreaped"));
    assert!(is_ok(&x86(&c, (7, 1, 0))));
    let old = Env { release: Release::new(7, 0, 0), ..env(0) };
    assert!(is_ok(&predict(&c, &old, &ArchProfile::X86_64).expect));
}

/// A run may say which fixes its kernel has, whatever the release.
#[test]
fn fix_overrides_decide_over_the_release() {
    let c = case(|c| c.flags = NEWTIME);
    let mut env = Env::sandboxed_root(Release::new(5, 10, 100), &ArchProfile::X86_64);
    assert_eq!(predict(&c, &env, &ArchProfile::X86_64).expect, errno(Errno::EINVAL));
    env.fixes.insert("newtime_in_clone3".into(), true);
    assert!(is_ok(&predict(&c, &env, &ArchProfile::X86_64).expect));
    // An override survives a round trip, and an Env without overrides is written as before.
    let back: Env = serde_json::from_str(&serde_json::to_string(&env).unwrap()).unwrap();
    assert_eq!(back, env);
    let plain = serde_json::to_value(Env::sandboxed_root(Release::new(6, 12, 0), &ArchProfile::X86_64)).unwrap();
    assert!(plain.get("fixes").is_none() && plain.get("caller_autoreaped").is_none());
}

/// TABLE-GAPS.md [9], review finding 12: alloc_pid's set_tid order at the 6.19 → 7.0 boundary
/// (fix alloc_pid_checks_first, 6d864a1b1825; the 7.x order read in Debian 7.2.13's kernel/pid.c).
/// ≤ 6.19 checks and allocates level by level; 7.0 range- and capability-checks every level before
/// allocating any, and checks a level's reaper only after allocating it.
#[test]
fn set_tid_order_changes_at_7_0() {
    let two = |flags, tids: &'static [Tid], caller| {
        case(|c| (c.flags, c.set_tid, c.caller) = (flags, SetTid::new(Ptr::Valid, tids.len() as u64, tids), caller))
    };
    let worker = crate::Caller::Worker;
    let rows = [
        // An inner taken pid no longer hides an outer out-of-range one.
        ("[Own, 0]", two(0, &[Tid::Own, Tid::Value(0)], worker), Errno::EEXIST, Errno::EINVAL),
        ("[Own, PidMax]", two(0, &[Tid::Own, Tid::PidMax], worker), Errno::EEXIST, Errno::EINVAL),
        // NEWUSER|NEWPID without capabilities: the new level is the caller's own user namespace (capable, but
        // no reaper for Free); the next level is not: an outer EPERM now hides the inner no-reaper EINVAL.
        ("NEWUSER|NEWPID no caps [Free, Free]", two(NEWUSER | NEWPID, &[Tid::Free, Tid::Free], crate::Caller::NoCaps), Errno::EINVAL, Errno::EPERM),
        // The new namespace's reaper is checked right after its own allocation, before the outer levels.
        ("NEWPID [Free, Own]", two(NEWPID, &[Tid::Free, Tid::Own], worker), Errno::EINVAL, Errno::EINVAL),
        // Unchanged: one level; an inner range error still comes first.
        ("[Own]", two(0, &[Tid::Own], worker), Errno::EEXIST, Errno::EEXIST),
        ("[0, Own]", two(0, &[Tid::Value(0), Tid::Own], worker), Errno::EINVAL, Errno::EINVAL),
    ];
    for (name, c, old, new) in rows {
        assert_eq!(x86(&c, (6, 19, 0)), errno(old), "{name} on 6.19");
        assert_eq!(x86(&c, (7, 0, 0)), errno(new), "{name} on 7.0");
        assert_eq!(x86(&c, (7, 2, 13)), errno(new), "{name} on 7.2.13");
        // The override takes a 7.x kernel back to the old order.
        let mut env = Env::sandboxed_root(Release::new(7, 2, 13), &ArchProfile::X86_64);
        env.fixes.insert("alloc_pid_checks_first".into(), false);
        assert_eq!(predict(&c, &env, &ArchProfile::X86_64).expect, errno(old), "{name} on 7.2.13 without the fix");
        // The deciding rule is the same one on both sides of the boundary.
        env.fixes.clear();
        assert_eq!(predict(&c, &env, &ArchProfile::X86_64).rule, "alloc_pid.set_tid", "{name}");
    }
}

/// The other predictions TABLE-GAPS.md states for inputs the model already covers.
#[test]
fn table_gap_predictions() {
    // [10] pidfd == parent_tid is only refused with both flags.
    let same = case(|c| (c.flags, c.pidfd, c.parent_tid) = (PIDFD, Ptr::SameAsParentTid, Ptr::Valid));
    assert!(is_ok(&x86(&same, (6, 12, 0))));
    // [11] PIDFD|THREAD with a NULL pidfd.
    let thread = case(|c| {
        (c.flags, c.exit_signal, c.child_tid) = (PIDFD | THREAD | SIGHAND | VM | CHILD_CLEARTID, 0, Ptr::Valid);
        c.stack = Stack::Mapped(65536);
    });
    assert_eq!(x86(&thread, (6, 8, 0)), errno(Errno::EINVAL));
    assert_eq!(x86(&thread, (6, 9, 0)), errno(Errno::EFAULT));
    // [15] a partial set_tid pointer word.
    let partial = |ptr| case(|c| (c.size, c.set_tid) = (Size::Bytes(65), SetTid::new(ptr, 0, &[])));
    assert!(is_ok(&x86(&partial(Ptr::Null), (6, 12, 0))));
    assert_eq!(x86(&partial(Ptr::Valid), (6, 12, 0)), errno(Errno::EINVAL));
    assert_eq!(x86(&partial(Ptr::Valid), (5, 4, 0)), errno(Errno::E2BIG));
    // [17] EMPTY_MNTNS implies NEWNS, which needs CAP_SYS_ADMIN.
    let empty = case(|c| (c.flags, c.caller) = (EMPTY_MNTNS, crate::Caller::NoCaps));
    assert_eq!(x86(&empty, (7, 1, 0)), errno(Errno::EPERM));
    assert_eq!(x86(&empty, (7, 0, 0)), errno(Errno::EINVAL));
}

/// Before 5.3.11 `stack` itself was the SP: a kernel-half one faults like any unmapped page
/// (SIGSEGV); one whose first push lands just below the kernel half, in the non-canonical hole
/// (0xffff_8000_0000_0000 - 8), is not predicted.
#[test]
fn raw_kernel_half_stacks_fault_before_5_3_11() {
    let by_id = |id: &str| crate::tables::all().into_iter().find(|c| c.id == id).unwrap();
    assert_eq!(fate(x86(&by_id("stack.wraps_around"), (5, 3, 5))), Some(Fate::Signaled(11)));
    assert_eq!(fate(x86(&by_id("stack.kernel_address"), (5, 3, 5))), None);
    assert_eq!(fate(on(&by_id("stack.kernel_address"), (5, 3, 5), ArchProfile::AARCH64)), Some(Fate::Signaled(11)));
}

/// kernel/pid_namespace.c: a dying PID-namespace init sets SIGCHLD to SIG_IGN in its handler
/// table (zap_pid_ns_processes, from exit_notify before do_notify_parent), so a caller sharing
/// that table autoreaps it even when it dies of a fault: seen by the fuzzer on 6.18 (seed 3).
#[test]
fn a_faulting_namespace_init_that_shares_handlers_is_autoreaped() {
    let init = |exit_signal| {
        case(|c| {
            (c.flags, c.exit_signal, c.stack) = (NEWPID | VM | SIGHAND | VFORK, exit_signal, Stack::Unmapped(64 << 10));
        })
    };
    let fate = |e: Expect| match e {
        Expect::Ok(v) => v.fate,
        other => panic!("{other:?}"),
    };
    assert_eq!(fate(x86(&init(crate::case::SIGCHLD), (6, 18, 0))), Some(Fate::Silent));
    assert_eq!(fate(x86(&init(10), (6, 18, 0))), Some(Fate::Signaled(11)));
}

#[test]
fn cgroup_targets_in_cgroup_css_set_fork_order() {
    use crate::Caller::{NoCaps, Worker};
    let into = |arg, caller, flags| case(|c| (c.flags, c.cgroup, c.caller) = (INTO_CGROUP | flags, arg, caller));
    let r = (6, 12, 0);
    // fget_raw takes O_PATH; css_tryget_online_from_dir wants a directory, online.
    assert!(is_ok(&x86(&into(CgroupArg::TargetPath, Worker, 0), r)));
    assert_eq!(x86(&into(CgroupArg::ProcsFile, Worker, 0), r), errno(Errno::EBADF));
    assert_eq!(x86(&into(CgroupArg::Removed, NoCaps, 0), r), errno(Errno::ENOENT));
    // cgroup_may_write, then the common ancestor's, both inode_permission: CAP_DAC_OVERRIDE passes.
    assert_eq!(x86(&into(CgroupArg::NotWritable, NoCaps, 0), r), errno(Errno::EACCES));
    assert!(is_ok(&x86(&into(CgroupArg::NotWritable, Worker, 0), r)));
    assert_eq!(x86(&into(CgroupArg::AncestorNotWritable, NoCaps, 0), r), errno(Errno::EACCES));
    assert!(is_ok(&x86(&into(CgroupArg::AncestorNotWritable, Worker, 0), r)));
    // cgroup_migrate_vet_dst's EBUSY comes before the thread-domain EOPNOTSUPP.
    let thread = THREAD | SIGHAND | VM;
    let busy_thread = Case { stack: Stack::Mapped(65536), exit_signal: 0, ..into(CgroupArg::Busy, Worker, thread) };
    assert_eq!(x86(&busy_thread, r), errno(Errno::EBUSY));
    let path_thread = Case { cgroup: CgroupArg::TargetPath, ..busy_thread.clone() };
    assert_eq!(x86(&path_thread, r), errno(Errno::EOPNOTSUPP));
    // Before CLONE_INTO_CGROUP (5.7) the struct is 80 bytes: a non-zero cgroup word is E2BIG.
    for arg in [CgroupArg::Removed, CgroupArg::Busy, CgroupArg::NotWritable] {
        assert_eq!(x86(&into(arg, NoCaps, 0), (5, 6, 0)), errno(Errno::E2BIG), "{arg:?}");
    }
}

#[test]
fn a_zero_namespace_limit_is_enospc_in_create_new_namespaces_order() {
    let limited = |f: fn(&mut crate::NsLimits)| {
        let mut env = Env::sandboxed_root(Release::new(6, 12, 0), &ArchProfile::X86_64);
        f(&mut env.kernel.max_namespaces);
        env
    };
    let run = |env: &Env, flags| predict(&case(|c| c.flags = flags), env, &ArchProfile::X86_64).expect;
    let no_pid = limited(|l| l.pid = Some(0));
    assert_eq!(run(&no_pid, NEWPID), errno(Errno::ENOSPC));
    // The caller's namespace counts for a child namespace's too (inc_ucount walks up).
    assert_eq!(run(&no_pid, NEWUSER | NEWPID), errno(Errno::ENOSPC));
    assert!(is_ok(&run(&no_pid, NEWNET)));
    // copy_mnt_ns is first, copy_time_ns last.
    let no_mnt_time = limited(|l| (l.mnt, l.time) = (Some(0), Some(0)));
    assert_eq!(predict(&case(|c| c.flags = NEWNS | NEWTIME), &no_mnt_time, &ArchProfile::X86_64).rule, "create_new_namespaces.max_mnt_namespaces");
    // Not read: not predicted, only where the flag asks for that kind.
    let unread = limited(|l| l.net = None);
    assert!(matches!(run(&unread, NEWNET), Expect::Skip(_)));
    assert!(is_ok(&run(&unread, NEWUTS)));
    // The capability check comes first.
    let nocaps = case(|c| (c.flags, c.caller) = (NEWPID, crate::Caller::NoCaps));
    assert_eq!(predict(&nocaps, &no_pid, &ArchProfile::X86_64).expect, errno(Errno::EPERM));
}

#[test]
fn a_stack_ending_at_the_limit_is_refused_only_between_user_ptr_max_and_its_off_by_one_fix() {
    let c = case(|c| (c.stack, c.needs) = (Stack::EndsAtUserLimit(16384), &[crate::Gate::UserRangeTop]));
    for refused in [(6, 11, 6), (6, 11, 10), (6, 12, 0), (6, 12, 1)] {
        assert_eq!(x86(&c, refused), errno(Errno::EINVAL), "{refused:?}");
    }
    for taken in [(6, 1, 0), (6, 11, 5), (6, 11, 11), (6, 12, 2), (6, 13, 0)] {
        match x86(&c, taken) {
            Expect::Ok(v) => assert_eq!(v.sp, Some(SpAt::Top), "{taken:?}"),
            other => panic!("{taken:?}: {other:?}"),
        }
    }
    // Everywhere else a range ending at the limit is inside it.
    assert!(is_ok(&on(&c, (6, 12, 0), ArchProfile::AARCH64)));
    assert!(is_ok(&on(&c, (6, 12, 0), ArchProfile::I386_NATIVE)));
    assert!(matches!(on(&c, (6, 12, 0), ArchProfile::I386_COMPAT), Expect::Skip(_)));
    // Debian's arm64 kernels take stacks up to 2^52; a CPU without LVA maps below 2^48.
    let arm = ArchProfile::AARCH64;
    let va52 = Env { user_addr_limit: 1 << 52, user_range_top: false, ..Env::sandboxed_root(Release::new(6, 12, 0), &arm) };
    assert!(matches!(predict(&c, &va52, &arm).expect, Expect::Skip(why) if why.contains("52-bit")));
}

#[test]
fn clear_sighand_keeps_ignored_signals() {
    let c = case(|c| c.flags = CLEAR_SIGHAND);
    for arch in [ArchProfile::X86_64, ArchProfile::I386_NATIVE] {
        for r in [(5, 5, 0), (6, 1, 100), (6, 18, 0)] {
            match on(&c, r, arch) {
                Expect::Ok(v) => assert_eq!(v.ignored_kept, Some(true), "{} {r:?}", arch.name),
                other => panic!("{other:?}"),
            }
        }
    }
}

#[test]
fn apparmors_user_namespace_restriction_is_not_predicted_for_the_unprivileged() {
    let env = Env { apparmor_restricts_userns: true, ..Env::sandboxed_root(Release::new(6, 8, 0), &ArchProfile::X86_64) };
    let nocaps = case(|c| (c.flags, c.caller) = (NEWUSER | NEWNET, crate::Caller::NoCaps));
    assert!(matches!(predict(&nocaps, &env, &ArchProfile::X86_64).expect, Expect::Skip(why) if why.contains("AppArmor")));
    // Root is not confined; nor is a caller that asks for no user namespace.
    assert!(is_ok(&predict(&case(|c| c.flags = NEWUSER | NEWNET), &env, &ArchProfile::X86_64).expect));
    let plain = case(|c| c.caller = crate::Caller::NoCaps);
    assert!(is_ok(&predict(&plain, &env, &ArchProfile::X86_64).expect));
}
