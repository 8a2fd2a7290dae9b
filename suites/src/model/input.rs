//! The facts the rules read, derived once from a case and its environment: what the
//! kernel sees in each field after copying `usize` bytes of a `ksize`-byte struct.

use crate::case::{CgroupArg, Placement, Ptr, Stack, Tail, Tid, Tls};
use crate::{Case, Env, Release};
use clone3_arches::ArchProfile;

/// Below this nothing of a process's is ever mapped (vm.mmap_min_addr, Debian's default;
/// the kernel's own is 4096): a raw address here is known to fault. Between it and the user
/// address limit a raw address may land on the caller's memory, which the model cannot know.
pub(super) const MMAP_MIN_ADDR: u64 = 0x10000;

pub struct Input<'a> {
    pub case: &'a Case,
    pub env: &'a Env,
    pub arch: &'a ArchProfile,
    pub usize: u64,
    /// sizeof(struct clone_args) in this release.
    pub ksize: u64,
}

/// Where a set_tid entry lands: `index` 0 is the child's innermost namespace.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TidAt {
    pub index: usize,
    /// The case has CLONE_NEWPID: index 0 is a new namespace, index 1 the caller's.
    pub newpid: bool,
}

impl TidAt {
    /// The level is a namespace this clone creates: no reaper, no pids taken.
    pub fn new_ns(self) -> bool {
        self.newpid && self.index == 0
    }

    /// How many levels above the caller's own this entry lands (0 = the caller's
    /// namespace); `None` for the new namespace.
    pub fn above_caller(self) -> Option<usize> {
        self.index.checked_sub(usize::from(self.newpid))
    }
}

/// The struct's 8-byte words in field order (include/uapi/linux/sched.h).
pub const WORD_FLAGS: u64 = 0;
pub const WORD_SET_TID: u64 = 8;
pub const WORD_SET_TID_SIZE: u64 = 9;
pub const WORD_CGROUP: u64 = 10;

impl<'a> Input<'a> {
    pub fn new(case: &'a Case, env: &'a Env, arch: &'a ArchProfile) -> Self {
        Self { case, env, arch, usize: case.usize(env.page_size), ksize: ksize(env) }
    }

    pub fn release(&self) -> Release {
        self.env.release
    }

    /// Does the kernel have this fix ([`super::fixes::FIXES`], overrides included)?
    pub fn fixed(&self, name: &str) -> bool {
        self.env.has(name)
    }

    /// `user.max_user_namespaces` where the caller is (Caller::UserNsWithoutRoom set it to 0).
    pub fn max_user_namespaces(&self) -> Option<u64> {
        if self.case.caller == crate::Caller::UserNsWithoutRoom { Some(0) } else { self.env.kernel.max_user_namespaces }
    }

    /// `user.max_*_namespaces` where the caller is, per kind (`pid` is 0 for
    /// Caller::UserNsWithoutRoom).
    pub fn ns_limits(&self) -> crate::NsLimits {
        let mut l = self.env.kernel.max_namespaces;
        if self.case.caller == crate::Caller::UserNsWithoutRoom {
            l.pid = Some(0);
        }
        l
    }

    /// Does the kernel have this feature ([`super::fixes::FEATURES`])?
    pub fn feature(&self, name: &str) -> bool {
        self.env.has_feature(name)
    }

    /// Bytes of the buffer that can be read before a fault.
    pub fn readable(&self) -> u64 {
        match self.case.placement {
            Placement::Mapped => u64::MAX,
            Placement::Null | Placement::Unmapped => 0,
            Placement::GuardAt(n) => n,
        }
    }

    /// Is byte `b` of the user buffer non-zero (as the runner writes it)? Fields are
    /// little-endian (all our arches). Pointers are symbolic, but the runner places every
    /// one at an address whose low byte is non-zero, and nothing depends on the others.
    pub fn byte_nonzero(&self, b: u64) -> bool {
        let c = self.case;
        let (w, k) = (b / 8, b % 8);
        let pointer = |p: Ptr| p != Ptr::Null && k == 0;
        let number = |v: u64| (v >> (8 * k)) & 0xff != 0;
        match w {
            0 => number(c.flags),
            1 => pointer(c.pidfd),
            2 => pointer(c.child_tid),
            3 => pointer(c.parent_tid),
            4 => number(c.exit_signal),
            5 => number(self.stack_value()),
            6 => number(self.stack_size()),
            7 => number(self.tls_value()),
            8 => pointer(c.set_tid.ptr),
            9 => number(c.set_tid.size),
            10 => number(self.cgroup_value()),
            _ => c.tail == Tail::NonZeroAt(b),
        }
    }

