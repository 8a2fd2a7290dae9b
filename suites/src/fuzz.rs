//! Structure-aware fuzz inputs: one [`FuzzInput`] describes a whole clone3 attempt in the
//! terms the tables use (size classes, symbolic pointers, meaningful flags plus raw bits,
//! set_tid arrays of symbolic pids), so every input has a prediction from the model. The
//! same type feeds libFuzzer (`fuzz_targets/`) and the seeded mode (`clone3-abi fuzz`),
//! whose bytes come from SHA-256 in counter mode: the same seed gives the same inputs on
//! every architecture.

use crate::case::{Caller, Case, CgroupArg, Gate, Placement, Ptr, SetTid, Size, Stack, Tail, Tid, Tls};
use crate::flags::*;
use arbitrary::{Arbitrary, Unstructured};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::borrow::Cow;

/// Field by field: mostly the common, valid value, sometimes anything (see the
/// `Arbitrary` impl), so inputs get past the first checks and reach real children.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FuzzInput {
    pub size: SizeClass,
    pub args_at: ArgsAt,
    pub flags: Vec<FlagPick>,
    pub exit_signal: SignalPick,
    pub pidfd: Where,
    pub child_tid: Where,
    pub parent_tid: Where,
    pub stack: StackPick,
    pub tls: Tls,
    pub set_tid: SetTidPick,
    pub cgroup: CgroupPick,
    /// A non-zero byte at 88 + n (only read when usize is larger).
    pub tail: Option<u8>,
    pub no_caps: bool,
}

/// The cgroup fields the fuzzer asks for: `CgroupArg`'s first six, in its order, so that
/// the same bytes decode to the same inputs as before the table's cgroup cases of
/// 2026-12-03 (the seeded campaigns in the README stay what they say).
#[derive(Arbitrary, Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CgroupPick {
    None,
    Target,
    ClosedFd,
    NotCgroup,
    V1Dir,
    Raw(u64),
}

impl CgroupPick {
    fn arg(self) -> CgroupArg {
        match self {
            CgroupPick::None => CgroupArg::None,
            CgroupPick::Target => CgroupArg::Target,
            CgroupPick::ClosedFd => CgroupArg::ClosedFd,
            CgroupPick::NotCgroup => CgroupArg::NotCgroup,
            CgroupPick::V1Dir => CgroupArg::V1Dir,
            CgroupPick::Raw(v) => CgroupArg::Raw(v),
        }
    }

    fn of(arg: CgroupArg) -> Option<Self> {
        Some(match arg {
            CgroupArg::None => CgroupPick::None,
            CgroupArg::Target => CgroupPick::Target,
            CgroupArg::ClosedFd => CgroupPick::ClosedFd,
            CgroupArg::NotCgroup => CgroupPick::NotCgroup,
            CgroupArg::V1Dir => CgroupPick::V1Dir,
            CgroupArg::Raw(v) => CgroupPick::Raw(v),
            _ => return None,
        })
    }
}

#[derive(Arbitrary, Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Known {
    Zero,
    Ver0,
    Ver1,
    Ver2,
    Page,
}

#[derive(Arbitrary, Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SizeClass {
    Exact(Known),
    PlusOne(Known),
    MinusOne(Known),
    /// Whole words past a known size (1–16).
    PlusWords(Known, u8),
    MinusWords(Known, u8),
    Huge(u64),
}

#[derive(Arbitrary, Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ArgsAt {
    Mapped,
    Null,
    Unmapped,
    /// A guard page after this many words.
    GuardAfterWords(u8),
}

#[derive(Arbitrary, Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FlagPick {
    /// One of the named flags (index into `MEANINGFUL`).
    Named(u8),
    /// A combination libraries use.
    Combo(u8),
    /// Any bit 0–63.
    RawBit(u8),
}

