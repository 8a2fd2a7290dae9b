//! KTAP version 1 (Documentation/dev-tools/ktap.rst): one subtest per family, each case a
//! result named by its id, diagnostics before a failing result. The QEMU matrix nests the
//! same families one level deeper, under a subtest per guest.

use super::CaseResult;
use crate::verdict::{expect_text, observed_text, Verdict};
use std::fmt::Write;

/// A native run: the families at the top level.
pub fn render(results: &[CaseResult]) -> String {
    let mut out = String::from("KTAP version 1\n");
    families(&mut out, results, "");
    out
}

/// One guest of a matrix: its results, or why it could not test.
pub struct Guest<'a> {
    pub name: &'a str,
    pub results: Result<&'a [CaseResult<'a>], String>,
}

/// A matrix: a subtest per guest, the families inside.
pub fn render_guests(guests: &[Guest]) -> String {
    let mut out = String::from("KTAP version 1\n");
    writeln!(out, "1..{}", guests.len()).unwrap();
    for (n, g) in guests.iter().enumerate() {
        match &g.results {
            Ok(results) => {
                writeln!(out, "  KTAP version 1\n  # Subtest: {}", g.name).unwrap();
                let failed = families(&mut out, results, "  ");
                writeln!(out, "{} {} {}", if failed { "not ok" } else { "ok" }, n + 1, g.name).unwrap();
            }
            Err(why) => writeln!(out, "ok {} {} # SKIP cannot test: {}", n + 1, g.name, one_line(why)).unwrap(),
        }
    }
    out
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
            let id = &r.case.id;
            match &r.verdict {
                Verdict::Pass => writeln!(out, "{inner}ok {} {id}", i + 1),
                Verdict::Skip(why) => writeln!(out, "{inner}ok {} {id} # SKIP {}", i + 1, one_line(why)),
                Verdict::Fail(why) => {
                    writeln!(out, "{inner}# {id}: {}", one_line(why)).unwrap();
                    writeln!(out, "{inner}# expected: {} [{}]", one_line(&expect_text(&r.prediction.expect)), r.prediction.rule).unwrap();
                    if let Some(o) = &r.observed {
                        writeln!(out, "{inner}# got: {}", one_line(&observed_text(o))).unwrap();
                    }
                    writeln!(out, "{inner}not ok {} {id}", i + 1)
                }
                // Not a skip: the case should have run here. KTAP has no "error", so it is
                // `not ok` with the reason, and the exit code says "cannot test".
                Verdict::Error(why) => {
                    writeln!(out, "{inner}# {id}: cannot test: {}", one_line(why)).unwrap();
                    writeln!(out, "{inner}not ok {} {id}", i + 1)
                }
            }
            .unwrap();
        }
        let failed = cases.iter().any(|r| matches!(r.verdict, Verdict::Fail(_) | Verdict::Error(_)));
        let all_skipped = cases.iter().all(|r| matches!(r.verdict, Verdict::Skip(_)));
        any_failed |= failed;
        let directive = if all_skipped && !failed { " # SKIP every case skipped" } else { "" };
        writeln!(out, "{indent}{} {} {family}{directive}", if failed { "not ok" } else { "ok" }, n + 1).unwrap();
    }
    any_failed
}

/// KTAP lines are lines: no newline may leak into a name or a reason.
fn one_line(s: &str) -> String {
    s.replace(['\n', '\r'], " ")
}
