//! What a successful clone3 looks like from the child and the caller. The runner measures
//! the fields [`Observe`] names for a case; the model predicts the same fields.

use super::input::{Input, MMAP_MIN_ADDR};
use crate::case::{Ptr, Stack, Tls};
use crate::flags::*;
use crate::Case;
use clone3_arches::{StackRule, TlsRule};
use serde::{Deserialize, Serialize};

/// How the child ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Fate {
    /// It ran our child code and sent its report.
    Reported,
    /// It was killed by this signal before reporting.
    Signaled(i32),
    /// It exited without a report.
    Silent,
    /// Nothing within the timeout: the runner killed it.
    Hung,
}

/// Where the child's first stack pointer was, relative to the stack it was given.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SpAt {
    /// stack + stack_size.
    Top,
    /// stack itself (STACK_GROWSUP, or 5.3.0–5.3.10).
    Base,
    /// Anything else: the offset from `stack`.
    Other(i64),
}

/// One successful clone3 as seen by the child and its caller. Every field is optional:
/// the model fills what it predicts, the runner what it measured.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChildView {
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub fate: Option<Fate>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub sp: Option<SpAt>,
    /// The child's thread pointer equals the requested tls.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub tls_readback: Option<bool>,
    /// The child's tid in its own namespace.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub tid_in_ns: Option<i32>,
    /// clone3's return value in the caller.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub ret_pid: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub parent_tid_written: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub child_tid_written: Option<bool>,
    /// CHILD_CLEARTID cleared the word and woke the futex when the child exited.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub cleartid_woke: Option<bool>,
    /// The child found SIGUSR1's handler (installed by the caller) reset to SIG_DFL.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub handlers_default: Option<bool>,
    /// The child found SIGUSR2 (set to SIG_IGN by the caller) still ignored.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub ignored_kept: Option<bool>,
    /// The returned pidfd answered pidfd_send_signal(0) (and waitid(P_PIDFD) reaped the child).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub pidfd_usable: Option<bool>,
    /// The child found itself in the target cgroup.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub in_cgroup: Option<bool>,
    /// The caller received exit_signal when the child ended.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub exit_signal_seen: Option<bool>,
    /// After the child ended, the caller's SIGCHLD disposition was SIG_IGN (children that
    /// share its handler table can change it).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub caller_sigchld_ignored: Option<bool>,
}

/// Which fields the runner measures for a case: decided by the case alone, so a
/// prediction and an observation always talk about the same things.
#[derive(Clone, Copy, Debug, Default)]
pub struct Observe {
    pub sp: bool,
    pub tls: bool,
    pub tid: bool,
    pub ret_pid: bool,
    pub parent_tid: bool,
    pub child_tid: bool,
    pub cleartid: bool,
    pub handlers: bool,
    pub pidfd: bool,
    pub cgroup: bool,
    /// The caller reaps the child itself (not THREAD, not PARENT) and so sees its signal.
    pub exit_signal: bool,
    /// The child shares the caller's signal handlers (CLONE_SIGHAND).
    pub caller_sigchld: bool,
}

impl Observe {
    pub fn of(c: &Case) -> Self {
        let f = c.flags;
        Self {
            sp: c.stack.is_mapped(),
            tls: f & SETTLS != 0 && c.tls != Tls::None,
            tid: f & NEWPID != 0 || c.set_tid.size > 0,
            ret_pid: c.set_tid.size > u64::from(f & NEWPID != 0),
            parent_tid: f & PARENT_SETTID != 0 && c.parent_tid == Ptr::Valid,
            child_tid: f & CHILD_SETTID != 0 && c.child_tid == Ptr::Valid,
            cleartid: f & CHILD_CLEARTID != 0 && f & VM != 0 && c.child_tid == Ptr::Valid,
            handlers: f & CLEAR_SIGHAND != 0 || c.family() == "sighand",
            pidfd: f & PIDFD != 0 && c.pidfd == Ptr::Valid,
            cgroup: f & INTO_CGROUP != 0 && c.cgroup.is_target(),
            exit_signal: f & (THREAD | PARENT) == 0,
            caller_sigchld: f & SIGHAND != 0,
        }
    }
}

