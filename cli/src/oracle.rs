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
}

impl Machine {
    fn env(&self) -> Env {
        if self.unprivileged {
            Env::unprivileged(self.release, &self.arch)
        } else {
            Env::sandboxed_root(self.release, &self.arch)
        }
    }
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
