//! KTAP version 1 (Documentation/dev-tools/ktap.rst): one subtest per family, each case a
//! result named by its id, diagnostics before a failing result. The QEMU matrix nests the
//! same families one level deeper, under a subtest per guest.

use super::{CaseResult, Guest, Outcome};
use crate::verdict::{expect_text, observed_text, Verdict};
use std::fmt::Write;

/// A native run: the families at the top level.
pub fn render(results: &[CaseResult]) -> String {
    let mut out = String::from("KTAP version 1\n");
    families(&mut out, results, "");
    out
}

/// kselftest's shape: every case at the top level, numbered through, then the totals line
/// kselftest.h's ksft_finished prints.
pub fn render_flat(results: &[CaseResult]) -> String {
    let mut out = format!("KTAP version 1\n1..{}\n", results.len());
    for (i, r) in results.iter().enumerate() {
        result(&mut out, "", i + 1, r);
    }
    let c = super::Counts::of(results);
    writeln!(out, "# Totals: pass:{} fail:{} xfail:0 xpass:0 skip:{} error:{}", c.pass, c.fail, c.skip, c.error).unwrap();
    out
}

/// A matrix: a subtest per guest, the families inside. A guest without results is a
/// result line with the reason as its directive; only one that cannot run here is a SKIP,
/// never a crash (KTAP readers count a SKIP as "not failed").
pub fn render_guests(guests: &[Guest]) -> String {
    let mut out = String::from("KTAP version 1\n");
    writeln!(out, "1..{}", guests.len()).unwrap();
    for (n, g) in guests.iter().enumerate() {
        let n = n + 1;
        match &g.outcome {
            Outcome::Ran(results) => {
                writeln!(out, "  KTAP version 1\n  # Subtest: {}", g.name).unwrap();
                let failed = families(&mut out, results, "  ");
                writeln!(out, "{} {n} {}", if failed { "not ok" } else { "ok" }, g.name).unwrap();
            }
            Outcome::Unavailable(why) => writeln!(out, "ok {n} {} # SKIP cannot test: {}", g.name, reason(why)).unwrap(),
            Outcome::CannotTest(why) => writeln!(out, "not ok {n} {} # cannot test: {}", g.name, reason(why)).unwrap(),
            Outcome::Crashed(why) => writeln!(out, "not ok {n} {} # crashed: {}", g.name, reason(why)).unwrap(),
        }
    }
    out
}

/// A reason after a result's `#`: one line, and never read as a second directive (kunit.py
/// takes any ` # SKIP` on a result line as a skip).
fn reason(s: &str) -> String {
    one_line(s).replace(" # ", " - ")
}

/// Writes `1..N` and a subtest per family at `indent`; returns whether any case failed.
fn families(out: &mut String, results: &[CaseResult], indent: &str) -> bool {
    let mut groups: Vec<(&str, Vec<&CaseResult>)> = Vec::new();
    for r in results {
        match groups.last_mut() {
            Some((f, v)) if *f == r.case.family() => v.push(r),
            _ => groups.push((r.case.family(), vec![r])),
        }
    }
    writeln!(out, "{indent}1..{}", groups.len()).unwrap();
    let mut any_failed = false;
    let inner = format!("{indent}  ");
    for (n, (family, cases)) in groups.iter().enumerate() {
        writeln!(out, "{inner}KTAP version 1\n{inner}# Subtest: {family}\n{inner}1..{}", cases.len()).unwrap();
        for (i, r) in cases.iter().enumerate() {
            result(out, &inner, i + 1, r);
        }
        let failed = cases.iter().any(|r| matches!(r.verdict, Verdict::Fail(_) | Verdict::Error(_)));
        let all_skipped = cases.iter().all(|r| matches!(r.verdict, Verdict::Skip(_)));
        any_failed |= failed;
        let directive = if all_skipped && !failed { " # SKIP every case skipped" } else { "" };
        writeln!(out, "{indent}{} {} {family}{directive}", if failed { "not ok" } else { "ok" }, n + 1).unwrap();
    }
    any_failed
}

/// One case's result line at `indent`, numbered `n`, diagnostics first.
fn result(out: &mut String, indent: &str, n: usize, r: &CaseResult) {
    let id = &r.case.id;
    match &r.verdict {
        Verdict::Pass => writeln!(out, "{indent}ok {n} {id}"),
        Verdict::Skip(why) => writeln!(out, "{indent}ok {n} {id} # SKIP {}", one_line(why)),
        Verdict::Fail(why) => {
            writeln!(out, "{indent}# {id}: {}", one_line(why)).unwrap();
            writeln!(out, "{indent}# expected: {} [{}]", one_line(&expect_text(&r.prediction.expect)), r.prediction.rule).unwrap();
            if let Some(o) = &r.observed {
                writeln!(out, "{indent}# got: {}", one_line(&observed_text(o))).unwrap();
            }
            writeln!(out, "{indent}not ok {n} {id}")
        }
        // Not a skip: the case should have run here. KTAP has no "error", so it is `not ok`
        // with the reason, and the exit code says "cannot test".
        Verdict::Error(why) => {
            writeln!(out, "{indent}# {id}: cannot test: {}", one_line(why)).unwrap();
            writeln!(out, "{indent}not ok {n} {id}")
        }
    }
    .unwrap();
}

/// KTAP lines are lines: no newline may leak into a name or a reason.
fn one_line(s: &str) -> String {
    s.replace(['\n', '\r'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// kunit.py's reading of a result line (tools/testing/kunit/kunit_parser.py): a
    /// ` # SKIP` anywhere after the name makes it a skip, else `ok` passes and `not ok` fails.
    fn kunit_status(line: &str) -> &'static str {
        match (line.trim_start().starts_with("not ok "), line.contains(" # SKIP")) {
            (_, true) => "SKIPPED",
            (true, false) => "FAILURE",
            (false, false) => "SUCCESS",
        }
    }

    fn guest<'a>(name: &'a str, outcome: Outcome<'a>) -> Guest<'a> {
        Guest { name, arch: "", kernel: "", machine: "", env: None, outcome, console: None, repro: String::new() }
    }

    #[test]
    fn only_a_guest_that_cannot_run_is_a_skip_never_a_crash() {
        let guests = [
            guest("x86_64", Outcome::Crashed("the kernel crashed in case size.zero: Oops: 0000 [#1] SMP # SKIP".into())),
            guest("aarch64", Outcome::CannotTest("the kernel did not reach the agent within 20s".into())),
            guest("riscv64", Outcome::Unavailable("cannot start qemu-system-riscv64".into())),
        ];
        let out = render_guests(&guests);
        let results: Vec<&str> = out.lines().filter(|l| l.starts_with("ok ") || l.starts_with("not ok ")).collect();
        assert_eq!(results[0], "not ok 1 x86_64 # crashed: the kernel crashed in case size.zero: Oops: 0000 [#1] SMP - SKIP");
        assert_eq!(results[1], "not ok 2 aarch64 # cannot test: the kernel did not reach the agent within 20s");
        assert_eq!(results[2], "ok 3 riscv64 # SKIP cannot test: cannot start qemu-system-riscv64");
        assert_eq!(results.iter().map(|l| kunit_status(l)).collect::<Vec<_>>(), ["FAILURE", "FAILURE", "SKIPPED"]);
        assert!(out.starts_with("KTAP version 1\n1..3\n"), "{out}");
    }
}