    /// How many bytes of word `w` the kernel copies (0–8): a usize that is not a whole
    /// number of words copies the low bytes of the last one.
    pub fn copied_bytes(&self, w: u64) -> u64 {
        self.usize.min(self.ksize).saturating_sub(8 * w).min(8)
    }

    pub fn copied(&self, w: u64) -> bool {
        self.copied_bytes(w) == 8
    }

    /// Which address a pointer field holds, as far as equality goes: the runner gives every
    /// `Valid` field a word of its own, every `Unmapped` one the same unmapped address, and
    /// `SameAsParentTid` whatever parent_tid holds.
    pub fn pointer_id(&self, p: Ptr, field: Field) -> (Ptr, Option<Field>) {
        match p {
            Ptr::Null | Ptr::Unmapped => (p, None),
            Ptr::Valid => (p, Some(field)),
            Ptr::SameAsParentTid => self.pointer_id(self.case.parent_tid, Field::ParentTid),
        }
    }

    /// The kernel's view of a numeric field: the copied low bytes of `v`.
    fn copied_value(&self, w: u64, v: u64) -> u64 {
        match self.copied_bytes(w) {
            8 => v,
            n => v & ((1u64 << (8 * n)) - 1),
        }
    }

    /// The kernel's view of a flag-like field: the value if copied, else 0.
    pub fn flags(&self) -> u64 {
        let f = if self.copied(WORD_FLAGS) { self.case.flags } else { 0 };
        // v7.1 kernel_clone: CLONE_EMPTY_MNTNS implies CLONE_NEWNS.
        if self.feature("empty_mntns") && f & crate::flags::EMPTY_MNTNS != 0 {
            f | crate::flags::NEWNS
        } else {
            f
        }
    }

    pub fn has(&self, flag: u64) -> bool {
        self.flags() & flag != 0
    }

    pub fn set_tid_size(&self) -> u64 {
        self.copied_value(WORD_SET_TID_SIZE, self.case.set_tid.size)
    }

    /// A pointer survives a partial copy: its low byte is non-zero (see byte_nonzero).
    pub fn set_tid_ptr(&self) -> Ptr {
        if self.copied_bytes(WORD_SET_TID) > 0 { self.case.set_tid.ptr } else { Ptr::Null }
    }

    /// The cgroup field as the kernel sees it.
    pub fn kernel_cgroup(&self) -> u64 {
        self.copied_value(WORD_CGROUP, self.cgroup_value())
    }

    /// The cgroup field as written: fds the runner opens are small (3 stands for them),
    /// and its "closed fd" is 2^30 + 1 (above any fs.nr_open, low byte non-zero).
    pub fn cgroup_value(&self) -> u64 {
        match self.case.cgroup {
            CgroupArg::Raw(v) => v,
            CgroupArg::None => 0,
            CgroupArg::ClosedFd => CLOSED_FD,
            CgroupArg::Target
            | CgroupArg::NotCgroup
            | CgroupArg::V1Dir
            | CgroupArg::TargetPath
            | CgroupArg::ProcsFile
            | CgroupArg::Removed
            | CgroupArg::Busy
            | CgroupArg::NotWritable
            | CgroupArg::AncestorNotWritable => 3,
        }
    }

    /// A value as struct kernel_clone_args holds it: cut to the kernel's unsigned long.
    fn kernel_long(&self, v: u64) -> u64 {
        if self.arch.kernel_long_bits >= 64 { v } else { v & ((1u64 << self.arch.kernel_long_bits) - 1) }
    }

    /// stack, stack_size and tls as the kernel holds them (the `*_value` functions are what
    /// the runner writes, which the tail and zero checks read).
    pub fn kernel_stack(&self) -> u64 {
        self.kernel_long(self.stack_value())
    }

    pub fn kernel_stack_size(&self) -> u64 {
        self.kernel_long(self.stack_size())
    }

    pub fn kernel_tls(&self) -> u64 {
        self.kernel_long(self.tls_value())
    }

    pub fn tls_value(&self) -> u64 {
        match self.case.tls {
            Tls::None => 0,
            Tls::Page | Tls::ArchTls => 0x1000_0000, // some page-aligned user address
            Tls::Raw(v) => v,
        }
    }

    pub fn stack_value(&self) -> u64 {
        match self.case.stack {
            Stack::None => 0,
            Stack::Raw { stack, .. } => stack,
            Stack::Mapped(_) | Stack::Unmapped(_) => 0x1000_0000, // some mapped-range address
            Stack::PastUserLimit => Stack::past_user_limit(self.env.user_addr_limit).0,
            Stack::EndsAtUserLimit(n) => Stack::ending_at(self.env.user_addr_limit, n).0,
        }
    }

