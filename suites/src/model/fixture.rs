//! The whole table as the model predicts it on the machines the project tests, held in
//! `predictions.txt` next to this file. A change to the model that moves any prediction
//! fails here until the fixture is edited to match, and every edited row carries a `#`
//! comment above it saying why (the review finding or kernel commit behind it).
//!
//! To rewrite the rows after an intended change: `CLONE3_BLESS_PREDICTIONS=1 nice cargo
//! test -p clone3-suites predictions_match_the_fixture`, then read `git diff` and add the
//! comments. Blessing keeps every comment above the row (machine and case id) it was on.

use crate::{predict, tables, ChildView, Env, Expect, Release};
use clone3_arches::ArchProfile;
use std::collections::BTreeMap;

const FIXTURE: &str = include_str!("predictions.txt");
const PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/src/model/predictions.txt");

/// The machines: the releases and profiles of the project's guests (qemu-images/) and
/// kernels, as root in the sandbox, plus the unprivileged 6.18 run.
fn machines() -> Vec<(String, Env, ArchProfile)> {
    let root = |arch: ArchProfile, r: (u32, u32, u32)| {
        let env = Env::sandboxed_root(Release::new(r.0, r.1, r.2), &arch);
        (format!("{}/{}", arch.name, env.release), env, arch)
    };
    let x = ArchProfile::X86_64;
    let mut m = vec![
        root(x, (6, 1, 192)),
        root(x, (6, 12, 117)),
        root(x, (6, 18, 44)),
        root(x, (7, 2, 13)),
        root(ArchProfile::I386_COMPAT, (6, 12, 117)),
        root(ArchProfile::I386_NATIVE, (6, 1, 176)),
        root(ArchProfile::I386_NATIVE, (6, 12, 117)),
        root(ArchProfile::AARCH64, (6, 12, 117)),
        root(ArchProfile::RISCV64, (6, 12, 117)),
    ];
    let unpriv = Env::unprivileged(Release::new(6, 18, 44), &x);
    m.push((format!("{}/{}-nobody", x.name, unpriv.release), unpriv, x));
    m
}

/// A prediction in one line: `rule outcome`.
fn render(rule: &str, e: &Expect) -> String {
    let outcome = match e {
        Expect::Err(e) => e.name().to_string(),
        Expect::Skip(why) => format!("skip: {why}"),
        Expect::Ok(v) => format!("ok {}", view(v)),
    };
    format!("{rule} {outcome}")
}

/// The fields the model filled, by name (serde's order).
fn view(v: &ChildView) -> String {
    let serde_json::Value::Object(fields) = serde_json::to_value(v).expect("a view serializes") else {
        unreachable!("a ChildView is an object")
    };
    let parts: Vec<String> = fields
        .iter()
        .map(|(k, v)| match v {
            serde_json::Value::String(s) => format!("{k}={s}"),
            other => format!("{k}={other}"),
        })
        .collect();
    format!("{{{}}}", parts.join(" "))
}

fn rows_now() -> Vec<(String, String)> {
    let cases = tables::all();
    let mut rows = Vec::new();
    for (name, env, arch) in machines() {
        for c in &cases {
            let p = predict(c, &env, &arch);
            rows.push((format!("{name} {}", c.id), render(p.rule, &p.expect)));
        }
    }
    rows
}

/// One whitespace between fields, so columns may be aligned freely.
fn squash(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The fixture's rows (key → prediction), the comment lines above each key, and the
/// header (comments before the first row).
struct Parsed {
    rows: BTreeMap<String, String>,
    comments: BTreeMap<String, Vec<String>>,
    header: Vec<String>,
}

fn parse(text: &str) -> Parsed {
    let mut p = Parsed { rows: BTreeMap::new(), comments: BTreeMap::new(), header: Vec::new() };
    let mut pending = Vec::new();
    for line in text.lines() {
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') {
            if p.rows.is_empty() && t.is_empty() {
                p.header.append(&mut pending);
                p.header.push(String::new());
            } else if !t.is_empty() {
                pending.push(line.to_string());
            }
            continue;
        }
        let mut f = t.split_whitespace();
        let key = format!("{} {}", f.next().unwrap_or(""), f.next().unwrap_or(""));
        let rest = f.collect::<Vec<_>>().join(" ");
        if !pending.is_empty() {
            p.comments.insert(key.clone(), std::mem::take(&mut pending));
        }
        assert!(p.rows.insert(key.clone(), rest).is_none(), "predictions.txt: {key} twice");
    }
    p.header.append(&mut pending);
    p
}

fn write(rows: &[(String, String)], old: &Parsed) -> String {
    let mut out = String::new();
    for h in &old.header {
        out.push_str(h);
        out.push('\n');
    }
    let mut last_machine = "";
    for (key, pred) in rows {
        let (machine, id) = key.split_once(' ').expect("machine id");
        if machine != last_machine && !last_machine.is_empty() {
            out.push('\n');
        }
        last_machine = machine;
        for c in old.comments.get(key).into_iter().flatten() {
            out.push_str(c);
            out.push('\n');
        }
        let (rule, outcome) = pred.split_once(' ').unwrap_or((pred, ""));
        out.push_str(&format!("{machine:<24} {id:<48} {rule:<44} {outcome}").trim_end().to_string());
        out.push('\n');
    }
    out
}

#[test]
fn predictions_match_the_fixture() {
    let now = rows_now();
    let old = parse(FIXTURE);
    if std::env::var_os("CLONE3_BLESS_PREDICTIONS").is_some() {
        std::fs::write(PATH, write(&now, &old)).expect("write predictions.txt");
        return;
    }
    let mut diffs = Vec::new();
    for (key, pred) in &now {
        match old.rows.get(key) {
            Some(was) if *was == squash(pred) => {}
            Some(was) => diffs.push(format!("  {key}\n    fixture: {was}\n    model:   {pred}")),
            None => diffs.push(format!("  {key}: not in the fixture (model: {pred})")),
        }
    }
    let keys: std::collections::BTreeSet<&String> = now.iter().map(|(k, _)| k).collect();
    diffs.extend(old.rows.keys().filter(|k| !keys.contains(k)).map(|k| format!("  {k}: in the fixture only")));
    assert!(
        diffs.is_empty(),
        "{} predictions differ from src/model/predictions.txt (an intended change: bless with \
         CLONE3_BLESS_PREDICTIONS=1 and comment every changed row):\n{}",
        diffs.len(),
        diffs.join("\n")
    );
}

#[test]
fn the_fixture_parser_keeps_comments_with_their_rows() {
    let text = "# header\n\nx86_64/6.12.117 a.b success ok {fate=reported}\n# why it changed\nx86_64/6.12.117 a.c r EINVAL\n";
    let p = parse(text);
    assert_eq!(p.header, vec!["# header".to_string(), String::new()]);
    assert_eq!(p.rows["x86_64/6.12.117 a.c"], "r EINVAL");
    assert_eq!(p.comments["x86_64/6.12.117 a.c"], vec!["# why it changed".to_string()]);
    let rows: Vec<(String, String)> = p.rows.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    assert_eq!(parse(&write(&rows, &p)).comments, p.comments);
}
