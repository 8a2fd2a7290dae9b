//! stack / stack_size: clone3_stack_valid, and where the child's SP really starts.

use super::STACK;
use crate::case::{Case, Stack};
use crate::flags::{VFORK, VM};

fn st(id: &str, why: &'static str, stack: Stack) -> Case {
    Case { stack, ..Case::base(format!("stack.{id}"), why) }
}

pub fn cases() -> Vec<Case> {
    vec![
        st("none", "stack 0, size 0: the child keeps the caller's SP", Stack::None),
        st("size_without_stack", "stack 0 with a size", Stack::Raw { stack: 0, size: 4096 }),
        st("stack_without_size", "a stack with size 0", Stack::Raw { stack: 0x10000, size: 0 }),
        st("mapped", "the child starts at stack + stack_size", Stack::Mapped(STACK)),
        st("mapped_small", "a 16 KiB stack", Stack::Mapped(16 * 1024)),
        st("mapped_unaligned_size", "the kernel does not align SP: the caller must", Stack::Mapped(STACK - 8)),
        Case { flags: VM, ..st("mapped_vm", "a CLONE_VM child on its own stack", Stack::Mapped(STACK)) },
        Case { flags: VM | VFORK, ..st("mapped_vfork_vm", "posix_spawn-style child on its own stack", Stack::Mapped(STACK)) },
        st("unmapped", "an unmapped stack is accepted; the child dies of SIGSEGV", Stack::Unmapped(STACK)),
        Case {
            flags: crate::flags::PARENT,
            exit_signal: 0,
            ..st("unmapped_with_parent", "a CLONE_PARENT child dies where the caller cannot see how", Stack::Unmapped(STACK))
        },
        st("past_user_limit", "a range past the user address limit fails access_ok", Stack::PastUserLimit),
        st("wraps_around", "stack + stack_size overflows", Stack::Raw { stack: u64::MAX - 4095, size: 8192 }),
        st("kernel_address", "a kernel-half address", Stack::Raw { stack: 0xffff_8000_0000_0000, size: 4096 }),
        // Table gaps [2] and [3] (suites/TABLE-GAPS.md).
        st("between_task_size_max_and_sign_bit", "x86_64 6.4–6.11.5's access_ok only checked the sign bit", Stack::Raw { stack: 1 << 62, size: 4096 }),
        st("size_high_bits_only", "a 32-bit kernel keeps the low 32 bits of stack_size: 0", Stack::Raw { stack: 0, size: 1 << 32 }),
        st("stack_high_bits_only", "and of stack: 0", Stack::Raw { stack: 1 << 32, size: 0 }),
        // Table gap [1]: x86's USER_PTR_MAX was one byte short on 6.11.6 – 6.12.1.
        Case {
            needs: &[crate::case::Gate::UserRangeTop],
            ..st("ends_at_user_limit", "a mapped stack ending exactly at the user address limit", Stack::EndsAtUserLimit(Stack::TOP_OF_USER_RANGE))
        },
    ]
}
