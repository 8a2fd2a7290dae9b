//! `clone3-abi qemu`: the case table inside stock (or the user's own) kernels under
//! qemu-system, one guest per architecture. Recipes → kernel cache → initramfs(agent) →
//! boot → console records → the same model, verdicts and reporters as a native run.

mod bench;
mod fetch;
mod initramfs;
mod launch;
mod mirror;
mod pvh;
mod recipe;

pub use bench::bench;
pub use fetch::cache_dir;

/// The Rust targets of every recipe's agent (for `doctor`).
pub fn agent_targets() -> Vec<String> {
    let mut t: Vec<String> = recipe::load(&recipe::matrix(recipe::Matrix::Versions), None)
        .map(|rs| rs.into_iter().map(|r| r.agent_target).collect())
        .unwrap_or_default();
    t.sort();
    t.dedup();
    t
}

/// The mirror kernels come from (for `doctor`).
pub fn mirror_root() -> String {
    mirror::root(mirror::Archive::Main)
}

use crate::console::{self, Stage, Transcript};
use crate::crash::{self, OnCrash};
use crate::report::{self, ktap, snapshot, CaseResult, Counts};
use crate::runner::Observed;
use crate::{pipeline, CANNOT_TEST, GOOD, USAGE};
use clap::Args;
use clone3_arches::ArchProfile;
use clone3_suites::{tables, Case, Env};
use launch::Accel;
use recipe::Recipe;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::Duration;

#[derive(Args)]
pub struct QemuArgs {
    /// Guests to boot, comma-separated: x86_64, i386, i386-native, aarch64, riscv64,
    /// x86_64-sid, any guest of the version matrix (aarch64-bullseye, …), or all (the stock six).
    #[arg(long, value_delimiter = ',', default_value = "all")]
    arch: Vec<String>,
    /// Boot a whole matrix: stock (the same as --arch all) or versions (every Debian kernel
    /// series the mirror serves, 5.10 to 7.3, for each arch: qemu-images/README.md).
    #[arg(long, value_parser = ["stock", "versions"], conflicts_with = "arch")]
    matrix: Option<String>,
    /// Boot this kernel (bzImage, Image, or ELF vmlinux) instead of the recipe's (one --arch).
    #[arg(long, value_name = "FILE")]
    kernel: Option<PathBuf>,
    /// Build the kernel first: this shell command, in the current directory, must make the
    /// --kernel file; when it fails the commit cannot be tested (125), as `git bisect run` wants.
    #[arg(long, value_name = "CMD", requires = "kernel")]
    kernel_build: Option<String>,
    /// Backports (or reverts) the guests' kernels have that their release does not say, as
    /// the model names them: `+name,-name` (as `run --fixes`).
    #[arg(long, value_name = "+FIX,-FIX", value_parser = crate::oracle::parse_fixes, default_value = "", allow_hyphen_values = true)]
    fixes: crate::oracle::Fixes,
    /// Compare with this snapshot file instead of snapshots/<guest>/<series>.snap; it must
    /// exist and cover what this run skips (else cannot test).
    #[arg(long, value_name = "FILE")]
    baseline: Option<PathBuf>,
    /// A missing baseline, or baseline cases this run could not compare, make the guest
    /// "cannot test". With --kernel and no --baseline the stock snapshots are not used
    /// (they describe Debian's kernels): the model alone judges, unless this is given.
    #[arg(long)]
    require_baseline: bool,
    /// Use this static agent binary instead of building it (one --arch).
    #[arg(long, value_name = "FILE", conflicts_with = "agents")]
    agent: Option<PathBuf>,
    /// Prebuilt agents, as `<DIR>/<rust target>/clone3-abi` (a `cargo xtask dist` tarball has
    /// them in lib/clone3-abi/agents and uses them by default).
    #[arg(long, value_name = "DIR")]
    agents: Option<PathBuf>,
    /// Kernels, initramfs and boot times go here (default: $CLONE3_ABI_CACHE, else
    /// ~/.cache/clone3-abi).
    #[arg(long, value_name = "DIR")]
    cache: Option<PathBuf>,
    /// Read recipes from this folder instead of the built-in qemu-images/.
    #[arg(long, value_name = "DIR")]
    recipes: Option<PathBuf>,
    #[arg(long, value_name = "DIR", default_value_os_t = crate::default_snapshot_dir())]
    snapshots: PathBuf,
    /// Store each guest's table as its snapshot.
    #[arg(long, conflicts_with = "baseline")]
    bless: bool,
    /// Do not compare with (or write) a snapshot: the model alone judges.
    #[arg(long, conflicts_with_all = ["bless", "baseline", "require_baseline"])]
    no_snapshot: bool,
    /// auto (KVM only where a probe boot works), tcg, or kvm.
    #[arg(long, default_value = "auto", value_parser = ["auto", "tcg", "kvm"])]
    accel: String,
    /// Seconds a guest may run before it is killed and reported as hung.
    #[arg(long, default_value_t = 240, value_parser = clap::value_parser!(u64).range(1..))]
    watchdog: u64,
    /// Seconds within which the agent's first line must appear, else the kernel did not
    /// reach it (cannot test). Default: 3× the guest's last measured boot, at least 20 s;
    /// 60 s when it was never measured.
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..))]
    boot_timeout: Option<u64>,
    /// An oops, BUG, WARN, lockup, stall, OOM kill or new taint while the agent ran: fail
    /// (exit 1), or skip (125) for a bisection that must step over unrelated crashes.
    #[arg(long, value_enum, default_value_t = OnCrash::Fail)]
    on_crash: OnCrash,
    /// Write every guest's cases, predictions, observations and verdicts here.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Write every format here: results.ktap, junit.xml, kcidb.json, report.html,
    /// results.json and console/<guest>.log.
    #[arg(long, value_name = "DIR")]
    report: Option<PathBuf>,
    /// Keep each guest's serial console as DIR/<guest>.log (a report keeps them anyway).
    #[arg(long, value_name = "DIR")]
    keep_logs: Option<PathBuf>,
    /// Print the cross-arch view: every case whose outcome differs between guests, with the
    /// model rule that explains each difference.
    #[arg(long)]
    cross_arch: bool,
    /// Seeded fuzzing inside the guests instead of the tables: this many inputs.
    #[arg(long, value_name = "N")]
    fuzz: Option<u64>,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Where fuzz findings are written.
    #[arg(long, value_name = "DIR", default_value = "fuzz-findings")]
    findings: PathBuf,
    /// No KTAP on stdout (`bench --qemu` times the matrix and prints its own figures).
    #[arg(skip)]
    quiet: bool,
}

