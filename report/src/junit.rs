//! JUnit XML as GitLab, GitHub's test reporters and Jenkins read it (the schema junitparser
//! follows): one `<testsuite>` per guest × kernel, a `<testcase>` per case with classname
//! `clone3_abi.<guest>.<family>`; `<skipped message>`, `<failure>` with expected, observed,
//! the rule and its source and the repro command, `<error>` for a case the tool could not run.
//! A guest without results is one testcase named after the guest, saying why.

use super::{CaseResult, Guest, Outcome};
use crate::verdict::{expect_text, observed_text, Verdict};
use quick_xml::escape::escape;
use std::fmt::Write;

pub fn render(guests: &[Guest]) -> String {
    let mut suites = String::new();
    let mut totals = [0usize; 4]; // tests, failures, errors, skipped
    for g in guests {
        let mut cases = String::new();
        let mut n = [0usize; 4];
        match &g.outcome {
            Outcome::Ran(results) => {
                for r in *results {
                    n[0] += 1;
                    match &r.verdict {
                        Verdict::Fail(_) => n[1] += 1,
                        Verdict::Error(_) => n[2] += 1,
                        Verdict::Skip(_) => n[3] += 1,
                        Verdict::Pass => {}
                    }
                    case(&mut cases, g, r);
                }
            }
            other => {
                let (counter, tag, why) = match other {
                    Outcome::Unavailable(why) => (3, "skipped", format!("cannot test: {why}")),
                    Outcome::CannotTest(why) => (2, "error", format!("cannot test: {why}")),
                    Outcome::Crashed(why) => (1, "failure", format!("crashed: {why}")),
                    Outcome::Ran(_) => unreachable!("handled above"),
                };
                n[0] = 1;
                n[counter] = 1;
                writeln!(
                    cases,
                    r#"    <testcase name="{}" classname="clone3_abi.{}"><{tag} message="{}"/></testcase>"#,
                    attr(g.name),
                    attr(g.name),
                    attr(&why)
                )
                .unwrap();
            }
        }
        for (t, x) in totals.iter_mut().zip(n) {
            *t += x;
        }
        let name = if g.kernel.is_empty() { g.name.to_string() } else { format!("{} {}", g.name, g.kernel) };
        writeln!(
            suites,
            r#"  <testsuite name="{}" tests="{}" failures="{}" errors="{}" skipped="{}">"#,
            attr(&name),
            n[0],
            n[1],
            n[2],
            n[3]
        )
        .unwrap();
        writeln!(suites, "    <properties>").unwrap();
        for (k, v) in [("guest", g.name), ("arch", g.arch), ("kernel", g.kernel)] {
            writeln!(suites, r#"      <property name="{k}" value="{}"/>"#, attr(v)).unwrap();
        }
        if let Some(c) = g.console_file() {
            writeln!(suites, r#"      <property name="console" value="{}"/>"#, attr(&c)).unwrap();
        }
        writeln!(suites, "    </properties>\n{cases}  </testsuite>").unwrap();
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"clone3-abi\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\">\n{suites}</testsuites>\n",
        totals[0], totals[1], totals[2], totals[3]
    )
}

fn case(out: &mut String, g: &Guest, r: &CaseResult) {
    let open = format!(r#"    <testcase name="{}" classname="clone3_abi.{}.{}""#, attr(&r.case.id), attr(g.name), r.case.family());
    match &r.verdict {
        Verdict::Pass => writeln!(out, "{open}/>"),
        Verdict::Skip(why) => writeln!(out, r#"{open}><skipped message="{}"/></testcase>"#, attr(why)),
        Verdict::Error(why) => writeln!(out, r#"{open}><error message="{}"/></testcase>"#, attr(&format!("cannot test: {why}"))),
        Verdict::Fail(why) => {
            let observed = r.observed.as_ref().map_or("nothing".into(), observed_text);
            let body = format!(
                "expected: {}\nobserved: {observed}\nrule: {} ({})\nrepro: {}",
                expect_text(&r.prediction.expect),
                r.prediction.rule,
                r.prediction.source,
                g.repro
            );
            writeln!(out, r#"{open}><failure message="{}" type="difference">{}</failure></testcase>"#, attr(why), text(&body))
        }
    }
    .unwrap();
}

/// XML 1.0 allows no control characters but tab, newline and carriage return, escaped or not.
fn clean(s: &str) -> String {
    s.chars().map(|c| if c.is_control() && !matches!(c, '\t' | '\n' | '\r') { '\u{fffd}' } else { c }).collect()
}

/// An attribute value: one line (a newline in an attribute is read back as a space anyway).
fn attr(s: &str) -> String {
    escape(clean(s).replace(['\n', '\r'], " ").as_str()).into_owned()
}

fn text(s: &str) -> String {
    escape(clean(s).as_str()).into_owned()
}
