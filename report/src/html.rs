//! One self-contained HTML page (no scripts, no external files but the console logs it links
//! to): the guest × family matrix, every failing case with its inputs, expected and observed
//! and the model rule with its source, the cross-arch view, and every case on every guest.
//! Each case cell carries `data-guest`, `data-case` and `data-status` for machine readers.

use super::cross_arch::{self, Diff};
use super::{status, CaseResult, Counts, Guest, Outcome};
use crate::verdict::{expect_text, observed_text, Verdict};
use quick_xml::escape::escape;
use std::fmt::Write;

const STYLE: &str = "body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}\
table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:2px 6px;text-align:left}\
th{background:#eee}.PASS{background:#d9f2d9}.FAIL{background:#f7c6c6}.SKIP{background:#eee;color:#666}\
.ERROR{background:#fde3b0}.mixed{background:#f7c6c6}pre{background:#f6f6f6;padding:6px;overflow-x:auto}\
.failure{border-left:4px solid #c33;padding:0 1em;margin:1em 0}code{font-size:13px}";

fn e(s: &str) -> String {
    escape(s).into_owned()
}

pub fn render(guests: &[Guest]) -> String {
    let mut out = String::new();
    let totals = guests.iter().fold(Counts::default(), |t, g| t.add(Counts::of(g.results())));
    write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>clone3-abi report</title><style>{STYLE}</style></head><body>\n\
         <h1>clone3-abi report</h1>\n<p>{} guests; {} passed, {} failed, {} skipped, {} could not be run.</p>\n",
        guests.len(),
        totals.pass,
        totals.fail,
        totals.skip,
        totals.error
    )
    .unwrap();
    matrix(&mut out, guests);
    failures(&mut out, guests);
    // One pass over the results gives both the cross-arch view and the whole table.
    let (ran, rows) = (cross_arch::ran(guests), cross_arch::rows(guests));
    cross(&mut out, &ran, &rows);
    every_case(&mut out, &ran, &rows);
    out.push_str("</body></html>\n");
    out
}

