//! The measurement behind `clone3-abi bench`, run inside the same sandbox as a real run:
//! a raw clone3 + exit + wait loop (the floor: exit_signal SIGCHLD, the child exits at
//! once, the parent waits) and the suite's per-case path (attempt, prediction,
//! verdict, JSON line) on the same simple case, in alternating rounds. The verdict is the
//! caller's (`passes`): verdicts are the layer above this one.

use super::attempt::{attempt, clone3_exit_reap, sigchld_only};
use super::worker::{resources, Plan};
use super::{sandbox, signals};
use clone3_suites::{predict, Case};
use rustix::fd::AsFd;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::time::{Duration, Instant};

#[derive(Debug, Serialize, Deserialize)]
pub struct BenchResult {
    pub iterations: usize,
    pub raw_ns: u64,
    pub suite_ns: u64,
    /// Cases whose observation did not match the prediction (should be 0).
    pub mismatches: usize,
}

const ROUNDS: usize = 10;

/// Does an observation pass against a prediction?
pub type Judge = fn(&clone3_suites::Expect, &crate::Observed) -> bool;

pub fn measure(plan: &Plan, case: &Case, iterations: usize, privileged: bool, passes: Judge) -> Result<BenchResult, String> {
    let (rd, wr) = rustix::pipe::pipe().map_err(|e| format!("pipe: {e}"))?;
    let top = sandbox::spawn(
        move || {
            let r = in_worker(plan, case, iterations, passes);
            let mut f = std::fs::File::from(wr);
            let _ = f.write_all(serde_json::to_string(&r).unwrap_or_default().as_bytes());
            0
        },
        privileged,
    );
    if !privileged {
        sandbox::become_subreaper();
    }
    let text = sandbox::read_bounded(rd.as_fd(), Duration::from_secs(600));
    let mut st = 0;
    unsafe {
        if text.is_none() {
            libc::kill(top, libc::SIGKILL);
        }
        libc::waitpid(top, &mut st, libc::__WALL);
    }
    let text = text.ok_or("the bench worker sent nothing")?;
    serde_json::from_str::<Result<BenchResult, String>>(&text).map_err(|e| format!("bench output: {e}"))?
}

fn in_worker(plan: &Plan, case: &Case, iterations: usize, passes: Judge) -> Result<BenchResult, String> {
    signals::setup_worker();
    let mut res = resources(plan)?;
    let per_round = iterations.div_ceil(ROUNDS);
    let (mut raw, mut suite, mut mismatches) = (Duration::ZERO, Duration::ZERO, 0);
    for _ in 0..ROUNDS {
        let t = Instant::now();
        for _ in 0..per_round {
            clone3_exit_reap(sigchld_only()).map_err(|e| format!("clone3: errno {e}"))?;
        }
        raw += t.elapsed();
        let t = Instant::now();
        for _ in 0..per_round {
            let observed = attempt(case, plan.env, plan.arch, &mut res);
            let prediction = predict(case, plan.env, plan.arch);
            let pass = passes(&prediction.expect, &observed);
            let line = serde_json::to_string(&super::worker::Line { index: 0, observed }).unwrap_or_default();
            std::hint::black_box(line);
            if !pass {
                mismatches += 1;
            }
        }
        suite += t.elapsed();
    }
    let n = (per_round * ROUNDS) as u64;
    Ok(BenchResult { iterations: n as usize, raw_ns: raw.as_nanos() as u64 / n, suite_ns: suite.as_nanos() as u64 / n, mismatches })
}
