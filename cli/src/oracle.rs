//! `clone3-abi model` and `explain`: the model's predictions without a kernel, for any
//! release and arch profile, and the rules behind one case in kernel order.

use crate::verdict::expect_text;
use crate::{GOOD, USAGE};
use clap::Args;
use clone3_arches::ArchProfile;
use clone3_suites::{explain, predict, tables, Env, Release};

#[derive(Args)]
pub struct Machine {
    /// The kernel release to predict for (e.g. 5.10.240, 6.6.50, 7.1).
    #[arg(long, value_parser = parse_release)]
    release: Release,
    /// The arch profile: x86_64, i386 (compat), i386-native, aarch64, riscv64, ia64, parisc.
    #[arg(long, default_value = "x86_64", value_parser = parse_arch)]
    arch: ArchProfile,
    /// Predict for an ordinary user outside the sandbox instead of root inside it.
    #[arg(long)]
    unprivileged: bool,
    /// Backports (or reverts) the release does not say: `+name,-name` (`fingerprint` names them).
    #[arg(long, value_name = "+FIX,-FIX", value_parser = parse_fixes, default_value = "", allow_hyphen_values = true)]
    fixes: Fixes,
}

impl Machine {
    fn env(&self) -> Env {
        let env = if self.unprivileged {
            Env::unprivileged(self.release, &self.arch)
        } else {
            Env::sandboxed_root(self.release, &self.arch)
        };
        Env { fixes: self.fixes.clone(), ..env }
    }
}

/// `--fixes` overrides: fix name → the kernel has it.
pub type Fixes = std::collections::BTreeMap<String, bool>;

pub fn parse_fixes(s: &str) -> Result<Fixes, String> {
    clone3_suites::model::fixes::parse_overrides(s)
}

/// The `--fixes` value that gives these overrides back: `+name,-name` (what [`parse_fixes`] reads).
pub fn fixes_arg(fixes: &Fixes) -> String {
    fixes.iter().map(|(name, has)| format!("{}{name}", if *has { '+' } else { '-' })).collect::<Vec<_>>().join(",")
}

fn parse_release(s: &str) -> Result<Release, String> {
    Release::parse(s).ok_or_else(|| format!("{s:?} is not a kernel release: give it as 6.6.50 or 7.1"))
}

fn parse_arch(s: &str) -> Result<ArchProfile, String> {
    ArchProfile::by_name(s).ok_or_else(|| {
        let names: Vec<&str> = ArchProfile::ALL.iter().map(|a| a.name).collect();
        format!("unknown arch profile {s:?}; one of {}", names.join(", "))
    })
}

#[derive(Args)]
pub struct ModelArgs {
    #[command(flatten)]
    machine: Machine,
    /// Only cases whose id contains this text.
    #[arg(long)]
    filter: Option<String>,
}

#[derive(Args)]
pub struct ExplainArgs {
    /// The case id (`clone3-abi list` shows them).
    case: String,
    #[command(flatten)]
    machine: Machine,
}

/// The predicted table: id, deciding rule, outcome.
pub fn model(args: ModelArgs) -> u8 {
    use std::io::Write;
    let env = args.machine.env();
    // A closed pipe (`| head`) ends the listing quietly.
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "# the model for {} on {} ({})", args.machine.release, args.machine.arch.name, who(&args.machine));
    for c in tables::all().iter().filter(|c| args.filter.as_deref().is_none_or(|f| c.id.contains(f))) {
        let p = predict(c, &env, &args.machine.arch);
        if writeln!(out, "{:<48} {:<36} {}", c.id, p.rule, expect_text(&p.expect)).is_err() {
            break;
        }
    }
    GOOD
}

