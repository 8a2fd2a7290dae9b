//! The memory a case's pointers point into, mapped once per worker: the args buffer with a
//! guard page after it, words for pidfd/child_tid/parent_tid and the set_tid array, a TLS
//! page, a PROT_NONE hole for "unmapped" pointers (it faults just as unmapped memory does, and
//! nothing else can be mapped there meanwhile), and the child's stack.

use rustix::mm::{mmap_anonymous, mprotect, MapFlags, MprotectFlags, ProtFlags};

/// Pages of args buffer before the guard page: usize up to PAGE_SIZE reaches memory (a
/// larger one is refused first), so two pages hold any struct plus its placement.
const ARGS_PAGES: usize = 2;

fn page() -> usize {
    rustix::param::page_size()
}
pub const STACK_BYTES: usize = 256 * 1024;

pub struct Arena {
    base: usize,
    len: usize,
    pub args: usize,
    /// First byte of the guard page after the args buffer.
    pub args_end: usize,
    pub words: usize,
    pub tls: usize,
    pub hole: usize,
    pub stack: Stack,
}

/// A stack region; replaced (never reused) when a child we cannot wait for may still be on it.
pub struct Stack {
    /// One past the highest usable byte; a guard page lies below the region.
    pub high: usize,
}

/// Word slots in the words page. Every pointer the runner hands the kernel has a non-zero
/// low byte, so a usize that copies only part of a pointer still copies a non-zero value
/// (the model relies on it: `Input::byte_nonzero`).
pub const W_PIDFD: usize = 0x10;
pub const W_CHILD_TID: usize = 0x20;
pub const W_PARENT_TID: usize = 0x30;
pub const W_SET_TID: usize = 0x40;
/// Offset into the PROT_NONE hole of an "unmapped" pointer.
pub const HOLE_PTR: usize = 0x40;

impl Arena {
    pub fn new() -> rustix::io::Result<Self> {
        // args | guard | words | tls | hole
        let page = page();
        // The hole is big enough to be an "unmapped stack" of any size the tables use.
        let hole_len = STACK_BYTES + page;
        let len = (ARGS_PAGES + 3) * page + hole_len;
        // SAFETY: a fresh anonymous mapping owned by this arena.
        let base = unsafe { mmap_anonymous(core::ptr::null_mut(), len, ProtFlags::READ | ProtFlags::WRITE, MapFlags::PRIVATE)? } as usize;
        let args_end = base + ARGS_PAGES * page;
        let hole = args_end + 3 * page;
        unsafe {
            mprotect(args_end as *mut _, page, MprotectFlags::empty())?;
            mprotect(hole as *mut _, hole_len, MprotectFlags::empty())?;
        }
        Ok(Self { base, len, args: base, args_end, words: args_end + page, tls: args_end + 2 * page, hole, stack: Stack::new()? })
    }

    /// Zeroes the args buffer and the TLS page, and sets every word slot to -1 (so a
    /// write is visible).
    pub fn reset(&mut self) {
        unsafe {
            core::ptr::write_bytes(self.args as *mut u8, 0, self.args_end - self.args);
            core::ptr::write_bytes(self.tls as *mut u8, 0, page());
            core::ptr::write_bytes(self.words as *mut u8, 0xff, page());
        }
    }

    pub fn word(&self, slot: usize) -> *mut i32 {
        (self.words + slot) as *mut i32
    }

    /// Forget the stack (a thread may still be on it) and map a new one.
    pub fn replace_stack(&mut self) -> rustix::io::Result<()> {
        self.stack = Stack::new()?;
        Ok(())
    }
}

impl Stack {
    fn new() -> rustix::io::Result<Self> {
        // SAFETY: fresh anonymous mapping; a guard page below catches overflows.
        let page = page();
        let low = unsafe {
            mmap_anonymous(core::ptr::null_mut(), STACK_BYTES + page, ProtFlags::READ | ProtFlags::WRITE, MapFlags::PRIVATE)?
        } as usize;
        unsafe { mprotect(low as *mut _, page, MprotectFlags::empty())? };
        Ok(Self { high: low + page + STACK_BYTES })
    }
}

impl Drop for Arena {
    fn drop(&mut self) {
        unsafe {
            let _ = rustix::mm::munmap(self.base as *mut _, self.len);
        }
    }
}
