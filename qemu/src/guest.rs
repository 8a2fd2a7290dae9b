//! One guest, from recipe to observations: its kernel (fetched and checked), the initramfs
//! with the agent, the accelerator, the boot, and the console read back into what the agent
//! observed — or why the kernel could not be tested. Never a verdict: those are the model's,
//! on the host, through the same reporters as a native run.

use crate::console::{self, Stage, Transcript};
use crate::launch::{self, Accel};
use crate::recipe::Recipe;
use crate::{fetch, initramfs, pvh};
use clone3_arches::ArchProfile;
use clone3_report::CANNOT_TEST;
use clone3_runner::{taint, Observed};
use clone3_suites::{Case, Env};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// What one guest gave.
pub struct Guest {
    pub recipe: Recipe,
    pub accel: Accel,
    pub boot: Option<launch::Boot>,
    pub outcome: Result<Tested, Untested>,
}

#[derive(Debug)]
pub struct Tested {
    pub arch: ArchProfile,
    pub env: Env,
    pub uname: String,
    pub observed: Vec<Option<Observed>>,
    /// Why the kernel's taint was not compared, if it was not.
    pub taint_note: Option<String>,
    /// The agent's own timings of its parts (µs).
    pub phases: Vec<(String, u64)>,
    /// The agent's timing of the cases, when it sent one.
    pub timing: Option<console::Timing>,
}

/// Why a guest gave no table to judge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Untested {
    /// The guest cannot run here at all (QEMU or KVM missing, no kernel or agent to boot,
    /// the agent found no clone3): KTAP `# SKIP`, exit 125.
    Unavailable(String),
    /// The run did not happen as it should: the kernel never reached the agent (a panic
    /// at boot, a hang before /init, a bad image), a hang, a truncated or garbled console,
    /// an agent of another version, the agent's own panic: KTAP `not ok`, exit 125.
    Broken(String),
    /// The kernel misbehaved while the agent exercised it (oops, BUG, WARN, lockup, stall,
    /// OOM kill, new taint): KTAP `not ok`, exit 1, or 125 with `--on-crash skip`.
    Crashed(String),
}

impl Untested {
    pub fn why(&self) -> &str {
        match self {
            Untested::Unavailable(w) | Untested::Broken(w) | Untested::Crashed(w) => w,
        }
    }

    /// The exit code: `crashed` for a crash (as `--on-crash` says), else cannot test.
    pub fn code(&self, crashed: u8) -> u8 {
        match self {
            Untested::Unavailable(_) | Untested::Broken(_) => CANNOT_TEST,
            Untested::Crashed(_) => crashed,
        }
    }

    /// How the summary names it: `cannot test: …`, or `crashed: …`.
    pub fn label(&self) -> &'static str {
        match self {
            Untested::Unavailable(_) | Untested::Broken(_) => "cannot test",
            Untested::Crashed(_) => "crashed",
        }
    }
}

/// How to boot a guest: what `clone3-abi qemu`'s flags say.
pub struct Plan<'a> {
    /// The user's kernel instead of the recipe's.
    pub kernel: Option<&'a Path>,
    /// The accelerator; `None`: KVM where a probe boot works, else TCG.
    pub accel: Option<Accel>,
    /// More of the kernel command line (the fuzz request).
    pub append: String,
    pub watchdog: Duration,
    /// Until the agent's first line; `None`: a multiple of the last measured boot.
    pub boot_timeout: Option<Duration>,
}

