//! `clone3-abi run` and `list`: the whole pipeline, case tables → model → runner →
//! verdicts → reporters.

use crate::probe::{probe_or_say, Probe};

use crate::report::{self, snapshot, CaseResult, Counts};
use crate::crash::{self, OnCrash, Taint};
use crate::pipeline;
use crate::verdict::Verdict;
use crate::{CANNOT_TEST, GOOD, USAGE};
use clap::Args;
use clone3_arches::ArchProfile;
use clone3_suites::{tables, Case};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Args)]
pub struct RunArgs {
    /// Write every case's inputs, prediction, observation and verdict here (JSON).
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Write every format here: results.ktap, junit.xml, kcidb.json, report.html,
    /// results.json (this host is one guest, named after its arch).
    #[arg(long, value_name = "DIR")]
    report: Option<PathBuf>,
    /// kselftest mode (tools/testing/selftests/kselftest.h): flat KTAP, one line per case,
    /// a `# Totals:` line, judged by the model alone; exit 0 pass, 1 fail, 4 when nothing
    /// could run here (every case skipped, no clone3), 125 when the tool failed.
    /// ci/kselftest/ carries it into a kernel tree's selftests.
    #[arg(long, conflicts_with_all = ["bless", "baseline", "require_baseline", "list"])]
    ksft: bool,
    /// Print the cases with their predictions for this kernel instead of running them.
    #[arg(long)]
    list: bool,
    /// Only cases whose id contains this text (repeatable).
    #[arg(long)]
    filter: Vec<String>,
    /// Where the per-arch, per-release snapshots live.
    #[arg(long, value_name = "DIR", default_value_os_t = crate::default_snapshot_dir())]
    snapshots: PathBuf,
    /// Compare with this snapshot file instead of <snapshots>/<arch>/<series>.snap; it
    /// must exist and cover what this run skips (else cannot test).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["no_snapshot", "bless"])]
    baseline: Option<PathBuf>,
    /// A missing baseline, or baseline cases this run could not compare, make the run
    /// "cannot test" (125) instead of being judged by the model alone.
    #[arg(long, conflicts_with = "no_snapshot")]
    require_baseline: bool,
    /// Do not compare with (or write) a snapshot.
    #[arg(long, conflicts_with = "bless")]
    no_snapshot: bool,
    /// Store this run's outcome table as the snapshot for this arch and kernel.
    #[arg(long)]
    bless: bool,
    /// Seconds to wait for one case's child.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..))]
    timeout: u64,
    /// Backports (or reverts) this kernel has that its release does not say, as the model
    /// names them: `+name,-name` (`clone3-abi fingerprint` finds them from a run).
    #[arg(long, value_name = "+FIX,-FIX", value_parser = crate::oracle::parse_fixes, default_value = "", allow_hyphen_values = true)]
    fixes: crate::oracle::Fixes,
    /// New kernel taint during the cases (a WARN, oops, lockup…): fail (exit 1), or skip
    /// (125) for a bisection that must step over unrelated kernel trouble.
    #[arg(long, value_enum, default_value_t = OnCrash::Fail)]
    on_crash: OnCrash,
}

pub fn list(filter: Option<&str>) -> u8 {
    for c in tables::all().iter().filter(|c| filter.is_none_or(|f| c.id.contains(f))) {
        println!("{:<48} {}", c.id, c.why);
    }
    GOOD
}

