//! Layer 1 of clone3-abi: the raw `clone3` and legacy `clone` entry points for the
//! architecture this crate is compiled for, plus [`ArchProfile`] data for every
//! architecture the model knows (including ones we cannot run, such as ia64).
//!
//! The per-arch files export the same items in the same order, so callers see no
//! `cfg` (the layout follows rustix's `backend/linux_raw/arch/*.rs`):
//! - `NR_CLONE3`, `NR_CLONE`: syscall numbers from `linux-raw-sys`;
//! - `clone3`: fork-like; the child returns 0 on the caller's (copied) stack;
//! - `clone3_on_stack`: the child starts on `stack + stack_size` as the kernel set it,
//!   clears the frame pointer, aligns its stack to 16 and calls `entry(arg, sp)`;
//! - `clone_legacy`: fork-like legacy `clone`, arguments given in one canonical order
//!   and placed in the arch's own order;
//! - `exit_thread`: the raw `exit` syscall (this thread only);
//! - `read_tls`: the thread pointer the child really has;
//! - `tls_arg`: what to pass as `tls` for a thread pointer in a given page.
#![no_std]

mod profile;
pub use profile::{AccessOk, ArchProfile, CloneOrder, StackRule, TlsRule};

/// The uapi `struct clone_args`, exactly as `linux-raw-sys` generates it for this arch.
pub use linux_raw_sys::general::clone_args as CloneArgs;

/// What the child runs after `clone3_on_stack`: `arg` is the caller's pointer, `sp` is the
/// stack pointer the kernel gave the child, read before any alignment.
pub type ChildEntry = unsafe extern "C" fn(arg: *mut core::ffi::c_void, sp: usize) -> !;

#[cfg_attr(target_arch = "x86_64", path = "x86_64.rs")]
#[cfg_attr(target_arch = "x86", path = "x86.rs")]
#[cfg_attr(target_arch = "aarch64", path = "aarch64.rs")]
#[cfg_attr(target_arch = "riscv64", path = "riscv64.rs")]
mod imp;
pub use imp::*;

// The kernel's own BUILD_BUG_ONs: the struct grows by appending, VER0/1/2 mark the ends.
const _: () = {
    use core::mem::{offset_of, size_of};
    use linux_raw_sys::general::{CLONE_ARGS_SIZE_VER0, CLONE_ARGS_SIZE_VER1, CLONE_ARGS_SIZE_VER2};
    assert!(offset_of!(CloneArgs, tls) + 8 == CLONE_ARGS_SIZE_VER0 as usize);
    assert!(offset_of!(CloneArgs, set_tid_size) + 8 == CLONE_ARGS_SIZE_VER1 as usize);
    assert!(offset_of!(CloneArgs, cgroup) + 8 == CLONE_ARGS_SIZE_VER2 as usize);
    assert!(size_of::<CloneArgs>() == CLONE_ARGS_SIZE_VER2 as usize);
};
