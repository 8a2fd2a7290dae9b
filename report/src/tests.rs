//! One set of results through every reporter: each format, read back, says the same of every
//! case and every guest (the CI job checks the same with the formats' real parsers).

use super::cross_arch::{self, Diff};
use super::{dir, CaseResult, Guest, Outcome};
use crate::runner::Observed;
use clone3_arches::ArchProfile;
use clone3_suites::{tables, Case, Env, Errno, Expect, Release};
use std::collections::BTreeMap;

/// What the kernel would have done had the model been right, except where `wrong` says.
fn results<'a>(cases: &'a [Case], env: &Env, arch: &ArchProfile, wrong: &[(usize, Observed)]) -> Vec<CaseResult<'a>> {
    let (pred, _) = clone3_suites::predict_all(cases, env, arch);
    let observed = pred
        .iter()
        .enumerate()
        .map(|(i, p)| match wrong.iter().find(|(w, _)| *w == i) {
            Some((_, o)) => Some(o.clone()),
            None => match &p.expect {
                Expect::Ok(v) => Some(Observed::Ok(v.clone())),
                Expect::Err(e) => Some(Observed::Err(*e)),
                Expect::Skip(_) => None,
            },
        })
        .collect();
    crate::evaluate(cases, pred, observed)
}

fn guest<'a>(name: &'a str, arch: &'a str, env: Option<&'a Env>, outcome: Outcome<'a>) -> Guest<'a> {
    let console = matches!(outcome, Outcome::Ran(_) | Outcome::Crashed(_)).then_some("[    0.000000] Linux version …\n");
    Guest { name, arch, kernel: "6.12.117", machine: "x86_64", env, outcome, console, repro: format!("clone3-abi qemu --arch {name}") }
}

type Statuses = BTreeMap<(String, String), &'static str>;

/// KTAP has no "error": a case the tool could not run is `not ok` after a `cannot test`
/// diagnostic, which is how a reader tells it from a difference.
fn from_ktap(text: &str) -> Statuses {
    let mut out = Statuses::new();
    let (mut guest, mut cannot_test) = (String::new(), false);
    for line in text.lines() {
        let depth = line.len() - line.trim_start().len();
        let l = line.trim_start();
        if let Some(name) = l.strip_prefix("# Subtest: ").filter(|_| depth == 2) {
            guest = name.to_string();
        } else if l.starts_with("# ") && l.contains(": cannot test: ") {
            cannot_test = true;
        } else if let Some((ok, rest)) = l.strip_prefix("ok ").map(|r| (true, r)).or_else(|| l.strip_prefix("not ok ").map(|r| (false, r))) {
            let name = rest.split_whitespace().nth(1).unwrap_or_default().to_string();
            let status = match (ok, rest.contains(" # SKIP"), cannot_test || rest.contains("# cannot test")) {
                (true, true, _) => "SKIP",
                (true, false, _) => "PASS",
                (false, _, true) => "ERROR",
                (false, _, false) => "FAIL",
            };
            cannot_test = false;
            match depth {
                4 => out.insert((guest.clone(), name), status),
                // A guest with no results says why after a `#` on its own line; one that ran
                // has only its cases counted.
                0 if rest.contains(" # ") => out.insert((name, String::new()), status),
                _ => None,
            };
        }
    }
    out
}

fn from_junit(text: &str) -> Statuses {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(text);
    let mut out = Statuses::new();
    let (mut guest, mut case) = (String::new(), None::<(String, String)>);
    let attr = |e: &quick_xml::events::BytesStart, name: &str| {
        e.try_get_attribute(name).unwrap().map(|a| a.normalized_value(quick_xml::XmlVersion::Implicit1_0).unwrap().into_owned()).unwrap_or_default()
    };
    loop {
        match reader.read_event().unwrap() {
            Event::Eof => break,
            Event::Empty(e) | Event::Start(e) => match e.name().as_ref() {
                "property" if attr(&e, "name") == "guest" => guest = attr(&e, "value"),
                "testcase" => {
                    let name = attr(&e, "name");
                    let key = if name == guest { (guest.clone(), String::new()) } else { (guest.clone(), name) };
                    out.insert(key.clone(), "PASS");
                    case = Some(key);
                }
                tag @ ("failure" | "error" | "skipped") => {
                    let s = match tag {
                        "failure" => "FAIL",
                        "error" => "ERROR",
                        _ => "SKIP",
                    };
                    out.insert(case.clone().expect("inside a testcase"), s);
                }
                _ => {}
            },
            _ => {}
        }
    }
    out
}

