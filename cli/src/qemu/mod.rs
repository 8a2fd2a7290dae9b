//! `clone3-abi qemu`: the case table inside stock (or the user's own) kernels under
//! qemu-system, one guest per architecture. Recipes → kernel cache → initramfs(agent) →
//! boot → console records → the same model, verdicts and reporters as a native run.

mod fetch;
mod initramfs;
mod launch;
mod pvh;
mod recipe;

use crate::console::{self, Transcript};
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
    /// Guests to boot: x86_64, i386, i386-native, aarch64, riscv64, or all (comma-separated).
    #[arg(long, value_delimiter = ',', default_value = "all")]
    arch: Vec<String>,
    /// Boot this kernel (bzImage, Image, or ELF vmlinux) instead of the recipe's (one --arch).
    #[arg(long, value_name = "FILE")]
    kernel: Option<PathBuf>,
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
    #[arg(long, value_name = "FILE")]
    agent: Option<PathBuf>,
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
    /// Write every guest's cases, predictions, observations and verdicts here.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Seeded fuzzing inside the guests instead of the tables: this many inputs.
    #[arg(long, value_name = "N")]
    fuzz: Option<u64>,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Where fuzz findings are written.
    #[arg(long, value_name = "DIR", default_value = "fuzz-findings")]
    findings: PathBuf,
}

/// What one guest gave.
struct Guest {
    recipe: Recipe,
    accel: Accel,
    boot: Option<launch::Boot>,
    outcome: Result<Tested, String>,
}

struct Tested {
    arch: ArchProfile,
    env: Env,
    uname: String,
    observed: Vec<Option<Observed>>,
}

pub fn qemu(args: QemuArgs) -> u8 {
    let recipes = match recipe::load(&args.arch, args.recipes.as_deref()) {
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
    if let Some(k) = &args.kernel {
        if let Err(e) = launch::looks_like_kernel(k) {
            eprintln!("clone3-abi: cannot test: {e}");
            return CANNOT_TEST;
        }
    }
    let agents = match &args.agent {
        Some(a) => vec![(recipes[0].agent_target.clone(), a.clone())],
        None => match build_agents(&recipes) {
            Ok(a) => a,
            Err(e) => {
                eprintln!("clone3-abi: cannot test: {e}");
                return CANNOT_TEST;
            }
        },
    };
    let (inputs, cases) = match args.fuzz {
        Some(n) => crate::fuzz::seeded_cases(args.seed, 0..n),
        None => (Vec::new(), tables::all()),
    };
    let bars = indicatif::MultiProgress::new();
    let work = Mutex::new(recipes.into_iter().enumerate().collect::<Vec<_>>());
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
                let agent = agents.iter().find(|(t, _)| *t == r.agent_target).map(|(_, p)| p.clone());
                let g = run_guest(r, agent, &args, &cases, &|m| bar.set_message(m.to_string()));
                bar.finish_with_message(match &g.outcome {
                    Ok(_) => "done".to_string(),
                    Err(e) => format!("cannot test: {e:.60}"),
                });
                done.lock().unwrap().push((i, g));
            });
        }
    });
    let mut guests = done.into_inner().unwrap();
    guests.sort_by_key(|(i, _)| *i);
    let guests: Vec<Guest> = guests.into_iter().map(|(_, g)| g).collect();
    report_matrix(&args, &cases, &inputs, &guests)
}

