//! Fuzzing front ends. Inputs are `clone3_suites::fuzz::FuzzInput`s; each becomes a case,
//! the model predicts it, the sandboxed runner runs it, and a verdict other than pass or
//! skip is a finding. `clone3-abi fuzz` draws inputs from a seed; the cargo-fuzz target
//! calls [`check`]; `clone3-abi repro` turns a finding into a table case and a C program.

mod repro;

pub use repro::{repro, ReproArgs};

use crate::probe::{probe, probe_or_say, Probe};
use crate::report::{write_atomically, CaseResult};
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
    pub findings: usize,
    pub running: Duration,
}

/// Runs inputs `0..iterations` of `seed` batch by batch through the pipeline; `each`
/// sees every batch's first index, inputs and results.
pub fn run_seeded(probe: &Probe, seed: u64, iterations: u64, mut each: impl FnMut(u64, &[FuzzInput], &[CaseResult])) -> Tally {
    let mut t = Tally::default();
    let mut start = 0;
    while start < iterations {
        let end = (start + BATCH).min(iterations);
        let (inputs, cases) = seeded_cases(seed, start..end);
        let (predictions, run_mask) = pipeline::predict_all(&cases, &probe.env, &probe.arch);
        let clock = Instant::now();
        let observed = pipeline::execute(&cases, &run_mask, probe, Duration::from_secs(5), false);
        t.running += clock.elapsed();
        let results = pipeline::evaluate(&cases, predictions, observed);
        t.inputs += cases.len();
        t.ran += run_mask.iter().filter(|r| **r).count();
        for r in &results {
            match &r.observed {
                Some(crate::runner::Observed::Ok(v)) => {
                    t.children += 1;
                    t.hung += usize::from(v.fate == Some(clone3_suites::Fate::Hung));
                }
                _ => {}
            }
            t.findings += usize::from(matches!(r.verdict, Verdict::Fail(_)));
        }
        each(start, &inputs, &results);
        start = end;
    }
    t
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
    let t = run_seeded(&probe, args.seed, args.iterations, |first, inputs, results| {
        report_findings(&args.findings, first, inputs, results);
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
    eprintln!(
        "clone3-abi fuzz: {} findings{}",
        t.findings,
        if t.findings > 0 { format!(" in {}", args.findings.display()) } else { String::new() }
    );
    if t.findings > 0 { BAD } else { GOOD }
}

/// Writes each failed case as `<dir>/<id>.json` and says it on stderr; returns the count.
pub fn report_findings(dir: &std::path::Path, first: u64, inputs: &[FuzzInput], results: &[CaseResult]) -> usize {
    let mut n = 0;
    for (i, (input, r)) in inputs.iter().zip(results).enumerate() {
        let index = first + i as u64;
        if let Verdict::Fail(why) = &r.verdict {
            n += 1;
            let doc = serde_json::json!({
                "id": r.case.id, "index": index, "input": input, "case": r.case, "adjustments": input.adjustments(),
                "predicted": r.prediction.expect, "rule": r.prediction.rule, "observed": r.observed, "difference": why,
            });
            let path = dir.join(format!("{}.json", r.case.id));
            let _ = write_atomically(&path, serde_json::to_string_pretty(&doc).expect("json").as_bytes());
            eprintln!("  FINDING {}: {why} [rule {}]\n    repro: clone3-abi repro {}", r.case.id, r.prediction.rule, path.display());
        }
    }
    n
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
    let observed = pipeline::execute(std::slice::from_ref(&case), &[true], probe, Duration::from_secs(5), false).pop().flatten();
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
