//! `clone3-abi run` and `list`: the whole pipeline, case tables → model → runner →
//! verdicts → reporters.

use crate::probe::{probe, Probe};
use crate::report::{self, snapshot, CaseResult, Counts};
use crate::runner::{run_cases, Observed, Plan, RunOptions};
use crate::verdict::{judge, Verdict};
use crate::{BAD, CANNOT_TEST, GOOD, USAGE};
use clap::Args;
use clone3_arches::ArchProfile;
use clone3_suites::{predict, tables, Case, Expect};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Args)]
pub struct RunArgs {
    /// Write every case's inputs, prediction, observation and verdict here (JSON).
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Print the cases with their predictions for this kernel instead of running them.
    #[arg(long)]
    list: bool,
    /// Only cases whose id contains this text (repeatable).
    #[arg(long)]
    filter: Vec<String>,
    /// Where the per-arch, per-release snapshots live.
    #[arg(long, value_name = "DIR", default_value_os_t = crate::default_snapshot_dir())]
    snapshots: PathBuf,
    /// Do not compare with (or write) a snapshot.
    #[arg(long, conflicts_with = "bless")]
    no_snapshot: bool,
    /// Store this run's outcome table as the snapshot for this arch and kernel.
    #[arg(long)]
    bless: bool,
    /// Seconds to wait for one case's child.
    #[arg(long, default_value_t = 5)]
    timeout: u64,
}

pub fn list(filter: Option<&str>) -> u8 {
    for c in tables::all().iter().filter(|c| filter.is_none_or(|f| c.id.contains(f))) {
        println!("{:<48} {}", c.id, c.why);
    }
    GOOD
}

pub fn run(args: RunArgs) -> u8 {
    let probe = match probe() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("clone3-abi: cannot read the kernel's facts: {e}");
            return CANNOT_TEST;
        }
    };
    let arch = ArchProfile::native();
    if let Some(why) = clone3_missing() {
        eprintln!("clone3-abi: cannot test: {why}");
        println!("KTAP version 1\n1..1\nok 1 clone3 # SKIP {why}");
        return CANNOT_TEST;
    }
    let cases: Vec<Case> = tables::all()
        .into_iter()
        .filter(|c| args.filter.is_empty() || args.filter.iter().any(|f| c.id.contains(f.as_str())))
        .collect();
    if cases.is_empty() {
        eprintln!("clone3-abi: no case matches {:?}; `clone3-abi list` shows the ids", args.filter);
        return USAGE;
    }
    let predictions: Vec<_> = cases.iter().map(|c| predict(c, &probe.env, &arch)).collect();
    if args.list {
        for (c, p) in cases.iter().zip(&predictions) {
            println!("{:<48} {:<10} {}", c.id, p.rule, crate::verdict::expect_text(&p.expect));
        }
        return GOOD;
    }
    let run_mask: Vec<bool> = predictions.iter().map(|p| !matches!(p.expect, Expect::Skip(_))).collect();
    let observed = execute(&cases, &run_mask, &probe, &arch, Duration::from_secs(args.timeout));
    let results: Vec<CaseResult> = cases
        .iter()
        .zip(predictions)
        .zip(observed)
        .map(|((case, prediction), observed)| {
            let verdict = judge(&prediction.expect, observed.as_ref());
            CaseResult { case, prediction, observed, verdict }
        })
        .collect();
    print!("{}", report::ktap::render(&results));
    if let Some(path) = &args.json {
        let text = report::json::render(&probe.env, arch.name, &probe.uname, &results);
        if let Err(e) = report::write_atomically(path, text.as_bytes()) {
            eprintln!("clone3-abi: cannot write {}: {e}", path.display());
            return CANNOT_TEST;
        }
    }
    summarize(&args, &probe, &arch, &results)
}

fn execute(cases: &[Case], run_mask: &[bool], probe: &Probe, arch: &ArchProfile, timeout: Duration) -> Vec<Option<Observed>> {
    let bar = indicatif::ProgressBar::new(run_mask.iter().filter(|r| **r).count() as u64);
    bar.set_style(indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} cases").expect("template"));
    let plan = Plan {
        cases,
        run: run_mask,
        env: &probe.env,
        arch,
        cgroup2_mount: probe.cgroup2_mount.as_deref(),
        cgroup_v1_dir: probe.cgroup_v1_dir.as_deref(),
        timeout,
        tag: std::process::id(),
    };
    let observed = run_cases(RunOptions { plan, privileged: probe.privileged, progress: &mut |n| bar.set_position(n as u64) });
    bar.finish_and_clear();
    observed
}

/// `clone3(NULL, 0)` is EINVAL wherever clone3 exists; ENOSYS means it does not, or a
/// seccomp filter hides it.
fn clone3_missing() -> Option<String> {
    let r = unsafe { clone3_arches::clone3(core::ptr::null_mut(), 0) };
    (r == -(libc::ENOSYS as isize)).then(|| {
        "clone3 returns ENOSYS: the kernel lacks it, or a seccomp filter blocks it (container runtimes do; glibc then falls back to clone)".to_string()
    })
}

fn summarize(args: &RunArgs, probe: &Probe, arch: &ArchProfile, results: &[CaseResult]) -> u8 {
    let counts = Counts::of(results);
    let series = probe.env.release.series();
    let mut code = if counts.fail > 0 { BAD } else { GOOD };
    eprintln!(
        "clone3-abi: kernel {} ({}), {} cases{}",
        probe.uname,
        arch.name,
        results.len(),
        if probe.privileged { "" } else { " (not root: privileged cases skipped)" }
    );
    for r in results {
        if let Verdict::Fail(why) = &r.verdict {
            eprintln!("  FAIL {}: {why}\n       rule {} — {}\n       repro: clone3-abi run --filter {}", r.case.id, r.prediction.rule, r.prediction.source, r.case.id);
        }
    }
    // Last, alone on its line: the plain closing line CI systems read.
    let closing = |code| {
        eprintln!("clone3-abi: {} passed, {} failed, {} skipped", counts.pass, counts.fail, counts.skip);
        code
    };
    if args.no_snapshot || !args.filter.is_empty() {
        return closing(code);
    }
    let body = snapshot::table(results);
    let path = snapshot::path(&args.snapshots, arch.name, &series);
    if args.bless {
        return match report::write_atomically(&path, snapshot::file_contents(&body).as_bytes()) {
            Ok(()) => {
                eprintln!("clone3-abi: wrote {}", path.display());
                closing(code)
            }
            Err(e) => {
                eprintln!("clone3-abi: cannot write {}: {e}", path.display());
                closing(CANNOT_TEST)
            }
        };
    }
    match snapshot::read_body(&path) {
        Err(e) => {
            eprintln!("clone3-abi: {e}");
            code = CANNOT_TEST.max(code);
        }
        Ok(None) => eprintln!("clone3-abi: no baseline for {} {series} ({} does not exist)", arch.name, path.display()),
        Ok(Some(stored)) => {
            let d = snapshot::diff(&stored, &body);
            if d.is_empty() {
                eprintln!("clone3-abi: matches the snapshot {}", path.display());
            } else {
                eprintln!("clone3-abi: differs from the snapshot {} (- stored, + this run):", path.display());
                for l in &d {
                    eprintln!("  {l}");
                }
                code = BAD;
            }
        }
    }
    closing(code)
}
