//! aarch64: `svc #0`.
//!
//! | what          | register |
//! |---------------|----------|
//! | syscall nr    | x8       |
//! | arg 1..6      | x0, x1, x2, x3, x4, x5 |
//! | return        | x0       |
//! | clobbered     | none (NZCV is restored from SPSR) |
//!
//! Legacy clone order is CONFIG_CLONE_BACKWARDS: (flags, newsp, parent_tid, tls, child_tid).
//! `clone3_on_stack` keeps `entry` and `arg` in x12/x13: the kernel returns every register
//! but x0 unchanged, and the child gets the parent's registers (x0 = 0, sp = new stack).

use crate::{ChildEntry, CloneArgs};
use core::arch::asm;
use core::ffi::c_void;

pub const NR_CLONE3: u32 = linux_raw_sys::general::__NR_clone3;
pub const NR_CLONE: u32 = linux_raw_sys::general::__NR_clone;

/// # Safety
/// Without `CLONE_VM` the child runs on a copy of this stack and returns here with 0.
/// With `CLONE_VM` and no new stack both would share one stack: never do that.
#[inline(always)]
pub unsafe fn clone3(args: *mut CloneArgs, size: usize) -> isize {
    let ret;
    asm!(
        "svc #0",
        in("x8") NR_CLONE3,
        inlateout("x0") args => ret,
        in("x1") size,
        options(nostack, preserves_flags),
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
    asm!(
        "svc #0",
        "cbnz x0, 2f",
        // Child: sp is what the kernel set; report it before aligning.
        "mov x29, xzr",
        "mov x0, x12",
        "mov x1, sp",
        "and sp, x1, #-16",
        "blr x13",
        "brk #0x1",
        "2:",
        in("x8") NR_CLONE3,
        inlateout("x0") args => ret,
        in("x1") size,
        in("x12") arg,
        in("x13") entry,
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
    asm!(
        "svc #0",
        in("x8") NR_CLONE,
        inlateout("x0") flags => ret,
        in("x1") newsp,
        in("x2") parent_tid,
        in("x3") tls,
        in("x4") child_tid,
        options(nostack, preserves_flags),
    );
    ret
}

pub fn exit_thread(code: i32) -> ! {
    unsafe {
        asm!(
            "svc #0",
            "brk #0x1",
            in("x8") linux_raw_sys::general::__NR_exit,
            in("x0") code,
            options(noreturn, nostack),
        )
    }
}

/// TPIDR_EL0, which `CLONE_SETTLS` sets to `tls` as given.
pub fn read_tls() -> usize {
    let tp: usize;
    unsafe {
        asm!("mrs {}, tpidr_el0", out(reg) tp, options(nomem, nostack, preserves_flags));
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
