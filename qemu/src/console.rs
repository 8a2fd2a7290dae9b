//! The agent's console protocol: what a guest prints and how the host reads it back.
//! The agent's structured lines carry every observation home; the host recomputes the
//! predictions and verdicts with the same model, so no verdict is ever parsed from text.
//!
//! ```text
//! <<<clone3-abi:begin v1>>>
//! C3 0d1e2a9b {"taint_before":0}
//! C3 5f0c77e1 {"header":{"arch":"aarch64","uname":"6.12.57+deb13-arm64","env":{…},"cases":304}}
//! C3 9a3b2c4d {"running":{"from":0,"to":8}}
//! C3 77aa0c12 {"case":{"index":0,"id":"size.zero","observed":{"err":"EINVAL"}}}
//! …
//! C3 c0ffee00 {"taint_after":0}
//! C3 1b2c3d4e {"phases":[["probe",81234],["model",67012],["cases",1718301],["report",111204]]}
//! C3 2c3d4e5f {"timing":{"start":30125,"families":[["size",41234,40],…],"slowest":[["ns.no_caps_plain",16020],…]}}
//! <<<clone3-abi:end v1>>>
//! ```
//! Other lines (printk, KTAP for console readers) may come between; only `C3 ` lines count
//! as records. Kernel trouble is read from the printk lines, placed by the records around it.
//!
//! The kernel's console writes do not wait for a user-space line to end: a printk can land
//! inside a record (seen in CI: `C3 {…}clocksource: timekeeping watchdog …`, the record's
//! newline after it). So each record carries the CRC-32 of its JSON (`C3 <crc> {…}`): the
//! host takes the first JSON value on the line, and where that is not the whole record it
//! joins the line's head to the next line at each cut point until the CRC says which cut
//! the kernel made; what was cut out is read as console text like any other.

use clone3_runner::Observed;
use clone3_suites::Env;
use serde::{Deserialize, Serialize};

pub const BEGIN: &str = "<<<clone3-abi:begin v1>>>";
pub const END: &str = "<<<clone3-abi:end v1>>>";
/// On the kernel command line: the agent powers off at once, running nothing (the floor
/// `clone3-abi bench --qemu` measures).
pub const FLOOR: &str = "clone3abi.floor=1";
const FUZZ: &str = "clone3abi.fuzz=";
const SEED: &str = "clone3abi.seed=";

/// On the kernel command line: seeded fuzzing instead of the tables, `iterations` inputs
/// from `seed` (the host regenerates the same inputs from the seed).
pub fn fuzz_arg(iterations: u64, seed: u64) -> String {
    format!("{FUZZ}{iterations} {SEED}{seed}")
}

/// The agent's side of [`fuzz_arg`]: the request on `cmdline`, if there is one.
pub fn fuzz_request(cmdline: &str) -> Option<(u64, u64)> {
    let get = |key: &str| cmdline.split_whitespace().find_map(|w| w.strip_prefix(key)).and_then(|v| v.parse().ok());
    Some((get(FUZZ)?, get(SEED).unwrap_or(0)))
}
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

/// Where the cases' time went in the guest, by the agent's clock: each case counts from the
/// previous case's report to its own, so its share of the agent's console printing is in
/// it too. A round's first case is in `start` instead, with the sandbox's start that comes
/// before it. Microseconds.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timing {
    /// From each round's start to its first report, summed: the sandbox and that case.
    pub start: u64,
    /// Per family in table order: its total and how many of its cases ran.
    pub families: Vec<(String, u64, usize)>,
    /// The slowest cases, slowest first.
    pub slowest: Vec<(String, u64)>,
}

impl Timing {
    /// How many cases `slowest` names.
    pub const SLOWEST: usize = 8;