/// The flags worth drawing most often.
const MEANINGFUL: &[u64] = &[
    VM, FS, FILES, SIGHAND, PIDFD, PTRACE, VFORK, PARENT, THREAD, NEWNS, SYSVSEM, SETTLS, PARENT_SETTID,
    CHILD_CLEARTID, DETACHED, UNTRACED, CHILD_SETTID, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET, IO,
    CLEAR_SIGHAND, INTO_CGROUP, NEWTIME, AUTOREAP, NNP, PIDFD_AUTOKILL, EMPTY_MNTNS,
];
const COMBOS: &[u64] = &[
    THREAD | SIGHAND | VM,
    THREAD | SIGHAND | VM | FS | FILES | SYSVSEM | PARENT_SETTID | CHILD_CLEARTID,
    VFORK | VM,
    NEWUSER | NEWPID,
    NEWPID | NEWNS,
    PIDFD | PARENT_SETTID,
    NEWNS | FS,
    NEWIPC | SYSVSEM,
];

#[derive(Arbitrary, Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SignalPick {
    Zero,
    Sigchld,
    /// 1–64 (SIGKILL and SIGSTOP become SIGCHLD: they would hit the caller).
    Valid(u8),
    Raw(u64),
}

#[derive(Arbitrary, Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Where {
    Valid,
    Null,
    Unmapped,
    /// For pidfd: the parent_tid word.
    SameAsParentTid,
}

#[derive(Arbitrary, Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum StackPick {
    None,
    /// A mapped stack of 8 KiB × (1 + n % 32).
    Mapped(u8),
    Unmapped,
    PastUserLimit,
    Raw(u64, u64),
}

#[derive(Arbitrary, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetTidPick {
    pub ptr: Where,
    /// set_tid_size = n % 40 (past MAX_PID_NS_LEVEL on purpose).
    pub size: u8,
    pub tids: Vec<TidPick>,
}

#[derive(Arbitrary, Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TidPick {
    Zero,
    MinusOne,
    One,
    Two,
    Free,
    Own,
    PidMax,
    HostPidMax,
    Freed,
}

/// `common` with probability `num/den`, else anything of the type.
fn mostly<'a, T: Arbitrary<'a>>(u: &mut Unstructured<'a>, num: u8, den: u8, common: T) -> arbitrary::Result<T> {
    if u.ratio(num, den)? { Ok(common) } else { T::arbitrary(u) }
}

impl<'a> Arbitrary<'a> for FuzzInput {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        let nflags = u.int_in_range(0..=3)?;
        let mut flags = Vec::new();
        for _ in 0..nflags {
            let named = FlagPick::Named(u8::arbitrary(u)?);
            flags.push(mostly(u, 3, 4, named)?);
        }
        let set_tid = if u.ratio(2, 3)? {
            SetTidPick { ptr: Where::Null, size: 0, tids: Vec::new() }
        } else {
            let small = u.int_in_range(1..=3)?;
            SetTidPick { ptr: mostly(u, 7, 8, Where::Valid)?, size: mostly(u, 3, 4, small)?, tids: Vec::arbitrary(u)? }
        };
        Ok(Self {
            size: mostly(u, 7, 8, SizeClass::Exact(Known::Ver2))?,
            args_at: mostly(u, 9, 10, ArgsAt::Mapped)?,
            flags,
            exit_signal: mostly(u, 3, 4, SignalPick::Sigchld)?,
            pidfd: mostly(u, 3, 4, Where::Valid)?,
            child_tid: mostly(u, 3, 4, Where::Valid)?,
            parent_tid: mostly(u, 3, 4, Where::Valid)?,
            stack: mostly(u, 2, 3, StackPick::None)?,
            tls: mostly(u, 3, 4, Tls::Page)?,
            set_tid,
            cgroup: mostly(u, 5, 6, CgroupPick::None)?,
            tail: mostly(u, 9, 10, None)?,
            no_caps: u.ratio(1, 10)?,
        })
    }
}

