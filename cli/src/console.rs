//! The agent's console protocol: what a guest prints and how the host reads it back.
//! The agent's structured lines carry every observation home; the host recomputes the
//! predictions and verdicts with the same model, so no verdict is ever parsed from text.
//!
//! ```text
//! <<<clone3-abi:begin v1>>>
//! C3 {"taint_before":0}
//! C3 {"header":{"arch":"aarch64","uname":"6.12.57+deb13-arm64","env":{…},"cases":304}}
//! C3 {"running":{"from":0,"to":8}}
//! C3 {"case":{"index":0,"id":"size.zero","observed":{"err":"EINVAL"}}}
//! …
//! C3 {"taint_after":0}
//! <<<clone3-abi:end v1>>>
//! ```
//! Other lines (printk, KTAP for console readers) may come between; only `C3 ` lines count
//! as records. Kernel trouble is read from the printk lines, placed by the records around it.

use crate::runner::Observed;
use clone3_suites::Env;
use serde::{Deserialize, Serialize};

pub const BEGIN: &str = "<<<clone3-abi:begin v1>>>";
pub const END: &str = "<<<clone3-abi:end v1>>>";
const PREFIX: &str = "C3 ";

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Header {
    pub arch: String,
    pub uname: String,
    pub env: Env,
    pub cases: usize,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CaseLine {
    pub index: usize,
    pub id: String,
    pub observed: Option<Observed>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Record {
    Header(Header),
    Case(CaseLine),
    /// The guest cannot test (clone3 missing, setup failed): why.
    CannotTest(String),
    /// The agent starts the cases `from..to` (indices) and reports them when they are done:
    /// kernel trouble that appears before the next such record happened during these.
    Running { from: usize, to: usize },
    /// `/proc/sys/kernel/tainted` before the cases (`None`: unreadable in this guest).
    TaintBefore(Option<u64>),
    /// The same after the cases.
    TaintAfter(Option<u64>),
    /// The agent itself panicked (a bug in clone3-abi, not the kernel's): the message.
    AgentPanic(String),
}

pub fn line(r: &Record) -> String {
    format!("{PREFIX}{}", serde_json::to_string(r).expect("serializable"))
}

/// What a guest's console said.
#[derive(Debug, Default)]
pub struct Transcript {
    pub header: Option<Header>,
    pub cases: Vec<CaseLine>,
    pub cannot_test: Option<String>,
    pub agent_panic: Option<String>,
    pub taint_before: Option<Option<u64>>,
    pub taint_after: Option<Option<u64>>,
    pub began: bool,
    pub ended: bool,
    /// Kernel trouble (panic, oops, BUG, WARNING, lockups, stalls, OOM kills) quoted as
    /// seen, with where in the agent's run it appeared.
    pub crashes: Vec<Crash>,
    /// `C3 ` lines that did not parse: console garbage, never a verdict.
    pub garbage: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Crash {
    pub line: String,
    pub at: Stage,
}

/// Where on the console a crash line appeared.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Stage {
    /// Before the agent's begin marker: the kernel had not reached the agent.
    Boot,
    /// After the begin marker, before the agent's header: while the agent set up and probed.
    Setup,
    /// While the cases ran: the cases the agent last said it was running (if it said),
    /// and the last case whose record had arrived.
    Cases { running: Option<(usize, usize)>, after: Option<usize> },
    /// After the agent's end marker (while the guest shut down).
    Shutdown,
    /// After the agent reported its own panic: the kernel's reaction to it, not the cases'.
    AfterAgentPanic,
}

/// Console lines that mean the kernel is in trouble. LAVA's list
/// (lava_dispatcher/utils/messages.py) and the other reports the kernel prints when it
/// detects a bug in itself: `BUG:` in every form (KASAN, KFENCE, soft lockup, sleeping in
/// atomic, bad page state…), UBSAN, hung tasks, RCU stalls, OOM kills.
const CRASH_PATTERNS: &[&str] = &[
    "Kernel panic - not syncing",
    "Oops",
    "kernel BUG at",
    "BUG:",
    "WARNING:",
    "[ cut here ]",
    "Unable to handle kernel",
    "general protection fault",
    "UBSAN:",
    "soft lockup",
    "hard LOCKUP",
    "blocked for more than",
    "detected stall",
    "Out of memory: Killed process",
    "out of memory: Killed process",
];

/// A crash line, as opposed to a user-space fault the kernel reports (x86 prints
/// `traps: prog[pid] general protection fault ip:… sp:…` for a case's child that takes
/// a #GP on purpose) or one of our own records.
fn is_crash(l: &str) -> bool {
    if l.contains(PREFIX) {
        return false;
    }
    CRASH_PATTERNS.iter().any(|p| l.contains(p)) && !(l.contains("general protection fault") && l.contains(" ip:"))
}

impl Transcript {
    /// The first crash line at a stage `wanted` accepts, preferring an informative line to
    /// the `[ cut here ]` banner that opens a WARN.
    pub fn first_crash(&self, wanted: impl Fn(&Stage) -> bool) -> Option<&Crash> {
        let mut at = self.crashes.iter().filter(|c| wanted(&c.at));
        let first = at.clone().next()?;
        Some(if first.line.contains("[ cut here ]") { at.find(|c| !c.line.contains("[ cut here ]")).unwrap_or(first) } else { first })
    }
}

pub fn parse(text: &str) -> Transcript {
    let mut t = Transcript::default();
    let mut running = None;
    for raw in text.lines() {
        let l = raw.trim_end_matches('\r');
        if is_crash(l) {
            let at = if t.agent_panic.is_some() {
                Stage::AfterAgentPanic
            } else if !t.began {
                Stage::Boot
            } else if t.ended {
                Stage::Shutdown
            } else if t.header.is_none() {
                Stage::Setup
            } else {
                Stage::Cases { running, after: t.cases.last().map(|c| c.index) }
            };
            t.crashes.push(Crash { line: l.chars().take(200).collect(), at });
        }
        if l.ends_with(BEGIN) {
            t.began = true;
            continue;
        }
        if l.ends_with(END) && t.began {
            t.ended = true;
            continue;
        }
        if !t.began || t.ended {
            continue;
        }
        let Some(json) = l.find(PREFIX).map(|i| &l[i + PREFIX.len()..]) else { continue };
        match serde_json::from_str::<Record>(json) {
            Ok(Record::Header(h)) => t.header = Some(h),
            Ok(Record::Case(c)) => t.cases.push(c),
            Ok(Record::CannotTest(why)) => t.cannot_test = Some(why),
            Ok(Record::Running { from, to }) => running = Some((from, to)),
            Ok(Record::TaintBefore(v)) => t.taint_before = Some(v),
            Ok(Record::TaintAfter(v)) => t.taint_after = Some(v),
            Ok(Record::AgentPanic(why)) => t.agent_panic = Some(why),
            Err(_) => t.garbage.push(l.chars().take(120).collect()),
        }
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_records_between_markers_and_ignores_noise() {
        let text = format!(
            "[    0.1] booting\nC3 {{\"cannot_test\":\"before begin: ignored\"}}\n{BEGIN}\n[    1.0] random: crng init done\n{}\nC3 {{\"case\":{{\"index\":0,\"id\":\"size.zero\",\"observed\":{{\"err\":\"EINVAL\"}}}}}}\n{END}\n",
            line(&Record::CannotTest("x".into()))
        );
        let t = parse(&text);
        assert!(t.began && t.ended);
        assert_eq!(t.cases.len(), 1);
        assert_eq!(t.cannot_test.as_deref(), Some("x"));
        assert!(t.garbage.is_empty() && t.crashes.is_empty());
    }

    #[test]
    fn every_kind_of_kernel_trouble_is_a_crash_line() {
        for l in [
            "[   12.3] watchdog: BUG: soft lockup - CPU#0 stuck for 22s! [clone3-abi:57]",
            "[    3.1] BUG: sleeping function called from invalid context at kernel/fork.c:1234",
            "[    3.1] BUG: scheduling while atomic: clone3-abi/57/0x00000002",
            "[    3.1] BUG: KFENCE: out-of-bounds read in copy_process+0x1c/0x2000",
            "[    3.1] BUG: Bad page state in process clone3-abi  pfn:1234",
            "[    3.1] UBSAN: shift-out-of-bounds in kernel/fork.c:2900:12",
            "[  243.0] INFO: task clone3-abi:57 blocked for more than 120 seconds.",
            "[   30.0] rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:",
            "[   30.0] rcu: INFO: rcu_sched self-detected stall on CPU",
            "[    9.9] Out of memory: Killed process 57 (clone3-abi) total-vm:1000kB",
            "[    9.9] Memory cgroup out of memory: Killed process 57 (clone3-abi)",
            "[    3.1] Oops: general protection fault, probably for non-canonical address 0xdead: 0000 [#1] PREEMPT SMP NOPTI",
            "[    3.1] general protection fault: 0000 [#1] SMP",
            "[    3.1] Internal error: Oops: 0000000096000004 [#1] SMP",
            "[    3.1] Unable to handle kernel NULL pointer dereference at virtual address 0000000000000000",
            "[    3.1] kernel BUG at kernel/fork.c:42!",
            "[    3.1] WARNING: CPU: 0 PID: 57 at kernel/fork.c:2290 copy_process+0x1c/0x2000",
            "[    3.1] ------------[ cut here ]------------",
            "[    3.1] Kernel panic - not syncing: Fatal exception",
            "[    3.1] NMI watchdog: Watchdog detected hard LOCKUP on cpu 0",
        ] {
            assert!(is_crash(l), "{l}");
        }
        for l in [
            "[    3.1] traps: clone3-abi[57] general protection fault ip:401000 sp:7ffd0 error:0 in clone3-abi[401000+1000]",
            "[    3.1] clone3-abi[57]: segfault at 0 ip 0000000000401000 sp 0000000000000000 error 6",
            "C3 {\"case\":{\"index\":0,\"id\":\"x\",\"observed\":{\"not_run\":\"BUG: in a reason\"}}}",
            "[    1.0] random: crng init done",
        ] {
            assert!(!is_crash(l), "{l}");
        }
    }

    #[test]
    fn a_crash_line_knows_where_in_the_run_it_appeared() {
        let case = |i: usize| line(&Record::Case(CaseLine { index: i, id: format!("c{i}"), observed: None }));
        let text = [
            "BUG: at boot".to_string(),
            BEGIN.into(),
            "WARNING: in setup".into(),
            line(&Record::Header(Header { arch: "x86_64".into(), uname: "u".into(), env: Env::sandboxed_root(clone3_suites::Release::new(6, 12, 117), &clone3_arches::ArchProfile::X86_64), cases: 3 })),
            "WARNING: before any record".into(),
            line(&Record::Running { from: 0, to: 2 }),
            case(0),
            "Oops: in the batch".into(),
            END.into(),
            "Kernel panic - not syncing: at shutdown".into(),
        ]
        .join("\n");
        let t = parse(&text);
        let at: Vec<_> = t.crashes.iter().map(|c| c.at.clone()).collect();
        assert_eq!(
            at,
            [
                Stage::Boot,
                Stage::Setup,
                Stage::Cases { running: None, after: None },
                Stage::Cases { running: Some((0, 2)), after: Some(0) },
                Stage::Shutdown
            ]
        );
        let after_panic = parse(&format!("{BEGIN}\n{}\nKernel panic - not syncing: Attempted to kill init!", line(&Record::AgentPanic("x".into()))));
        assert_eq!(after_panic.agent_panic.as_deref(), Some("x"));
        assert_eq!(after_panic.crashes[0].at, Stage::AfterAgentPanic);
    }

    #[test]
    fn a_warn_is_quoted_by_its_warning_line_not_the_banner() {
        let t = parse(&format!("{BEGIN}\n------------[ cut here ]------------\nWARNING: CPU: 0 PID: 1 at kernel/fork.c:1 f\n"));
        assert_eq!(t.first_crash(|_| true).unwrap().line, "WARNING: CPU: 0 PID: 1 at kernel/fork.c:1 f");
        let t = parse("------------[ cut here ]------------\n");
        assert!(t.first_crash(|_| true).unwrap().line.contains("cut here"));
        assert!(t.first_crash(|s| *s != Stage::Boot).is_none());
    }

    #[test]
    fn taint_and_agent_records_round_trip() {
        let text = [BEGIN.to_string(), line(&Record::TaintBefore(Some(0))), line(&Record::TaintAfter(None)), END.into()].join("\n");
        let t = parse(&text);
        assert_eq!((t.taint_before, t.taint_after), (Some(Some(0)), Some(None)));
    }

    #[test]
    fn truncated_or_garbled_output_is_noticed() {
        let t = parse(&format!("{BEGIN}\nC3 {{\"case\":{{\"index\":0,\"id\":\nKernel panic - not syncing: Attempted to kill init!\n"));
        assert!(t.began && !t.ended);
        assert_eq!(t.garbage.len(), 1);
        assert_eq!(t.crashes.len(), 1);
    }
}
