//! Fuzzing front ends. Inputs are `clone3_suites::fuzz::FuzzInput`s; each becomes a case,
//! the model predicts it, the sandboxed runner runs it, and a verdict other than pass or
//! skip is a finding. `clone3-abi fuzz` draws inputs from a seed; the cargo-fuzz target
//! calls [`check`]; `clone3-abi repro` turns a finding into a table case and a C program.

mod repro;

pub use repro::{repro, ReproArgs};

use crate::probe::{probe, probe_or_say, Probe};
use crate::report::{write_atomically, CaseResult};
use crate::runner::Observed;
use crate::verdict::Verdict;
use crate::{pipeline, BAD, CANNOT_TEST, GOOD};
use clap::Args;
use clone3_suites::fuzz::FuzzInput;
use clone3_suites::{predict, Case, Expect};
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

#[derive(Args)]
pub struct FuzzArgs {
    #[arg(long, default_value_t = 10_000)]
    iterations: u64,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Where findings are written, one JSON file each.
    #[arg(long, value_name = "DIR", default_value = "fuzz-findings")]
    findings: PathBuf,
    /// Instead of fuzzing: write the table cases as libFuzzer seeds (JSON inputs) to DIR.
    #[arg(long, value_name = "DIR")]
    write_seeds: Option<PathBuf>,
}

/// The seed corpus: every table case the fuzz vocabulary can say, one JSON file each.
pub fn seeds() -> Vec<(String, String)> {
    clone3_suites::tables::all()
        .iter()
        .filter_map(|c| FuzzInput::from_case(c).map(|i| (c.id.clone(), serde_json::to_string(&i).expect("json"))))
        .collect()
}

/// The cases of a seeded run, inputs `range`: the same on every architecture.
pub fn seeded_cases(seed: u64, range: std::ops::Range<u64>) -> (Vec<FuzzInput>, Vec<Case>) {
    let inputs: Vec<FuzzInput> = range.map(|i| FuzzInput::seeded(seed, i)).collect();
    let cases = inputs.iter().map(FuzzInput::to_case).collect();
    (inputs, cases)
}

/// Inputs per sandbox. Every child's fork copies the worker's page tables, so a worker
/// holding 20 000 cases forked ~2× slower than one holding 1 000 (measured: 2 600 vs 4 900
/// exec/s); batches keep the run's memory, and so the cost per child, flat.
const BATCH: u64 = 1000;

/// Counts of a seeded run.
#[derive(Default)]
pub struct Tally {
    pub inputs: usize,
    pub ran: usize,
    pub children: usize,
    pub hung: usize,
    /// Differences that a fresh sandbox running the input alone showed again.
    pub findings: usize,
    /// Differences that did not come back alone: the harness's state, not the kernel.
    pub unconfirmed: usize,
    /// Inputs the runner could not run (including the unconfirmed).
    pub errors: usize,
    pub running: Duration,
}

impl Tally {
    /// 1 for a confirmed finding, else 125 if anything could not be looked at, else 0.
    pub fn code(&self) -> u8 {
        let could_not = if self.errors > 0 { CANNOT_TEST } else { GOOD };
        crate::worse(if self.findings > 0 { BAD } else { GOOD }, could_not)
    }
}

