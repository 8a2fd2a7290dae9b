//! The executable model of the kernel's clone3 path: a pure function from a case, an
//! environment, an arch profile and a kernel release to the outcome the kernel should
//! give, plus the rule that decided it. The rules live in [`rules`], one per kernel check,
//! in the order the kernel makes them: the first that fires decides the errno.

mod input;
pub mod rules;
mod success;

pub use input::{resolve_tid, Input, TidAt, CLOSED_FD};
pub use rules::{Rule, RULES};
pub use success::{ChildView, Fate, Observe, SpAt};

use crate::{Case, Env, Errno, Gate};
use clone3_arches::ArchProfile;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Expect {
    /// clone3 succeeds; the child and the caller see what the view says (fields the
    /// model does not predict are `None`).
    Ok(ChildView),
    Err(Errno),
    /// The case cannot run here: the reason.
    Skip(String),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Prediction {
    pub expect: Expect,
    /// The rule that decided: a [`Rule::id`], `success`, or `gate`.
    pub rule: &'static str,
    /// Where the rule comes from: kernel function, release, commit subject.
    pub source: String,
}

/// Predicts what `env.release` does with `case` on `arch`.
pub fn predict(case: &Case, env: &Env, arch: &ArchProfile) -> Prediction {
    if let Some(gate) = missing_gate(case, env) {
        return Prediction { expect: Expect::Skip(gate.reason().into()), rule: "gate", source: String::new() };
    }
    let input = Input::new(case, env, arch);
    for rule in RULES.iter().filter(|r| r.applies_to(env.release)) {
        if let Some(fire) = (rule.check)(&input) {
            let expect = match fire {
                rules::Fire::Errno(e) => Expect::Err(e),
                rules::Fire::Unpredictable(why) => Expect::Skip(format!("model cannot predict: {why}")),
            };
            return Prediction { expect, rule: rule.id, source: rule.source_line() };
        }
    }
    Prediction {
        expect: Expect::Ok(success::view(&input)),
        rule: "success",
        source: "kernel_clone/copy_process succeed; observations per model::success".into(),
    }
}

fn missing_gate(case: &Case, env: &Env) -> Option<Gate> {
    case.needs.iter().copied().find(|g| match g {
        Gate::PidSandbox => !env.pid_sandbox,
        Gate::Cgroup2 => !(env.cgroup2 && env.cap_sys_admin),
        Gate::CgroupV1 => !env.cgroup_v1,
    })
}

#[cfg(test)]
mod tests;
