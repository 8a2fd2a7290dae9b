//! riscv64: `ecall`.
//!
//! | what          | register |
//! |---------------|----------|
//! | syscall nr    | a7       |
//! | arg 1..6      | a0, a1, a2, a3, a4, a5 |
//! | return        | a0       |
//! | clobbered     | v0-v31, vl, vtype (the vector state) |
//!
//! The kernel does not keep the vector state across a syscall
//! (Documentation/arch/riscv/vector.rst), so every `ecall` block goes through
//! `ecall_asm!`, which adds v0-v31 as clobbers, and none has `preserves_flags`: for
//! Rust that option covers vl/vtype/vxsat/vxrm and fflags here.
//!
//! Legacy clone order is CONFIG_CLONE_BACKWARDS: (flags, newsp, parent_tid, tls, child_tid).
//! `clone3_on_stack` keeps `entry` and `arg` in a2/a3: the kernel returns every register
//! but a0 unchanged, and the child gets the parent's registers (a0 = 0, sp = new stack).

use crate::{ChildEntry, CloneArgs};
use core::arch::asm;
use core::ffi::c_void;

pub const NR_CLONE3: u32 = linux_raw_sys::general::__NR_clone3;
pub const NR_CLONE: u32 = linux_raw_sys::general::__NR_clone;

/// `asm!` with the vector registers an `ecall` clobbers appended (the caller's operand
/// list ends with a comma). Not for `noreturn` blocks, which take no outputs.
macro_rules! ecall_asm {
    ($($t:tt)*) => {
        asm!($($t)*
            lateout("v0") _, lateout("v1") _, lateout("v2") _, lateout("v3") _,
            lateout("v4") _, lateout("v5") _, lateout("v6") _, lateout("v7") _,
            lateout("v8") _, lateout("v9") _, lateout("v10") _, lateout("v11") _,
            lateout("v12") _, lateout("v13") _, lateout("v14") _, lateout("v15") _,
            lateout("v16") _, lateout("v17") _, lateout("v18") _, lateout("v19") _,
            lateout("v20") _, lateout("v21") _, lateout("v22") _, lateout("v23") _,
            lateout("v24") _, lateout("v25") _, lateout("v26") _, lateout("v27") _,
            lateout("v28") _, lateout("v29") _, lateout("v30") _, lateout("v31") _,
        )
    };
}

/// # Safety
/// Without `CLONE_VM` the child runs on a copy of this stack and returns here with 0.
/// With `CLONE_VM` and no new stack both would share one stack: never do that.
#[inline(always)]
pub unsafe fn clone3(args: *mut CloneArgs, size: usize) -> isize {
    let ret;
    ecall_asm!(
        "ecall",
        in("a7") NR_CLONE3,
        inlateout("a0") args => ret,
        in("a1") size,
        options(nostack),
    );
    ret
}

/// # Safety
/// `entry` must never return and must only touch memory valid in the child.
#[inline(never)]
pub unsafe fn clone3_on_stack(
    args: *mut CloneArgs,
    size: usize,
    entry: ChildEntry,
    arg: *mut c_void,
) -> isize {
    let ret;
    ecall_asm!(
        "ecall",
        "bnez a0, 2f",
        // Child: sp is what the kernel set; report it before aligning.
        "li s0, 0",
        "mv a0, a2",
        "mv a1, sp",
        "andi sp, sp, -16",
        "jalr a3",
        "unimp",
        "2:",
        in("a7") NR_CLONE3,
        inlateout("a0") args => ret,
        in("a1") size,
        in("a2") arg,
        in("a3") entry,
    );
    ret
}

/// Fork-like legacy `clone`; `tls` and `child_tid` swap places (CLONE_BACKWARDS).
///
/// # Safety
/// As for [`clone3`].
#[inline(always)]
pub unsafe fn clone_legacy(flags: u64, newsp: usize, parent_tid: usize, child_tid: usize, tls: usize) -> isize {
    let ret;
    ecall_asm!(
        "ecall",
        in("a7") NR_CLONE,
        inlateout("a0") flags => ret,
        in("a1") newsp,
        in("a2") parent_tid,
        in("a3") tls,
        in("a4") child_tid,
        options(nostack),
    );
    ret
}

pub fn exit_thread(code: i32) -> ! {
    unsafe {
        asm!(
            "ecall",
            "unimp",
            in("a7") linux_raw_sys::general::__NR_exit,
            in("a0") code,
            options(noreturn, nostack),
        )
    }
}

/// tp, which `CLONE_SETTLS` sets to `tls` as given.
pub fn read_tls() -> usize {
    let tp: usize;
    unsafe {
        asm!("mv {}, tp", out(reg) tp, options(nomem, nostack));
    }
    tp
}

/// What to pass as clone3's `tls` so the child's thread pointer lands in `page`, and the
/// value [`read_tls`] will then show: here the address itself.
///
/// # Safety
/// None beyond `page` being the caller's; kept `unsafe` like the i386 version.
pub unsafe fn tls_arg(page: *mut u8) -> (u64, usize) {
    (page as u64, page as usize)
}
