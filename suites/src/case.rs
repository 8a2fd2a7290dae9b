//! One clone3 attempt, described symbolically: sizes relative to the page, pointers by
//! where they point, pids by what they are in the sandbox. The runner turns a `Case` into
//! real memory; the model reads the same description.

use arbitrary::Arbitrary;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;

#[derive(Clone, Debug, Serialize)]
pub struct Case {
    /// `family.case`, each segment `[a-z0-9_]`, stable forever (ci-conventions.md).
    pub id: String,
    /// One sentence: what this case checks.
    pub why: &'static str,
    pub size: Size,
    pub placement: Placement,
    pub flags: u64,
    pub exit_signal: u64,
    pub pidfd: Ptr,
    pub child_tid: Ptr,
    pub parent_tid: Ptr,
    pub stack: Stack,
    pub tls: Tls,
    pub set_tid: SetTid,
    pub cgroup: CgroupArg,
    /// Contents past the 88 bytes the kernel knows of today (only read when size > 88).
    pub tail: Tail,
    pub caller: Caller,
    pub needs: &'static [Gate],
}

/// `usize`, the second clone3 argument.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Size {
    Bytes(u64),
    /// PAGE_SIZE + delta (delta may be negative).
    Page(i64),
}

/// Where the `struct clone_args` buffer lies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Placement {
    /// In ordinary readable memory, zero past the fields.
    Mapped,
    Null,
    /// An address with nothing mapped.
    Unmapped,
    /// Readable up to this byte offset, then a PROT_NONE page.
    GuardAt(u64),
}

/// What a user pointer field holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Ptr {
    Null,
    /// A writable word the runner owns.
    Valid,
    /// An address with nothing mapped.
    Unmapped,
    /// The same address as `parent_tid` (for `pidfd`).
    SameAsParentTid,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Stack {
    /// stack = 0, stack_size = 0: the child shares the caller's SP value.
    None,
    /// A mapped, writable stack of this many bytes; the child runs on it.
    Mapped(u64),
    /// A page-aligned address with nothing mapped, below the user address limit.
    Unmapped(u64),
    /// Raw values, for cases the kernel must reject before using them.
    Raw { stack: u64, size: u64 },
    /// A range ending past the arch's user address limit (access_ok fails).
    PastUserLimit,
    /// A mapped, writable stack of this many bytes whose end is exactly the user address
    /// limit (the runner maps the top of the user range); the child runs on it.
    EndsAtUserLimit(u64),
}

impl Stack {
    /// The (stack, stack_size) of `PastUserLimit`: the last page below the limit and one
    /// page beyond it.
    pub fn past_user_limit(user_addr_limit: u64) -> (u64, u64) {
        (user_addr_limit - 4096, 2 * 4096)
    }

    /// The size of the table's `EndsAtUserLimit` stack, which the probe checks it can map.
    pub const TOP_OF_USER_RANGE: u64 = 16 * 1024;

    /// The (stack, stack_size) of `EndsAtUserLimit(n)`.
    pub fn ending_at(user_addr_limit: u64, n: u64) -> (u64, u64) {
        (user_addr_limit - n, n)
    }

    /// The child runs on memory the runner mapped for it.
    pub fn is_mapped(self) -> bool {
        matches!(self, Stack::Mapped(_) | Stack::EndsAtUserLimit(_))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Arbitrary)]
pub enum Tls {
    None,
    /// Address of a page the runner owns (with CLONE_SETTLS the child reads it back).
    Page,
    /// A thread pointer in the runner's page the arch's own way (`arches::tls_arg`): the
    /// address itself, or on i386/ia32 a `struct user_desc` for the slot %gs selects.
    ArchTls,
    Raw(u64),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SetTid {
    pub ptr: Ptr,
    /// `set_tid_size` as written into the struct.
    pub size: u64,
    /// The array, innermost level first; entries past the end are `Tid::Free`.
    pub tids: Cow<'static, [Tid]>,
}

impl SetTid {
    pub const NONE: Self = Self::new(Ptr::Null, 0, &[]);

    pub const fn new(ptr: Ptr, size: u64, tids: &'static [Tid]) -> Self {
        Self { ptr, size, tids: Cow::Borrowed(tids) }
    }

    pub fn tid(&self, index: usize) -> Tid {
        self.tids.get(index).copied().unwrap_or(Tid::Free)
    }
}

/// A pid asked for through set_tid, by what it is at its level.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Tid {
    /// A literal value. The model knows 1 and values outside [1, pid_max).
    Value(i32),
    /// A pid the runner guarantees unused at that level (distinct per array index).
    Free,
    /// The caller's own pid at that level: always taken.
    Own,
    /// pid_max of the entry's level: one past the largest pid valid there.
    PidMax,
    /// pid_max of the initial namespace (/proc/sys/kernel/pid_max on the host): since 6.14
    /// other namespaces have limits of their own, so it may be valid there.
    HostPidMax,
    /// A pid the runner has just used for a child and reaped: free again.
    Freed,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Arbitrary)]
