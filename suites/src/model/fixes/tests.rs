//! The fixes table against the model: each fix, at each of its boundaries, changes exactly
//! the table cases it names; and the table itself is well formed.

use super::*;
use crate::model::{Rule, When, RULES};
use crate::{predict, tables, Expect};
use clone3_arches::ArchProfile;
use std::collections::BTreeSet;

/// Every table case's (rule, outcome) on one machine.
fn table(env: &Env, arch: &ArchProfile) -> Vec<(String, &'static str, Expect)> {
    tables::all()
        .iter()
        .map(|c| {
            let p = predict(c, env, arch);
            (c.id.clone(), p.rule, p.expect)
        })
        .collect()
}

/// The cases whose deciding rule or outcome differs between two machines.
fn changed(a: &Env, b: &Env, arch: &ArchProfile) -> BTreeSet<String> {
    table(a, arch).into_iter().zip(table(b, arch)).filter(|(x, y)| x != y).map(|(x, _)| x.0).collect()
}

fn has_clone3(arch: &ArchProfile, r: Release) -> bool {
    arch.clone3_since.is_some_and(|(ma, mi)| r >= Release::new(ma, mi, 0))
}

/// What a set of fixes declares for `arch`.
fn declared<'a>(fixes: impl IntoIterator<Item = &'a Fix>, arch: &ArchProfile, r: Release) -> BTreeSet<String> {
    if !has_clone3(arch, r) {
        return BTreeSet::new();
    }
    fixes.into_iter().flat_map(|f| f.cases_on(arch.name)).map(String::from).collect()
}

fn envs(r: Release, arch: &ArchProfile) -> [Env; 2] {
    [Env::sandboxed_root(r, arch), Env::unprivileged(r, arch)]
}

/// A mainline boundary has no release just before it in its series (the fix landed in the
/// merge window or an -rc), so "just before" is the same release without the fix: the
/// override. Stable boundaries are checked against the real previous point release below.
#[test]
fn each_fix_changes_exactly_the_cases_it_names_at_each_boundary() {
    for f in FIXES {
        let stable = f.stable.iter().map(|&((ma, mi), p)| Release::new(ma, mi, p));
        let boundaries = std::iter::once(f.mainline).chain(stable);
        for b in boundaries {
            for arch in ArchProfile::ALL {
                let [root, nobody] = envs(b, &arch);
                assert!(root.has(f.name), "{} is not in {b}", f.name);
                let without = |e: &Env| Env { fixes: [(f.name.to_string(), false)].into(), ..e.clone() };
                let want = declared([f], &arch, b);
                let got = changed(&without(&root), &root, &arch);
                let (name, arch_name) = (f.name, arch.name);
                assert_eq!(got, want, "fix {name} at {b} on {arch_name}: the cases it changes (root) are not the ones it names");
                let got = changed(&without(&nobody), &nobody, &arch);
                assert!(got.is_subset(&want), "fix {name} at {b} on {arch_name} changes {got:?} for nobody, beyond {want:?}");
            }
        }
    }
}

/// Across a stable point release (same series, so no feature changes) the table moves
/// exactly where the fixes that land there say.
#[test]
fn each_stable_point_release_changes_what_its_fixes_name() {
    let points: BTreeSet<Release> =
        FIXES.iter().flat_map(|f| f.stable.iter().map(|&((ma, mi), p)| Release::new(ma, mi, p))).collect();
    for after in points {
        let before = Release::new(after.major, after.minor, after.patch - 1);
        let landing: Vec<&Fix> = FIXES.iter().filter(|f| f.in_release(after) != f.in_release(before)).collect();
        assert!(!landing.is_empty() && landing.iter().all(|f| f.in_release(after)), "{before} → {after}");
        for arch in ArchProfile::ALL {
            let want = declared(landing.iter().copied(), &arch, after);
            let got = changed(&Env::sandboxed_root(before, &arch), &Env::sandboxed_root(after, &arch), &arch);
            let names: Vec<&str> = landing.iter().map(|f| f.name).collect();
            assert_eq!(got, want, "{before} → {after} on {} (fixes {names:?})", arch.name);
        }
    }
}