/// Runs inputs `0..iterations` of `seed` batch by batch through the pipeline; `each`
/// sees every batch's first index, inputs and results. A difference is re-run alone in a
/// fresh sandbox before it counts: one that does not come back becomes an error (its
/// observation `NotRun`, saying so), never a finding.
pub fn run_seeded(probe: &Probe, seed: u64, iterations: u64, mut each: impl FnMut(u64, &[FuzzInput], &[CaseResult])) -> Tally {
    let mut t = Tally::default();
    let mut start = 0;
    while start < iterations {
        let end = (start + BATCH).min(iterations);
        let (inputs, cases) = seeded_cases(seed, start..end);
        let (predictions, run_mask) = pipeline::predict_all(&cases, &probe.env, &probe.arch);
        let clock = Instant::now();
        let observed = pipeline::execute(&cases, &run_mask, probe, TIMEOUT, crate::pipeline::Progress::Quiet);
        t.running += clock.elapsed();
        let mut results = pipeline::evaluate(&cases, predictions, observed);
        t.inputs += cases.len();
        t.ran += run_mask.iter().filter(|r| **r).count();
        for r in &mut results {
            if let Verdict::Fail(why) = &r.verdict {
                if let Some(alone) = unconfirmed(probe, r.case, &r.prediction.expect, why) {
                    t.unconfirmed += 1;
                    r.observed = Some(Observed::NotRun(alone.clone()));
                    r.verdict = Verdict::Error(alone);
                }
            }
            if let Some(Observed::Ok(v)) = &r.observed {
                t.children += 1;
                t.hung += usize::from(v.fate == Some(clone3_suites::Fate::Hung));
            }
            t.findings += usize::from(matches!(r.verdict, Verdict::Fail(_)));
            t.errors += usize::from(matches!(r.verdict, Verdict::Error(_)));
        }
        each(start, &inputs, &results);
        start = end;
    }
    t
}

/// The per-input bound on waiting for a child, as the tables use.
const TIMEOUT: Duration = Duration::from_secs(5);

/// Runs `case` alone in a fresh sandbox; `None` if it differs from the model again (a
/// finding), else why the batch's difference does not count.
fn unconfirmed(probe: &Probe, case: &Case, expect: &Expect, why: &str) -> Option<String> {
    let again = pipeline::execute(std::slice::from_ref(case), &[true], probe, TIMEOUT, crate::pipeline::Progress::Quiet).pop().flatten();
    match crate::verdict::judge(expect, again.as_ref()) {
        Verdict::Fail(_) => None,
        Verdict::Error(e) => Some(format!("differed in its batch ({why}); the re-run alone could not run: {e}")),
        _ => Some(format!("differed in its batch ({why}) but not when re-run alone in a fresh sandbox: the harness's state, not the kernel")),
    }
}

pub fn fuzz(args: FuzzArgs) -> u8 {
    if let Some(dir) = &args.write_seeds {
        let all = seeds();
        for (id, json) in &all {
            if let Err(e) = write_atomically(&dir.join(id), json.as_bytes()) {
                eprintln!("clone3-abi: {}: {e}", dir.display());
                return CANNOT_TEST;
            }
        }
        eprintln!("clone3-abi: wrote {} seeds to {}", all.len(), dir.display());
        return GOOD;
    }
    let probe = match probe_or_say() {
        Ok(p) => p,
        Err(code) => return code,
    };
    if let Some(why) = pipeline::clone3_missing() {
        eprintln!("clone3-abi: cannot fuzz: {why}");
        return CANNOT_TEST;
    }
    let bar = indicatif::ProgressBar::new(args.iterations);
    bar.set_style(indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} inputs").expect("template"));
    let mut unwritten = None;
    let t = run_seeded(&probe, args.seed, args.iterations, |first, inputs, results| {
        if let Err(e) = report_findings(&args.findings, first, inputs, results) {
            unwritten.get_or_insert(e);
        }
        bar.inc(inputs.len() as u64);
    });
    bar.finish_and_clear();
    eprintln!(
        "clone3-abi fuzz: seed {}, {} inputs ({} ran, {} skipped by gates or the model) in {:.2}s of running: {:.0} exec/s",
        args.seed,
        t.inputs,
        t.ran,
        t.inputs - t.ran,
        t.running.as_secs_f64(),
        t.ran as f64 / t.running.as_secs_f64(),
    );
    eprintln!("clone3-abi fuzz: {} made a child ({} of them hung until the timeout), the rest an errno", t.children, t.hung);
    if t.errors > 0 {
        eprintln!(
            "clone3-abi fuzz: {} inputs could not be judged ({} of them differed only in their batch, not alone): cannot test",
            t.errors, t.unconfirmed
        );
    }
    eprintln!(
        "clone3-abi fuzz: {} findings{}",
        t.findings,
        if t.findings > 0 { format!(" in {}", args.findings.display()) } else { String::new() }
    );
    let mut code = t.code();
    if let Some(e) = unwritten {
        eprintln!("clone3-abi fuzz: cannot test: a finding could not be written: {e}");
        code = crate::worse(code, CANNOT_TEST);
    }
    code
}

