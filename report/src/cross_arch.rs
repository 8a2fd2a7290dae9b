//! The cross-arch view: every case's outcome on each guest side by side. A row where guests
//! differ is explained when the model predicted each guest's outcome (it names the rule that
//! decided on each: an arch rule such as SETTLS as a user_desc on i386, a release rule, the
//! success path); a difference the model did not predict is unexplained, a failure of its
//! own (a guest that saw it has a failing case too).

use super::{CaseResult, Guest};
use crate::runner::Observed;
use crate::verdict::{expect_text, Verdict};
use clone3_suites::Expect;
use std::fmt::Write;

pub struct Row<'a> {
    pub id: &'a str,
    /// For each guest that ran (in the order of [`ran`]), its result for this case.
    pub cells: Vec<Option<&'a CaseResult<'a>>>,
    pub diff: Diff,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Diff {
    /// Every guest that ran the case saw the same (skips and cases not run do not count).
    Same,
    /// Guests differ as the model predicted: who got what, under which rule.
    Explained(Vec<Group>),
    /// Guests differ and the model did not predict it: which guests left the model.
    Unexplained(String),
}

/// Guests that saw the same, and the rule that predicted it for them.
#[derive(Debug, PartialEq, Eq)]
pub struct Group {
    pub guests: Vec<String>,
    pub seen: String,
    pub rule: &'static str,
    pub source: String,
}

impl Group {
    /// `x86_64, aarch64: EINVAL [copy_thread.settls]`, with the rule's source when asked.
    pub fn text(&self, with_source: bool) -> String {
        match with_source && !self.source.is_empty() {
            true => format!("{}: {} [{}: {}]", self.guests.join(", "), self.seen, self.rule, self.source),
            false => format!("{}: {} [{}]", self.guests.join(", "), self.seen, self.rule),
        }
    }
}

/// The guests that ran cases.
pub fn ran<'a, 'b>(guests: &'b [Guest<'a>]) -> Vec<&'b Guest<'a>> {
    guests.iter().filter(|g| matches!(g.outcome, super::Outcome::Ran(_))).collect()
}