pub fn run(args: RunArgs) -> u8 {
    let mut probe = match probe_or_say() {
        Ok(p) => p,
        Err(code) => return code,
    };
    probe.env.fixes = args.fixes.clone();
    let arch = probe.arch;
    if let Some(why) = pipeline::clone3_missing() {
        eprintln!("clone3-abi: cannot test: {why}");
        println!("KTAP version 1\n1..1\nok 1 clone3 # SKIP {why}");
        return if args.ksft { KSFT_SKIP } else { CANNOT_TEST };
    }
    let cases: Vec<Case> = tables::all()
        .into_iter()
        .filter(|c| args.filter.is_empty() || args.filter.iter().any(|f| c.id.contains(f.as_str())))
        .collect();
    if cases.is_empty() {
        eprintln!("clone3-abi: no case matches {:?}; `clone3-abi list` shows the ids", args.filter);
        return USAGE;
    }
    let (predictions, run_mask) = pipeline::predict_all(&cases, &probe.env, &arch);
    if args.list {
        for (c, p) in cases.iter().zip(&predictions) {
            println!("{:<48} {:<10} {}", c.id, p.rule, crate::verdict::expect_text(&p.expect));
        }
        return GOOD;
    }
    let tainted = crash::read(crash::TAINTED);
    let observed = pipeline::execute(&cases, &run_mask, &probe, Duration::from_secs(args.timeout), pipeline::Progress::Bar);
    let taint = crash::compare(tainted, crash::read(crash::TAINTED));
    let results = pipeline::evaluate(&cases, predictions, observed);
    let ktap = if args.ksft { report::ktap::render_flat(&results) } else { report::ktap::render(&results) };
    print!("{ktap}");
    // A report that cannot be written makes the run "cannot test", but never hides a
    // difference: the summary below still decides between 0 and 1.
    let mut code = args.on_crash.for_taint(&taint);
    match &taint {
        Taint::New(why) => eprintln!("clone3-abi: {why}; the kernel log (dmesg) says why"),
        Taint::Unreadable(why) => eprintln!("clone3-abi: kernel taint not compared: {why}"),
        Taint::Unchanged => {}
    }
    if let Some(path) = &args.json {
        let text = report::json::render(&probe.env, arch.name, &probe.uname, &results);
        if let Err(e) = report::write_atomically(path, text.as_bytes()) {
            eprintln!("clone3-abi: cannot write {}: {e}", path.display());
            code = crate::worse(code, CANNOT_TEST);
        }
    }
    if let Some(dir) = &args.report {
        let machine = rustix::system::uname().machine().to_string_lossy().into_owned();
        let filter: String = args.filter.iter().map(|f| format!(" --filter {f}")).collect();
        let host = report::Guest {
            name: arch.name,
            arch: arch.name,
            kernel: &probe.uname,
            machine: &machine,
            env: Some(&probe.env),
            outcome: report::Outcome::Ran(&results),
            console: None,
            repro: format!("clone3-abi run{filter} --no-snapshot"),
        };
        // The report's KTAP has the matrix's shape (a subtest per guest, here one) whatever
        // stdout had, so that every report directory reads the same way.
        let guests = std::slice::from_ref(&host);
        if let Err(e) = report::dir::write(dir, guests, &report::ktap::render_guests(guests)) {
            eprintln!("clone3-abi: {e}");
            code = crate::worse(code, CANNOT_TEST);
        }
    }
    let code = crate::worse(code, summarize(&args, &probe, &arch, &results));
    let c = Counts::of(&results);
    match args.ksft && code == GOOD && c.pass == 0 {
        true => KSFT_SKIP,
        false => code,
    }
}

/// kselftest's "skip" exit code (KSFT_SKIP): nothing could run here.
const KSFT_SKIP: u8 = 4;

fn summarize(args: &RunArgs, probe: &Probe, arch: &ArchProfile, results: &[CaseResult]) -> u8 {
    let counts = Counts::of(results);
    let series = probe.env.release.series();
    if probe.env.release.beyond_model() {
        eprintln!("clone3-abi: {}", pipeline::beyond_model_note(probe.env.release));
    }
    eprintln!(
        "clone3-abi: kernel {} ({}), {} cases{}",
        probe.uname,
        arch.name,
        results.len(),
        match (probe.privileged, probe.env.pid_sandbox) {
            (true, true) => "",
            (true, false) => " (no PID-namespace sandbox on this kernel: the cases that need it are skipped)",
            (false, _) => " (not root: privileged cases skipped)",
        }
    );
    for r in results {
        match &r.verdict {
            Verdict::Fail(why) => eprintln!(
                "  FAIL {}: {why}\n       rule {} — {}\n       repro: clone3-abi run --filter {} --no-snapshot",
                r.case.id, r.prediction.rule, r.prediction.source, r.case.id
            ),
            _ => {}
        }
    }
    for line in crate::report::not_run_lines(&results, "") {
        eprintln!("{line}");
    }
    let code = if args.no_snapshot || args.ksft {
        let why = if args.ksft { "--ksft" } else { "--no-snapshot" };
        eprintln!("clone3-abi: baseline: none ({why}): judged by the model alone");
        counts.code()
    } else {
        let path = args.baseline.clone().unwrap_or_else(|| snapshot::path(&args.snapshots, arch.name, &series, probe.privileged));
        let policy = if args.require_baseline || args.baseline.is_some() { snapshot::Policy::Required } else { snapshot::Policy::Optional };
        let machine = snapshot::Machine { arch: arch.name.to_string(), cases: results.len(), env: probe.env.clone() };
        let run = snapshot::Run { results, machine, filtered: !args.filter.is_empty() };
        let check = snapshot::check(&path, &run, args.bless, policy);
        check.report(&format!("{} {series}", arch.name), &path);
        check.code(counts.code())
    };
    // Last, alone on its line: the plain closing line CI systems read.
    eprintln!("{}", counts.closing_lines());
    code
}
