//! `clone3-abi qemu`: the case table inside stock (or the user's own) kernels under
//! qemu-system, one guest per architecture. Recipes → kernel cache → initramfs(agent) →
//! boot → console records → the same model, verdicts and reporters as a native run.

mod bench;

pub use bench::bench;
pub use clone3_qemu::fetch::cache_dir;
use clone3_qemu::guest::{self, Guest, Tested, Untested};
use clone3_qemu::{fetch, initramfs, launch, mirror, recipe};

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

use crate::crash::OnCrash;
use crate::report::{self, ktap, snapshot, CaseResult, Counts};
use crate::{pipeline, CANNOT_TEST, GOOD, USAGE};
use clap::Args;
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
    let plan = guest::Plan {
        kernel: args.kernel.as_deref(),
        accel: match args.accel.as_str() {
            "tcg" => Some(Accel::Tcg),
            "kvm" => Some(Accel::Kvm),
            _ => None,
        },
        append: args.fuzz.map_or(String::new(), |n| crate::console::fuzz_arg(n, args.seed)),
        watchdog: Duration::from_secs(args.watchdog),
        boot_timeout: args.boot_timeout.map(Duration::from_secs),
    };
    let bars = indicatif::MultiProgress::new();
    // Longest first (by each guest's last measured wall time; never measured counts as
    // longest), so that the last guest to finish is not one that started last.
    let mut work: Vec<(usize, Recipe)> = recipes.into_iter().enumerate().collect();
    work.sort_by_cached_key(|(_, r)| guest::BootTimes::for_guest(r, &plan).wall().unwrap_or(Duration::MAX));
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
                let g = guest::run(r, agent, &plan, &cases, &|m| bar.set_message(m.to_string()));
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

/// The agent binary of `recipe`'s target among those [`find_agents`] gave.
fn agent_for(agents: &[(String, PathBuf)], recipe: &Recipe) -> Option<PathBuf> {
    agents.iter().find(|(t, _)| *t == recipe.agent_target).map(|(_, p)| p.clone())
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
                code = crate::worse(code, u.code(args.on_crash.code()));
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

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use clone3_qemu::fake::{boot, cases, run_with, WARN};
    use clone3_qemu::guest::judge_console;

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
