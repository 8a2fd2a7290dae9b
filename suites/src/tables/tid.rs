//! PARENT_SETTID, CHILD_SETTID, CHILD_CLEARTID: never errors, only writes.

use super::STACK;
use crate::case::{Case, Ptr, Stack};
use crate::flags::*;

fn t(id: &str, why: &'static str, flags: u64) -> Case {
    Case { flags, ..Case::base(format!("tid.{id}"), why) }
}

pub fn cases() -> Vec<Case> {
    vec![
        Case { parent_tid: Ptr::Valid, ..t("parent_settid", "the caller's word holds the child's pid", PARENT_SETTID) },
        Case { parent_tid: Ptr::Unmapped, ..t("parent_settid_unmapped", "a bad parent_tid is never reported", PARENT_SETTID) },
        t("parent_settid_null", "nor a NULL one", PARENT_SETTID),
        Case { child_tid: Ptr::Valid, ..t("child_settid", "the child's word holds its tid", CHILD_SETTID) },
        Case { child_tid: Ptr::Unmapped, ..t("child_settid_unmapped", "a bad child_tid is ignored", CHILD_SETTID) },
        Case { child_tid: Ptr::Valid, ..t("child_cleartid_no_vm", "CLEARTID in the child's own copy of memory", CHILD_CLEARTID) },
        Case {
            child_tid: Ptr::Valid,
            stack: Stack::Mapped(STACK),
            ..t("child_cleartid_vm", "the caller sees the word cleared and the futex woken", CHILD_CLEARTID | VM)
        },
        Case {
            child_tid: Ptr::Valid,
            stack: Stack::Mapped(STACK),
            exit_signal: 0,
            ..t("settid_cleartid_thread", "a thread's tid word set, then cleared at exit", CHILD_SETTID | CHILD_CLEARTID | THREAD | SIGHAND | VM)
        },
        Case {
            child_tid: Ptr::Valid,
            parent_tid: Ptr::Valid,
            ..t("parent_and_child_settid", "both words written", PARENT_SETTID | CHILD_SETTID)
        },
    ]
}
