//! The outcome table a kernel produced, one line per case, stored as an insta snapshot at
//! `snapshots/<arch or guest>/<major.minor>.snap`. Values that differ between runs of the
//! same kernel (pids, fds, addresses) never appear; pids chosen by set_tid show as `1` or
//! `pid`.
//!
//! The header's `info` records the machine the table was taken on: the arch profile, the
//! number of cases and the model's whole [`Env`] (release, privileges, pid_max, the user
//! address limit, cgroup mounts, …). A later run is compared like with like: a case whose
//! prediction differs between the stored machine and this one depends on a machine fact,
//! so its stored outcome says nothing about this kernel and it is judged by the model
//! alone (and said so). A snapshot never turns a machine fact into a difference.

use super::CaseResult;
use crate::runner::Observed;
use crate::verdict::{view_text, Verdict};
use clone3_arches::ArchProfile;
use clone3_suites::{predict, ChildView, Env};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// `<dir>/<arch>/<series>.snap` for a privileged run (as root, as in the QEMU guests);
/// `<series>.unprivileged.snap` otherwise: without CAP_SYS_ADMIN the same kernel rightly
/// answers EPERM where root gets a child, so the two are different baselines.
pub fn path(dir: &Path, arch: &str, series: &str, privileged: bool) -> PathBuf {
    let variant = if privileged { "" } else { ".unprivileged" };
    dir.join(arch).join(format!("{series}{variant}.snap"))
}

/// One case's line: id, verdict, what was observed.
fn line(r: &CaseResult, width: usize) -> String {
    let observed = match &r.observed {
        None => "-".to_string(),
        Some(Observed::Ok(v)) => format!("ok {}", view_text(&redact(v))),
        Some(Observed::Err(e)) => e.to_string(),
        Some(Observed::ErrRaw(n)) => format!("errno {n}"),
        Some(Observed::NotRun(_)) => "not run".to_string(),
    };
    let verdict = match r.verdict {
        Verdict::Pass => "pass",
        Verdict::Fail(_) => "FAIL",
        Verdict::Skip(_) => "skip",
        Verdict::Error(_) => "ERROR",
    };
    format!("{:<width$}  {verdict:<4}  {observed}", r.case.id)
}

/// The table body.
pub fn table(results: &[CaseResult]) -> String {
    let width = results.iter().map(|r| r.case.id.len()).max().unwrap_or(0);
    results.iter().map(|r| line(r, width) + "\n").collect()
}

fn redact(v: &ChildView) -> ChildView {
    let pid = |p: Option<i32>| p.map(|p| if p == 1 { 1 } else { -1 });
    ChildView { tid_in_ns: pid(v.tid_in_ns), ret_pid: pid(v.ret_pid), ..v.clone() }
}

/// The machine a table was taken on.
#[derive(Clone, Debug, PartialEq)]
pub struct Machine {
    pub arch: String,
    pub cases: usize,
    pub env: Env,
}

/// The insta file around a body, with the machine in the header's `info`.
pub fn file_contents(machine: &Machine, body: &str) -> String {
    let env = serde_json::to_string(&machine.env).expect("serializable");
    format!(
        "---\nsource: cli/tests/native.rs\ninfo:\n  arch: {}\n  cases: {}\n  env: '{}'\n---\n{body}",
        machine.arch,
        machine.cases,
        env.replace('\'', "''")
    )
}

/// A stored snapshot: the machine it was taken on and its lines by case id.
pub struct Stored {
    pub machine: Machine,
    pub lines: BTreeMap<String, String>,
}

/// A YAML scalar as insta or [`file_contents`] writes it: bare, 'single' or "double"
/// quoted (double quotes escape like JSON strings).
fn scalar(v: &str) -> Option<String> {
    let v = v.trim();
    if let Some(s) = v.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')) {
        Some(s.replace("''", "'"))
    } else if v.starts_with('"') {
        serde_json::from_str(v).ok()
    } else {
        Some(v.to_string())
    }
}