/// Boots one guest with `agent` and reads back what its agent observed; `say` hears what
/// it is doing.
pub fn run(recipe: Recipe, agent: Option<PathBuf>, plan: &Plan, cases: &[Case], say: &dyn Fn(&str)) -> Guest {
    let fail = |recipe: Recipe, why: String| Guest { recipe, accel: Accel::Tcg, boot: None, outcome: Err(Untested::Unavailable(why)) };
    let Some(agent) = agent else { return fail(recipe, "no agent binary".into()) };
    say("fetching kernel");
    let kernel = match plan.kernel {
        Some(k) => k.to_path_buf(),
        None => match recipe_kernel(&recipe) {
            Ok(k) => k,
            Err(e) => return fail(recipe, e),
        },
    };
    say("building initramfs");
    // Debian's kernels unpack gzip; a kernel of the user's may have no decompressor at all
    // (RD_GZIP is an option of its own), and every kernel with BLK_DEV_INITRD reads plain cpio.
    let initrd = match write_initramfs(&agent, plan.kernel.is_none()) {
        Ok(p) => p,
        Err(e) => return fail(recipe, e),
    };
    let accel = plan.accel.unwrap_or_else(|| {
        say("probing KVM");
        cached_accel(&recipe, &kernel, &initrd)
    });
    say(&format!("booting ({})", accel.name()));
    let progress = |n: usize| if n > 0 { say(&format!("running {n}/{} ({})", cases.len(), accel.name())) };
    let watchdog = plan.watchdog;
    let measured = BootTimes::new(&recipe, accel, &kernel);
    let limit = plan.boot_timeout.unwrap_or_else(|| boot_limit(measured.last()));
    let boot = launch::boot(&recipe, &kernel, &initrd, accel, launch::Limits { watchdog, boot: limit }, &plan.append, &progress);
    if let Some(t) = boot.to_agent {
        measured.store(t, boot.wall);
    }
    let outcome = judge_console(&boot, cases).and_then(|t| match t.arch.name == recipe.profile {
        true => Ok(t),
        false => Err(Untested::Broken(format!(
            "the agent runs as {} where the recipe expects {}: wrong agent or kernel for this guest",
            t.arch.name, recipe.profile
        ))),
    });
    Guest { recipe, accel, boot: Some(boot), outcome }
}

/// The recipe's kernel as QEMU boots it: fetched and checked, and on x86 the ELF vmlinux
/// inside the bzImage (PVH), which boots faster.
pub fn recipe_kernel(recipe: &Recipe) -> Result<PathBuf, String> {
    fetch::kernel_then(recipe, |k| if recipe.kernel.pvh { pvh::elf_for(&k) } else { Ok(k) })
}

/// The default boot limit: a small multiple of the guest's measured time to the agent, so
/// that a bisection does not wait out the whole watchdog on every kernel that hangs.
fn boot_limit(measured: Option<Duration>) -> Duration {
    match measured {
        Some(m) => (m * 3).max(Duration::from_secs(20)),
        None => Duration::from_secs(60),
    }
}

/// The last measured time from QEMU's start to the agent's first line, and the whole
/// boot's wall time, per guest, accelerator and kernel file, cached next to the
/// accelerator probe's results.
pub struct BootTimes(PathBuf);

impl BootTimes {
    pub fn new(recipe: &Recipe, accel: Accel, kernel: &Path) -> Self {
        use sha2::Digest;
        let k: String = sha2::Sha256::digest(kernel.as_os_str().as_encoded_bytes()).iter().take(8).map(|b| format!("{b:02x}")).collect();
        BootTimes(fetch::cache_dir().join("boot").join(format!("{}-{}-{k}", recipe.name, accel.name())))
    }

    /// Before the kernel is fetched: the guest's own recipe kernel (or --kernel) under the
    /// accelerator it last used; for ordering only.
    pub fn for_guest(recipe: &Recipe, plan: &Plan) -> Self {
        let kernel = plan.kernel.map_or_else(|| fetch::cached_image(recipe), Path::to_path_buf);
        Self::new(recipe, plan.accel.unwrap_or(Accel::Tcg), &kernel)
    }

    fn read(&self, field: usize) -> Option<Duration> {
        let text = std::fs::read_to_string(&self.0).ok()?;
        let secs: f64 = text.split_whitespace().nth(field)?.parse().ok()?;
        (secs.is_finite() && secs > 0.0).then(|| Duration::from_secs_f64(secs))
    }

    pub fn last(&self) -> Option<Duration> {
        self.read(0)
    }

    pub fn wall(&self) -> Option<Duration> {
        self.read(1)
    }

    pub fn store(&self, to_agent: Duration, wall: Duration) {
        let _ = clone3_report::write_atomically(&self.0, format!("{:.3} {:.3}\n", to_agent.as_secs_f64(), wall.as_secs_f64()).as_bytes());
    }
}

