//! `clone3-abi bench`: the suite's per-case cost against the raw syscall loop.

use crate::probe::probe_or_say;
use crate::runner::bench::measure;
use crate::{CANNOT_TEST, GOOD};
use clap::Args;
use clone3_suites::tables;
use std::time::Duration;

#[derive(Args)]
pub struct BenchArgs {
    /// Iterations of each loop.
    #[arg(long, default_value_t = 5000)]
    iterations: usize,
    /// The case to measure.
    #[arg(long, default_value = "exit_signal.sigchld")]
    case: String,
    /// Also run this many seeded fuzz inputs and compare their rate with the raw loop's.
    #[arg(long, value_name = "N")]
    fuzz: Option<u64>,
    /// Instead: each QEMU guest's boot alone (the floor) against the whole matrix, in one run.
    #[arg(long)]
    qemu: bool,
    /// The guests for --qemu (as `qemu --arch`).
    #[arg(long, value_delimiter = ',', default_value = "all", requires = "qemu")]
    arch: Vec<String>,
    /// For --qemu: measure this many times and print the median ratio too (the machine's
    /// own speed drifts between minutes).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..100), requires = "qemu")]
    rounds: u64,
}

/// The target from the issue: the suite may cost at most 1.25 × the raw loop per case.
const TARGET: f64 = 1.25;

pub fn bench(args: BenchArgs) -> u8 {
    if args.qemu {
        return crate::qemu::bench(&args.arch, args.rounds as usize);
    }
    let Some(case) = tables::all().into_iter().find(|c| c.id == args.case) else {
        eprintln!("clone3-abi: no case {}; `clone3-abi list` shows the ids", args.case);
        return crate::USAGE;
    };
    let probe = match probe_or_say() {
        Ok(p) => p,
        Err(code) => return code,
    };
    let arch = probe.arch;
    let plan = crate::pipeline::plan(std::slice::from_ref(&case), &[true], &probe, Duration::from_secs(5));
    match measure(&plan, &case, args.iterations, probe.env.pid_sandbox, |e, o| matches!(crate::verdict::judge(e, Some(o)), crate::verdict::Verdict::Pass)) {
        Ok(r) => {
            let ratio = r.suite_ns as f64 / r.raw_ns as f64;
            println!("kernel {} ({}), case {}, {} iterations each", probe.uname, arch.name, case.id, r.iterations);
            println!("raw clone3+exit+wait: {:.1} µs", r.raw_ns as f64 / 1000.0);
            println!("suite per-case path:  {:.1} µs", r.suite_ns as f64 / 1000.0);
            println!("ratio: {ratio:.3} (target <= {TARGET}){}", if ratio <= TARGET { "" } else { "  ABOVE TARGET" });
            if r.mismatches > 0 {
                println!("warning: {} iterations disagreed with the model", r.mismatches);
            }
            if let Some(n) = args.fuzz {
                let t = crate::fuzz::run_seeded(&probe, 0, n, |_, _, _| {});
                let rate = t.ran as f64 / t.running.as_secs_f64();
                let raw_rate = 1e9 / r.raw_ns as f64;
                println!(
                    "seeded fuzzing: {} inputs ({} children), {rate:.0} exec/s = {:.0} % of the raw loop's {raw_rate:.0}/s (target >= 50 %)",
                    t.ran,
                    t.children,
                    100.0 * rate / raw_rate
                );
            }
            GOOD
        }
        Err(e) => {
            eprintln!("clone3-abi: bench failed: {e}");
            CANNOT_TEST
        }
    }
}
