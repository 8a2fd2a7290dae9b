//! KTAP version 1 (Documentation/dev-tools/ktap.rst): one subtest per family, each case a
//! result named by its id; diagnostics before a failing result.

use super::CaseResult;
use crate::verdict::{expect_text, observed_text, Verdict};
use std::fmt::Write;

pub fn render(results: &[CaseResult]) -> String {
    let mut families: Vec<(&str, Vec<&CaseResult>)> = Vec::new();
    for r in results {
        match families.last_mut() {
            Some((f, v)) if *f == r.case.family() => v.push(r),
            _ => families.push((r.case.family(), vec![r])),
        }
    }
    let mut out = String::from("KTAP version 1\n");
    writeln!(out, "1..{}", families.len()).unwrap();
    for (n, (family, cases)) in families.iter().enumerate() {
        writeln!(out, "  KTAP version 1\n  # Subtest: {family}\n  1..{}", cases.len()).unwrap();
        for (i, r) in cases.iter().enumerate() {
            let id = &r.case.id;
            match &r.verdict {
                Verdict::Pass => writeln!(out, "  ok {} {id}", i + 1),
                Verdict::Skip(why) => writeln!(out, "  ok {} {id} # SKIP {}", i + 1, one_line(why)),
                Verdict::Fail(why) => {
                    writeln!(out, "  # {id}: {}", one_line(why)).unwrap();
                    writeln!(out, "  # expected: {} [{}]", one_line(&expect_text(&r.prediction.expect)), r.prediction.rule).unwrap();
                    if let Some(o) = &r.observed {
                        writeln!(out, "  # got: {}", one_line(&observed_text(o))).unwrap();
                    }
                    writeln!(out, "  not ok {} {id}", i + 1)
                }
            }
            .unwrap();
        }
        let failed = cases.iter().any(|r| matches!(r.verdict, Verdict::Fail(_)));
        let all_skipped = cases.iter().all(|r| matches!(r.verdict, Verdict::Skip(_)));
        let status = if failed { "not ok" } else { "ok" };
        let directive = if all_skipped && !failed { " # SKIP every case skipped" } else { "" };
        writeln!(out, "{status} {} {family}{directive}", n + 1).unwrap();
    }
    out
}

/// KTAP lines are lines: no newline may leak into a name or a reason.
fn one_line(s: &str) -> String {
    s.replace(['\n', '\r'], " ")
}