#[test]
fn fixes_count_from_mainline_or_their_stable_point() {
    let f = fix("newtime_in_clone3");
    assert!(Release::new(6, 3, 0).has(f));
    assert!(Release::new(6, 1, 20).has(f));
    assert!(!Release::new(6, 1, 19).has(f));
    assert!(Release::new(5, 15, 103).has(f) && !Release::new(5, 15, 102).has(f));
    assert!(!Release::new(5, 4, 300).has(f));
    // An override wins both ways.
    let mut env = Env::sandboxed_root(Release::new(6, 1, 19), &ArchProfile::X86_64);
    env.fixes.insert("newtime_in_clone3".into(), true);
    assert!(env.has("newtime_in_clone3"));
    env.release = Release::new(6, 12, 0);
    env.fixes.insert("newtime_in_clone3".into(), false);
    assert!(!env.has("newtime_in_clone3"));
    env.fixes.insert("no_such_fix".into(), true);
    assert_eq!(unknown_overrides(&env), vec!["no_such_fix".to_string()]);
}

#[test]
fn the_table_is_well_formed() {
    let ids: BTreeSet<String> = tables::all().into_iter().map(|c| c.id).collect();
    let mut names = BTreeSet::new();
    for f in FIXES {
        assert!(names.insert(f.name), "{} twice", f.name);
        assert!(f.name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'), "{}", f.name);
        let hex = f.commit.len() == 12 && f.commit.bytes().all(|b| b.is_ascii_hexdigit());
        assert!(f.commit.is_empty() || hex, "{}: commit {:?}", f.name, f.commit);
        assert!(!f.subject.is_empty() && !f.evidence.is_empty() && !f.rules.is_empty(), "{}", f.name);
        for &((ma, mi), p) in f.stable {
            let point = Release::new(ma, mi, p);
            assert!(point < f.mainline && p > 0, "{}: {point} is not a stable point before mainline", f.name);
        }
        for r in f.rules {
            assert!(r.starts_with("success.") || RULES.iter().any(|x| x.id == *r), "{}: no rule {r}", f.name);
        }
        for c in f.cases {
            for id in c.ids {
                assert!(ids.contains(*id), "{}: no table case {id}", f.name);
            }
            for a in c.arches {
                assert!(ArchProfile::by_name(a).is_some(), "{}: no arch profile {a}", f.name);
            }
        }
    }
    for f in FEATURES {
        assert!(names.insert(f.name), "{} twice", f.name);
    }
    // A rule gated on a fix is listed by that fix.
    for rule in RULES {
        let _ = rule.source_line(); // panics on an unknown fix or feature
        if let When::Fix(f) | When::BeforeFix(f) = rule.when {
            assert!(fix(f).rules.contains(&rule.id), "{} is gated on {f}, which does not list it", rule.id);
        }
    }
    let _: &[Rule] = RULES;
}

/// The model's own files compare no releases: every release boundary is a named entry here.
#[test]
fn no_rule_compares_releases_inline() {
    for (file, text) in [
        ("rules.rs", include_str!("../rules.rs")),
        ("input.rs", include_str!("../input.rs")),
        ("success.rs", include_str!("../success.rs")),
    ] {
        for needle in ["at_least(", "has_fix(", "Release::new(", ".release <", ".release >", "release() <"] {
            let n = text.matches(needle).count();
            // entry.no_clone3 compares with the arch profile's clone3_since (an arch fact).
            let allowed = usize::from(file == "rules.rs" && needle == "Release::new(");
            assert!(n <= allowed, "{file} has {n} × {needle:?}: key it on model::fixes instead");
        }
    }
}

/// For a new fix: what it changes per arch profile at its mainline release, to check and copy
/// into its `cases` (`nice cargo test -p clone3-suites print_what_each_fix_changes -- --ignored
/// --nocapture`).
#[test]
#[ignore]
fn print_what_each_fix_changes() {
    for f in FIXES {
        let mut by: std::collections::BTreeMap<Vec<String>, Vec<&str>> = Default::default();
        for arch in ArchProfile::ALL {
            let root = Env::sandboxed_root(f.mainline, &arch);
            let without = Env { fixes: [(f.name.to_string(), false)].into(), ..root.clone() };
            by.entry(changed(&without, &root, &arch).into_iter().collect()).or_default().push(arch.name);
        }
        for (ids, arches) in by {
            println!("{} {:?}: {:?}", f.name, arches, ids);
        }
    }
}