fn from_kcidb(text: &str) -> Statuses {
    let doc: serde_json::Value = serde_json::from_str(text).unwrap();
    let mut out = Statuses::new();
    for t in doc["tests"].as_array().unwrap() {
        let path = t["path"].as_str().unwrap().strip_prefix("clone3_abi.").unwrap();
        let (guest, case) = path.split_once('.').map_or((path, ""), |(g, c)| (g, c));
        let s = ["PASS", "FAIL", "SKIP", "ERROR"].into_iter().find(|s| *s == t["status"]).unwrap();
        out.insert((guest.to_string(), case.to_string()), s);
    }
    out
}

fn from_json(text: &str) -> Statuses {
    let docs: Vec<serde_json::Value> = serde_json::from_str(text).unwrap();
    let mut out = Statuses::new();
    for d in docs {
        let guest = d["guest"].as_str().unwrap().to_string();
        let Some(cases) = d["cases"].as_array() else {
            let s = if d.get("crashed").is_some() { "FAIL" } else if d.get("unavailable").is_some() { "SKIP" } else { "ERROR" };
            out.insert((guest, String::new()), s);
            continue;
        };
        for c in cases {
            let s = match c["verdict"]["verdict"].as_str().unwrap() {
                "pass" => "PASS",
                "fail" => "FAIL",
                "skip" => "SKIP",
                _ => "ERROR",
            };
            out.insert((guest.clone(), c["id"].as_str().unwrap().to_string()), s);
        }
    }
    out
}

/// The page's case cells (`data-guest`, `data-case`, `data-status`); guests without results
/// have none, so only the cases are compared.
fn from_html(text: &str) -> Statuses {
    let value = |s: &str, name: &str| s.split(&format!("{name}=\"")).nth(1).and_then(|v| v.split('"').next()).map(str::to_string);
    text.split("<td ")
        .filter_map(|td| Some(((value(td, "data-guest")?, value(td, "data-case")?), value(td, "data-status")?)))
        .map(|(k, s)| (k, ["PASS", "FAIL", "SKIP", "ERROR"].into_iter().find(|x| *x == s).unwrap()))
        .collect()
}

#[test]
fn every_format_says_the_same_of_every_case_and_guest() {
    let cases = tables::all();
    let root = Env::sandboxed_root(Release::new(6, 12, 117), &ArchProfile::X86_64);
    let root32 = Env::sandboxed_root(Release::new(6, 12, 117), &ArchProfile::I386_COMPAT);
    let user = Env::unprivileged(Release::new(6, 12, 117), &ArchProfile::AARCH64);
    let x86 = results(&cases, &root, &ArchProfile::X86_64, &[(1, Observed::Err(Errno::E2BIG)), (2, Observed::NotRun("the worker died".into()))]);
    let i386 = results(&cases, &root32, &ArchProfile::I386_COMPAT, &[]);
    let arm = results(&cases, &user, &ArchProfile::AARCH64, &[]);
    let guests = [
        guest("x86_64", "x86_64", Some(&root), Outcome::Ran(&x86)),
        guest("i386", "i386", Some(&root32), Outcome::Ran(&i386)),
        guest("aarch64", "aarch64", Some(&user), Outcome::Ran(&arm)),
        guest("riscv64", "", None, Outcome::Unavailable("cannot start qemu-system-riscv64".into())),
        guest("x86_64-sid", "", None, Outcome::Crashed("Oops: 0000 [#1] <SMP> & \"quotes\"".into())),
        guest("i386-native", "", None, Outcome::CannotTest("the kernel did not reach the agent within 20s".into())),
    ];
    let out = tempfile::tempdir().unwrap();
    dir::write(out.path(), &guests, &super::ktap::render_guests(&guests)).unwrap();
    let read = |f: &str| std::fs::read_to_string(out.path().join(f)).unwrap();
    let ktap = from_ktap(&read("results.ktap"));
    let junit = from_junit(&read("junit.xml"));
    let kcidb = from_kcidb(&read("kcidb.json"));
    let json = from_json(&read("results.json"));
    let html = from_html(&read("report.html"));

    assert_eq!(json.len(), 3 * cases.len() + 3, "every case of the three guests that ran, and the three that did not");
    assert_eq!(json[&("x86_64".into(), cases[1].id.clone())], "FAIL");
    assert_eq!(json[&("x86_64".into(), cases[2].id.clone())], "ERROR");
    assert_eq!(json[&("riscv64".into(), String::new())], "SKIP");
    assert_eq!(json[&("x86_64-sid".into(), String::new())], "FAIL");
    assert_eq!(json[&("i386-native".into(), String::new())], "ERROR");
    for s in ["PASS", "SKIP"] {
        assert!(json.values().filter(|v| **v == s).count() > 10, "the run has {s} cases");
    }
    assert_eq!(junit, json, "JUnit");
    assert_eq!(kcidb, json, "KCIDB");
    assert_eq!(ktap, json, "KTAP");
    let cases_only: Statuses = json.iter().filter(|((_, c), _)| !c.is_empty()).map(|(k, v)| (k.clone(), *v)).collect();
    assert_eq!(html, cases_only, "HTML");
    for g in ["x86_64", "i386", "aarch64", "x86_64-sid"] {
        assert!(out.path().join(format!("console/{g}.log")).is_file(), "{g}'s console is kept");
    }
}

