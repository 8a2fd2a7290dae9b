use super::*;
use clone3_suites::{tables, Case, Errno, Release};

fn env() -> Env {
    Env::sandboxed_root(Release::new(6, 12, 117), &ArchProfile::X86_64)
}

fn machine(env: Env, cases: usize) -> Machine {
    Machine { arch: "x86_64".into(), cases, env }
}

/// The cases named, each observed as the model predicts on `env` (a correct kernel),
/// except where `observe` says otherwise.
fn results<'a>(cases: &'a [Case], env: &Env, observe: impl Fn(&str) -> Option<Observed>) -> Vec<CaseResult<'a>> {
    let (pred, _) = clone3_suites::predict_all(cases, env, &ArchProfile::X86_64);
    let observed = cases
        .iter()
        .zip(&pred)
        .map(|(c, p)| {
            observe(&c.id).or(match &p.expect {
                clone3_suites::Expect::Ok(v) => Some(Observed::Ok(v.clone())),
                clone3_suites::Expect::Err(e) => Some(Observed::Err(*e)),
                clone3_suites::Expect::Skip(_) => None,
            })
        })
        .collect();
    crate::evaluate(cases, pred, observed)
}

fn cases(ids: &[&str]) -> Vec<Case> {
    let all = tables::all();
    ids.iter().map(|id| all.iter().find(|c| c.id == *id).unwrap_or_else(|| panic!("no case {id}")).clone()).collect()
}

fn stored(run: &Run) -> Stored {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("x.snap");
    std::fs::write(&p, file_contents(&run.machine, &table(run.results))).unwrap();
    read(&p).unwrap().unwrap()
}

const IDS: &[&str] = &["size.zero", "size.ver0", "tls.four_level_task_size_max", "cgroup.v1_directory"];

#[test]
fn rejects_files_that_are_not_snapshots_or_are_truncated() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("x.snap");
    std::fs::write(&p, "garbage").unwrap();
    assert!(read(&p).err().unwrap().contains("corrupt snapshot"));
    assert!(read(&dir.path().join("none.snap")).unwrap().is_none());
    let m = machine(env(), 2);
    std::fs::write(&p, file_contents(&m, "a.b  pass  EINVAL\n")).unwrap();
    assert!(read(&p).err().unwrap().contains("1 case lines where the header says 2"));
    std::fs::write(&p, "---\nsource: x\n---\na.b  pass  EINVAL\n").unwrap();
    assert!(read(&p).err().unwrap().contains("info: arch"), "a snapshot without its machine is refused");
    std::fs::write(&p, file_contents(&machine(env(), 1), "a.b  pass  EINVAL\n")).unwrap();
    assert_eq!(read(&p).unwrap().unwrap().machine, machine(env(), 1));
}

#[test]
fn the_machine_survives_insta_rewriting_the_header() {
    // `cargo insta accept` writes `info` strings double-quoted.
    let env_json = serde_json::to_string(&env()).unwrap();
    let text = format!("---\nsource: cli/tests/native.rs\ninfo:\n  arch: x86_64\n  cases: 1\n  env: {}\n---\na.b  pass  EINVAL\n", serde_json::to_string(&env_json).unwrap());
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("x.snap");
    std::fs::write(&p, text).unwrap();
    assert_eq!(read(&p).unwrap().unwrap().machine.env, env());
}

#[test]
fn a_correct_kernel_matches_and_a_changed_errno_differs() {
    let cs = cases(IDS);
    let base = results(&cs, &env(), |_| None);
    let base_run = Run { results: &base, machine: machine(env(), cs.len()), filtered: false };
    let st = stored(&base_run);
    assert!(matches!(compare(&st, &base_run, Policy::Required), Check::Matches { notes } if notes.is_empty()));
    let changed = results(&cs, &env(), |id| (id == "size.zero").then_some(Observed::Err(Errno::E2BIG)));
    let run = Run { results: &changed, machine: machine(env(), cs.len()), filtered: false };
    let c = compare(&st, &run, Policy::Optional);
    assert!(matches!(&c, Check::Differs { lines, .. } if lines.len() == 2 && lines[0].starts_with("-size.zero")), "{c:?}");
    // A difference outranks "cannot test" from anything else in the run.
    assert_eq!(c.code(crate::CANNOT_TEST), crate::BAD);
}

