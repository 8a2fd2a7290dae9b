//! The executable model of the kernel's clone3 path: a pure function from a case, an
//! environment, an arch profile and a kernel release to the outcome the kernel should
//! give, plus the rule that decided it. The rules live in [`rules`], one per kernel check,
//! in the order the kernel makes them: the first that fires decides the errno.

pub mod fixes;
mod input;
pub mod rules;
mod success;

pub use input::{resolve_tid, Input, TidAt, CLOSED_FD};
pub use fixes::{Feature, Fix, FEATURES, FIXES};
pub use rules::{Rule, When, RULES};
pub use success::{ChildView, Fate, Observe, SpAt};

use crate::{Case, Env, Errno, Gate, Have};
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

/// The model's prediction per case, and which cases can run here at all.
pub fn predict_all(cases: &[Case], env: &Env, arch: &ArchProfile) -> (Vec<Prediction>, Vec<bool>) {
    let predictions: Vec<_> = cases.iter().map(|c| predict(c, env, arch)).collect();
    let run = predictions.iter().map(|p| !matches!(p.expect, Expect::Skip(_))).collect();
    (predictions, run)
}

/// Predicts what `env.release` does with `case` on `arch`.
pub fn predict(case: &Case, env: &Env, arch: &ArchProfile) -> Prediction {
    if let Some(why) = missing_gate(case, env, arch) {
        return Prediction { expect: Expect::Skip(why), rule: "gate", source: String::new() };
    }
    let input = Input::new(case, env, arch);
    let fired = RULES.iter().filter(|r| r.applies_to(env)).find_map(|r| (r.check)(&input).map(|f| (r, f)));
    match fired {
        Some((rule, fire)) => {
            let expect = match fire {
                rules::Fire::Errno(e) => Expect::Err(e),
                rules::Fire::Unpredictable(why) => Expect::Skip(format!("model cannot predict: {why}")),
            };
            Prediction { expect, rule: rule.id, source: rule.source_line() }
        }
        None => Prediction {
            expect: Expect::Ok(success::view(&input)),
            rule: "success",
            source: "kernel_clone/copy_process succeed; observations per model::success".into(),
        },
    }
}

/// One rule's answer for a case, for `clone3-abi explain`.
pub struct Step {
    pub rule: &'static Rule,
    /// The rule is in force in this release.
    pub in_force: bool,
    pub fires: Option<rules::Fire>,
}

/// Every rule in kernel order with what it says about `case` on this machine; the first
/// in-force rule that fires is the prediction (see [`predict`]).
pub fn explain(case: &Case, env: &Env, arch: &ArchProfile) -> Vec<Step> {
    let input = Input::new(case, env, arch);
    RULES.iter().map(|rule| Step { rule, in_force: rule.applies_to(env), fires: (rule.check)(&input) }).collect()
}

/// The first gate this machine does not meet, as the SKIP reason: the kernel's missing
/// feature when that is why, else what the run lacks.
fn missing_gate(case: &Case, env: &Env, arch: &ArchProfile) -> Option<String> {
    case.needs.iter().find_map(|&g| gate_reason(g, env, arch))
}

fn gate_reason(g: Gate, env: &Env, arch: &ArchProfile) -> Option<String> {
    let k = &env.kernel;
    let why = match g {
        Gate::PidSandbox if env.pid_sandbox => return None,
        Gate::PidSandbox => match k.pid_ns {
            Have::No => "needs the suite's PID-namespace sandbox: the kernel has no PID namespaces (CONFIG_PID_NS off, \
                         no /proc/self/ns/pid)",
            Have::Unknown => "needs the suite's PID-namespace sandbox, not built: whether the kernel has PID namespaces \
                              is unknown (/proc/self/ns could not be read)",
            Have::Yes => g.reason(),
        },
        Gate::Cgroup2 if env.cgroup2 && env.cap_sys_admin => return None,
        Gate::Cgroup2 => match (k.cgroup2_fs, env.cap_sys_admin) {
            (Have::No, _) => "needs cgroup2: the kernel has no cgroups (CONFIG_CGROUPS off, cgroup2 not in /proc/filesystems)",
            (_, false) => g.reason(),
            (Have::Unknown, true) => "needs a writable cgroup2 mount: none found (/proc/filesystems could not be read)",
            (Have::Yes, true) => "needs a writable cgroup2 mount: none mounted, or it is read-only",
        },
        Gate::CgroupDomainController if env.cgroup_domain_controller => return None,
        Gate::CgroupDomainController => g.reason(),
        Gate::UserRangeTop if arch.task_pointer_bits < 64 && env.user_addr_limit > 1 << arch.task_pointer_bits => {
            "needs the last bytes below the user address limit: a 32-bit task on a 64-bit kernel cannot map them \
             (access_ok's limit there is the 64-bit TASK_SIZE_MAX)"
        }
        Gate::UserRangeTop if env.user_range_top => return None,
        Gate::UserRangeTop => {
            "needs the last bytes below the user address limit, which could not be mapped here (an arm64 kernel built \
             for 52-bit VAs on a CPU with 48 takes stacks up to 2^52 but maps below 2^48; or the main stack is there)"
        }
        Gate::AutoreapedCaller if env.has_feature("autoreap_nnp_autokill") => return None,
        Gate::AutoreapedCaller => g.reason(),
        Gate::OwnUserNs if env.cap_sys_admin && k.user_ns == Have::Yes => return None,
        Gate::OwnUserNs => match k.user_ns {
            Have::No => "needs user namespaces for its caller: the kernel has none (CONFIG_USER_NS off)",
            Have::Unknown => "needs user namespaces for its caller: whether the kernel has them is unknown",
            Have::Yes => g.reason(),
        },
        Gate::CgroupV1 if env.cgroup_v1 => return None,
        Gate::CgroupV1 => match k.cgroups {
            Have::No => "needs a cgroup v1 hierarchy: the kernel has no cgroups (CONFIG_CGROUPS off)",
            _ => g.reason(),
        },
    };
    Some(why.into())
}

#[cfg(test)]
mod fixture;
#[cfg(test)]
mod tests;