/// Where in the agent's run a crash line appeared, as the cases that were running.
fn blame(at: &Stage, cases: &[Case]) -> String {
    let id = |i: usize| cases.get(i).map_or_else(|| format!("#{i}"), |c| c.id.clone());
    match at {
        Stage::Boot => "before the kernel reached the agent".into(),
        Stage::Setup => "while the agent set up and probed, before the first case".into(),
        Stage::Shutdown => "after the cases, while the guest shut down".into(),
        Stage::AfterAgentPanic => "after the agent panicked".into(),
        &Stage::Cases { running, after } => {
            // The running case is the one whose record had not arrived yet.
            let next = after.map_or(0, |a| a + 1);
            match running {
                Some((_, to)) if next >= to => format!("after case {} (its batch had ended)", id(next.saturating_sub(1))),
                Some((from, to)) => {
                    let first = next.max(from);
                    match to - first {
                        1 => format!("in case {}", id(first)),
                        n => format!("in case {} or one of the {} after it in its batch (up to {})", id(first), n - 1, id(to - 1)),
                    }
                }
                None if next >= cases.len() => "after the last case".into(),
                None => format!("in case {} (the one after the last record; records may come in batches)", id(next)),
            }
        }
    }
}

/// Turns a console transcript into observations, or the reason the kernel could not be
/// tested. Never a verdict: those come from the model on the host.
pub fn judge_console(boot: &launch::Boot, cases: &[Case]) -> Result<Tested, Untested> {
    use Untested::{Broken, Crashed, Unavailable};
    if let Some(e) = &boot.unavailable {
        return Err(Unavailable(e.clone()));
    }
    let t: Transcript = console::parse(&boot.console);
    let tail = || boot.console.lines().rev().take(3).collect::<Vec<_>>().into_iter().rev().collect::<Vec<_>>().join(" | ");
    // Trouble before the agent's first line: the kernel never reached it.
    if let Some(c) = t.first_crash(|at| *at == Stage::Boot) {
        return Err(Broken(format!("the kernel crashed before it reached the agent: {}", c.line)));
    }
    // Trouble after it: the kernel misbehaved while it was exercised. Not the panic that
    // follows the agent's own (its exit as PID 1), nor that of an agent that could not
    // restart the guest after its end marker (the same exit).
    let ours = |c: &console::Crash| c.at == Stage::Shutdown && c.line.contains("Attempted to kill init");
    if let Some(c) = t.crashes.iter().find(|c| !ours(c) && c.at != Stage::AfterAgentPanic).map(|c| &c.at) {
        let line = &t.first_crash(|at| at == c).expect("a crash at this stage").line;
        return Err(Crashed(format!("the kernel crashed {}: {line}", blame(c, cases))));
    }
    if let Some(p) = &t.agent_panic {
        return Err(Broken(format!("the agent panicked (a bug in clone3-abi, not in the kernel): {p}")));
    }
    if let Some(limit) = boot.boot_timed_out {
        return Err(Broken(format!(
            "the kernel did not reach the agent within {}s (--boot-timeout SECS waits longer); last console lines: {}",
            limit.as_secs(),
            tail()
        )));
    }
    if boot.timed_out {
        return Err(Broken(format!("the guest hung past the watchdog ({}s); last console lines: {}", boot.wall.as_secs(), tail())));
    }
    if let Some(e) = &boot.qemu_failed {
        return Err(Broken(e.clone()));
    }
    if !t.began {
        return Err(Broken(format!("the agent never started; last console lines: {}", tail())));
    }
    if let Some(why) = t.cannot_test {
        return Err(Unavailable(why));
    }
    if !t.ended {
        return Err(Broken(format!("the console stopped before the end marker; last lines: {}", tail())));
    }
    if let Some(g) = t.garbage.first() {
        return Err(Broken(format!("garbage on the console where a record was expected: {g}")));
    }
    let h = t.header.ok_or_else(|| Broken("the agent printed no header".into()))?;
    let arch = ArchProfile::by_name(&h.arch).ok_or_else(|| Broken(format!("the agent reports an unknown arch {:?}", h.arch)))?;
    if h.cases != cases.len() || t.cases.len() != cases.len() {
        return Err(Broken(format!("the agent ran {} of {} cases (built from another version?)", t.cases.len(), cases.len())));
    }
    let mut observed = vec![None; cases.len()];
    for c in t.cases {
        if cases.get(c.index).map(|k| &k.id) != Some(&c.id) {
            return Err(Broken(format!("case {} is {:?} in the agent: built from another version", c.index, c.id)));
        }
        observed[c.index] = c.observed;
    }
    let (Some(before), Some(after)) = (t.taint_before, t.taint_after) else {
        return Err(Broken("the agent reported no taint before and after the cases (built from another version?)".into()));
    };
    let unreadable = || format!("the guest could not read {}", taint::TAINTED);
    let taint_note = match taint::compare(before.ok_or_else(unreadable), after.ok_or_else(unreadable)) {
        taint::Taint::New(why) => return Err(Crashed(why)),
        taint::Taint::Unreadable(why) => Some(why),
        taint::Taint::Unchanged => None,
    };
    Ok(Tested { arch, env: h.env, uname: h.uname, observed, taint_note, phases: t.phases, timing: t.timing })
}