    pub fn stack_size(&self) -> u64 {
        match self.case.stack {
            Stack::None => 0,
            Stack::Raw { size, .. } => size,
            Stack::Mapped(n) | Stack::Unmapped(n) => n,
            Stack::PastUserLimit => Stack::past_user_limit(self.env.user_addr_limit).1,
            Stack::EndsAtUserLimit(n) => n,
        }
    }

    /// The set_tid entries the kernel will read, with where each lands.
    pub fn tid_levels(&self) -> impl Iterator<Item = (Tid, TidAt)> + '_ {
        let newpid = self.has(crate::flags::NEWPID);
        (0..self.set_tid_size() as usize)
            .map(move |i| (self.case.set_tid.tid(i), TidAt { index: i, newpid }))
    }

    /// The level of the child's innermost PID namespace.
    pub fn child_level(&self) -> u32 {
        self.env.pid_level + u32::from(self.has(crate::flags::NEWPID))
    }

    /// The value the runner writes for a set_tid entry (the model and the runner agree
    /// on these choices; see `Tid`).
    pub fn tid_value(&self, tid: Tid, at: TidAt) -> Option<i32> {
        resolve_tid(tid, at, self.env, self.arch)
    }

    /// The level (0 = initial namespace) a set_tid entry lands on.
    pub fn level_of(&self, at: TidAt) -> i64 {
        i64::from(self.child_level()) - at.index as i64
    }

}

/// The pointer fields, for telling which addresses are equal.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Field {
    Pidfd,
    ChildTid,
    ParentTid,
    SetTid,
}

/// The fd number the runner passes as a closed cgroup fd.
pub const CLOSED_FD: u64 = (1 << 30) + 1;

/// sizeof(struct clone_args) in a kernel: VER0 from 5.3, VER1 with the set_tid feature (5.5),
/// VER2 with into_cgroup (5.7). Nothing has been appended since (shstk_token is not merged).
pub fn ksize(env: &Env) -> u64 {
    if env.has_feature("into_cgroup") {
        88
    } else if env.has_feature("set_tid") {
        80
    } else {
        64
    }
}

/// The pid value for a set_tid entry. `Own` is the caller's own pid at that level,
/// which the runner probes (NSpid) into `env`; `Free`/`Freed` are picked in the upper half
/// of pid_max, far from the sequentially allocated pids of a run. The runner writes
/// exactly these values.
pub fn resolve_tid(tid: Tid, at: TidAt, env: &Env, arch: &ArchProfile) -> Option<i32> {
    let spare = env.pid_max / 2 + 2 * at.index as i32;
    let level = i64::from(env.pid_level) + i64::from(at.newpid) - at.index as i64;
    Some(match tid {
        Tid::Value(v) => v,
        Tid::Free => spare,
        Tid::Freed => spare + 1,
        Tid::PidMax => level_pid_max(env, arch, level),
        Tid::HostPidMax => env.pid_max,
        Tid::Own => own_pid(env, at.above_caller()?)?,
    })
}

/// pid_max as alloc_pid checks it at a level. Before 6.14 one global limit. 7863dcc72d0f4
/// "pid: allow pid_max to be set per pid namespace" (6.14) gave each namespace its own,
/// and "pid: Do not set pid_max in new pid namespaces" (Koutný, March 2025) starts new
/// namespaces at PID_MAX_LIMIT instead of the parent's value. Seen on 6.18: pid 32768 is
/// accepted in a child namespace when the host's pid_max is 32768. The second patch is in
/// vfs-6.14-rc6.fixes, so in 6.14 final too (model-vs-kernel.md): both are the feature
/// pid_max_per_ns.
pub fn level_pid_max(env: &Env, arch: &ArchProfile, level: i64) -> i32 {
    if level > 0 && env.has_feature("pid_max_per_ns") { arch.pid_max_limit } else { env.pid_max }
}

/// In the sandbox the worker is pid 2 in its namespace and pid 3 in the parent one
/// (runner::sandbox starts init, init, worker in that order), and those two levels are
/// the suite's own: every other pid there is the suite's children's.
pub const SANDBOX_OWN_PIDS: [i32; 2] = [2, 3];

fn own_pid(env: &Env, above_caller: usize) -> Option<i32> {
    env.pid_sandbox.then(|| SANDBOX_OWN_PIDS.get(above_caller).copied()).flatten()
}
