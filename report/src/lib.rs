//! Layer 4 outputs: every reporter reads the same results — a [`Guest`] per guest (the host
//! itself in a native run), each with its [`CaseResult`]s or the reason it has none — the way
//! nextest's reporters all read one event type. No reporter decides a verdict.

pub mod cross_arch;
pub mod verdict;
pub mod dir;
pub mod html;
pub mod json;
pub mod junit;
pub mod kcidb;
pub mod ktap;
pub mod snapshot;

use clone3_runner as runner;
use crate::runner::Observed;
use crate::verdict::{judge, Verdict};
use clone3_suites::{Case, Env, Prediction};

/// Exit codes, as `git bisect run` reads them: 0 good, 1 a difference, 125 cannot test.
pub const GOOD: u8 = 0;
pub const BAD: u8 = 1;
pub const CANNOT_TEST: u8 = 125;

/// The worse of two exit codes: a difference over cannot-test over good (anything else,
/// a usage error, over all).
pub fn worse(a: u8, b: u8) -> u8 {
    let rank = |c: u8| match c {
        GOOD => 0,
        CANNOT_TEST => 1,
        BAD => 2,
        _ => 3,
    };
    if rank(a) >= rank(b) { a } else { b }
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

pub struct CaseResult<'a> {
    pub case: &'a Case,
    pub prediction: Prediction,
    pub observed: Option<Observed>,
    pub verdict: Verdict,
}

/// One guest of a run, or the host in a native run (named after its arch, as a guest is, so
/// that a case's KCIDB path is the same whether a board or QEMU ran it).
pub struct Guest<'a> {
    pub name: &'a str,
    /// The arch profile the agent ran as; empty when it never ran.
    pub arch: &'a str,
    /// `uname -r` of the kernel that ran; empty when it never ran.
    pub kernel: &'a str,
    /// The kernel's machine as `uname -m` names it (x86_64, i386, aarch64, riscv64).
    pub machine: &'a str,
    /// What the model was told about the machine.
    pub env: Option<&'a Env>,
    pub outcome: Outcome<'a>,
    /// The serial console (QEMU guests), kept as `console/<name>.log` in a report directory.
    pub console: Option<&'a str>,
    /// The command that runs this guest again, judged by the model alone.
    pub repro: String,
}

pub enum Outcome<'a> {
    Ran(&'a [CaseResult<'a>]),
    /// The guest cannot run here at all (no QEMU, no KVM, no clone3): the one SKIP.
    Unavailable(String),
    /// The run did not happen as it should (the kernel never reached the agent, a hang,
    /// a truncated console): a failure of the run, though not of a case (exit 125).
    CannotTest(String),
    /// The kernel oopsed, BUGged, warned or became tainted under the cases.
    Crashed(String),
}

impl Guest<'_> {
    pub fn results(&self) -> &[CaseResult<'_>] {
        match self.outcome {
            Outcome::Ran(r) => r,
            _ => &[],
        }
    }

    /// The console log's path inside a report directory, when there is a console.
    pub fn console_file(&self) -> Option<String> {
        self.console.map(|_| format!("console/{}.log", self.name))
    }
}

/// What every reporter calls a result: the four verdicts, named as KCIDB names them.
pub fn status(v: &Verdict) -> &'static str {
    match v {
        Verdict::Pass => "PASS",
        Verdict::Fail(_) => "FAIL",
        Verdict::Skip(_) => "SKIP",
        Verdict::Error(_) => "ERROR",
    }
}

#[derive(Default, Debug, Clone, Copy)]
pub struct Counts {
    pub pass: usize,
    pub fail: usize,
    pub skip: usize,
    /// Cases the runner could not run ([`Verdict::Error`]).
    pub error: usize,
}

impl Counts {
    pub fn of<'a>(results: impl IntoIterator<Item = &'a CaseResult<'a>>) -> Self {
        let mut c = Counts::default();
        for r in results {
            match r.verdict {
                Verdict::Pass => c.pass += 1,
                Verdict::Fail(_) => c.fail += 1,
                Verdict::Skip(_) => c.skip += 1,
                Verdict::Error(_) => c.error += 1,
            }
        }
        c
    }

    pub fn add(self, o: Counts) -> Counts {
        Counts { pass: self.pass + o.pass, fail: self.fail + o.fail, skip: self.skip + o.skip, error: self.error + o.error }
    }

    /// The bisect code these verdicts alone give: any failure is bad; otherwise any case
    /// the runner could not run makes the run "cannot test".
    pub fn code(&self) -> u8 {
        if self.fail > 0 {
            crate::BAD
        } else if self.error > 0 {
            crate::CANNOT_TEST
        } else {
            crate::GOOD
        }
    }

    /// The plain closing line CI systems read (`N passed, N failed, N skipped`), preceded
    /// by the cases that could not run, when there are any.
    pub fn closing_lines(&self) -> String {
        let not_run = if self.error > 0 {
            format!("clone3-abi: {} cases could not be run by the tool (cannot test; see above)\n", self.error)
        } else {
            String::new()
        };
        format!("{not_run}clone3-abi: {} passed, {} failed, {} skipped", self.pass, self.fail, self.skip)
    }
}

/// One line per distinct reason the runner could not run cases (a dead worker takes the
/// rest of the table with it: one cause, not 300 lines), naming the first cases.
pub fn not_run_lines(results: &[CaseResult], guest: &str) -> Vec<String> {
    let mut by_reason: Vec<(&str, Vec<&str>)> = Vec::new();
    for r in results {
        if let Verdict::Error(why) = &r.verdict {
            match by_reason.iter_mut().find(|(w, _)| *w == why.as_str()) {
                Some((_, ids)) => ids.push(&r.case.id),
                None => by_reason.push((why, vec![&r.case.id])),
            }
        }
    }
    let guest = if guest.is_empty() { String::new() } else { format!("{guest} ") };
    by_reason
        .into_iter()
        .map(|(why, ids)| match ids.as_slice() {
            [one] => format!("  NOT RUN {guest}{one}: {why}"),
            [first, second, ..] => {
                let more = if ids.len() > 2 { ", …" } else { "" };
                format!("  NOT RUN {guest}{} cases ({first}, {second}{more}): {why}", ids.len())
            }
            [] => unreachable!("a reason has a case"),
        })
        .collect()
}

/// Writes `contents` to `path` through a temporary file (random name, O_EXCL, removed on
/// any failure) and a rename: a reader sees the old file or the new one, never half of one.
pub fn write_atomically(path: &std::path::Path, contents: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut f = tempfile::NamedTempFile::new_in(dir)?;
    f.write_all(contents)?;
    // Readable like any file the tool writes (the temp file starts as 0600).
    f.as_file().set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o644))?;
    f.as_file().sync_all()?;
    f.persist(path).map_err(|e| e.error)?;
    // The rename itself survives a crash only once the directory is synced.
    std::fs::File::open(dir).and_then(|d| d.sync_all())
}

#[cfg(test)]
mod tests;