pub(super) fn view(i: &Input) -> ChildView {
    let c = i.case;
    let o = Observe::of(c);
    // Without clone3_stack_validation (5.3.0–5.3.10) `stack` itself was the SP (fa729c4df558):
    // on a grows-down arch the first push lands below the mapping.
    let raw_sp = !i.fixed("clone3_stack_validation");
    let growsup = i.arch.stack == StackRule::GrowsUp;
    let newpid = i.has(NEWPID);
    // A stack that is not memory the runner mapped (a raw value, or the range past the user
    // limit) reaches a child only where nothing refused it: before clone3_stack_validation
    // (review finding 10), where access_ok takes anything (parisc, finding 3), or on x86_64
    // 6.4 – 6.11.5 (finding 2). The SP then points at nothing mapped (or at kernel space): the
    // child faults at its first push. Stack 0 keeps the caller's SP (copy_thread: `if (sp)`).
    let foreign = matches!(c.stack, Stack::Raw { .. } | Stack::PastUserLimit) && i.kernel_stack() != 0;
    let dies = matches!(c.stack, Stack::Unmapped(_)) || foreign || (raw_sp && !growsup && o.sp);
    // A PID-namespace init that shares its handler table with the caller sets SIGCHLD to
    // SIG_IGN for both when it exits, however it exits (exit_notify → forget_original_parent
    // → zap_pid_ns_processes, kernel/pid_namespace.c: "Ignore SIGCHLD causing any terminated
    // children to autoreap"), before do_notify_parent: a SIGCHLD exit signal is then
    // dropped and the child reaped at once. Found by the fuzzer (seed 3, a faulting init).
    let init_shares_handlers = newpid && i.has(SIGHAND);
    let autoreaped = init_shares_handlers && c.exit_signal == crate::case::SIGCHLD || i.has(AUTOREAP);
    if dies {
        // Only the caller's own children are reaped by it, so only theirs show the signal.
        let fate = if i.has(THREAD | PARENT) || autoreaped { Fate::Silent } else { Fate::Signaled(SIGSEGV) };
        // On an x86_64 task whose first push would land in the non-canonical hole (a raw stack
        // between TASK_SIZE_MAX and 2^63 that 6.4 – 6.11.5 let through), the fault is a #SS
        // (SIGBUS) or the return to user mode fails first (SIGSEGV): not predicted. The table's
        // past_user_limit pushes just below the hole, into the unmappable last page: SIGSEGV.
        let sp = if raw_sp { i.kernel_stack() } else { i.kernel_stack().wrapping_add(i.kernel_stack_size()) };
        let push = (sp & !15).wrapping_sub(8);
        let lowest_kernel = 0u64.wrapping_sub(i.env.user_addr_limit + 4096); // the hole is symmetric
        let hole = i.arch.tls == TlsRule::FsBase && (i.env.user_addr_limit + 4096..lowest_kernel).contains(&push);
        // A raw SP inside the user range may land on the caller's memory (copied, or shared
        // with VM) and the child then runs: not predicted either. Found by the i386-native guest
        // fuzzer (seed 31): random values cut to 32 bits put SPs at 0xbf…, the caller's stack.
        let maybe_mapped = foreign && matches!(c.stack, Stack::Raw { .. }) && (MMAP_MIN_ADDR..i.env.user_addr_limit).contains(&push);
        return ChildView { fate: (!(foreign && hole) && !maybe_mapped).then_some(fate), ..Default::default() };
    }
    // (CLONE_AUTOREAP, v7.1, children are reaped by the kernel at exit, too: `autoreaped`.)
    let tid_of = |index: usize| {
        let (tid, at) = i.tid_levels().nth(index)?;
        i.tid_value(tid, at)
    };
    // Native 32-bit kernels from 5.5 truncated flags to unsigned long in copy_sighand and
    // dropped CLEAR_SIGHAND, until fix copy_sighand_u64_flags (04ff48239f46, 6.18 and stable).
    let clear_sighand_lost = i.arch.kernel_long_bits < 64 && !i.fixed("copy_sighand_u64_flags");
    // Before copy_thread_tls (5.5, 5.4.12) arm64, riscv and parisc took CLONE_SETTLS's value
    // from clone()'s argument registers, which clone3 leaves as userspace had them.
    let tls_lost = i.arch.settls_from_clone_regs && !i.fixed("copy_thread_tls");
    ChildView {
        fate: Some(Fate::Reported),
        sp: o.sp.then_some(if growsup || raw_sp { SpAt::Base } else { SpAt::Top }),
        // Through a user_desc only a well-formed one reaches here; every other arch reads
        // back exactly what it was given.
        tls_readback: o.tls.then_some(!tls_lost),
        tid_in_ns: match (o.tid, i.set_tid_size() > 0) {
            (false, _) => None,
            (true, true) => tid_of(0),
            (true, false) => newpid.then_some(1),
        },
        ret_pid: if o.ret_pid { tid_of(usize::from(newpid)) } else { None },
        parent_tid_written: o.parent_tid.then_some(true),
        child_tid_written: o.child_tid.then_some(true),
        cleartid_woke: o.cleartid.then_some(true),
        handlers_default: o.handlers.then_some(i.has(CLEAR_SIGHAND) && !clear_sighand_lost),
        // copy_sighand copies the table; CLEAR_SIGHAND's flush_signal_handlers(tsk, 0)
        // resets handlers but keeps SIG_IGN (kernel/signal.c; gap [12]).
        ignored_kept: o.handlers.then_some(true),
        // An autoreaped child is gone before the caller can signal or wait for it.
        pidfd_usable: (o.pidfd && !autoreaped).then_some(true),
        in_cgroup: o.cgroup.then_some(true),
        exit_signal_seen: o.exit_signal.then_some(c.exit_signal != 0 && !autoreaped),
        caller_sigchld_ignored: o.caller_sigchld.then_some(init_shares_handlers),
    }
}

const SIGSEGV: i32 = linux_raw_sys::general::SIGSEGV as i32;