/// Every rule in kernel order for one case, which fired first, and the outcome.
pub fn explain_case(args: ExplainArgs) -> u8 {
    let all = tables::all();
    let Some(case) = all.iter().find(|c| c.id == args.case) else {
        eprintln!("clone3-abi: no case {:?}; `clone3-abi list` shows the ids", args.case);
        return USAGE;
    };
    use std::fmt::Write as _;
    let mut out = String::new();
    let m = &args.machine;
    let env = m.env();
    let p = predict(case, &env, &m.arch);
    writeln!(out, "{}: {}", case.id, case.why).unwrap();
    writeln!(out, "on {} {} ({}): {} [rule {}]", m.release, m.arch.name, who(m), expect_text(&p.expect), p.rule).unwrap();
    if p.rule == "gate" {
        return emit(&out);
    }
    let mut decided = false;
    for step in explain(case, &env, &m.arch) {
        let r = step.rule;
        match (step.in_force, step.fires) {
            _ if decided => break,
            (true, None) => writeln!(out, "  passes   {}", r.id).unwrap(),
            (true, Some(f)) => {
                decided = true;
                writeln!(out, "  FIRES    {} → {f:?}\n           {}", r.id, r.source_line()).unwrap();
            }
            // A check this release does not have, which would decide the case where it exists.
            (false, Some(f)) => writeln!(out, "  absent   {} (would give {f:?}): {}", r.id, r.source_line()).unwrap(),
            (false, None) => {}
        }
    }
    if !decided {
        writeln!(out, "  no rule fires: {}", p.source).unwrap();
    }
    emit(&out)
}

/// Prints what was gathered; a closed pipe (`| head`) is not an error.
fn emit(text: &str) -> u8 {
    use std::io::Write;
    let _ = std::io::stdout().write_all(text.as_bytes());
    GOOD
}

#[derive(Args)]
pub struct FingerprintArgs {
    /// A run's `--json` report (`clone3-abi run --json out.json`).
    report: std::path::PathBuf,
}

/// What a set of observations says about a kernel's backports.
#[derive(Debug, PartialEq, Eq)]
pub struct Fingerprint {
    /// Overrides (fix name → has it) that make the model agree with the most observations.
    pub flipped: Fixes,
    /// Cases that still differ with those overrides: no known fix explains them.
    pub unexplained: Vec<String>,
    /// Other overrides that would have explained as much at some step (the table cannot
    /// tell them apart: e.g. two fixes of the same check).
    pub ties: Fixes,
    /// Releases whose model, without overrides, agrees with every observation.
    pub consistent: Vec<Release>,
}

/// How many observations differ from the model under `env`, and which.
fn differing(obs: &[(clone3_suites::Case, crate::runner::Observed)], env: &Env, arch: &ArchProfile) -> Vec<String> {
    obs.iter()
        .filter(|(c, o)| matches!(crate::verdict::judge(&predict(c, env, arch).expect, Some(o)), crate::verdict::Verdict::Fail(_)))
        .map(|(c, _)| c.id.clone())
        .collect()
}

/// Greedy: flip, one at a time, the fix whose flip removes the most differences, while one
/// does; then list the releases that need no flip at all.
pub fn fingerprint(obs: &[(clone3_suites::Case, crate::runner::Observed)], env: &Env, arch: &ArchProfile) -> Fingerprint {
    use clone3_suites::model::fixes::FIXES;
    let mut env = Env { fixes: Fixes::new(), ..env.clone() };
    let mut now = differing(obs, &env, arch);
    let mut ties = Fixes::new();
    loop {
        let trials: Vec<(usize, &str, Env, Vec<String>)> = FIXES
            .iter()
            .filter(|f| !env.fixes.contains_key(f.name))
            .map(|f| {
                let mut trial = env.clone();
                trial.fixes.insert(f.name.to_string(), !env.release.has(f));
                let d = differing(obs, &trial, arch);
                (d.len(), f.name, trial, d)
            })
            .collect();
        let Some(n) = trials.iter().map(|t| t.0).min().filter(|n| *n < now.len()) else { break };
        let mut best = trials.into_iter().filter(|t| t.0 == n);
        let (_, _, trial, d) = best.next().expect("the minimum exists");
        for (_, name, t, _) in best {
            ties.insert(name.to_string(), t.fixes[name]);
        }
        (env, now) = (trial, d);
    }
    let mut candidates = vec![env.release];
    for f in FIXES {
        candidates.push(f.mainline);
        for ((ma, mi), p) in f.stable {
            candidates.extend([Release::new(*ma, *mi, *p), Release::new(*ma, *mi, p.saturating_sub(1))]);
        }
    }
    for (ma, mi) in clone3_suites::Release::SERIES {
        candidates.push(Release::new(*ma, *mi, 0));
    }
    candidates.sort();
    candidates.dedup();
    let plain = |r: Release| Env { release: r, fixes: Fixes::new(), ..env.clone() };
    let consistent = candidates.into_iter().filter(|r| *r >= Release::new(5, 3, 0) && differing(obs, &plain(*r), arch).is_empty()).collect();
    Fingerprint { flipped: env.fixes, unexplained: now, ties, consistent }
}

