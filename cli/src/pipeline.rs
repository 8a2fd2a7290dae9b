//! The one pipeline every front end uses: case tables → model → runner → verdicts.
//! `run` (native), the agent (PID 1 in a guest) and the QEMU driver all go through here.

use crate::probe::Probe;
use crate::report::CaseResult;
use crate::runner::{run_cases, Observed, Plan, RunOptions};
use crate::verdict::judge;
use clone3_arches::ArchProfile;
use clone3_suites::{predict, Case, Env, Expect, Prediction};
use std::time::Duration;

/// The model's prediction per case, and which cases can run here at all.
pub fn predict_all(cases: &[Case], env: &Env, arch: &ArchProfile) -> (Vec<Prediction>, Vec<bool>) {
    let predictions: Vec<_> = cases.iter().map(|c| predict(c, env, arch)).collect();
    let run = predictions.iter().map(|p| !matches!(p.expect, Expect::Skip(_))).collect();
    (predictions, run)
}

/// Verdicts for observations made here or brought home from a guest.
pub fn evaluate<'a>(cases: &'a [Case], predictions: Vec<Prediction>, observed: Vec<Option<Observed>>) -> Vec<CaseResult<'a>> {
    cases
        .iter()
        .zip(predictions)
        .zip(observed)
        .map(|((case, prediction), observed)| {
            let verdict = judge(&prediction.expect, observed.as_ref());
            CaseResult { case, prediction, observed, verdict }
        })
        .collect()
}

/// The runner's plan for `cases` on the machine `probe` read.
pub fn plan<'a>(cases: &'a [Case], run: &'a [bool], probe: &'a Probe, timeout: Duration) -> Plan<'a> {
    Plan {
        cases,
        run,
        env: &probe.env,
        arch: &probe.arch,
        cgroup2_mount: probe.cgroup2_mount.as_deref(),
        cgroup_v1_dir: probe.cgroup_v1_dir.as_deref(),
        timeout,
        tag: std::process::id(),
    }
}

/// Runs the cases `run_mask` marks, with a progress bar when `progress`.
pub fn execute(cases: &[Case], run_mask: &[bool], probe: &Probe, timeout: Duration, progress: bool) -> Vec<Option<Observed>> {
    let bar = if progress {
        indicatif::ProgressBar::new(run_mask.iter().filter(|r| **r).count() as u64)
    } else {
        indicatif::ProgressBar::hidden()
    };
    bar.set_style(indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} cases").expect("template"));
    let plan = plan(cases, run_mask, probe, timeout);
    // The runner's `privileged` builds the PID-namespace sandbox: only where the probe
    // found it buildable (root, and a kernel with PID namespaces).
    let observed = run_cases(RunOptions { plan, privileged: probe.env.pid_sandbox, progress: &mut |n| bar.set_position(n as u64) });
    bar.finish_and_clear();
    observed
}

/// `clone3(NULL, 0)` is EINVAL wherever clone3 exists; ENOSYS means it does not, or a
/// seccomp filter hides it.
pub fn clone3_missing() -> Option<String> {
    let r = unsafe { clone3_arches::clone3(core::ptr::null_mut(), 0) };
    (r == -(libc::ENOSYS as isize)).then(|| {
        "clone3 returns ENOSYS: the kernel lacks it, or a seccomp filter blocks it (container runtimes do; glibc then falls back to clone)".to_string()
    })
}