/// The initramfs for an agent (gzip'd or plain), named by the agent's content: runs from
/// other checkouts or versions sharing the cache never boot each other's agents.
pub fn write_initramfs(agent: &Path, gzip: bool) -> Result<PathBuf, String> {
    use sha2::Digest;
    let bytes = std::fs::read(agent).map_err(|e| format!("agent {}: {e}", agent.display()))?;
    let hash: String = sha2::Sha256::digest(&bytes).iter().take(16).map(|b| format!("{b:02x}")).collect();
    let path = fetch::cache_dir().join("initramfs").join(format!("{hash}.cpio{}", if gzip { ".gz" } else { "" }));
    if !path.is_file() {
        clone3_report::write_atomically(&path, &initramfs::build(&bytes, gzip)).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(path)
}

/// The accelerator for a guest, probed once per host kernel and QEMU binary and cached.
pub fn cached_accel(recipe: &Recipe, kernel: &Path, initrd: &Path) -> Accel {
    let host = rustix::system::uname();
    let key = format!("{}-{}-{}", host.release().to_string_lossy(), host.machine().to_string_lossy(), recipe.qemu.binary);
    let path = fetch::cache_dir().join("accel").join(key);
    match std::fs::read_to_string(&path).ok().as_deref() {
        Some("kvm") => return Accel::Kvm,
        Some("tcg") => return Accel::Tcg,
        _ => {}
    }
    let a = launch::choose_accel(recipe, kernel, initrd, &host.machine().to_string_lossy());
    let _ = clone3_report::write_atomically(&path, a.name().as_bytes());
    a
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake::{boot, cases, header, rec, run_with, WARN};
    use crate::console::{CaseLine, Record, END};
    use clone3_report::BAD;

    fn judged(lines: &[String]) -> Result<Tested, Untested> {
        judge_console(&boot(lines), &cases())
    }

    #[test]
    fn a_clean_run_gives_the_observations() {
        let t = judged(&run_with(&[])).unwrap();
        assert_eq!(t.observed.len(), 3);
        assert!(t.observed.iter().all(Option::is_some) && t.taint_note.is_none());
    }

    #[test]
    fn a_crash_before_the_agent_is_cannot_test() {
        let lines = ["[    0.5] Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)".to_string()];
        let u = judged(&lines).unwrap_err();
        assert!(matches!(&u, Untested::Broken(w) if w.starts_with("the kernel crashed before it reached the agent: ") && w.contains("VFS")), "{u:?}");
        assert_eq!((u.code(BAD), u.code(CANNOT_TEST)), (CANNOT_TEST, CANNOT_TEST));
        // A boot-time WARN that the kernel survived: still not a kernel the cases can trust.
        let u = judged(&run_with(&[(0, WARN)])).unwrap_err();
        assert!(matches!(&u, Untested::Broken(w) if w.contains("before it reached the agent") && w.contains("kernel/fork.c")), "{u:?}");
    }

    #[test]
    fn a_warn_bug_or_oops_under_the_cases_is_bad_naming_the_running_case() {
        let ids: Vec<String> = cases().iter().map(|c| c.id.clone()).collect();
        // After case 0's record, in the batch 0..3: case 1 was running, or case 2.
        for line in [
            WARN,
            "[    2.5] BUG: kernel NULL pointer dereference, address: 0000000000000008",
            "[    2.5] Oops: general protection fault, probably for non-canonical address 0xdead: 0000 [#1] SMP",
            "[    2.5] watchdog: BUG: soft lockup - CPU#0 stuck for 22s! [clone3-abi:57]",
            "[    2.5] UBSAN: shift-out-of-bounds in kernel/fork.c:2900:12",
            "[    2.5] Out of memory: Killed process 57 (clone3-abi)",
        ] {
            let u = judged(&run_with(&[(6, "[    2.5] ------------[ cut here ]------------"), (6, line)])).unwrap_err();
            let Untested::Crashed(why) = &u else { panic!("{line}: {u:?}") };
            assert_eq!(why, &format!("the kernel crashed in case {} or one of the 1 after it in its batch (up to {}): {line}", ids[1], ids[2]));
            assert_eq!(u.code(BAD), BAD);
            assert_eq!(u.code(CANNOT_TEST), CANNOT_TEST);
        }
        // A batch of one names its case alone.
        let mut lines = run_with(&[]);
        lines[5] = rec(Record::Running { from: 2, to: 3 });
        lines.insert(8, WARN.into());
        let why = judged(&lines).unwrap_err();
        assert_eq!(why, Untested::Crashed(format!("the kernel crashed in case {}: {WARN}", ids[2])));
        // While the agent probed, and after the last case.
        assert!(judged(&run_with(&[(3, WARN)])).unwrap_err().why().contains("while the agent set up and probed"));
        assert!(judged(&run_with(&[(8, WARN)])).unwrap_err().why().contains(&format!("after case {} (its batch had ended)", ids[2])));
        // Even when the crash stopped the run (no records, no end marker, a hang).
        let mut b = boot(&run_with(&[(5, WARN)])[..7]);
        b.timed_out = true;
        let u = judge_console(&b, &cases()).unwrap_err();
        assert!(matches!(&u, Untested::Crashed(w) if w.contains(&format!("in case {}", ids[0]))), "{u:?}");
    }

    #[test]
    fn streamed_records_blame_the_one_case_after_the_last_record() {
        let ids: Vec<String> = cases().iter().map(|c| c.id.clone()).collect();
        let streamed = |inject: &[(usize, &str)]| {
            let mut lines = run_with(inject);
            lines[5] = rec(Record::Streaming { from: 0, to: 3 });
            judged(&lines).unwrap_err()
        };
        assert_eq!(streamed(&[(6, WARN)]), Untested::Crashed(format!("the kernel crashed in case {}: {WARN}", ids[1])));
        assert_eq!(streamed(&[(5, WARN)]), Untested::Crashed(format!("the kernel crashed in case {}: {WARN}", ids[0])));
        assert!(streamed(&[(8, WARN)]).why().contains(&format!("after case {} (its batch had ended)", ids[2])));
    }

    #[test]
    fn records_without_announced_batches_blame_the_case_after_the_last_record() {
        let mut lines = run_with(&[(6, WARN)]);
        lines.remove(5);
        let why = judged(&lines).unwrap_err();
        assert!(why.why().starts_with(&format!("the kernel crashed in case {} (the one after the last record", cases()[1].id)), "{why:?}");
    }

    #[test]
    fn new_taint_is_bad_with_its_bits_decoded() {
        let mut lines = run_with(&[]);
        lines[9] = rec(Record::TaintAfter(Some(1 << 9)));
        let u = judged(&lines).unwrap_err();
        assert!(matches!(&u, Untested::Crashed(w) if w.contains("W (kernel issued a warning)")), "{u:?}");
        assert_eq!((u.code(BAD), u.code(CANNOT_TEST)), (BAD, CANNOT_TEST));
        // Taint the kernel had before the cases is not theirs.
        lines[3] = rec(Record::TaintBefore(Some(1 << 9)));
        assert!(judged(&lines).is_ok());
        // A guest that cannot read it is judged without it, and says so.
        lines[3] = rec(Record::TaintBefore(None));
        assert!(judged(&lines).unwrap().taint_note.is_some_and(|n| n.contains("could not read")));
        // An agent that does not report it at all is not this version's.
        lines.remove(9);
        assert!(matches!(judged(&lines).unwrap_err(), Untested::Broken(w) if w.contains("no taint")));
    }

    #[test]
    fn the_agents_own_panic_is_not_blamed_on_the_kernel() {
        let mut lines = run_with(&[]);
        lines.truncate(7);
        lines.push(rec(Record::AgentPanic("panicked at cli/src/agent.rs:1:1: boom".into())));
        lines.push("[    3.0] Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000086".into());
        let u = judged(&lines).unwrap_err();
        assert!(matches!(&u, Untested::Broken(w) if w.contains("the agent panicked") && w.contains("boom")), "{u:?}");
        // Nor the panic of an agent whose restart failed after its end marker.
        let lines = run_with(&[(11, "[    3.0] Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000000")]);
        assert!(judged(&lines).is_ok());
        // But anything else after the end marker is the kernel's.
        assert!(matches!(judged(&run_with(&[(11, WARN)])).unwrap_err(), Untested::Crashed(w) if w.contains("while the guest shut down")));
    }

    #[test]
    fn an_incomplete_or_foreign_console_is_cannot_test() {
        let broken = |lines: &[String], says: &str| {
            let u = judged(lines).unwrap_err();
            assert!(matches!(&u, Untested::Broken(w) if w.contains(says)), "{says}: {u:?}");
            assert_eq!(u.code(BAD), CANNOT_TEST);
        };
        let full = run_with(&[]);
        broken(&full[..8], "stopped before the end marker");
        broken(&full[..2], "the agent never started");
        broken(&run_with(&[(6, "C3 {\"case\":{\"index\":1,\"id\":")]), "garbage on the console");
        let mut fewer = full.clone();
        fewer.remove(8);
        broken(&fewer, "ran 2 of 3 cases");
        let mut other = full.clone();
        other[4] = header(4);
        broken(&other, "ran 3 of 3 cases");
        let mut renamed = full.clone();
        renamed[7] = rec(Record::Case(CaseLine { index: 1, id: "size.renamed".into(), observed: None }));
        broken(&renamed, "case 1 is \"size.renamed\" in the agent");
        let mut b = boot(&full[..2]);
        b.boot_timed_out = Some(Duration::from_secs(20));
        let u = judge_console(&b, &cases()).unwrap_err();
        assert!(matches!(&u, Untested::Broken(w) if w.starts_with("the kernel did not reach the agent within 20s")), "{u:?}");
        // The agent's own "cannot test" (no clone3): the one case KTAP shows as a SKIP.
        let mut no_clone3 = full[..4].to_vec();
        no_clone3.push(rec(Record::CannotTest("clone3 returns ENOSYS".into())));
        no_clone3.push(END.into());
        let u = judged(&no_clone3).unwrap_err();
        assert_eq!(u, Untested::Unavailable("clone3 returns ENOSYS".into()));
        assert_eq!(u.code(BAD), CANNOT_TEST);
        let mut b = boot(&[]);
        b.unavailable = Some("cannot start qemu-system-x86_64".into());
        assert!(matches!(judge_console(&b, &cases()), Err(Untested::Unavailable(_))));
    }

    #[test]
    fn the_boot_limit_is_a_multiple_of_the_measured_boot() {
        assert_eq!(boot_limit(None), Duration::from_secs(60));
        assert_eq!(boot_limit(Some(Duration::from_secs(2))), Duration::from_secs(20));
        assert_eq!(boot_limit(Some(Duration::from_secs(30))), Duration::from_secs(90));
        let dir = tempfile::tempdir().unwrap();
        let times = BootTimes(dir.path().join("boot/x86_64-tcg-k"));
        assert_eq!(times.last(), None);
        times.store(Duration::from_millis(2500), Duration::from_millis(9000));
        assert_eq!(times.last(), Some(Duration::from_millis(2500)));
    }
}