/// `clone3-abi fingerprint out.json`: which release and backports explain what a kernel did.
/// 0: everything explained; 1: differences no known fix explains; 125: unreadable report.
pub fn fingerprint_report(args: FingerprintArgs) -> u8 {
    let fail = |why: String| {
        eprintln!("clone3-abi fingerprint: {}: {why}; fix: pass a report written by `clone3-abi run --json FILE`", args.report.display());
        crate::CANNOT_TEST
    };
    let text = match std::fs::read_to_string(&args.report) {
        Ok(t) => t,
        Err(e) => return fail(e.to_string()),
    };
    let doc: serde_json::Value = match serde_json::from_str(&text) {
        Ok(d) => d,
        Err(e) => return fail(format!("not JSON ({e})")),
    };
    let Ok(env) = serde_json::from_value::<Env>(doc["env"].clone()) else { return fail("no readable `env`".into()) };
    let Some(arch) = doc["arch"].as_str().and_then(ArchProfile::by_name) else { return fail("no known `arch`".into()) };
    let all = tables::all();
    let mut obs = Vec::new();
    let mut unknown = 0;
    for c in doc["cases"].as_array().into_iter().flatten() {
        let Some(case) = c["id"].as_str().and_then(|id| all.iter().find(|t| t.id == id)) else {
            unknown += 1;
            continue;
        };
        if let Ok(o) = serde_json::from_value::<crate::runner::Observed>(c["observed"].clone()) {
            if !matches!(o, crate::runner::Observed::NotRun(_)) {
                obs.push((case.clone(), o));
            }
        }
    }
    let f = fingerprint(&obs, &env, &arch);
    let kernel = doc["kernel"].as_str().unwrap_or("?");
    println!("kernel {kernel} ({}, {}): {} observations{}", env.release, arch.name, obs.len(), if unknown > 0 { format!(", {unknown} cases this version does not know") } else { String::new() });
    if f.flipped.is_empty() {
        println!("backports: none beyond what {} has", env.release);
    }
    for (name, has) in &f.flipped {
        let fix = clone3_suites::model::fixes::fix(name);
        let how = if *has { "carries, which its release does not" } else { "lacks, which its release has" };
        println!("  {}{name}: the kernel {how}: {} ({}, in {})", if *has { '+' } else { '-' }, fix.subject, fix.commit, fix.releases());
    }
    for (name, has) in &f.ties {
        println!("  (or {}{name}: the table cannot tell it from the above)", if *has { '+' } else { '-' });
    }
    if !f.flipped.is_empty() {
        println!("  run it with: clone3-abi run --fixes {}", fixes_arg(&f.flipped));
    }
    println!("releases whose model agrees with every observation: {}", release_ranges(&f.consistent));
    if f.unexplained.is_empty() {
        crate::GOOD
    } else {
        println!("{} differences no known fix explains: {}", f.unexplained.len(), f.unexplained.join(", "));
        crate::BAD
    }
}

/// "6.1.20–6.1.157, 6.12.0" from sorted releases: consecutive candidates of one series merged.
fn release_ranges(rs: &[Release]) -> String {
    if rs.is_empty() {
        return "none of the releases the model knows".into();
    }
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < rs.len() {
        let mut j = i;
        while j + 1 < rs.len() && rs[j + 1].series() == rs[i].series() {
            j += 1;
        }
        out.push(if i == j { rs[i].to_string() } else { format!("{}–{}", rs[i], rs[j]) });
        i = j + 1;
    }
    out.join(", ")
}