#[test]
fn a_difference_between_guests_is_explained_by_a_rule_or_is_a_failure_of_its_own() {
    let cases = tables::all();
    let env64 = Env::sandboxed_root(Release::new(6, 12, 117), &ArchProfile::X86_64);
    let env32 = Env::sandboxed_root(Release::new(6, 12, 117), &ArchProfile::I386_COMPAT);
    // The first case both predict the same errno for, seen otherwise on x86_64.
    let (p64, _) = clone3_suites::predict_all(&cases, &env64, &ArchProfile::X86_64);
    let (p32, _) = clone3_suites::predict_all(&cases, &env32, &ArchProfile::I386_COMPAT);
    let same = (0..cases.len()).find(|&i| matches!(p64[i].expect, Expect::Err(_)) && p64[i].expect == p32[i].expect).unwrap();
    let wrong = if p64[same].expect == Expect::Err(Errno::E2BIG) { Errno::EFAULT } else { Errno::E2BIG };
    let x86 = results(&cases, &env64, &ArchProfile::X86_64, &[(same, Observed::Err(wrong))]);
    let i386 = results(&cases, &env32, &ArchProfile::I386_COMPAT, &[]);
    let guests = [guest("x86_64", "x86_64", Some(&env64), Outcome::Ran(&x86)), guest("i386", "i386", Some(&env32), Outcome::Ran(&i386))];
    let rows = cross_arch::rows(&guests);
    let unexplained: Vec<&str> = rows.iter().filter(|r| matches!(r.diff, Diff::Unexplained(_))).map(|r| r.id).collect();
    assert_eq!(unexplained, [cases[same].id.as_str()]);
    let explained: Vec<_> = rows.iter().filter_map(|r| match &r.diff { Diff::Explained(why) => Some((r.id, why)), _ => None }).collect();
    // The TLS cases: a user_desc on i386 against a plain pointer on x86_64, by the model's rules.
    assert!(explained.iter().any(|(id, _)| id.starts_with("tls.")), "{explained:#?}");
    for (id, groups) in &explained {
        let guests: Vec<&str> = groups.iter().flat_map(|g| g.guests.iter().map(String::as_str)).collect();
        assert_eq!(guests.len(), 2, "{id}: {groups:?}");
        assert!(groups.len() == 2 && groups[0].rule != groups[1].rule || groups[0].seen != groups[1].seen, "{id}: {groups:?}");
    }
    let text = cross_arch::render_terminal(&guests);
    assert!(text.contains("UNEXPLAINED: x86_64 saw E2BIG") || text.contains("UNEXPLAINED: x86_64 saw EFAULT"), "{text}");
    assert!(text.lines().last().unwrap().ends_with(", 1 unexplained"), "{text}");
}