/// What one guest gave.
struct Guest {
    recipe: Recipe,
    accel: Accel,
    boot: Option<launch::Boot>,
    outcome: Result<Tested, Untested>,
}

#[derive(Debug)]
struct Tested {
    arch: ArchProfile,
    env: Env,
    uname: String,
    observed: Vec<Option<Observed>>,
    /// Why the kernel's taint was not compared, if it was not.
    taint_note: Option<String>,
    /// The agent's own timings of its parts (µs).
    phases: Vec<(String, u64)>,
}

/// Why a guest gave no table to judge.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Untested {
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
    fn why(&self) -> &str {
        match self {
            Untested::Unavailable(w) | Untested::Broken(w) | Untested::Crashed(w) => w,
        }
    }

    fn code(&self, on_crash: OnCrash) -> u8 {
        match self {
            Untested::Unavailable(_) | Untested::Broken(_) => CANNOT_TEST,
            Untested::Crashed(_) => on_crash.code(),
        }
    }

    /// How the summary names it: `cannot test: …`, or `crashed: …`.
    fn label(&self) -> &'static str {
        match self {
            Untested::Unavailable(_) | Untested::Broken(_) => "cannot test",
            Untested::Crashed(_) => "crashed",
        }
    }
}

pub fn qemu(args: QemuArgs) -> u8 {
    let wanted = match args.matrix.as_deref() {
        Some("versions") => recipe::matrix(recipe::Matrix::Versions),
        Some(_) => recipe::matrix(recipe::Matrix::Stock),
        None => args.arch.clone(),
    };
    let recipes = match recipe::load(&wanted, args.recipes.as_deref()) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("clone3-abi: {e}");
            return USAGE;
        }
    };
    let single = recipes.len() == 1;
    if !single && (args.kernel.is_some() || args.agent.is_some() || args.baseline.is_some()) {
        eprintln!("clone3-abi: --kernel, --agent and --baseline need exactly one --arch");
        return USAGE;
    }
    if let Some(cmd) = &args.kernel_build {
        eprintln!("clone3-abi: building the kernel: {cmd}");
        match Command::new("sh").args(["-c", cmd]).status() {
            Ok(s) if s.success() => {}
            Ok(s) => {
                eprintln!("clone3-abi: cannot test: the kernel build failed ({s}): {cmd}");
                return CANNOT_TEST;
            }
            Err(e) => {
                eprintln!("clone3-abi: cannot test: cannot run the kernel build `{cmd}`: {e}");
                return CANNOT_TEST;
            }
        }
    }
    if let Some(k) = &args.kernel {
        if let Err(e) = launch::looks_like_kernel(k) {
            eprintln!("clone3-abi: cannot test: {e}");
            return CANNOT_TEST;
        }
    }
    if let Some(c) = &args.cache {
        fetch::set_cache_dir(c.clone());
    }
    let agents = match &args.agent {
        Some(a) => vec![(recipes[0].agent_target.clone(), a.clone())],
        None => match find_agents(&recipes, args.agents.as_deref()) {
            Ok(a) => a,
            Err(e) => {
                eprintln!("clone3-abi: cannot test: {e}");
                return CANNOT_TEST;
            }
        },
    };
    run_matrix(&args, recipes, &agents).0
}

