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
