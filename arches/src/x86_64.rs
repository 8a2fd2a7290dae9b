//! x86_64: `syscall`.
//!
//! | what          | register |
//! |---------------|----------|
//! | syscall nr    | rax      |
//! | arg 1..6      | rdi, rsi, rdx, r10, r8, r9 |
//! | return        | rax      |
//! | clobbered     | rcx (return rip), r11 (rflags) |
//!
//! Legacy clone order is the default one: (flags, newsp, parent_tid, child_tid, tls).
//! `clone3_on_stack` keeps `entry` and `arg` in r12/r13, which the kernel preserves
//! and which the child still has on its new stack.

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
        "syscall",
        inlateout("rax") NR_CLONE3 as isize => ret,
        in("rdi") args,
        in("rsi") size,
        lateout("rcx") _,
        lateout("r11") _,
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
    asm!(
        "syscall",
        "test rax, rax",
        "jnz 2f",
        // Child: rsp is what the kernel set; report it before aligning.
        "xor ebp, ebp",
        "mov rdi, r12",
        "mov rsi, rsp",
        "and rsp, -16",
        "call r13",
        "ud2",
        "2:",
        inlateout("rax") NR_CLONE3 as isize => ret,
        in("rdi") args,
        in("rsi") size,
        in("r12") arg,
        in("r13") entry,
        lateout("rcx") _,
        lateout("r11") _,
    );
    ret
}

/// Fork-like legacy `clone`; the arguments are in the default order already.
///
/// # Safety
/// As for [`clone3`].
#[inline(always)]
pub unsafe fn clone_legacy(flags: u64, newsp: usize, parent_tid: usize, child_tid: usize, tls: usize) -> isize {
    let ret;
    asm!(
        "syscall",
        inlateout("rax") NR_CLONE as isize => ret,
        in("rdi") flags,
        in("rsi") newsp,
        in("rdx") parent_tid,
        in("r10") child_tid,
        in("r8") tls,
        lateout("rcx") _,
        lateout("r11") _,
        options(nostack),
    );
    ret
}

pub fn exit_thread(code: i32) -> ! {
    unsafe {
        asm!(
            "syscall",
            "ud2",
            in("rax") linux_raw_sys::general::__NR_exit,
            in("rdi") code,
            options(noreturn, nostack),
        )
    }
}

/// The FS base, via `arch_prctl(ARCH_GET_FS)`: `rdfsbase` faults where the kernel has
/// not enabled FSGSBASE, and this must work on any kernel the suite meets.
pub fn read_tls() -> usize {
    let mut base: usize = 0;
    unsafe {
        asm!(
            "syscall",
            inlateout("rax") linux_raw_sys::general::__NR_arch_prctl as usize => _,
            in("rdi") 0x1003, // ARCH_GET_FS, arch/x86/include/uapi/asm/prctl.h (not in linux-raw-sys)
            in("rsi") &mut base as *mut usize,
            lateout("rcx") _,
            lateout("r11") _,
            options(nostack),
        );
    }
    base
}

/// What to pass as clone3's `tls` so the child's thread pointer lands in `page`, and the
/// value [`read_tls`] will then show: here the address itself.
///
/// # Safety
/// None beyond `page` being the caller's; kept `unsafe` like the i386 version.
pub unsafe fn tls_arg(page: *mut u8) -> (u64, usize) {
    (page as u64, page as usize)
}

/// `__NR_clone3` in the i386 table (arch/x86/entry/syscalls/syscall_32.tbl); linux-raw-sys
/// builds only this arch's table.
const NR_CLONE3_I386: u32 = 435;

/// Fork-like `clone3` entered through the ia32 compat path (`int $0x80`) from this 64-bit
/// process: eax = the i386 number, ebx = args, ecx = size. rbx cannot be an asm operand
/// (LLVM keeps it), so `args` is swapped into it and back, as esi is on i386. The result
/// is the i386 one, eax, sign-extended.
///
/// # Safety
/// As for [`clone3`]; and `args` must lie below 4 GiB: the compat path takes only the
/// low 32 bits of each register, so a higher pointer names some other address.
#[inline(always)]
pub unsafe fn clone3_int80(args: *mut CloneArgs, size: usize) -> isize {
    debug_assert!(args as usize >> 32 == 0, "clone3_int80: args above 4 GiB");
    let ret: u64;
    asm!(
        "xchg rbx, {args}",
        "int $$0x80",
        "xchg rbx, {args}",
        args = in(reg) args,
        inlateout("rax") NR_CLONE3_I386 as u64 => ret,
        in("rcx") size,
        // Zeroed on this path before 8bb2610bc496 ("x86/entry/64/compat: Preserve r8-r11
        // in int $0x80", 4.17, later in stable): cheap to assume.
        lateout("r8") _,
        lateout("r9") _,
        lateout("r10") _,
        lateout("r11") _,
        options(nostack),
    );
    ret as i32 as isize
}