    /// From `start` and each case's id and time (`None`: it did not run, or it was a
    /// round's first).
    pub fn of<'a>(start: u64, cases: impl IntoIterator<Item = (&'a str, Option<u64>)>) -> Self {
        let mut t = Timing { start, ..Timing::default() };
        let mut all = Vec::new();
        for (id, us) in cases {
            let Some(us) = us else { continue };
            let family = id.split('.').next().unwrap_or("");
            match t.families.iter_mut().find(|f| f.0 == family) {
                Some(f) => (f.1, f.2) = (f.1 + us, f.2 + 1),
                None => t.families.push((family.to_string(), us, 1)),
            }
            all.push((id.to_string(), us));
        }
        all.sort_by_key(|(_, us)| std::cmp::Reverse(*us));
        all.truncate(Self::SLOWEST);
        t.slowest = all;
        t
    }
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
    /// The agent runs the cases `from..to` and streams each one's record as soon as it is
    /// done (with those of the cases after it that never run): kernel trouble is then in the
    /// case after the last record.
    Streaming { from: usize, to: usize },
    /// `/proc/sys/kernel/tainted` before the cases (`None`: unreadable in this guest).
    TaintBefore(Option<u64>),
    /// The same after the cases.
    TaintAfter(Option<u64>),
    /// The agent itself panicked (a bug in clone3-abi, not the kernel's): the message.
    AgentPanic(String),
    /// How long each part of the agent's run took, in microseconds of the guest's
    /// CLOCK_MONOTONIC, in order (`clone3-abi bench --qemu` prints them).
    Phases(Vec<(String, u64)>),
    /// The cases' time by family, and the slowest cases (`clone3-abi bench --qemu` prints it).
    Timing(Timing),
}

pub fn line(r: &Record) -> String {
    let json = serde_json::to_string(r).expect("serializable");
    format!("{PREFIX}{:08x} {json}", crc32fast::hash(json.as_bytes()))
}

/// Does a console line start a case record (for counting them as they arrive)?
pub fn is_case_record(l: &[u8]) -> bool {
    let Some(rest) = l.strip_prefix(PREFIX.as_bytes()) else { return false };
    let json = match rest.get(8) {
        Some(b' ') if rest[..8].iter().all(u8::is_ascii_hexdigit) => &rest[9..],
        _ => rest,
    };
    json.starts_with(b"{\"case\"")
}

/// A record line's text after the prefix: the CRC it claims (`None`: a line without one, as
/// hand-written test consoles have) and the JSON that follows.
fn split_crc(rest: &str) -> (Option<u32>, &str) {
    match rest.split_once(' ') {
        Some((crc, json)) if crc.len() == 8 => match u32::from_str_radix(crc, 16) {
            Ok(c) => (Some(c), json),
            Err(_) => (None, rest),
        },
        _ => (None, rest),
    }
}

/// The first JSON value of `text` as a record whose CRC is `crc` (any, without one), and
/// the text after it.
fn first_record(text: &str, crc: Option<u32>) -> Option<(Record, &str)> {
    let mut values = serde_json::Deserializer::from_str(text).into_iter::<serde_json::Value>();
    values.next()?.ok()?;
    let end = values.byte_offset();
    let json = &text[..end];
    if crc.is_some_and(|c| c != crc32fast::hash(json.as_bytes())) {
        return None;
    }
    Some((serde_json::from_str(json).ok()?, &text[end..]))
}

/// A record a printk cut in two: `head` (the record's start, then the kernel's text) and
/// `next` (the record's end). The cut whose join has the record's CRC; with it, the text
/// the kernel put in.
fn rejoin<'a>(head: &'a str, next: &str, crc: u32) -> Option<(Record, &'a str, String)> {
    let cuts = head.char_indices().map(|(i, _)| i).chain([head.len()]).rev();
    cuts.filter(|&i| i > 0).find_map(|i| {
        let joined = format!("{}{next}", &head[..i]);
        let (r, after) = first_record(&joined, Some(crc))?;
        Some((r, &head[i..], after.to_string()))
    })
}

/// How many lines a cut record may wait for its end (a printk is one line; a burst of them
/// can be a few).
const REJOIN_LINES: usize = 4;