/// The stored snapshot at `path` (`None` when there is no file); a clear error when the
/// file is not one of ours.
pub fn read(path: &Path) -> Result<Option<Stored>, String> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot read snapshot {}: {e}", path.display())),
    };
    let corrupt = |what: &str| {
        format!(
            "corrupt snapshot {}: {what}; fix: restore it from git or take it again with `--bless`",
            path.display()
        )
    };
    let rest = text.strip_prefix("---\n").ok_or_else(|| corrupt("no insta header"))?;
    let end = rest.find("\n---\n").ok_or_else(|| corrupt("the header never ends"))?;
    let (header, body) = (&rest[..end], &rest[end + 5..]);
    let info = |key: &str| header.lines().find_map(|l| l.trim_start().strip_prefix(key)).and_then(scalar);
    let arch = info("arch:").ok_or_else(|| corrupt("no `info: arch` (taken by an older clone3-abi?)"))?;
    let cases: usize = info("cases:").and_then(|c| c.parse().ok()).ok_or_else(|| corrupt("no `info: cases`"))?;
    let env_text = info("env:").ok_or_else(|| corrupt("no `info: env`: the machine it was taken on is unknown"))?;
    let env: Env = serde_json::from_str(&env_text).map_err(|e| corrupt(&format!("unreadable `info: env` ({e})")))?;
    let mut lines = BTreeMap::new();
    for l in body.lines() {
        let mut words = l.split_whitespace();
        let (Some(id), Some(_), Some(_)) = (words.next(), words.next(), words.next()) else {
            return Err(corrupt("a line without id, verdict and outcome"));
        };
        lines.insert(id.to_string(), l.trim_end().to_string());
    }
    if lines.len() != cases {
        return Err(corrupt(&format!("{} case lines where the header says {cases}", lines.len())));
    }
    Ok(Some(Stored { machine: Machine { arch, cases, env }, lines }))
}

/// How a run relates to its baseline.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Policy {
    /// No file for this kernel is fine (said in one line): the model alone judges.
    Optional,
    /// The user named or required a baseline: a missing file, or baseline cases this run
    /// could not compare, make the run "cannot test".
    Required,
}

/// What comparing (or blessing) a run's table against a stored snapshot found.
#[derive(Debug)]
pub enum Check {
    /// Every comparable case matches; `notes` says what was not compared and why.
    Matches { notes: Vec<String> },
    NoBaseline { required: bool },
    Differs { lines: Vec<String>, notes: Vec<String> },
    /// Cases the baseline ran could not be compared here (skipped, or the runner could
    /// not run them) while the baseline was required.
    Incomplete { missing: Vec<String>, notes: Vec<String> },
    Written,
    /// The file is unreadable or not a snapshot, or could not be written: cannot test.
    Broken(String),
}

impl Check {
    /// The bisect-style code this adds to a run that was otherwise `code`.
    pub fn code(&self, code: u8) -> u8 {
        let own = match self {
            Check::Differs { .. } => crate::BAD,
            Check::Broken(_) | Check::Incomplete { .. } | Check::NoBaseline { required: true } => crate::CANNOT_TEST,
            _ => crate::GOOD,
        };
        crate::worse(code, own)
    }

    /// Says which baseline was used (or that none was) in one line, then the details.
    pub fn report(&self, who: &str, path: &Path) {
        let notes = |n: &[String]| {
            for l in n {
                eprintln!("    not compared: {l}");
            }
        };
        match self {
            Check::Matches { notes: n } => {
                eprintln!("clone3-abi: {who}: baseline {}: matches ({} not compared)", path.display(), n.len());
                notes(n);
            }
            Check::NoBaseline { required } => eprintln!(
                "clone3-abi: {who}: baseline: none ({} does not exist){}",
                path.display(),
                if *required { "; one was required: cannot test" } else { "; judged by the model alone" }
            ),
            Check::Written => eprintln!("clone3-abi: {who}: wrote the baseline {}", path.display()),
            Check::Broken(e) => eprintln!("clone3-abi: {who}: baseline: {e}"),
            Check::Differs { lines, notes: n } => {
                eprintln!("clone3-abi: {who}: baseline {}: differs (- stored, + this run):", path.display());
                for l in lines {
                    eprintln!("  {l}");
                }
                notes(n);
            }
            Check::Incomplete { missing, notes: n } => {
                eprintln!(
                    "clone3-abi: {who}: baseline {}: {} of its cases could not be compared here: cannot test",
                    path.display(),
                    missing.len()
                );
                for l in missing {
                    eprintln!("    {l}");
                }
                notes(n);
            }
        }
    }
}

