//! CLONE_CLEAR_SIGHAND: the child's handlers, observed by the child itself.

use super::STACK;
use crate::case::{Case, Stack};
use crate::flags::{CLEAR_SIGHAND, SIGHAND, VFORK, VM};

fn sh(id: &str, why: &'static str, flags: u64) -> Case {
    Case { flags, ..Case::base(format!("sighand.{id}"), why) }
}

pub fn cases() -> Vec<Case> {
    vec![
        sh("inherited", "without CLEAR_SIGHAND the child keeps the caller's handler", 0),
        sh("clear", "CLEAR_SIGHAND resets handlers to SIG_DFL (dropped on 32-bit kernels 5.5–6.17)", CLEAR_SIGHAND),
        sh("clear_with_vfork", "CLEAR_SIGHAND with vfork", CLEAR_SIGHAND | VFORK),
        Case { stack: Stack::Mapped(STACK), ..sh("clear_with_vm", "CLEAR_SIGHAND for a CLONE_VM child", CLEAR_SIGHAND | VM) },
        Case { stack: Stack::Mapped(STACK), ..sh("clear_with_sighand", "sharing and clearing handlers contradict", CLEAR_SIGHAND | SIGHAND | VM) },
    ]
}