fn run_guest(recipe: Recipe, agent: Option<PathBuf>, args: &QemuArgs, cases: &[Case], say: &dyn Fn(&str)) -> Guest {
    let fail = |recipe: Recipe, why: String| Guest { recipe, accel: Accel::Tcg, boot: None, outcome: Err(why) };
    let Some(agent) = agent else { return fail(recipe, "no agent binary".into()) };
    say("fetching kernel");
    let kernel = match &args.kernel {
        Some(k) => k.clone(),
        None => match fetch::kernel_then(&recipe, |k| if recipe.kernel.pvh { pvh::elf_for(&k) } else { Ok(k) }) {
            Ok(k) => k,
            Err(e) => return fail(recipe, e),
        },
    };
    say("building initramfs");
    let initrd = match write_initramfs(&agent) {
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
    let boot = launch::boot(&recipe, &kernel, &initrd, accel, launch::Limits { watchdog, boot: watchdog }, &append, &progress);
    let outcome = judge_console(&boot, cases).and_then(|t| match t.arch.name == recipe.profile {
        true => Ok(t),
        false => Err(format!("the agent runs as {} where the recipe expects {}: wrong agent or kernel for this guest", t.arch.name, recipe.profile)),
    });
    Guest { recipe, accel, boot: Some(boot), outcome }
}

/// Turns a console transcript into observations, or the reason the kernel could not be
/// tested. Never a verdict: those come from the model on the host.
fn judge_console(boot: &launch::Boot, cases: &[Case]) -> Result<Tested, String> {
    if let Some(e) = boot.unavailable.as_ref().or(boot.qemu_failed.as_ref()) {
        return Err(e.clone());
    }
    let t: Transcript = console::parse(&boot.console);
    let tail = || boot.console.lines().rev().take(3).collect::<Vec<_>>().into_iter().rev().collect::<Vec<_>>().join(" | ");
    if let Some(c) = t.first_crash(|_| true) {
        return Err(format!("the kernel crashed: {}", c.line));
    }
    if boot.timed_out {
        return Err(format!("the guest hung past the watchdog ({}s); last console lines: {}", boot.wall.as_secs(), tail()));
    }
    if !t.began {
        return Err(format!("the agent never started; last console lines: {}", tail()));
    }
    if let Some(why) = t.cannot_test {
        return Err(why);
    }
    if !t.ended {
        return Err(format!("the console stopped before the end marker; last lines: {}", tail()));
    }
    if let Some(g) = t.garbage.first() {
        return Err(format!("garbage on the console where a record was expected: {g}"));
    }
    let h = t.header.ok_or("the agent printed no header")?;
    let arch = ArchProfile::by_name(&h.arch).ok_or_else(|| format!("the agent reports an unknown arch {:?}", h.arch))?;
    if h.cases != cases.len() || t.cases.len() != cases.len() {
        return Err(format!("the agent ran {} of {} cases (built from another version?)", t.cases.len(), cases.len()));
    }
    let mut observed = vec![None; cases.len()];
    for c in t.cases {
        if cases.get(c.index).map(|k| &k.id) != Some(&c.id) {
            return Err(format!("case {} is {:?} in the agent: built from another version", c.index, c.id));
        }
        observed[c.index] = c.observed;
    }
    Ok(Tested { arch, env: h.env, uname: h.uname, observed })
}

fn report_matrix(args: &QemuArgs, cases: &[Case], inputs: &[clone3_suites::fuzz::FuzzInput], guests: &[Guest]) -> u8 {
    let evaluated: Vec<Result<(Vec<CaseResult>, &Tested), String>> = guests
        .iter()
        .map(|g| {
            g.outcome.as_ref().map_err(Clone::clone).map(|t| {
                let (pred, _) = pipeline::predict_all(cases, &t.env, &t.arch);
                (pipeline::evaluate(cases, pred, t.observed.clone()), t)
            })
        })
        .collect();
    let ktap_guests: Vec<ktap::Guest> = guests
        .iter()
        .zip(&evaluated)
        .map(|(g, e)| ktap::Guest { name: &g.recipe.name, results: e.as_ref().map(|(r, _)| r.as_slice()).map_err(Clone::clone) })
        .collect();
    print!("{}", ktap::render_guests(&ktap_guests));
    let json_failed = args.json.as_ref().is_some_and(|path| {
        let docs: Vec<serde_json::Value> = guests
            .iter()
            .zip(&evaluated)
            .map(|(g, e)| match e {
                Ok((r, t)) => serde_json::from_str(&report::json::render(&t.env, t.arch.name, &t.uname, r)).expect("json"),
                Err(why) => serde_json::json!({ "guest": g.recipe.name, "cannot_test": why }),
            })
            .collect();
        let failed = report::write_atomically(path, serde_json::to_string_pretty(&docs).expect("json").as_bytes());
        failed.map_err(|e| eprintln!("clone3-abi: cannot write {}: {e}", path.display())).is_err()
    });
    summary_table(cases, guests, &evaluated);
    let mut code = if json_failed { CANNOT_TEST } else { GOOD };
    let mut totals = Counts::default();
    for (g, e) in guests.iter().zip(&evaluated) {
        match e {
            Err(why) => {
                eprintln!("clone3-abi: {}: cannot test: {why}", g.recipe.name);
                code = crate::worse(code, CANNOT_TEST);
            }
            Ok((results, t)) => {
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
                            "  FAIL {} {}: {why} [rule {}]\n       repro: clone3-abi qemu --arch {} --no-snapshot",
                            g.recipe.name, r.case.id, r.prediction.rule, g.recipe.name
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
fn summary_table(cases: &[Case], guests: &[Guest], evaluated: &[Result<(Vec<CaseResult>, &Tested), String>]) {
    let families: Vec<String> = {
        let mut f: Vec<String> = cases.iter().map(|c| c.family().to_string()).collect();
        f.dedup();
        f
    };
    let mut head = format!("{:<12} {:<5} {:>6} {:>6} ", "guest", "accel", "wall", "first");
    for f in &families {
        head.push_str(&format!("{:>12}", f));
    }
    eprintln!("{head}");
    for (g, e) in guests.iter().zip(evaluated) {
        let secs = |d: Option<Duration>| d.map_or("-".into(), |d| format!("{:.1}s", d.as_secs_f64()));
        let mut row = format!(
            "{:<12} {:<5} {:>6} {:>6} ",
            g.recipe.name,
            g.accel.name(),
            secs(g.boot.as_ref().map(|b| b.wall)),
            secs(g.boot.as_ref().and_then(|b| b.to_first_case))
        );
        match e {
            Err(_) => row.push_str("cannot test"),
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

/// Builds the static agents for the recipes' targets through `cargo xtask agents` (which
/// installs the cross toolchains). A verdict command never installs QEMU: a missing
/// qemu-system binary is "cannot test" with the install line (see `launch::boot`).
fn build_agents(recipes: &[Recipe]) -> Result<Vec<(String, PathBuf)>, String> {
    let root = workspace_root().ok_or("no source tree to build the agents from: pass --agent FILE")?;
    let mut targets: Vec<String> = recipes.iter().map(|r| r.agent_target.clone()).collect();
    targets.dedup();
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

fn workspace_root() -> Option<PathBuf> {
    let root = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
    root.join("xtask").is_dir().then_some(root)
}

/// The gzip'd initramfs for an agent, named by the agent's content: runs from other
/// checkouts or versions sharing the cache never boot each other's agents.
fn write_initramfs(agent: &Path) -> Result<PathBuf, String> {
    use sha2::Digest;
    let bytes = std::fs::read(agent).map_err(|e| format!("agent {}: {e}", agent.display()))?;
    let hash: String = sha2::Sha256::digest(&bytes).iter().take(16).map(|b| format!("{b:02x}")).collect();
    let path = fetch::cache_dir().join("initramfs").join(format!("{hash}.cpio.gz"));
    if !path.is_file() {
        report::write_atomically(&path, &initramfs::build(&bytes)).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(path)
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
