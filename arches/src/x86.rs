//! i386 (i686): `int $0x80`, also for a 32-bit task on an x86_64 kernel (ia32 compat).
//!
//! | what          | register |
//! |---------------|----------|
//! | syscall nr    | eax      |
//! | arg 1..6      | ebx, ecx, edx, esi, edi, ebp |
//! | return        | eax      |
//! | clobbered     | none (int 0x80 also preserves eflags) |
//!
//! Always `int $0x80`, never the vDSO's `__kernel_vsyscall`: that is a `call`, so the
//! child of a clone would start with the vDSO's return address and saved registers on
//! the parent's stack, not on its own.
//!
//! LLVM keeps esi (its base pointer for realigned frames) and ebp (the frame pointer) for
//! itself, so neither can be an asm operand; ebx can. The 4th argument goes through any
//! free register and is swapped into esi around the `int $0x80` (`xchg`, twice, so esi
//! is as LLVM left it when the block ends — also in a fork-like child, which resumes here
//! with the same registers). ebp is never needed: no call here has a 6th argument.
//!
//! Legacy clone order is CONFIG_CLONE_BACKWARDS: (flags, newsp, parent_tid, tls, child_tid).
//! `clone3_on_stack` keeps `entry` and `arg` in edi/edx: the kernel returns every register
//! but eax unchanged, and the child gets the parent's registers (eax = 0, esp = new stack).

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
        "int $$0x80",
        inlateout("eax") NR_CLONE3 as isize => ret,
        in("ebx") args,
        in("ecx") size,
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
        "int $$0x80",
        "test eax, eax",
        "jnz 2f",
        // Child: esp is what the kernel set; report it before aligning. cdecl passes
        // (arg, sp) on the stack, and esp must be 16-aligned at the `call`.
        "xor ebp, ebp",
        "mov eax, esp",
        "and esp, -16",
        "sub esp, 8",
        "push eax",
        "push edx",
        "call edi",
        "ud2",
        "2:",
        inlateout("eax") NR_CLONE3 as isize => ret,
        in("ebx") args,
        in("ecx") size,
        in("edx") arg,
        in("edi") entry,
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
        "xchg esi, {tls}",
        "int $$0x80",
        "xchg esi, {tls}",
        tls = in(reg) tls,
        inlateout("eax") NR_CLONE as isize => ret,
        in("ebx") flags as u32,
        in("ecx") newsp,
        in("edx") parent_tid,
        in("edi") child_tid,
        options(nostack, preserves_flags),
    );
    ret
}

pub fn exit_thread(code: i32) -> ! {
    unsafe {
        asm!(
            "int $$0x80",
            "ud2",
            in("eax") linux_raw_sys::general::__NR_exit,
            in("ebx") code,
            options(noreturn, nostack),
        )
    }
}

/// The base address of the TLS slot %gs selects (`get_thread_area` on entry gs >> 3),
/// which is what %gs-relative code reads. `CLONE_SETTLS` fills the slot its `user_desc`
/// names but does not load %gs, so the new base shows here only when that slot is the
/// one %gs already selects (as glibc arranges). 0 when %gs selects no TLS slot.
pub fn read_tls() -> usize {
    let gs: u32;
    let mut desc: linux_raw_sys::general::user_desc = unsafe { core::mem::zeroed() };
    unsafe {
        asm!("mov {:e}, gs", out(reg) gs, options(nomem, nostack, preserves_flags));
        desc.entry_number = gs >> 3;
        let ret: isize;
        asm!(
            "int $$0x80",
            inlateout("eax") linux_raw_sys::general::__NR_get_thread_area as isize => ret,
            in("ebx") &mut desc as *mut _,
            options(nostack, preserves_flags),
        );
        if ret != 0 {
            return 0;
        }
    }
    desc.base_addr as usize
}

/// What to pass as clone3's `tls` so the child's thread pointer lands in `page` (a
/// writable page of the caller's), and the value [`read_tls`] will then show: i386 and
/// ia32 take a `struct user_desc *`, here one for the TLS slot %gs selects, based at
/// `page + 2048`.
///
/// # Safety
/// `page` must be a writable page the caller owns.
pub unsafe fn tls_arg(page: *mut u8) -> (u64, usize) {
    let gs: u32;
    asm!("mov {:e}, gs", out(reg) gs, options(nomem, nostack, preserves_flags));
    let base = page as usize + 2048;
    let mut desc: linux_raw_sys::general::user_desc = core::mem::zeroed();
    desc.entry_number = gs >> 3;
    desc.base_addr = base as u32;
    desc.limit = 0xfffff;
    desc.set_seg_32bit(1);
    desc.set_limit_in_pages(1);
    desc.set_useable(1);
    page.cast::<linux_raw_sys::general::user_desc>().write_unaligned(desc);
    (page as u64, base)
}