/// Boots every guest (as many at a time as there are cores, longest first) with the agents
/// found, and reports: the exit code, and each guest as it ran.
fn run_matrix(args: &QemuArgs, recipes: Vec<Recipe>, agents: &[(String, PathBuf)]) -> (u8, Vec<Guest>) {
    let (inputs, cases) = match args.fuzz {
        Some(n) => crate::fuzz::seeded_cases(args.seed, 0..n),
        None => (Vec::new(), tables::all()),
    };
    let bars = indicatif::MultiProgress::new();
    // Longest first (by each guest's last measured wall time; never measured counts as
    // longest), so that the last guest to finish is not one that started last.
    let mut work: Vec<(usize, Recipe)> = recipes.into_iter().enumerate().collect();
    work.sort_by_cached_key(|(_, r)| BootTimes::for_guest(r, &args).wall().unwrap_or(Duration::MAX));
    let work = Mutex::new(work);
    let done = Mutex::new(Vec::new());
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get()).min(work.lock().unwrap().len());
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| loop {
                let Some((i, r)) = work.lock().unwrap().pop() else { break };
                let bar = bars.add(indicatif::ProgressBar::new_spinner());
                bar.set_prefix(r.name.clone());
                bar.set_style(indicatif::ProgressStyle::with_template("{prefix:>12} {spinner} {msg}").expect("template"));
                bar.enable_steady_tick(Duration::from_millis(200));
                let agent = agent_for(agents, &r);
                let g = run_guest(r, agent, args, &cases, &|m| bar.set_message(m.to_string()));
                bar.finish_with_message(match &g.outcome {
                    Ok(_) => "done".to_string(),
                    Err(u) => format!("{}: {:.60}", u.label(), u.why()),
                });
                done.lock().unwrap().push((i, g));
            });
        }
    });
    let mut guests = done.into_inner().unwrap();
    guests.sort_by_key(|(i, _)| *i);
    let guests: Vec<Guest> = guests.into_iter().map(|(_, g)| g).collect();
    (report_matrix(args, &cases, &inputs, &guests), guests)
}

