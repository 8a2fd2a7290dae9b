//! Every flag bit 0–63 alone, with exit_signal SIGCHLD and whatever memory that bit needs
//! to be safe to run (a stack for VM and SETTLS, a word for the *TID and PIDFD pointers).

use super::STACK;
use crate::case::{Case, CgroupArg, Gate, Ptr, Stack, Tls};
use crate::flags::{self, bit_name};

pub fn cases() -> Vec<Case> {
    (0..64).map(alone).collect()
}

fn alone(bit: u32) -> Case {
    let flag = 1u64 << bit;
    let mut c = Case { flags: flag, ..Case::base(format!("flags.alone_{}", bit_name(bit)), "one flag bit on its own") };
    match flag {
        flags::VM | flags::SIGHAND | flags::THREAD => c.stack = Stack::Mapped(STACK),
        flags::SETTLS => (c.stack, c.tls) = (Stack::Mapped(STACK), Tls::Page),
        flags::PIDFD => c.pidfd = Ptr::Valid,
        flags::PARENT_SETTID => c.parent_tid = Ptr::Valid,
        flags::CHILD_SETTID | flags::CHILD_CLEARTID => c.child_tid = Ptr::Valid,
        flags::INTO_CGROUP => (c.cgroup, c.needs) = (CgroupArg::Target, &[Gate::Cgroup2]),
        _ => {}
    }
    c
}