fn who(m: &Machine) -> &'static str {
    if m.unprivileged { "an ordinary user" } else { "root in the suite's PID sandbox" }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        m: Machine,
    }

    /// What a kernel the model describes exactly would be observed to do.
    fn observed_as_predicted(env: &Env, arch: &ArchProfile) -> Vec<(clone3_suites::Case, crate::runner::Observed)> {
        use crate::runner::Observed;
        tables::all()
            .into_iter()
            .filter_map(|c| {
                let o = match predict(&c, env, arch).expect {
                    clone3_suites::Expect::Ok(v) => Observed::Ok(v),
                    clone3_suites::Expect::Err(e) => Observed::Err(e),
                    clone3_suites::Expect::Skip(_) => return None,
                };
                Some((c, o))
            })
            .collect()
    }

    #[test]
    fn a_stock_kernel_needs_no_fix_and_names_its_series() {
        let arch = ArchProfile::X86_64;
        let env = Env::sandboxed_root(Release::new(6, 12, 117), &arch);
        let f = fingerprint(&observed_as_predicted(&env, &arch), &env, &arch);
        assert!(f.flipped.is_empty() && f.unexplained.is_empty(), "{f:?}");
        assert!(f.consistent.contains(&Release::new(6, 12, 117)), "{f:?}");
    }

    /// Observations edited to those of a kernel lacking one fix (or carrying one its release
    /// lacks): fingerprint names exactly that fix, for every fix that shows on the table.
    #[test]
    fn observations_of_a_flipped_fix_name_that_fix() {
        use clone3_suites::model::fixes::FIXES;
        let mut tried = 0;
        for fix in FIXES {
            for arch in ArchProfile::ALL {
                if fix.cases_on(arch.name).is_empty() {
                    continue;
                }
                // A release with the fix (its mainline) and one without (the series before).
                let with = fix.mainline;
                for (release, has) in [(with, false), (Release::new(with.major, with.minor.saturating_sub(1), 0), true)] {
                    let env = Env::sandboxed_root(release, &arch);
                    if env.release.has(fix) == has {
                        continue;
                    }
                    let lying = Env { fixes: [(fix.name.to_string(), has)].into(), ..env.clone() };
                    let obs = observed_as_predicted(&lying, &arch);
                    if obs.iter().all(|(c, o)| observed_as_predicted(&env, &arch).iter().any(|(d, p)| d.id == c.id && p == o)) {
                        continue; // no observable difference on this profile and release
                    }
                    let f = fingerprint(&obs, &env, &arch);
                    let named = f.flipped.get(fix.name) == Some(&has) || f.ties.get(fix.name) == Some(&has);
                    assert!(named && f.flipped.len() == 1 && f.unexplained.is_empty(), "{} on {} {}: {f:?}", fix.name, release, arch.name);
                    tried += 1;
                }
            }
        }
        assert!(tried >= 5, "only {tried} flips could be observed");
    }

    #[test]
    fn a_release_and_arch_are_parsed_or_refused_clearly() {
        let m = Cli::try_parse_from(["x", "--release", "6.2.5", "--arch", "aarch64"]).unwrap().m;
        assert_eq!((m.release, m.arch.name), (Release::new(6, 2, 5), "aarch64"));
        let e = Cli::try_parse_from(["x", "--release", "six"]).err().unwrap().to_string();
        assert!(e.contains("is not a kernel release"), "{e}");
        let e = Cli::try_parse_from(["x", "--release", "6.1", "--arch", "sparc"]).err().unwrap().to_string();
        assert!(e.contains("one of x86_64"), "{e}");
    }

    #[test]
    fn explain_names_the_rule_predict_uses() {
        let case = tables::all().into_iter().find(|c| c.id == "flags.alone_newtime").unwrap();
        for (release, rule) in [(Release::new(6, 2, 5), Some("args_valid.csignal_or_detached")), (Release::new(6, 3, 0), None)] {
            let env = Env::sandboxed_root(release, &ArchProfile::X86_64);
            let first = explain(&case, &env, &ArchProfile::X86_64).into_iter().find(|s| s.in_force && s.fires.is_some());
            assert_eq!(first.map(|s| s.rule.id), rule);
            assert_eq!(predict(&case, &env, &ArchProfile::X86_64).rule, rule.unwrap_or("success"));
        }
    }
}
