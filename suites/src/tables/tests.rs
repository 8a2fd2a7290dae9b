//! Invariants of the tables themselves: what the runner and CI systems rely on.

use super::all;
use crate::case::{Ptr, Stack, Tid};
use crate::flags::{SETTLS, SIGHAND, THREAD, VM};
use crate::{predict, Env, Expect, Release};
use clone3_arches::ArchProfile;
use std::collections::HashSet;

#[test]
fn at_least_250_cases_with_unique_wellformed_ids() {
    let cases = all();
    assert!(cases.len() >= 250, "only {} cases", cases.len());
    let mut seen = HashSet::new();
    for c in &cases {
        let parts: Vec<&str> = c.id.split('.').collect();
        assert_eq!(parts.len(), 2, "{}: ids are family.case", c.id);
        for p in parts {
            assert!(!p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'), "{}", c.id);
        }
        assert!(seen.insert(c.id.clone()), "duplicate id {}", c.id);
        assert!(!c.why.is_empty(), "{} has no why", c.id);
    }
}

#[test]
fn children_that_share_memory_or_change_tls_get_their_own_stack() {
    // The runner cannot run a CLONE_VM or CLONE_SETTLS child on the caller's stack.
    for c in all() {
        if c.flags & (VM | SETTLS | THREAD | SIGHAND) != 0 && c.flags.count_ones() < 32 {
            assert!(!matches!(c.stack, Stack::None), "{} needs a stack", c.id);
        }
    }
}

/// The two cases the stack rule above exempts (every flag bit set, VM without a stack) are
/// safe only because no kernel can accept them: were one predicted to succeed, its child
/// would run on the worker's live stack.
#[test]
fn the_cases_exempt_from_the_stack_rule_are_errors_on_every_release_and_arch() {
    use crate::{predict, Env, Expect, Release};
    use clone3_arches::ArchProfile;
    let exempt: Vec<_> = all().into_iter().filter(|c| c.flags & VM != 0 && matches!(c.stack, Stack::None)).collect();
    assert!(!exempt.is_empty());
    for c in &exempt {
        assert!(c.flags.count_ones() >= 32, "{} shares memory without a stack", c.id);
        for arch in ArchProfile::ALL {
            for (a, b) in [(5, 3), (5, 10), (6, 1), (6, 12), (7, 2)] {
                let env = Env::sandboxed_root(Release::new(a, b, 0), &arch);
                let e = predict(c, &env, &arch).expect;
                assert!(matches!(e, Expect::Err(_)), "{} on {a}.{b} {}: {e:?}", c.id, arch.name);
            }
        }
    }
}

#[test]
fn threads_that_can_start_are_waitable_through_cleartid() {
    // A thread cannot be waited for: the runner knows it is gone when the kernel clears
    // child_tid and wakes the futex.
    for release in [Release::new(6, 8, 0), Release::new(6, 12, 0), Release::new(7, 1, 0)] {
        let env = Env::sandboxed_root(release, &ArchProfile::X86_64);
        for c in all() {
            let starts = matches!(predict(&c, &env, &ArchProfile::X86_64).expect, Expect::Ok(_));
            if starts && c.flags & THREAD != 0 {
                assert!(c.flags & crate::flags::CHILD_CLEARTID != 0 && c.child_tid == Ptr::Valid, "{}", c.id);
            }
        }
    }
}

#[test]
fn literal_tids_are_ones_the_model_understands() {
    for c in all() {
        for t in c.set_tid.tids.iter() {
            if let Tid::Value(v) = t {
                assert!(*v <= 1, "{}: literal pid {v} may be taken or free by chance", c.id);
            }
        }
    }
}

#[test]
fn raw_stacks_and_bad_tls_never_reach_a_child() {
    // A raw stack value is not memory the runner owns: the model must reject it first.
    for arch in [ArchProfile::X86_64, ArchProfile::AARCH64, ArchProfile::RISCV64] {
        let env = Env::sandboxed_root(Release::new(6, 12, 0), &arch);
        for c in all().iter().filter(|c| matches!(c.stack, Stack::Raw { .. })) {
            let p = predict(c, &env, &arch);
            assert!(matches!(p.expect, Expect::Err(_)), "{} on {}: {:?}", c.id, arch.name, p.expect);
        }
    }
}

#[test]
fn no_table_case_is_unpredictable_in_the_sandbox() {
    for arch in ArchProfile::ALL {
        for release in [Release::new(5, 10, 0), Release::new(6, 12, 0), Release::new(7, 1, 0)] {
            let env = Env::sandboxed_root(release, &arch);
            for c in all() {
                // By design: an ia32 task cannot map the top of an x86_64 kernel's user range,
                // and an autoreaped caller needs the release's CLONE_AUTOREAP.
                let by_design = c.needs.contains(&crate::Gate::UserRangeTop) && arch.task_pointer_bits < arch.kernel_long_bits
                    || c.needs.contains(&crate::Gate::AutoreapedCaller) && !env.has_feature("autoreap_nnp_autokill");
                if let (Expect::Skip(why), false) = (predict(&c, &env, &arch).expect, by_design) {
                    panic!("{} on {} {}: {why}", c.id, arch.name, release);
                }
            }
        }
    }
}