impl FuzzInput {
    /// Decodes raw fuzzer bytes; `None` when they run out before a whole input.
    pub fn from_bytes(data: &[u8]) -> Option<Self> {
        Self::arbitrary(&mut Unstructured::new(data)).ok()
    }

    /// The `index`th input of a seeded run.
    pub fn seeded(seed: u64, index: u64) -> Self {
        let mut bytes = Vec::with_capacity(512);
        for block in 0u64..16 {
            let mut h = Sha256::new();
            h.update(seed.to_le_bytes());
            h.update(index.to_le_bytes());
            h.update(block.to_le_bytes());
            bytes.extend_from_slice(&h.finalize());
        }
        Self::arbitrary(&mut Unstructured::new(&bytes)).expect("512 bytes always make an input")
    }

    /// A stable id: `fuzz.` and 16 hex digits of the input's SHA-256.
    pub fn id(&self) -> String {
        let json = serde_json::to_vec(self).expect("serializable");
        let digest = Sha256::digest(&json);
        format!("fuzz.{}", digest.iter().take(8).map(|b| format!("{b:02x}")).collect::<String>())
    }

    /// The case this input describes, made safe to run. The runner can only survive a
    /// child that shares its memory, its thread group or a new TLS if that child has a
    /// stack of its own, and can only wait for a thread through CHILD_CLEARTID; so those
    /// are added (and listed by [`FuzzInput::adjustments`]), never silently.
    pub fn to_case(&self) -> Case {
        let mut flags = self.flags.iter().fold(0u64, |f, p| {
            f | match *p {
                FlagPick::Named(i) => MEANINGFUL[i as usize % MEANINGFUL.len()],
                FlagPick::Combo(i) => COMBOS[i as usize % COMBOS.len()],
                FlagPick::RawBit(b) => 1 << (b % 64),
            }
        });
        let mut stack = match self.stack {
            StackPick::None => Stack::None,
            StackPick::Mapped(n) => Stack::Mapped(8192 * (1 + u64::from(n % 32))),
            StackPick::Unmapped => Stack::Unmapped(65536),
            StackPick::PastUserLimit => Stack::PastUserLimit,
            StackPick::Raw(s, n) => Stack::Raw { stack: s, size: n },
        };
        let mut child_tid = own_word(self.child_tid);
        if flags & (VM | THREAD | SIGHAND | SETTLS) != 0 && !matches!(stack, Stack::Mapped(_)) {
            // An unmapped stack only kills the child, unless it is a thread of ours.
            if flags & THREAD != 0 || !matches!(stack, Stack::Unmapped(_)) {
                stack = Stack::Mapped(65536);
            }
        }
        if flags & THREAD != 0 {
            flags |= CHILD_CLEARTID;
            child_tid = Ptr::Valid;
        }
        let exit_signal = match self.exit_signal {
            SignalPick::Zero => 0,
            SignalPick::Sigchld => crate::case::SIGCHLD,
            SignalPick::Valid(n) => match u64::from(n % 64) + 1 {
                9 | 19 => crate::case::SIGCHLD,
                s => s,
            },
            SignalPick::Raw(v) if v == 9 || v == 19 => crate::case::SIGCHLD,
            SignalPick::Raw(v) => v,
        };
        let tids: Vec<Tid> = self.set_tid.tids.iter().map(|t| tid(*t)).collect();
        let set_tid = SetTid { ptr: own_word(self.set_tid.ptr), size: u64::from(self.set_tid.size % 40), tids: Cow::Owned(tids) };
        let cgroup = self.cgroup.arg();
        let needs: &'static [Gate] = match (set_tid.size > 0 || set_tid.ptr != Ptr::Null, cgroup) {
            (true, CgroupArg::Target) => &[Gate::PidSandbox, Gate::Cgroup2],
            (true, CgroupArg::V1Dir) => &[Gate::PidSandbox, Gate::CgroupV1],
            (true, _) => &[Gate::PidSandbox],
            (false, CgroupArg::Target) => &[Gate::Cgroup2],
            (false, CgroupArg::V1Dir) => &[Gate::CgroupV1],
            (false, _) => &[],
        };
        Case {
            id: self.id(),
            why: "fuzz input",
            size: size(self.size),
            placement: match self.args_at {
                ArgsAt::Mapped => Placement::Mapped,
                ArgsAt::Null => Placement::Null,
                ArgsAt::Unmapped => Placement::Unmapped,
                ArgsAt::GuardAfterWords(w) => Placement::GuardAt(8 * u64::from(w % 24)),
            },
            flags,
            exit_signal,
            pidfd: ptr(self.pidfd),
            child_tid,
            parent_tid: own_word(self.parent_tid),
            stack,
            tls: self.tls,
            set_tid,
            cgroup,
            tail: self.tail.map_or(Tail::Zero, |n| Tail::NonZeroAt(88 + u64::from(n % 64))),
            caller: if self.no_caps { Caller::NoCaps } else { Caller::Worker },
            needs,
        }
    }

    /// The input closest to a table case, for the libFuzzer seed corpus; `None` where the
    /// fuzz vocabulary cannot say it (an odd size, a literal pid it does not know).
    pub fn from_case(c: &Case) -> Option<Self> {
        let known = [(Known::Ver0, 64i64), (Known::Ver1, 80), (Known::Ver2, 88)];
        let near = |k: Known, d: i64| -> Option<SizeClass> {
            match d {
                0 => Some(SizeClass::Exact(k)),
                1 => Some(SizeClass::PlusOne(k)),
                -1 => Some(SizeClass::MinusOne(k)),
                d if d % 8 == 0 && (8..=128).contains(&d) => Some(SizeClass::PlusWords(k, (d / 8 - 1) as u8)),
                d if d % 8 == 0 && (-128..=-8).contains(&d) => Some(SizeClass::MinusWords(k, (-d / 8 - 1) as u8)),
                _ => None,
            }
        };
        let size = match c.size {
            Size::Bytes(0) => SizeClass::Exact(Known::Zero),
            Size::Bytes(n) if n >= 1 << 20 => SizeClass::Huge(n),
            Size::Bytes(n) => known.iter().find_map(|&(k, base)| near(k, n as i64 - base))?,
            Size::Page(d) => near(Known::Page, d)?,
        };
        let back = |p: Ptr| match p {
            Ptr::Valid => Where::Valid,
            Ptr::Null => Where::Null,
            Ptr::Unmapped => Where::Unmapped,
            Ptr::SameAsParentTid => Where::SameAsParentTid,
        };
        let tids = c
            .set_tid
            .tids
            .iter()
            .map(|t| match t {
                Tid::Value(0) => Some(TidPick::Zero),
                Tid::Value(-1) => Some(TidPick::MinusOne),
                Tid::Value(1) => Some(TidPick::One),
                Tid::Value(2) => Some(TidPick::Two),
                Tid::Value(_) => None,
                Tid::Free => Some(TidPick::Free),
                Tid::Own => Some(TidPick::Own),
                Tid::PidMax => Some(TidPick::PidMax),
                Tid::HostPidMax => Some(TidPick::HostPidMax),
                Tid::Freed => Some(TidPick::Freed),
            })
            .collect::<Option<Vec<_>>>()?;
        Some(Self {
            size,
            args_at: match c.placement {
                Placement::Mapped => ArgsAt::Mapped,
                Placement::Null => ArgsAt::Null,
                Placement::Unmapped => ArgsAt::Unmapped,
                Placement::GuardAt(n) if n % 8 == 0 && n / 8 < 24 => ArgsAt::GuardAfterWords((n / 8) as u8),
                Placement::GuardAt(_) => return None,
            },
            flags: (0..64).filter(|b| c.flags & (1 << b) != 0).map(FlagPick::RawBit).collect(),
            exit_signal: match c.exit_signal {
                0 => SignalPick::Zero,
                s if s == crate::case::SIGCHLD => SignalPick::Sigchld,
                s @ 1..=64 => SignalPick::Valid((s - 1) as u8),
                s => SignalPick::Raw(s),
            },
            pidfd: back(c.pidfd),
            child_tid: back(c.child_tid),
            parent_tid: back(c.parent_tid),
            stack: match c.stack {
                Stack::None => StackPick::None,
                Stack::Mapped(n) => StackPick::Mapped((n / 8192).clamp(1, 32) as u8 - 1),
                Stack::Unmapped(_) => StackPick::Unmapped,
                Stack::PastUserLimit => StackPick::PastUserLimit,
                Stack::EndsAtUserLimit(_) => return None,
                Stack::Raw { stack, size } => StackPick::Raw(stack, size),
            },
            tls: c.tls,
            set_tid: SetTidPick { ptr: back(c.set_tid.ptr), size: c.set_tid.size.min(39) as u8, tids },
            cgroup: CgroupPick::of(c.cgroup)?,
            tail: match c.tail {
                Tail::Zero => None,
                Tail::NonZeroAt(off) if (88..152).contains(&off) => Some((off - 88) as u8),
                Tail::NonZeroAt(_) => return None,
            },
            no_caps: match c.caller {
                Caller::Worker => false,
                Caller::NoCaps => true,
                Caller::Autoreaped | Caller::UserNs | Caller::UserNsWithoutRoom => return None,
            },
        })
    }

    /// What `to_case` changed so the runner survives it, in words (for reproducers).
    pub fn adjustments(&self) -> Vec<&'static str> {
        let case = self.to_case();
        let mut out = Vec::new();
        let raw_flags: u64 = case.flags & !CHILD_CLEARTID;
        let asked_stack = !matches!(self.stack, StackPick::Mapped(_));
        if raw_flags & (VM | THREAD | SIGHAND | SETTLS) != 0 && asked_stack && matches!(case.stack, Stack::Mapped(_)) {
            out.push("given a mapped 64 KiB stack (CLONE_VM/THREAD/SIGHAND/SETTLS child)");
        }
        if case.flags & THREAD != 0 {
            out.push("CLONE_CHILD_CLEARTID with a valid child_tid added (a thread is waited for through it)");
        }
        if matches!(self.exit_signal, SignalPick::Valid(n) if matches!(n % 64 + 1, 9 | 19))
            || matches!(self.exit_signal, SignalPick::Raw(9 | 19))
        {
            out.push("exit_signal SIGKILL/SIGSTOP replaced by SIGCHLD (it would hit the caller)");
        }
        out
    }
}