/// What a guest's console said.
#[derive(Debug, Default)]
pub struct Transcript {
    pub header: Option<Header>,
    pub cases: Vec<CaseLine>,
    pub cannot_test: Option<String>,
    pub agent_panic: Option<String>,
    pub taint_before: Option<Option<u64>>,
    pub taint_after: Option<Option<u64>>,
    pub phases: Vec<(String, u64)>,
    pub timing: Option<Timing>,
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
    /// A `C3 ` line (or a record's head) that did not parse, kept short.
    fn garbage(&mut self, text: &str) {
        self.garbage.push(text.chars().take(120).collect());
    }

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
    let mut streaming = false;
    // A record cut by a printk: its head, its CRC, and the lines seen since.
    let mut cut: Option<(String, u32, usize)> = None;
    let mut lines: std::collections::VecDeque<String> = text.lines().map(|l| l.trim_end_matches('\r').to_string()).collect();
    while let Some(l) = lines.pop_front() {
        if let Some((head, crc, waited)) = cut.take() {
            match rejoin(&head, &l, crc) {
                Some((r, kernel, after)) => {
                    // The record goes first, then what the kernel said inside it, then the rest.
                    push_unread(&mut lines, &after);
                    lines.push_front(kernel.to_string());
                    take(&mut t, (&mut running, &mut streaming), r);
                    continue;
                }
                None if waited + 1 < REJOIN_LINES => cut = Some((head, crc, waited + 1)),
                None => t.garbage(&head),
            }
        }
        if is_crash(&l) {
            let at = if t.agent_panic.is_some() {
                Stage::AfterAgentPanic
            } else if !t.began {
                Stage::Boot
            } else if t.ended {
                Stage::Shutdown
            } else if t.header.is_none() {
                Stage::Setup
            } else {
                let after = t.cases.last().map(|c| c.index);
                let running = match (running, streaming) {
                    (Some((from, to)), true) => {
                        let next = after.map_or(from, |a| a + 1).max(from);
                        Some((next, (next + 1).min(to)))
                    }
                    (r, _) => r,
                };
                Stage::Cases { running, after }
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
        let Some(rest) = l.find(PREFIX).map(|i| &l[i + PREFIX.len()..]) else { continue };
        let (crc, json) = split_crc(rest);
        match (first_record(json, crc), crc) {
            (Some((r, after)), _) => {
                // A printk that began where the record ended, before its newline.
                push_unread(&mut lines, after);
                take(&mut t, (&mut running, &mut streaming), r);
            }
            (None, Some(c)) => {
                if let Some((older, _, _)) = cut.replace((json.to_string(), c, 0)) {
                    t.garbage(&older);
                }
            }
            (None, None) => t.garbage(&l),
        }
    }
    if let Some((head, _, _)) = cut {
        t.garbage(&head);
    }
    t
}

/// Text after a record on its line, to be read next as a console line of its own.
fn push_unread(lines: &mut std::collections::VecDeque<String>, after: &str) {
    if !after.trim().is_empty() {
        lines.push_front(after.to_string());
    }
}

/// Files a record into the transcript and the parse's state: the cases running, and whether
/// their records stream.
fn take(t: &mut Transcript, (running, streaming): (&mut Option<(usize, usize)>, &mut bool), r: Record) {
    match r {
        Record::Header(h) => t.header = Some(h),
        Record::Case(c) => t.cases.push(c),
        Record::CannotTest(why) => t.cannot_test = Some(why),
        Record::Running { from, to } => (*running, *streaming) = (Some((from, to)), false),
        Record::Streaming { from, to } => (*running, *streaming) = (Some((from, to)), true),
        Record::TaintBefore(v) => t.taint_before = Some(v),
        Record::TaintAfter(v) => t.taint_after = Some(v),
        Record::AgentPanic(why) => t.agent_panic = Some(why),
        Record::Phases(p) => t.phases = p,
        Record::Timing(timing) => t.timing = Some(timing),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case_line(index: usize, id: &str) -> String {
        line(&Record::Case(CaseLine { index, id: id.into(), observed: Some(Observed::from_errno(22)) }))
    }

    #[test]
    fn a_printk_inside_a_record_is_cut_out_and_read_as_console_text() {
        let rec = case_line(17, "size.page_nonzero_last_word");
        let kernel = "clocksource: timekeeping watchdog on CPU0: Marking clocksource 'tsc' as unstable";
        // At the end, before the record's newline (seen in CI), and at every cut inside it,
        // string values included; one of them a kernel WARNING, which must still count.
        let mut consoles = vec![format!("{BEGIN}\n{rec}{kernel}\n\n{END}\n")];
        for cut in (PREFIX.len() + 10..rec.len()).step_by(7) {
            consoles.push(format!("{BEGIN}\n{}{kernel}\n{}\n{END}\n", &rec[..cut], &rec[cut..]));
        }
        let warn = "WARNING: CPU: 0 PID: 1 at kernel/fork.c:1 copy_process+0x1/0x2";
        consoles.push(format!("{BEGIN}\n{}{warn}\nrandom: crng init done\n{}\n{END}\n", &rec[..40], &rec[40..]));
        for text in &consoles {
            let t = parse(text);
            assert!(t.garbage.is_empty(), "{text}: {:?}", t.garbage);
            assert_eq!(t.cases.len(), 1, "{text}");
            assert_eq!((t.cases[0].index, t.cases[0].id.as_str()), (17, "size.page_nonzero_last_word"), "{text}");
        }
        let t = parse(consoles.last().unwrap());
        assert_eq!(t.crashes.len(), 1, "{:?}", t.crashes);
        assert!(t.crashes[0].line.starts_with("WARNING:"), "{:?}", t.crashes);
    }

    #[test]
    fn case_records_are_counted_with_and_without_a_crc() {
        assert!(is_case_record(case_line(0, "size.zero").as_bytes()));
        assert!(is_case_record(b"C3 {\"case\":{}}"));
        assert!(!is_case_record(line(&Record::TaintAfter(Some(0))).as_bytes()));
        assert!(!is_case_record(b"[ 1.0] C3 {\"case\":{}}"));
    }

    #[test]
    fn a_record_whose_end_never_comes_is_garbage() {
        let rec = case_line(3, "size.ver0");
        let t = parse(&format!("{BEGIN}\n{}kernel text\nmore\n{}\n{END}\n", &rec[..30], case_line(4, "size.ver1")));
        assert_eq!(t.cases.len(), 1);
        assert_eq!(t.garbage.len(), 1, "{:?}", t.garbage);
        // A CRC that does not match is never taken, however well the JSON parses.
        let forged = rec.replacen("size.ver0", "size.ver2", 1);
        let t = parse(&format!("{BEGIN}\n{forged}\n{END}\n"));
        assert!(t.cases.is_empty() && t.garbage.len() == 1, "{t:?}");
    }

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
        let phases = vec![("probe".to_string(), 81_234), ("cases".to_string(), 1_718_301)];
        let timing = Timing::of(30_000, [("size.zero", None), ("ns.plain", Some(16_000))]);
        let text = [
            BEGIN.to_string(),
            line(&Record::TaintBefore(Some(0))),
            line(&Record::TaintAfter(None)),
            line(&Record::Phases(phases.clone())),
            line(&Record::Timing(timing.clone())),
            END.into(),
        ]
        .join("\n");
        let t = parse(&text);
        assert_eq!((t.taint_before, t.taint_after), (Some(Some(0)), Some(None)));
        assert_eq!(t.phases, phases);
        assert_eq!(t.timing, Some(timing));
        assert!(t.garbage.is_empty() && t.ended);
    }

    #[test]
    fn timing_sums_families_in_table_order_and_names_the_slowest_cases() {
        let mut cases = vec![("size.zero", Some(100)), ("flags.alone_newnet", Some(20_000)), ("size.ver0", Some(3_000)), ("size.skipped", None)];
        let many: Vec<String> = (0..Timing::SLOWEST as u64 + 2).map(|i| format!("tid.case{i}")).collect();
        cases.extend(many.iter().zip(1..).map(|(id, us)| (id.as_str(), Some(us))));
        let t = Timing::of(0, cases);
        assert_eq!(&t.families[..2], &[("size".to_string(), 3_100, 2), ("flags".to_string(), 20_000, 1)]);
        assert_eq!(t.families[2], ("tid".to_string(), (1..=Timing::SLOWEST as u64 + 2).sum(), Timing::SLOWEST + 2));
        assert_eq!(t.slowest.len(), Timing::SLOWEST);
        assert_eq!(t.slowest[0], ("flags.alone_newnet".to_string(), 20_000));
        assert_eq!(t.slowest[1], ("size.ver0".to_string(), 3_000));
        assert!(t.slowest.windows(2).all(|w| w[0].1 >= w[1].1));
    }

    #[test]
    fn a_fuzz_request_reads_back_from_the_kernel_command_line() {
        let cmdline = format!("console=ttyS0 panic=-1 loglevel=7 {}", fuzz_arg(3000, 31));
        assert_eq!(fuzz_request(&cmdline), Some((3000, 31)));
        assert_eq!(fuzz_request("console=ttyS0 clone3abi.fuzz=5"), Some((5, 0)));
        assert_eq!(fuzz_request("console=ttyS0 clone3abi.floor=1"), None);
    }

    #[test]
    fn truncated_or_garbled_output_is_noticed() {
        let t = parse(&format!("{BEGIN}\nC3 {{\"case\":{{\"index\":0,\"id\":\nKernel panic - not syncing: Attempted to kill init!\n"));
        assert!(t.began && !t.ended);
        assert_eq!(t.garbage.len(), 1);
        assert_eq!(t.crashes.len(), 1);
    }
}