fn families<'a>(guests: &'a [Guest<'a>]) -> Vec<&'a str> {
    let mut f: Vec<&str> = Vec::new();
    for g in guests {
        for r in g.results() {
            if !f.contains(&r.case.family()) {
                f.push(r.case.family());
            }
        }
    }
    f
}

fn matrix(out: &mut String, guests: &[Guest]) {
    let fams = families(guests);
    out.push_str("<h2 id=\"matrix\">Guest × family</h2>\n<p>Cells: passed/failed/skipped (and not run).</p>\n<table><tr><th>guest</th><th>kernel</th><th>console</th>");
    for f in &fams {
        write!(out, "<th>{}</th>", e(f)).unwrap();
    }
    out.push_str("</tr>\n");
    for g in guests {
        let console = g.console_file().map_or("-".into(), |c| format!("<a href=\"{}\">log</a>", e(&c)));
        write!(out, "<tr><td>{}</td><td>{}</td><td>{console}</td>", e(g.name), e(g.kernel)).unwrap();
        let untested = |class: &str, label: &str, why: &str| {
            format!("<td class=\"{class}\" colspan=\"{}\">{label}: {}</td>", fams.len().max(1), e(why))
        };
        match &g.outcome {
            Outcome::Ran(results) => {
                for f in &fams {
                    let c = Counts::of(results.iter().filter(|r| r.case.family() == *f));
                    let class = match (c.fail + c.error, c.pass) {
                        (0, 0) => "SKIP",
                        (0, _) => "PASS",
                        _ => "FAIL",
                    };
                    let not_run = if c.error > 0 { format!(" ({} not run)", c.error) } else { String::new() };
                    write!(out, "<td class=\"{class}\">{}/{}/{}{not_run}</td>", c.pass, c.fail, c.skip).unwrap();
                }
            }
            Outcome::Unavailable(why) => out.push_str(&untested("SKIP", "cannot test", why)),
            Outcome::CannotTest(why) => out.push_str(&untested("ERROR", "cannot test", why)),
            Outcome::Crashed(why) => out.push_str(&untested("FAIL", "crashed", why)),
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</table>\n");
}

fn failures(out: &mut String, guests: &[Guest]) {
    out.push_str("<h2 id=\"failures\">Failing cases</h2>\n");
    let mut any = false;
    for g in guests {
        for r in g.results().iter().filter(|r| matches!(r.verdict, Verdict::Fail(_) | Verdict::Error(_))) {
            any = true;
            failure(out, g, r);
        }
    }
    if !any {
        out.push_str("<p>None.</p>\n");
    }
}

fn failure(out: &mut String, g: &Guest, r: &CaseResult) {
    let (label, why) = match &r.verdict {
        Verdict::Fail(why) => ("differs from the model", why),
        Verdict::Error(why) => ("could not be run (cannot test)", why),
        _ => unreachable!("only failures"),
    };
    let inputs = serde_json::to_string_pretty(r.case).expect("serializable");
    let observed = r.observed.as_ref().map_or("nothing".into(), observed_text);
    write!(
        out,
        "<div class=\"failure\" id=\"{}--{}\"><h3>{} <code>{}</code>: {label}</h3>\n<p>{}</p>\n<p>{}</p>\n\
         <table><tr><th>expected</th><td><code>{}</code></td></tr><tr><th>observed</th><td><code>{}</code></td></tr>\
         <tr><th>rule</th><td><code>{}</code> — {}</td></tr><tr><th>repro</th><td><code>{}</code></td></tr></table>\n\
         <details><summary>inputs</summary><pre>{}</pre></details></div>\n",
        e(g.name),
        e(&r.case.id),
        e(g.name),
        e(&r.case.id),
        e(why),
        e(&r.case.why),
        e(&expect_text(&r.prediction.expect)),
        e(&observed),
        e(r.prediction.rule),
        e(&r.prediction.source),
        e(&g.repro),
        e(&inputs)
    )
    .unwrap();
}

fn cross(out: &mut String, ran: &[&Guest], rows: &[cross_arch::Row]) {
    out.push_str("<h2 id=\"cross-arch\">Cross-arch view</h2>\n");
    if ran.len() < 2 {
        out.push_str("<p>Fewer than two guests ran cases: nothing to compare.</p>\n");
        return;
    }
    let differing: Vec<_> = rows.iter().filter(|r| r.diff != Diff::Same).collect();
    write!(out, "<p>{} of {} cases differ between guests.</p>\n<table><tr><th>case</th>", differing.len(), rows.len()).unwrap();
    for g in ran {
        write!(out, "<th>{}</th>", e(g.name)).unwrap();
    }
    out.push_str("<th>why</th></tr>\n");
    for r in differing {
        write!(out, "<tr><td><code>{}</code></td>", e(r.id)).unwrap();
        for c in &r.cells {
            let class = c.map_or("SKIP", |c| status(&c.verdict));
            write!(out, "<td class=\"{class}\">{}</td>", e(&cross_arch::cell(*c))).unwrap();
        }
        match &r.diff {
            Diff::Explained(groups) => {
                let lines: Vec<String> = groups.iter().map(|g| e(&g.text(true))).collect();
                write!(out, "<td>{}</td>", lines.join("<br>"))
            }
            Diff::Unexplained(why) => write!(out, "<td class=\"FAIL\">unexplained: {}</td>", e(why)),
            Diff::Same => unreachable!("filtered"),
        }
        .unwrap();
        out.push_str("</tr>\n");
    }
    out.push_str("</table>\n");
}

fn every_case(out: &mut String, ran: &[&Guest], rows: &[cross_arch::Row]) {
    if ran.is_empty() {
        return;
    }
    out.push_str("<h2 id=\"cases\">Every case</h2>\n<details><summary>the whole table</summary><table><tr><th>case</th>");
    for g in ran {
        write!(out, "<th>{}</th>", e(g.name)).unwrap();
    }
    out.push_str("</tr>\n");
    for row in rows {
        write!(out, "<tr><td><code>{}</code></td>", e(row.id)).unwrap();
        for (g, c) in ran.iter().zip(&row.cells) {
            match c {
                Some(r) => write!(
                    out,
                    "<td class=\"{s}\" data-guest=\"{}\" data-case=\"{}\" data-status=\"{s}\" title=\"{}\">{}</td>",
                    e(g.name),
                    e(row.id),
                    e(&format!("expected {} [{}]", expect_text(&r.prediction.expect), r.prediction.rule)),
                    e(&cross_arch::cell(Some(r))),
                    s = status(&r.verdict)
                ),
                None => write!(out, "<td>-</td>"),
            }
            .unwrap();
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</table></details>\n");
}