fn run_guest(recipe: Recipe, agent: Option<PathBuf>, args: &QemuArgs, cases: &[Case], say: &dyn Fn(&str)) -> Guest {
    let fail = |recipe: Recipe, why: String| Guest { recipe, accel: Accel::Tcg, boot: None, outcome: Err(Untested::Unavailable(why)) };
    let Some(agent) = agent else { return fail(recipe, "no agent binary".into()) };
    say("fetching kernel");
    let kernel = match &args.kernel {
        Some(k) => k.clone(),
        None => match recipe_kernel(&recipe) {
            Ok(k) => k,
            Err(e) => return fail(recipe, e),
        },
    };
    say("building initramfs");
    // Debian's kernels unpack gzip; a kernel of the user's may have no decompressor at all
    // (RD_GZIP is an option of its own), and every kernel with BLK_DEV_INITRD reads plain cpio.
    let initrd = match write_initramfs(&agent, args.kernel.is_none()) {
        Ok(p) => p,
        Err(e) => return fail(recipe, e),
    };
    let accel = match args.accel.as_str() {
        "tcg" => Accel::Tcg,
        "kvm" => Accel::Kvm,
        _ => {
            say("probing KVM");
            cached_accel(&recipe, &kernel, &initrd)
        }
    };
    say(&format!("booting ({})", accel.name()));
    let progress = |n: usize| if n > 0 { say(&format!("running {n}/{} ({})", cases.len(), accel.name())) };
    let append = args.fuzz.map_or(String::new(), |n| format!("clone3abi.fuzz={n} clone3abi.seed={}", args.seed));
    let watchdog = Duration::from_secs(args.watchdog);
    let measured = BootTimes::new(&recipe, accel, &kernel);
    let limit = args.boot_timeout.map_or_else(|| boot_limit(measured.last()), Duration::from_secs);
    let boot = launch::boot(&recipe, &kernel, &initrd, accel, launch::Limits { watchdog, boot: limit }, &append, &progress);
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
fn recipe_kernel(recipe: &Recipe) -> Result<PathBuf, String> {
    fetch::kernel_then(recipe, |k| if recipe.kernel.pvh { pvh::elf_for(&k) } else { Ok(k) })
}

/// The agent binary of `recipe`'s target among those [`find_agents`] gave.
fn agent_for(agents: &[(String, PathBuf)], recipe: &Recipe) -> Option<PathBuf> {
    agents.iter().find(|(t, _)| *t == recipe.agent_target).map(|(_, p)| p.clone())
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
struct BootTimes(PathBuf);

impl BootTimes {
    fn new(recipe: &Recipe, accel: Accel, kernel: &Path) -> Self {
        use sha2::Digest;
        let k: String = sha2::Sha256::digest(kernel.as_os_str().as_encoded_bytes()).iter().take(8).map(|b| format!("{b:02x}")).collect();
        BootTimes(fetch::cache_dir().join("boot").join(format!("{}-{}-{k}", recipe.name, accel.name())))
    }

    /// Before the kernel is fetched: the guest's own recipe kernel (or --kernel) under the
    /// accelerator it last used; for ordering only.
    fn for_guest(recipe: &Recipe, args: &QemuArgs) -> Self {
        let kernel = args.kernel.clone().unwrap_or_else(|| fetch::cached_image(recipe));
        let accel = if args.accel == "kvm" { Accel::Kvm } else { Accel::Tcg };
        Self::new(recipe, accel, &kernel)
    }

    fn read(&self, field: usize) -> Option<Duration> {
        let text = std::fs::read_to_string(&self.0).ok()?;
        let secs: f64 = text.split_whitespace().nth(field)?.parse().ok()?;
        (secs.is_finite() && secs > 0.0).then(|| Duration::from_secs_f64(secs))
    }

    fn last(&self) -> Option<Duration> {
        self.read(0)
    }

    fn wall(&self) -> Option<Duration> {
        self.read(1)
    }

    fn store(&self, to_agent: Duration, wall: Duration) {
        let _ = report::write_atomically(&self.0, format!("{:.3} {:.3}\n", to_agent.as_secs_f64(), wall.as_secs_f64()).as_bytes());
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
fn judge_console(boot: &launch::Boot, cases: &[Case]) -> Result<Tested, Untested> {
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
    let unreadable = || format!("the guest could not read {}", crash::TAINTED);
    let taint_note = match crash::compare(before.ok_or_else(unreadable), after.ok_or_else(unreadable)) {
        crash::Taint::New(why) => return Err(Crashed(why)),
        crash::Taint::Unreadable(why) => Some(why),
        crash::Taint::Unchanged => None,
    };
    Ok(Tested { arch, env: h.env, uname: h.uname, observed, taint_note, phases: t.phases })
}

fn report_matrix(args: &QemuArgs, cases: &[Case], inputs: &[clone3_suites::fuzz::FuzzInput], guests: &[Guest]) -> u8 {
    // What the model is told of each guest: what its agent probed, and the --fixes overrides
    // (the reports show it as judged).
    let envs: Vec<Option<Env>> = guests.iter().map(|g| g.outcome.as_ref().ok().map(|t| Env { fixes: args.fixes.clone(), ..t.env.clone() })).collect();
    let evaluated: Vec<Result<(Vec<CaseResult>, &Tested), Untested>> = guests
        .iter()
        .zip(&envs)
        .map(|(g, env)| {
            g.outcome.as_ref().map_err(Clone::clone).map(|t| {
                let (pred, _) = pipeline::predict_all(cases, env.as_ref().expect("a tested guest has an env"), &t.arch);
                (pipeline::evaluate(cases, pred, t.observed.clone()), t)
            })
        })
        .collect();
    let repro = |name: &str| {
        let kernel = args.kernel.as_ref().map_or(String::new(), |k| format!(" --kernel {}", k.display()));
        let fuzz = args.fuzz.map_or(String::new(), |n| format!(" --fuzz {n} --seed {}", args.seed));
        let fixes = if args.fixes.is_empty() { String::new() } else { format!(" --fixes={}", crate::oracle::fixes_arg(&args.fixes)) };
        format!("clone3-abi qemu --arch {name}{kernel}{fuzz}{fixes} --no-snapshot")
    };
    let results: Vec<report::Guest> = guests
        .iter()
        .zip(&evaluated)
        .zip(&envs)
        .map(|((g, e), env)| report::Guest {
            name: &g.recipe.name,
            arch: e.as_ref().map_or("", |(_, t)| t.arch.name),
            kernel: e.as_ref().map_or("", |(_, t)| t.uname.as_str()),
            machine: g.recipe.qemu.binary.trim_start_matches("qemu-system-"),
            env: env.as_ref(),
            outcome: match e {
                Ok((r, _)) => report::Outcome::Ran(r),
                Err(Untested::Unavailable(why)) => report::Outcome::Unavailable(why.clone()),
                Err(Untested::Broken(why)) => report::Outcome::CannotTest(why.clone()),
                Err(Untested::Crashed(why)) => report::Outcome::Crashed(why.clone()),
            },
            console: g.boot.as_ref().map(|b| b.console.as_str()).filter(|c| !c.is_empty()),
            repro: repro(&g.recipe.name),
        })
        .collect();
    let ktap_text = ktap::render_guests(&results);
    if !args.quiet {
        print!("{ktap_text}");
    }
    // A report that cannot be written makes the run "cannot test", but never hides a
    // difference: the verdicts below still decide between 0 and 1.
    let written = [
        args.json.as_ref().map(|path| report::write_atomically(path, report::json::render_guests(&results).as_bytes()).map_err(|e| format!("cannot write {}: {e}", path.display()))),
        args.report.as_ref().map(|dir| report::dir::write(dir, &results, &ktap_text)),
        args.keep_logs.as_ref().map(|dir| report::dir::consoles(dir, &results)),
    ];
    let mut report_failed = false;
    for e in written.into_iter().flatten().filter_map(Result::err) {
        eprintln!("clone3-abi: cannot test: {e}");
        report_failed = true;
    }
    if args.cross_arch {
        eprint!("{}", report::cross_arch::render_terminal(&results));
    }
    summary_table(cases, guests, &evaluated);
    let mut code = if report_failed { CANNOT_TEST } else { GOOD };
    let mut totals = Counts::default();
    for (g, e) in guests.iter().zip(&evaluated) {
        match e {
            Err(u) => {
                let skipped = matches!(u, Untested::Crashed(_)) && args.on_crash == OnCrash::Skip;
                let then = if skipped { " (cannot test: --on-crash skip)" } else { "" };
                eprintln!("clone3-abi: {}: {}: {}{then}", g.recipe.name, u.label(), u.why());
                code = crate::worse(code, u.code(args.on_crash));
            }
            Ok((results, t)) => {
                if t.env.release.beyond_model() {
                    eprintln!("clone3-abi: {}: {}", g.recipe.name, crate::pipeline::beyond_model_note(t.env.release));
                }
                if let Some(note) = &t.taint_note {
                    eprintln!("clone3-abi: {}: kernel taint not compared: {note}", g.recipe.name);
                }
                let c = Counts::of(results);
                totals = totals.add(c);
                if args.fuzz.is_some() {
                    match crate::fuzz::report_findings(&args.findings.join(&g.recipe.name), 0, inputs, results) {
                        Ok(n) => eprintln!("clone3-abi: {}: {} fuzz inputs, {n} findings (no snapshot in fuzz mode)", g.recipe.name, results.len()),
                        Err(e) => {
                            eprintln!("clone3-abi: {}: cannot test: a finding could not be written: {e}", g.recipe.name);
                            code = crate::worse(code, CANNOT_TEST);
                        }
                    }
                    code = crate::worse(code, c.code());
                    continue;
                }
                for r in results {
                    match &r.verdict {
                        crate::verdict::Verdict::Fail(why) => eprintln!(
                            "  FAIL {} {}: {why} [rule {}]\n       repro: {}",
                            g.recipe.name, r.case.id, r.prediction.rule, repro(&g.recipe.name)
                        ),
                        _ => {}
                    }
                }
                for line in crate::report::not_run_lines(results, &g.recipe.name) {
                    eprintln!("{line}");
                }
                code = crate::worse(code, guest_baseline(args, &g.recipe.name, t, results).code(c.code()));
            }
        }
    }
    eprintln!("{}", totals.closing_lines());
    code
}

/// Compares one guest's table with its baseline, as the flags say, and reports it.
fn guest_baseline(args: &QemuArgs, guest: &str, t: &Tested, results: &[CaseResult]) -> snapshot::Check {
    let series = t.env.release.series();
    let who = format!("{guest} {series}");
    let policy = if args.require_baseline || args.baseline.is_some() { snapshot::Policy::Required } else { snapshot::Policy::Optional };
    if args.no_snapshot || (args.kernel.is_some() && policy == snapshot::Policy::Optional && !args.bless) {
        let why = if args.no_snapshot { "--no-snapshot" } else { "--kernel without --baseline: the stock snapshots describe Debian's kernels" };
        eprintln!("clone3-abi: {who}: baseline: none ({why}); judged by the model alone");
        return snapshot::Check::NoBaseline { required: false };
    }
    let path = args.baseline.clone().unwrap_or_else(|| snapshot::path(&args.snapshots, guest, &series, true));
    let machine = snapshot::Machine { arch: t.arch.name.to_string(), cases: results.len(), env: t.env.clone() };
    let run = snapshot::Run { results, machine, filtered: false };
    let check = snapshot::check(&path, &run, args.bless, policy);
    check.report(&who, &path);
    check
}

/// Guest × family: passed/failed/skipped, plus accelerator and timings.
fn summary_table(cases: &[Case], guests: &[Guest], evaluated: &[Result<(Vec<CaseResult>, &Tested), Untested>]) {
    let families: Vec<String> = {
        let mut f: Vec<String> = cases.iter().map(|c| c.family().to_string()).collect();
        f.dedup();
        f
    };
    let w = guests.iter().map(|g| g.recipe.name.len()).max().unwrap_or(5).max(5);
    let mut head = format!("{:<w$} {:<5} {:>6} {:>6} ", "guest", "accel", "wall", "first");
    for f in &families {
        head.push_str(&format!("{:>12}", f));
    }
    eprintln!("{head}");
    for (g, e) in guests.iter().zip(evaluated) {
        let secs = |d: Option<Duration>| d.map_or("-".into(), |d| format!("{:.1}s", d.as_secs_f64()));
        let mut row = format!(
            "{:<w$} {:<5} {:>6} {:>6} ",
            g.recipe.name,
            g.accel.name(),
            secs(g.boot.as_ref().map(|b| b.wall)),
            secs(g.boot.as_ref().and_then(|b| b.to_first_case))
        );
        match e {
            Err(u) => row.push_str(u.label()),
            Ok((results, _)) => {
                for f in &families {
                    let c = Counts::of(results.iter().filter(|r| r.case.family() == f));
                    row.push_str(&format!("{:>12}", format!("{}/{}/{}", c.pass, c.fail, c.skip)));
                }
            }
        }
        eprintln!("{row}");
    }
    eprintln!("(cells: passed/failed/skipped; first: boot to first case result)");
}

/// The static agents for the recipes' targets: prebuilt (--agents, or the install's), else
/// built from the source tree through `cargo xtask agents` (which installs the cross
/// toolchains). A verdict command never installs QEMU: a missing qemu-system binary is
/// "cannot test" with the install line (see `launch::boot`).
fn find_agents(recipes: &[Recipe], given: Option<&Path>) -> Result<Vec<(String, PathBuf)>, String> {
    let mut targets: Vec<String> = recipes.iter().map(|r| r.agent_target.clone()).collect();
    targets.sort();
    targets.dedup();
    if let Some(dir) = crate::install::agents_dir(given) {
        return targets
            .into_iter()
            .map(|t| {
                let a = crate::install::agent_in(&dir, &t);
                match a.is_file() {
                    true => Ok((t, a)),
                    false => Err(format!("no agent for {t}: {} is missing (a `cargo xtask dist` tarball has every one)", a.display())),
                }
            })
            .collect();
    }
    let root = crate::install::source_tree()
        .ok_or("no agents: pass --agents DIR (lib/clone3-abi/agents of a `cargo xtask dist` tarball) or run from a checkout")?;
    let out = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .current_dir(&root)
        .args(["run", "-q", "--release", "-p", "xtask", "--", "agents"])
        .args(&targets)
        .output()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !out.status.success() {
        return Err(format!("building the agents failed: {}", String::from_utf8_lossy(&out.stderr).lines().last().unwrap_or("")));
    }
    let paths: Vec<PathBuf> = String::from_utf8_lossy(&out.stdout).lines().map(PathBuf::from).collect();
    Ok(targets.into_iter().zip(paths).collect())
}

/// The initramfs for an agent (gzip'd or plain), named by the agent's content: runs from
/// other checkouts or versions sharing the cache never boot each other's agents.
fn write_initramfs(agent: &Path, gzip: bool) -> Result<PathBuf, String> {
    use sha2::Digest;
    let bytes = std::fs::read(agent).map_err(|e| format!("agent {}: {e}", agent.display()))?;
    let hash: String = sha2::Sha256::digest(&bytes).iter().take(16).map(|b| format!("{b:02x}")).collect();
    let path = fetch::cache_dir().join("initramfs").join(format!("{hash}.cpio{}", if gzip { ".gz" } else { "" }));
    if !path.is_file() {
        report::write_atomically(&path, &initramfs::build(&bytes, gzip)).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(path)
}

#[derive(Args)]
pub struct InitramfsArgs {
    /// The static agent to put at /init (lib/clone3-abi/agents/<target>/clone3-abi).
    #[arg(long, value_name = "FILE")]
    agent: PathBuf,
    /// gzip it (Debian's kernels, CONFIG_RD_GZIP); plain cpio reads on any BLK_DEV_INITRD kernel.
    #[arg(long)]
    gzip: bool,
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
}

/// `clone3-abi initramfs`: the archive `qemu` boots, as a file of the user's.
pub fn write_initramfs_file(args: InitramfsArgs) -> u8 {
    let made = std::fs::read(&args.agent)
        .map_err(|e| format!("agent {}: {e}", args.agent.display()))
        .and_then(|a| report::write_atomically(&args.out, &initramfs::build(&a, args.gzip)).map_err(|e| format!("{}: {e}", args.out.display())));
    match made {
        Ok(()) => GOOD,
        Err(e) => {
            eprintln!("clone3-abi: {e}");
            CANNOT_TEST
        }
    }
}

/// The accelerator for a guest, probed once per host kernel and QEMU binary and cached.
fn cached_accel(recipe: &Recipe, kernel: &Path, initrd: &Path) -> Accel {
    let host = rustix::system::uname();
    let key = format!("{}-{}-{}", host.release().to_string_lossy(), host.machine().to_string_lossy(), recipe.qemu.binary);
    let path = fetch::cache_dir().join("accel").join(key);
    match std::fs::read_to_string(&path).ok().as_deref() {
        Some("kvm") => return Accel::Kvm,
        Some("tcg") => return Accel::Tcg,
        _ => {}
    }
    let a = launch::choose_accel(recipe, kernel, initrd, &host.machine().to_string_lossy());
    let _ = report::write_atomically(&path, a.name().as_bytes());
    a
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::console::{CaseLine, Header, Record, BEGIN, END};
    use clap::Parser;
    use clone3_suites::Release;

    fn cases() -> Vec<Case> {
        tables::all().into_iter().take(3).collect()
    }

    fn boot(lines: &[String]) -> launch::Boot {
        launch::Boot { console: lines.join("\n") + "\n", wall: Duration::from_secs(3), ..Default::default() }
    }

    fn rec(r: Record) -> String {
        console::line(&r)
    }

    fn header(cases: usize) -> String {
        let env = Env::sandboxed_root(Release::new(6, 12, 117), &ArchProfile::X86_64);
        rec(Record::Header(Header { arch: "x86_64".into(), uname: "6.12.117".into(), env, cases }))
    }

    fn case(i: usize) -> String {
        rec(Record::Case(CaseLine { index: i, id: cases()[i].id.clone(), observed: Some(Observed::Err(clone3_suites::Errno::EINVAL)) }))
    }

    /// A whole run as the agent prints it, boot noise and all: one batch of the three
    /// cases; `inject` adds lines after the line at that position.
    fn run_with(inject: &[(usize, &str)]) -> Vec<String> {
        let mut lines: Vec<String> = vec![
            "[    0.000000] Linux version 6.12.117 (debian-kernel@lists.debian.org)".into(),
            "[    0.912345] Run /init as init process".into(),
            BEGIN.into(),
            rec(Record::TaintBefore(Some(0))),
            header(3),
            rec(Record::Running { from: 0, to: 3 }),
            case(0),
            case(1),
            case(2),
            rec(Record::TaintAfter(Some(0))),
            "ok 1 size".into(),
            END.into(),
        ];
        for (at, l) in inject.iter().rev() {
            lines.insert(at + 1, l.to_string());
        }
        lines
    }

    fn judged(lines: &[String]) -> Result<Tested, Untested> {
        judge_console(&boot(lines), &cases())
    }

    const WARN: &str = "[    2.5] WARNING: CPU: 0 PID: 57 at kernel/fork.c:2290 copy_process+0x1c/0x2000";

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
        assert_eq!((u.code(OnCrash::Fail), u.code(OnCrash::Skip)), (CANNOT_TEST, CANNOT_TEST));
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
            assert_eq!(u.code(OnCrash::Fail), crate::BAD);
            assert_eq!(u.code(OnCrash::Skip), CANNOT_TEST);
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
        assert_eq!((u.code(OnCrash::Fail), u.code(OnCrash::Skip)), (crate::BAD, CANNOT_TEST));
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
            assert_eq!(u.code(OnCrash::Fail), CANNOT_TEST);
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
        assert_eq!(u.code(OnCrash::Fail), CANNOT_TEST);
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

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        qemu: QemuArgs,
    }

    /// The exit code and KTAP (as its report directory has it) of a matrix whose one guest
    /// gave `console`.
    fn matrix(flags: &[&str], lines: &[String]) -> (u8, String) {
        let dir = tempfile::tempdir().unwrap();
        let report = dir.path().to_str().unwrap();
        let args = Cli::try_parse_from(["qemu", "--no-snapshot", "--report", report].iter().chain(flags)).unwrap().qemu;
        let recipe = recipe::load(&["x86_64".into()], None).unwrap().remove(0);
        let outcome = judge_console(&boot(lines), &cases());
        let g = Guest { recipe, accel: Accel::Tcg, boot: Some(boot(lines)), outcome };
        let code = report_matrix(&args, &cases(), &[], std::slice::from_ref(&g));
        assert!(dir.path().join("console/x86_64.log").is_file(), "the console is kept");
        (code, std::fs::read_to_string(dir.path().join("results.ktap")).unwrap())
    }

    #[test]
    fn a_crashed_guest_exits_1_or_125_on_request_and_is_never_a_ktap_skip() {
        let crashed = run_with(&[(6, WARN)]);
        let (code, ktap) = matrix(&[], &crashed);
        assert_eq!(code, crate::BAD);
        assert!(ktap.contains("\nnot ok 1 x86_64 # crashed: the kernel crashed in case ") && !ktap.contains("SKIP"), "{ktap}");
        assert_eq!(matrix(&["--on-crash", "skip"], &crashed).0, CANNOT_TEST);
        assert_eq!(matrix(&["--on-crash", "fail"], &crashed).0, crate::BAD);
        assert!(Cli::try_parse_from(["qemu", "--on-crash", "maybe"]).is_err());
        // A kernel that never reached the agent: 125 either way, `not ok` all the same.
        let (code, ktap) = matrix(&[], &["Kernel panic - not syncing: No working init found.".to_string()]);
        assert_eq!(code, CANNOT_TEST);
        assert!(ktap.contains("\nnot ok 1 x86_64 # cannot test: the kernel crashed before") && !ktap.contains("SKIP"), "{ktap}");
    }
}