/// What this run is: its results, the machine it ran on, and whether it ran every case.
pub struct Run<'a> {
    pub results: &'a [CaseResult<'a>],
    pub machine: Machine,
    /// Only some cases were selected (`--filter`): the baseline's others are not compared.
    pub filtered: bool,
}

/// Compares the run with the snapshot at `path`, or stores it there when blessing.
pub fn check(path: &Path, run: &Run, bless: bool, policy: Policy) -> Check {
    if bless {
        if run.filtered {
            return Check::Broken("--bless needs the whole table: drop --filter".into());
        }
        if let Some(r) = run.results.iter().find(|r| matches!(r.verdict, Verdict::Error(_))) {
            return Check::Broken(format!("not blessed: the tool could not run {} (and maybe others)", r.case.id));
        }
        let contents = file_contents(&run.machine, &table(run.results));
        return match super::write_atomically(path, contents.as_bytes()) {
            Ok(()) => Check::Written,
            Err(e) => Check::Broken(format!("cannot write {}: {e}", path.display())),
        };
    }
    match read(path) {
        Err(e) => Check::Broken(e),
        Ok(None) => Check::NoBaseline { required: policy == Policy::Required },
        Ok(Some(stored)) => compare(&stored, run, policy),
    }
}

/// The case-by-case comparison, like with like.
pub fn compare(stored: &Stored, run: &Run, policy: Policy) -> Check {
    let then_arch = ArchProfile::by_name(&stored.machine.arch);
    let width = run.results.iter().map(|r| r.case.id.len()).max().unwrap_or(0);
    let differs_then = machine_differences(&stored.machine.env, &run.machine.env);
    let (mut lines, mut notes, mut missing) = (Vec::new(), Vec::new(), Vec::new());
    let verdict_of = |l: &str| l.split_whitespace().nth(1).unwrap_or("").to_string();
    for r in run.results {
        let id = &r.case.id;
        let now = line(r, width);
        let Some(then) = stored.lines.get(id) else {
            notes.push(format!("{id}: not in the baseline (a newer table); judged by the model alone"));
            continue;
        };
        let (then_verdict, now_verdict) = (verdict_of(then), verdict_of(&now));
        if then_verdict == "skip" {
            if now_verdict != "skip" {
                notes.push(format!("{id}: skipped when the baseline was taken, run now; judged by the model alone"));
            }
            continue;
        }
        if let Verdict::Skip(why) | Verdict::Error(why) = &r.verdict {
            missing.push(format!("{id}: the baseline ran it; here: {why}"));
            continue;
        }
        // Would the model have predicted the same on the baseline's machine?
        let same_prediction = then_arch.is_some_and(|a| predict(r.case, &stored.machine.env, &a).expect == r.prediction.expect);
        if !same_prediction {
            notes.push(format!("{id}: its prediction depends on a machine fact that differs from the baseline's ({differs_then})"));
            continue;
        }
        if then.split_whitespace().collect::<Vec<_>>() != now.split_whitespace().collect::<Vec<_>>() {
            lines.push(format!("-{then}"));
            lines.push(format!("+{}", now.trim_end()));
        }
    }
    if !run.filtered {
        let ran: std::collections::BTreeSet<&str> = run.results.iter().map(|r| r.case.id.as_str()).collect();
        for id in stored.lines.keys().filter(|id| !ran.contains(id.as_str())) {
            notes.push(format!("{id}: in the baseline, no longer in the tables"));
        }
    }
    if !lines.is_empty() {
        Check::Differs { lines, notes: [missing, notes].concat() }
    } else if !missing.is_empty() && policy == Policy::Required {
        Check::Incomplete { missing, notes }
    } else {
        Check::Matches { notes: [missing, notes].concat() }
    }
}

/// The model inputs that differ between two machines, by name ("pid_max 32768 → 4194304").
fn machine_differences(then: &Env, now: &Env) -> String {
    let (a, b) = (serde_json::to_value(then).expect("json"), serde_json::to_value(now).expect("json"));
    let (Some(a), Some(b)) = (a.as_object(), b.as_object()) else { return String::new() };
    let d: Vec<String> = a.iter().filter(|(k, v)| b.get(k.as_str()) != Some(v)).map(|(k, v)| format!("{k} {v} → {}", b.get(k.as_str()).unwrap_or(&serde_json::Value::Null))).collect();
    if d.is_empty() { "none of its inputs".into() } else { d.join(", ") }
}

#[cfg(test)]
mod tests;