pub enum CgroupArg {
    /// The field is 0.
    None,
    /// An O_DIRECTORY fd of a fresh cgroup2 directory the runner creates and removes.
    Target,
    /// A number that is not an open fd.
    ClosedFd,
    /// An open directory that is not on cgroupfs (`/`).
    NotCgroup,
    /// A directory of a cgroup v1 hierarchy.
    V1Dir,
    Raw(u64),
    /// The target opened with O_PATH (cgroup_css_set_fork takes it with fget_raw).
    TargetPath,
    /// An fd of the target's `cgroup.procs` file: on cgroupfs, but no directory.
    ProcsFile,
    /// A cgroup directory the runner removed (rmdir) after opening it.
    Removed,
    /// A cgroup with a domain controller enabled in its `cgroup.subtree_control` (the
    /// no-internal-process rule); needs [`Gate::CgroupDomainController`].
    Busy,
    /// A cgroup whose `cgroup.procs` is mode 0444: only CAP_DAC_OVERRIDE may write it.
    NotWritable,
    /// A writable cgroup whose parent's `cgroup.procs` is mode 0444, and the caller moved
    /// into a sibling of it first: that parent is the common ancestor whose `cgroup.procs`
    /// the migration must be allowed to write. Only `Caller::NoCaps` moves (the worker
    /// passes the fd from where it is).
    AncestorNotWritable,
}

impl CgroupArg {
    /// A cgroup2 directory of the run's that a child may really be put in.
    pub fn is_target(self) -> bool {
        matches!(self, CgroupArg::Target | CgroupArg::TargetPath)
    }

    /// One of the run's own cgroup2 directories (or a file in one): the case needs them.
    pub fn is_runs(self) -> bool {
        matches!(
            self,
            CgroupArg::Target
                | CgroupArg::TargetPath
                | CgroupArg::ProcsFile
                | CgroupArg::Removed
                | CgroupArg::Busy
                | CgroupArg::NotWritable
                | CgroupArg::AncestorNotWritable
        )
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Tail {
    Zero,
    /// One non-zero byte at this offset (at or past 88).
    NonZeroAt(u64),
}

/// Who calls clone3.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Caller {
    /// The suite's worker process.
    Worker,
    /// A child of the worker that dropped every capability (same uid).
    NoCaps,
    /// A child of the worker started with CLONE_AUTOREAP (v7.1), with the worker's
    /// capabilities; needs [`Gate::AutoreapedCaller`].
    Autoreaped,
    /// A child of the worker that unshared a user namespace of its own and maps itself to
    /// root there: every capability in it, none in the initial one; needs [`Gate::OwnUserNs`].
    UserNs,
    /// The same, with `user.max_user_namespaces` and `user.max_pid_namespaces` set to 0 in
    /// its namespace (review finding 13, gap [16]).
    UserNsWithoutRoom,
}

impl Caller {
    /// Calls from a user namespace of its own (whose root it is).
    pub fn owns_user_ns(self) -> bool {
        matches!(self, Caller::UserNs | Caller::UserNsWithoutRoom)
    }
}

/// What a case needs from the machine; without it the case is SKIPped with the reason.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Gate {
    /// The privileged PID-namespace sandbox, whose pid levels the suite owns.
    PidSandbox,
    /// A cgroup2 mount we may create directories in.
    Cgroup2,
    /// A mounted cgroup v1 hierarchy.
    CgroupV1,
    /// A domain controller (memory, io, ...) enabled in the `cgroup.subtree_control` of the
    /// cgroup the run starts in, so that a cgroup of the run's can enable it in turn.
    CgroupDomainController,
    /// The task can map the last bytes below the user address limit: not an ia32 task on
    /// an x86_64 kernel (the limit is the 64-bit TASK_SIZE_MAX), nor an arm64 kernel built
    /// for 52-bit VAs on a CPU with 48 (`Env::user_range_top`).
    UserRangeTop,
    /// CLONE_AUTOREAP (v7.1), to start a `Caller::Autoreaped`.
    AutoreapedCaller,
    /// User namespaces and a root worker, to start a `Caller::UserNs*`.
    OwnUserNs,
}

impl Gate {
    pub fn reason(self) -> &'static str {
        match self {
            Gate::PidSandbox => "needs CAP_SYS_ADMIN (runs in the suite's PID-namespace sandbox)",
            Gate::Cgroup2 => "needs a writable cgroup2 mount and CAP_SYS_ADMIN",
            Gate::CgroupV1 => "needs a mounted cgroup v1 hierarchy",
            Gate::CgroupDomainController => {
                "needs a domain controller (memory, io, hugetlb, rdma or misc) enabled in the cgroup.subtree_control of \
                 the cgroup the run starts in (the run changes no cgroup it did not make)"
            }
            Gate::UserRangeTop => "needs the last page below the user address limit inside the task's own address space",
            Gate::AutoreapedCaller => "needs CLONE_AUTOREAP (v7.1) to start its caller with",
            Gate::OwnUserNs => "needs CAP_SYS_ADMIN and user namespaces (its caller unshares one and maps itself there)",
        }
    }
}

impl Case {
    /// The defaults every table row starts from: a valid VER2 struct, flags 0,
    /// exit_signal SIGCHLD, nothing else.
    pub fn base(id: impl Into<String>, why: &'static str) -> Self {
        Self {
            id: id.into(),
            why,
            size: Size::Bytes(88),
            placement: Placement::Mapped,
            flags: 0,
            exit_signal: SIGCHLD,
            pidfd: Ptr::Null,
            child_tid: Ptr::Null,
            parent_tid: Ptr::Null,
            stack: Stack::None,
            tls: Tls::None,
            set_tid: SetTid::NONE,
            cgroup: CgroupArg::None,
            tail: Tail::Zero,
            caller: Caller::Worker,
            needs: &[],
        }
    }

    pub fn family(&self) -> &str {
        self.id.split('.').next().unwrap_or("")
    }

    pub fn usize(&self, page_size: u64) -> u64 {
        match self.size {
            Size::Bytes(n) => n,
            Size::Page(d) => (page_size as i64 + d) as u64,
        }
    }
}

pub const SIGCHLD: u64 = linux_raw_sys::general::SIGCHLD as u64;