/// Writes each failed case as `<dir>/<id>.json` and says it on stderr, and says each input
/// that could not be judged; returns the number of findings, or the first write error.
pub fn report_findings(dir: &std::path::Path, first: u64, inputs: &[FuzzInput], results: &[CaseResult]) -> std::io::Result<usize> {
    let mut n = 0;
    let mut failed = Ok(());
    for (i, (input, r)) in inputs.iter().zip(results).enumerate() {
        let index = first + i as u64;
        match &r.verdict {
            Verdict::Fail(why) => {
                n += 1;
                let doc = serde_json::json!({
                    "id": r.case.id, "index": index, "input": input, "case": r.case, "adjustments": input.adjustments(),
                    "predicted": r.prediction.expect, "rule": r.prediction.rule, "observed": r.observed, "difference": why,
                    "reproduced_alone": true,
                });
                let path = dir.join(format!("{}.json", r.case.id));
                if let Err(e) = write_atomically(&path, serde_json::to_string_pretty(&doc).expect("json").as_bytes()) {
                    failed = failed.and(Err(std::io::Error::new(e.kind(), format!("{}: {e}", path.display()))));
                }
                eprintln!("  FINDING {}: {why} [rule {}]\n    repro: clone3-abi repro {}", r.case.id, r.prediction.rule, path.display());
            }
            Verdict::Error(why) => eprintln!("  NOT JUDGED {} (input {index}): {why}", r.case.id),
            _ => {}
        }
    }
    failed.map(|()| n)
}

/// The libFuzzer entry: decode, predict, run in a fresh sandbox, compare. Panics with a
/// readable message on a finding (libFuzzer then saves the input as a crash artifact).
pub fn check(data: &[u8]) {
    static PROBE: OnceLock<Probe> = OnceLock::new();
    let probe = PROBE.get_or_init(|| probe().expect("the kernel's facts"));
    // The committed seed corpus is JSON (table cases as inputs); anything else is bytes.
    let input = serde_json::from_slice::<FuzzInput>(data).ok().or_else(|| FuzzInput::from_bytes(data));
    let Some(input) = input else { return };
    let case = input.to_case();
    // cargo-fuzz instruments every function with coverage that keeps its state in
    // thread-locals (sancov stack depth), so the child's code reads through the thread
    // pointer: a CLONE_SETTLS child dies of SIGSEGV before it can report. Seeded mode,
    // which is not instrumented, covers CLONE_SETTLS.
    let instrumented = cfg!(fuzzing);
    if instrumented && case.flags & clone3_suites::flags::SETTLS != 0 {
        return;
    }
    let prediction = predict(&case, &probe.env, &probe.arch);
    if matches!(prediction.expect, Expect::Skip(_)) {
        return;
    }
    let observed = pipeline::execute(std::slice::from_ref(&case), &[true], probe, TIMEOUT, crate::pipeline::Progress::Quiet).pop().flatten();
    if let Verdict::Fail(why) = crate::verdict::judge(&prediction.expect, observed.as_ref()) {
        panic!(
            "clone3-abi: kernel and model disagree on {}: {why}\n  rule {} ({})\n  input: {}",
            case.id,
            prediction.rule,
            prediction.source,
            serde_json::to_string(&input).unwrap_or_default()
        );
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_committed_seed_corpus_is_current() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz_targets/seeds");
        for (id, json) in super::seeds() {
            let stored = std::fs::read_to_string(dir.join(&id))
                .unwrap_or_else(|_| panic!("seed {id} missing: clone3-abi fuzz --write-seeds fuzz_targets/seeds"));
            assert_eq!(stored, json, "seed {id} is stale: clone3-abi fuzz --write-seeds fuzz_targets/seeds");
        }
    }
}

