//! CLONE_PIDFD: the pidfd written through `pidfd`, and its refusals.

use super::STACK;
use crate::case::{Case, Ptr, Stack};
use crate::flags::*;

fn pfd(id: &str, why: &'static str, pidfd: Ptr) -> Case {
    Case { flags: PIDFD, pidfd, ..Case::base(format!("pidfd.{id}"), why) }
}

/// A pthread-like child (its own stack, no exit signal) asking for a pidfd.
fn thread(id: &str, why: &'static str, pidfd: Ptr) -> Case {
    Case {
        flags: PIDFD | THREAD | SIGHAND | VM | CHILD_CLEARTID,
        exit_signal: 0,
        stack: Stack::Mapped(STACK),
        child_tid: Ptr::Valid,
        ..pfd(id, why, pidfd)
    }
}

pub fn cases() -> Vec<Case> {
    vec![
        pfd("valid", "the pidfd answers pidfd_send_signal and waitid(P_PIDFD)", Ptr::Valid),
        pfd("null_pointer", "put_user to NULL faults after the child exists (and is cleaned up)", Ptr::Null),
        pfd("unmapped_pointer", "put_user to an unmapped word faults", Ptr::Unmapped),
        Case { exit_signal: 0, ..pfd("exit_signal_zero", "a pidfd for a child that sends no signal", Ptr::Valid) },
        Case { flags: PIDFD | VFORK, ..pfd("with_vfork", "a pidfd for a vfork child", Ptr::Valid) },
        Case {
            flags: PIDFD | PARENT_SETTID,
            parent_tid: Ptr::Valid,
            ..pfd("with_parent_settid", "pidfd and parent_tid in different words both get written", Ptr::Valid)
        },
        Case {
            flags: PIDFD | PARENT_SETTID,
            parent_tid: Ptr::Valid,
            ..pfd("same_word_as_parent_tid", "pidfd == parent_tid is refused", Ptr::SameAsParentTid)
        },
        Case { flags: PIDFD | DETACHED, ..pfd("with_detached", "CLONE_DETACHED is refused", Ptr::Valid) },
        thread("with_thread", "thread pidfds: refused until 6.9, allowed since", Ptr::Valid),
        Case { flags: PIDFD | NEWPID, ..pfd("with_newpid", "a pidfd for the init of a new namespace", Ptr::Valid) },
        Case { flags: PIDFD | PARENT, exit_signal: 0, ..pfd("with_parent", "a pidfd for a sibling", Ptr::Valid) },
        // Table gaps [10] and [11].
        Case {
            parent_tid: Ptr::Valid,
            ..pfd("same_as_parent_tid_without_settid", "pidfd == parent_tid is refused only with PARENT_SETTID too", Ptr::SameAsParentTid)
        },
        thread("thread_null_pointer", "a thread's pidfd to NULL: refused until 6.9, a fault since", Ptr::Null),
    ]
}