pub fn rows<'a>(guests: &'a [Guest<'a>]) -> Vec<Row<'a>> {
    let ran = ran(guests);
    let mut ids: Vec<&str> = Vec::new();
    for g in &ran {
        for r in g.results() {
            if !ids.contains(&r.case.id.as_str()) {
                ids.push(&r.case.id);
            }
        }
    }
    ids.into_iter()
        .map(|id| {
            let cells: Vec<Option<&CaseResult>> = ran.iter().map(|g| g.results().iter().find(|r| r.case.id == id)).collect();
            let diff = diff(&ran, &cells);
            Row { id, cells, diff }
        })
        .collect()
}

/// What a guest's kernel did with a case, in the terms its prediction uses: the errno, or
/// success with the fields the model predicted. None for a case that was skipped or not run.
pub fn seen(r: &CaseResult) -> Option<String> {
    if matches!(r.verdict, Verdict::Skip(_) | Verdict::Error(_)) {
        return None;
    }
    Some(match (r.observed.as_ref()?, &r.prediction.expect) {
        (Observed::Ok(got), Expect::Ok(want)) => {
            let (got, want) = (serde_json::to_value(got).ok()?, serde_json::to_value(want).ok()?);
            let fields: Vec<String> =
                want.as_object()?.keys().map(|k| format!("{k}={}", got.get(k).map_or("-".into(), |v| v.to_string().replace('"', "")))).collect();
            format!("ok {}", fields.join(" "))
        }
        (Observed::Ok(_), _) => "ok".into(),
        (Observed::Err(e), _) => e.to_string(),
        (Observed::ErrRaw(n), _) => format!("errno {n}"),
        (Observed::NotRun(_), _) => return None,
    })
}

/// The short form in a table cell: the errno, `ok`, or `ok:<fate>`.
pub fn cell(r: Option<&CaseResult>) -> String {
    let Some(r) = r else { return "-".into() };
    match (&r.verdict, &r.observed) {
        (Verdict::Skip(_), _) => "skip".into(),
        (Verdict::Error(_), _) => "not run".into(),
        (_, Some(Observed::Ok(v))) => match v.fate {
            Some(f) => format!("ok:{}", format!("{f:?}").to_lowercase()),
            None => "ok".into(),
        },
        (_, Some(Observed::Err(e))) => e.to_string(),
        (_, Some(Observed::ErrRaw(n))) => format!("errno {n}"),
        (_, _) => "-".into(),
    }
}

fn diff(ran: &[&Guest], cells: &[Option<&CaseResult>]) -> Diff {
    let seen: Vec<(&str, &CaseResult, String)> =
        ran.iter().zip(cells).filter_map(|(g, c)| c.and_then(|r| seen(r).map(|s| (g.name, r, s)))).collect();
    let first = match seen.first() {
        Some((_, _, s)) => s,
        None => return Diff::Same,
    };
    if seen.iter().all(|(_, _, s)| s == first) {
        return Diff::Same;
    }
    let off_model: Vec<String> = seen
        .iter()
        .filter(|(_, r, _)| matches!(r.verdict, Verdict::Fail(_)))
        .map(|(g, r, s)| format!("{g} saw {s} where the model predicts {} [{}]", expect_text(&r.prediction.expect), r.prediction.rule))
        .collect();
    if !off_model.is_empty() {
        return Diff::Unexplained(off_model.join("; "));
    }
    // Group the guests by what they saw and the rule that predicted it.
    let mut groups: Vec<Group> = Vec::new();
    for (g, r, s) in &seen {
        match groups.iter_mut().find(|x| x.seen == *s && x.rule == r.prediction.rule && x.source == r.prediction.source) {
            Some(x) => x.guests.push(g.to_string()),
            None => groups.push(Group { guests: vec![g.to_string()], seen: s.clone(), rule: r.prediction.rule, source: r.prediction.source.clone() }),
        }
    }
    Diff::Explained(groups)
}

/// `--cross-arch`: the rows where guests differ, each with its explanation, then the count.
pub fn render_terminal(guests: &[Guest]) -> String {
    let ran = ran(guests);
    let mut out = String::new();
    if ran.len() < 2 {
        out.push_str("cross-arch: fewer than two guests ran cases; nothing to compare\n");
        return out;
    }
    let rows = rows(guests);
    let differing: Vec<&Row> = rows.iter().filter(|r| r.diff != Diff::Same).collect();
    let idw = differing.iter().map(|r| r.id.len()).max().unwrap_or(4).max(4);
    let colw: Vec<usize> = ran.iter().map(|g| g.name.len().max(9)).collect();
    write!(out, "{:<idw$}", "case").unwrap();
    for (g, w) in ran.iter().zip(&colw) {
        write!(out, " {:<w$}", g.name).unwrap();
    }
    out.push('\n');
    let mut unexplained = 0;
    for r in &differing {
        write!(out, "{:<idw$}", r.id).unwrap();
        for (c, w) in r.cells.iter().zip(&colw) {
            write!(out, " {:<w$}", cell(*c)).unwrap();
        }
        out.push('\n');
        match &r.diff {
            Diff::Explained(groups) => {
                writeln!(out, "  explained: {}", groups.iter().map(|g| g.text(false)).collect::<Vec<_>>().join("; ")).unwrap()
            }
            Diff::Unexplained(why) => {
                unexplained += 1;
                writeln!(out, "  UNEXPLAINED: {why}").unwrap()
            }
            Diff::Same => unreachable!("filtered"),
        }
    }
    writeln!(
        out,
        "cross-arch: {} cases on {} guests; {} differ between guests: {} as the model predicts, {unexplained} unexplained",
        rows.len(),
        ran.len(),
        differing.len(),
        differing.len() - unexplained
    )
    .unwrap();
    out
}