#[test]
fn a_machine_fact_never_becomes_a_difference() {
    // The baseline came from a 5-level-paging machine: the 4-level TASK_SIZE_MAX base is
    // accepted there and refused here. Both kernels are right.
    let cs = cases(IDS);
    let la57 = Env { user_addr_limit: (1 << 56) - 4096, ..env() };
    let base = results(&cs, &la57, |_| None);
    let st = stored(&Run { results: &base, machine: machine(la57, cs.len()), filtered: false });
    let here = results(&cs, &env(), |_| None);
    let c = compare(&st, &Run { results: &here, machine: machine(env(), cs.len()), filtered: false }, Policy::Required);
    let Check::Matches { notes } = &c else { panic!("{c:?}") };
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(notes[0].starts_with("tls.four_level_task_size_max") && notes[0].contains("user_addr_limit"), "{notes:?}");
    assert_eq!(c.code(crate::GOOD), crate::GOOD);
}

#[test]
fn a_case_the_baseline_ran_and_this_run_skipped_is_reported() {
    let cs = cases(IDS);
    let base = results(&cs, &env(), |_| None);
    let st = stored(&Run { results: &base, machine: machine(env(), cs.len()), filtered: false });
    // No cgroup v1 here: the case is skipped by the model's gate.
    let no_v1 = Env { cgroup_v1: false, ..env() };
    let here = results(&cs, &no_v1, |_| None);
    let run = Run { results: &here, machine: machine(no_v1, cs.len()), filtered: false };
    let c = compare(&st, &run, Policy::Optional);
    assert!(matches!(&c, Check::Matches { notes } if notes.iter().any(|n| n.starts_with("cgroup.v1_directory"))), "{c:?}");
    let c = compare(&st, &run, Policy::Required);
    assert!(matches!(&c, Check::Incomplete { missing, .. } if missing.len() == 1), "{c:?}");
    assert_eq!(c.code(crate::GOOD), crate::CANNOT_TEST);
    // The reverse: skipped in the baseline, run now, is said and judged by the model.
    let st = stored(&run);
    let c = compare(&st, &Run { results: &base, machine: machine(env(), cs.len()), filtered: false }, Policy::Required);
    assert!(matches!(&c, Check::Matches { notes } if notes.iter().any(|n| n.contains("skipped when the baseline was taken"))), "{c:?}");
}

#[test]
fn a_filtered_run_compares_what_it_ran() {
    let cs = cases(IDS);
    let base = results(&cs, &env(), |_| None);
    let st = stored(&Run { results: &base, machine: machine(env(), cs.len()), filtered: false });
    let some = cases(&["size.zero"]);
    let changed = results(&some, &env(), |_| Some(Observed::Err(Errno::E2BIG)));
    let c = compare(&st, &Run { results: &changed, machine: machine(env(), 1), filtered: true }, Policy::Required);
    assert!(matches!(&c, Check::Differs { lines, notes } if lines.len() == 2 && notes.is_empty()), "{c:?}");
    let same = results(&some, &env(), |_| None);
    let c = compare(&st, &Run { results: &same, machine: machine(env(), 1), filtered: true }, Policy::Required);
    assert!(matches!(&c, Check::Matches { notes } if notes.is_empty()), "{c:?}");
}

#[test]
fn bless_refuses_a_partial_or_broken_run() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("x.snap");
    let cs = cases(IDS);
    let base = results(&cs, &env(), |_| None);
    let c = check(&p, &Run { results: &base, machine: machine(env(), cs.len()), filtered: true }, true, Policy::Optional);
    assert!(matches!(&c, Check::Broken(e) if e.contains("--filter")), "{c:?}");
    let broken = results(&cs, &env(), |id| (id == "size.ver0").then(|| Observed::NotRun("the worker died".into())));
    let c = check(&p, &Run { results: &broken, machine: machine(env(), cs.len()), filtered: false }, true, Policy::Optional);
    assert!(matches!(&c, Check::Broken(e) if e.contains("size.ver0")), "{c:?}");
    assert!(!p.exists());
    let c = check(&p, &Run { results: &base, machine: machine(env(), cs.len()), filtered: false }, false, Policy::Required);
    assert!(matches!(c, Check::NoBaseline { required: true }));
    assert_eq!(c.code(crate::GOOD), crate::CANNOT_TEST);
    assert_eq!(check(&p, &Run { results: &base, machine: machine(env(), cs.len()), filtered: false }, false, Policy::Optional).code(crate::GOOD), crate::GOOD);
}