#[cfg(test)]
mod confirming {
    use clone3_suites::{predict, Case, Errno, Expect};

    /// A difference counts only if the input, run alone in a fresh sandbox, differs again.
    #[test]
    fn a_difference_that_does_not_come_back_alone_is_no_finding() {
        let _one = crate::one_sandbox_at_a_time();
        let Ok(probe) = crate::probe::probe() else { return };
        let case = Case::base("pids.plain", "a plain fork-like child");
        let right = predict(&case, &probe.env, &probe.arch).expect;
        assert!(matches!(right, Expect::Ok(_)), "{right:?}");
        let said = super::unconfirmed(&probe, &case, &right, "got EEXIST").expect("alone it matches the model");
        assert!(said.contains("got EEXIST") && said.contains("not when re-run alone"), "{said}");
        // A kernel that really answered EPERM would differ alone as well: a finding.
        assert_eq!(super::unconfirmed(&probe, &case, &Expect::Err(Errno::EPERM), "expected EPERM"), None);
    }
}

#[cfg(test)]
mod pid_ownership {
    use crate::verdict::Verdict;
    use clone3_suites::flags::{CHILD_CLEARTID, PARENT, SIGHAND, THREAD, VM};
    use clone3_suites::{Case, Gate, Ptr, SetTid, Stack, Tid};

    /// A child that outlives its case's observation (a thread between its CLEARTID wake
    /// and its release, a CLONE_PARENT child init has not reaped yet) still holds its pid;
    /// the next case asking set_tid for the same "free" pid then met EEXIST, a harness
    /// fact the fuzzer once reported as a kernel difference (on this 2-core host, under a
    /// kernel build, 200-370 of these 800 cases did).
    #[test]
    fn a_case_never_meets_the_pid_of_an_earlier_cases_child() {
        let _one = crate::one_sandbox_at_a_time();
        let Ok(probe) = crate::probe::probe() else { return };
        if !probe.env.pid_sandbox {
            assert!(std::env::var_os("CI").is_none(), "CI runs as root with PID namespaces");
            eprintln!("SKIP: needs root and PID namespaces");
            return;
        }
        let case = |id: String, flags: u64| Case {
            flags,
            exit_signal: if flags & (THREAD | PARENT) != 0 { 0 } else { libc::SIGCHLD as u64 },
            set_tid: SetTid::new(Ptr::Valid, 1, &[Tid::Free]),
            needs: &[Gate::PidSandbox],
            stack: if flags & VM != 0 { Stack::Mapped(64 << 10) } else { Stack::None },
            child_tid: if flags & THREAD != 0 { Ptr::Valid } else { Ptr::Null },
            ..Case::base(id, "pid ownership")
        };
        let mut cases = Vec::new();
        for i in 0..200 {
            cases.push(case(format!("pids.thread_{i}"), THREAD | SIGHAND | VM | CHILD_CLEARTID));
            cases.push(case(format!("pids.after_thread_{i}"), 0));
            cases.push(case(format!("pids.parent_{i}"), PARENT));
            cases.push(case(format!("pids.after_parent_{i}"), 0));
        }
        let (predictions, run) = crate::pipeline::predict_all(&cases, &probe.env, &probe.arch);
        assert!(run.iter().all(|r| *r), "every case runs in the sandbox");
        let observed = crate::pipeline::execute(&cases, &run, &probe, std::time::Duration::from_secs(5), crate::pipeline::Progress::Quiet);
        let results = crate::pipeline::evaluate(&cases, predictions, observed);
        let bad: Vec<String> = results
            .iter()
            .filter(|r| !(r.verdict == Verdict::Pass && matches!(r.observed, Some(crate::runner::Observed::Ok(_)))))
            .map(|r| format!("{}: {:?} {:?}", r.case.id, r.verdict, r.observed))
            .collect();
        assert!(bad.is_empty(), "{} of {} cases: {:#?}", bad.len(), cases.len(), &bad[..bad.len().min(10)]);
    }
}
