//! The outcome table a kernel produced, one line per case, stored as an insta snapshot at
//! `snapshots/<arch>/<major.minor>.snap`. Values that differ between runs of the same
//! kernel (pids, fds, addresses) never appear; pids chosen by set_tid show as `1` or `pid`.

use super::CaseResult;
use crate::runner::Observed;
use crate::verdict::{view_text, Verdict};
use clone3_suites::ChildView;
use std::path::{Path, PathBuf};

/// `<dir>/<arch>/<series>.snap` for a privileged run (as root, as in the QEMU guests);
/// `<series>.unprivileged.snap` otherwise: without CAP_SYS_ADMIN the same kernel rightly
/// answers EPERM where root gets a child, so the two are different baselines.
pub fn path(dir: &Path, arch: &str, series: &str, privileged: bool) -> PathBuf {
    let variant = if privileged { "" } else { ".unprivileged" };
    dir.join(arch).join(format!("{series}{variant}.snap"))
}

/// The table body.
pub fn table(results: &[CaseResult]) -> String {
    let width = results.iter().map(|r| r.case.id.len()).max().unwrap_or(0);
    let mut out = String::new();
    for r in results {
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
        };
        out.push_str(&format!("{:<width$}  {verdict:<4}  {observed}\n", r.case.id));
    }
    out
}

fn redact(v: &ChildView) -> ChildView {
    let pid = |p: Option<i32>| p.map(|p| if p == 1 { 1 } else { -1 });
    ChildView { tid_in_ns: pid(v.tid_in_ns), ret_pid: pid(v.ret_pid), ..v.clone() }
}

/// The insta file around a body.
pub fn file_contents(body: &str) -> String {
    format!("---\nsource: cli/tests/native.rs\n---\n{body}")
}

/// The body of a stored snapshot; a clear error when the file is not one.
pub fn read_body(path: &Path) -> Result<Option<String>, String> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot read snapshot {}: {e}", path.display())),
    };
    let corrupt = |what: &str| {
        format!(
            "corrupt snapshot {}: {what}; fix: restore it from git or regenerate it with `clone3-abi run --bless`",
            path.display()
        )
    };
    let rest = text.strip_prefix("---\n").ok_or_else(|| corrupt("no insta header"))?;
    let end = rest.find("\n---\n").ok_or_else(|| corrupt("the header never ends"))?;
    let body = &rest[end + 5..];
    if body.lines().any(|l| l.split_whitespace().count() < 3) {
        return Err(corrupt("a line without id, verdict and outcome"));
    }
    Ok(Some(body.to_string()))
}

/// What comparing (or blessing) a run's table against a stored snapshot found.
pub enum Check {
    Matches,
    /// No file for this arch and kernel yet.
    NoBaseline,
    Differs(Vec<String>),
    Written,
    /// The file is unreadable or not a snapshot, or could not be written: cannot test.
    Broken(String),
}

impl Check {
    /// The bisect-style code this adds to a run that was otherwise `code`.
    pub fn code(&self, code: u8) -> u8 {
        match self {
            Check::Differs(_) => crate::BAD.max(code),
            Check::Broken(_) => crate::CANNOT_TEST.max(code),
            _ => code,
        }
    }

    /// Says what it found, one line per diff line, on stderr.
    pub fn report(&self, who: &str, path: &Path) {
        match self {
            Check::Matches => eprintln!("clone3-abi: {who}: matches the snapshot {}", path.display()),
            Check::NoBaseline => eprintln!("clone3-abi: {who}: no baseline ({} does not exist)", path.display()),
            Check::Written => eprintln!("clone3-abi: {who}: wrote {}", path.display()),
            Check::Broken(e) => eprintln!("clone3-abi: {who}: {e}"),
            Check::Differs(d) => {
                eprintln!("clone3-abi: {who}: differs from the snapshot {} (- stored, + this run):", path.display());
                for l in d {
                    eprintln!("  {l}");
                }
            }
        }
    }
}

/// Compares `body` with the snapshot at `path`, or stores it there when blessing.
pub fn check(path: &Path, body: &str, bless: bool) -> Check {
    if bless {
        return match super::write_atomically(path, file_contents(body).as_bytes()) {
            Ok(()) => Check::Written,
            Err(e) => Check::Broken(format!("cannot write {}: {e}", path.display())),
        };
    }
    match read_body(path) {
        Err(e) => Check::Broken(e),
        Ok(None) => Check::NoBaseline,
        Ok(Some(stored)) => match diff(&stored, body) {
            d if d.is_empty() => Check::Matches,
            d => Check::Differs(d),
        },
    }
}

/// Lines that differ, as a small unified-style diff (stored `-`, this run `+`).
/// A case this run skipped (no privileges here, no cgroup v1, …) says nothing about the
/// kernel, so it is not compared: an unprivileged run is checked against a root baseline
/// on the cases it could run.
pub fn diff(stored: &str, now: &str) -> Vec<String> {
    let key = |l: &str| l.split_whitespace().next().unwrap_or("").to_string();
    let skipped = |l: &str| l.split_whitespace().nth(1) == Some("skip");
    let old: std::collections::BTreeMap<String, &str> = stored.lines().map(|l| (key(l), l)).collect();
    let new: std::collections::BTreeMap<String, &str> = now.lines().map(|l| (key(l), l)).collect();
    let mut out = Vec::new();
    for l in stored.lines() {
        if new.get(&key(l)).is_some_and(|n| skipped(n)) {
            continue;
        }
        if new.get(&key(l)).map(|n| n.trim_end()) != Some(l.trim_end()) {
            out.push(format!("-{l}"));
            if let Some(n) = new.get(&key(l)) {
                out.push(format!("+{n}"));
            }
        }
    }
    for l in now.lines().filter(|l| !old.contains_key(&key(l))) {
        out.push(format!("+{l}"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_files_that_are_not_snapshots() {
        let dir = std::env::temp_dir().join(format!("c3snap{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("x.snap");
        std::fs::write(&p, "garbage").unwrap();
        assert!(read_body(&p).unwrap_err().contains("corrupt snapshot"));
        std::fs::write(&p, file_contents("a.b  pass  EINVAL\n")).unwrap();
        assert_eq!(read_body(&p).unwrap().as_deref(), Some("a.b  pass  EINVAL\n"));
        assert_eq!(read_body(&dir.join("none.snap")).unwrap(), None);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn cases_skipped_here_are_not_compared() {
        let stored = "a.x  pass  EINVAL\nb.y  pass  ok {fate=reported}\n";
        assert!(diff(stored, "a.x  pass  EINVAL\nb.y  skip  -\n").is_empty());
        assert_eq!(diff(stored, "a.x  pass  E2BIG\nb.y  skip  -\n").len(), 2);
    }

    #[test]
    fn diff_names_changed_lines() {
        let d = diff("a.x  pass  EINVAL\nb.y  pass  E2BIG\n", "a.x  pass  EINVAL\nb.y  FAIL  EFAULT\n");
        assert_eq!(d, vec!["-b.y  pass  E2BIG", "+b.y  FAIL  EFAULT"]);
    }
}