fn ptr(w: Where) -> Ptr {
    match w {
        Where::Valid => Ptr::Valid,
        Where::Null => Ptr::Null,
        Where::Unmapped => Ptr::Unmapped,
        Where::SameAsParentTid => Ptr::SameAsParentTid,
    }
}

/// Only pidfd may name the parent_tid word; for the others it means their own word.
fn own_word(w: Where) -> Ptr {
    match ptr(w) {
        Ptr::SameAsParentTid => Ptr::Valid,
        p => p,
    }
}

fn tid(t: TidPick) -> Tid {
    match t {
        TidPick::Zero => Tid::Value(0),
        TidPick::MinusOne => Tid::Value(-1),
        TidPick::One => Tid::Value(1),
        TidPick::Two => Tid::Value(2),
        TidPick::Free => Tid::Free,
        TidPick::Own => Tid::Own,
        TidPick::PidMax => Tid::PidMax,
        TidPick::HostPidMax => Tid::HostPidMax,
        TidPick::Freed => Tid::Freed,
    }
}

fn size(s: SizeClass) -> Size {
    let base = |k: Known| match k {
        Known::Zero => Size::Bytes(0),
        Known::Ver0 => Size::Bytes(64),
        Known::Ver1 => Size::Bytes(80),
        Known::Ver2 => Size::Bytes(88),
        Known::Page => Size::Page(0),
    };
    let shift = |k: Known, d: i64| match base(k) {
        Size::Bytes(n) => Size::Bytes((n as i64 + d).max(0) as u64),
        Size::Page(p) => Size::Page(p + d),
    };
    match s {
        SizeClass::Exact(k) => base(k),
        SizeClass::PlusOne(k) => shift(k, 1),
        SizeClass::MinusOne(k) => shift(k, -1),
        SizeClass::PlusWords(k, n) => shift(k, 8 * (1 + i64::from(n % 16))),
        SizeClass::MinusWords(k, n) => shift(k, -8 * (1 + i64::from(n % 16))),
        SizeClass::Huge(n) => Size::Bytes(n | (1 << 20)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{predict, Env, Expect, Release};
    use clone3_arches::ArchProfile;

    const PINNED_SEED_7: [&str; 3] = ["fuzz.c1ad574662a77387", "fuzz.12454ae05fd0d9ae", "fuzz.a691fea282ca4b72"];

    #[test]
    fn the_same_seed_gives_the_same_inputs() {
        let a: Vec<String> = (0..200).map(|i| FuzzInput::seeded(7, i).id()).collect();
        let b: Vec<String> = (0..200).map(|i| FuzzInput::seeded(7, i).id()).collect();
        assert_eq!(a, b);
        let other: Vec<String> = (0..200).map(|i| FuzzInput::seeded(8, i).id()).collect();
        assert_ne!(a, other);
        // Pinned: the guests check seeded ids against the host's, but only against the same
        // build; a change of `arbitrary` or of the generator must show here, not as a
        // silent change of what "seed 7" means in a bug report.
        assert_eq!(a[..3], PINNED_SEED_7, "FuzzInput::seeded(7, 0..3) changed: every published seed now names other inputs");
    }

    #[test]
    fn seeded_inputs_cover_successes_and_many_rules() {
        let env = Env::sandboxed_root(Release::new(6, 12, 0), &ArchProfile::X86_64);
        let mut rules = std::collections::BTreeSet::new();
        let mut ok = 0;
        for i in 0..5000 {
            let p = predict(&FuzzInput::seeded(1, i).to_case(), &env, &ArchProfile::X86_64);
            ok += usize::from(matches!(p.expect, Expect::Ok(_)));
            rules.insert(p.rule);
        }
        assert!(ok > 1000, "only {ok} of 5000 inputs reach a child");
        assert!(rules.len() > 20, "only {} rules fire: {rules:?}", rules.len());
    }

    #[test]
    fn most_table_cases_have_a_fuzz_input() {
        let cases = crate::tables::all();
        let inputs: Vec<_> = cases.iter().filter_map(FuzzInput::from_case).collect();
        assert!(inputs.len() * 10 >= cases.len() * 9, "{} of {}", inputs.len(), cases.len());
        // Round trip: the input's case makes the same call as the table's for the basics.
        for (c, i) in cases.iter().filter_map(|c| FuzzInput::from_case(c).map(|i| (c, i))) {
            let back = i.to_case();
            assert_eq!(back.usize(4096), c.usize(4096), "{}", c.id);
            assert_eq!(back.flags & !CHILD_CLEARTID, c.flags & !CHILD_CLEARTID, "{}", c.id);
        }
    }

    #[test]
    fn risky_children_always_get_a_stack_and_a_cleartid() {
        for i in 0..5000 {
            let c = FuzzInput::seeded(3, i).to_case();
            if c.flags & (VM | THREAD | SIGHAND | SETTLS) != 0 {
                assert!(matches!(c.stack, Stack::Mapped(_) | Stack::Unmapped(_)), "{c:?}");
            }
            if c.flags & THREAD != 0 {
                assert!(matches!(c.stack, Stack::Mapped(_)) && c.child_tid == Ptr::Valid, "{c:?}");
            }
            assert!(!matches!(c.exit_signal, 9 | 19));
        }
    }
}
