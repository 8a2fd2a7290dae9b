//! KCIDB JSON (schema v5.3, as kcidb-io defines it): one checkout for the run, one build per
//! guest's kernel, one test per case at `clone3_abi.<guest>.<family>.<case>` (a guest without
//! results is one test at `clone3_abi.<guest>` saying why). Ids are `<origin>:<run>.…`.

use super::{status, Guest, Outcome};
use crate::verdict::{expect_text, observed_text, Verdict};
use serde_json::{json, Value};
use std::time::SystemTime;

/// What names this submission.
pub struct Meta {
    /// The submitting CI system (`[a-z0-9_]+`): `$CLONE3_ABI_KCIDB_ORIGIN`, else `clone3_abi`.
    pub origin: String,
    /// Unique among this origin's runs.
    pub run: String,
    pub start: SystemTime,
}

impl Meta {
    pub fn now() -> Meta {
        let origin = std::env::var("CLONE3_ABI_KCIDB_ORIGIN").ok().filter(|o| valid_origin(o)).unwrap_or_else(|| "clone3_abi".into());
        let start = SystemTime::now();
        let secs = start.duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_secs());
        Meta { origin, run: format!("{secs}-{}", std::process::id()), start }
    }
}

fn valid_origin(o: &str) -> bool {
    !o.is_empty() && o.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// The kernel's architecture as the kernel (and so KernelCI) names it.
fn kernel_arch(machine: &str) -> &str {
    match machine {
        "aarch64" => "arm64",
        "riscv64" => "riscv",
        "i386" | "i686" => "i386",
        other => other,
    }
}

pub fn render(guests: &[Guest], meta: &Meta) -> String {
    let o = &meta.origin;
    let at = humantime::format_rfc3339_seconds(meta.start).to_string();
    let checkout = format!("{o}:{}", meta.run);
    let mut builds = Vec::new();
    let mut tests = Vec::new();
    for g in guests {
        let build = format!("{checkout}.{}", g.name);
        builds.push(json!({
            "id": build,
            "origin": o,
            "checkout_id": checkout,
            "architecture": kernel_arch(g.machine),
            "comment": if g.kernel.is_empty() { format!("{}: the kernel did not run", g.name) } else { format!("{} {}", g.name, g.kernel) },
            "misc": { "guest": g.name, "kernel_release": g.kernel },
        }));
        // A case's test, or (with no case) the guest's own when it has no results.
        let test = |case: Option<&str>, status: &str, comment: String, misc: Value| {
            let mut t = json!({
                "id": format!("{build}.{}", case.unwrap_or("run")),
                "origin": o,
                "build_id": build,
                "path": case.map_or(format!("clone3_abi.{}", g.name), |c| format!("clone3_abi.{}.{c}", g.name)),
                "status": status,
                "start_time": at,
                "comment": comment,
                "environment": { "comment": format!("clone3-abi guest {}", g.name), "misc": { "agent_arch": g.arch } },
                "misc": misc,
            });
            if let Some(c) = g.console_file() {
                t["misc"]["console"] = json!(c);
            }
            t
        };
        match &g.outcome {
            Outcome::Ran(results) => {
                for r in *results {
                    let mut misc = json!({ "rule": r.prediction.rule, "predicted": expect_text(&r.prediction.expect) });
                    if let Some(obs) = &r.observed {
                        misc["observed"] = json!(observed_text(obs));
                    }
                    let comment = match &r.verdict {
                        Verdict::Pass => r.case.why.to_string(),
                        Verdict::Fail(why) => {
                            misc["source"] = json!(r.prediction.source);
                            misc["repro"] = json!(g.repro);
                            why.clone()
                        }
                        Verdict::Skip(why) | Verdict::Error(why) => why.clone(),
                    };
                    tests.push(test(Some(&r.case.id), status(&r.verdict), comment, misc));
                }
            }
            Outcome::Unavailable(why) => tests.push(test(None, "SKIP", format!("cannot test: {why}"), json!({}))),
            Outcome::CannotTest(why) => tests.push(test(None, "ERROR", format!("cannot test: {why}"), json!({}))),
            Outcome::Crashed(why) => tests.push(test(None, "FAIL", format!("crashed: {why}"), json!({}))),
        }
    }
    let doc = json!({
        "version": { "major": 5, "minor": 3 },
        "checkouts": [{ "id": checkout, "origin": o, "start_time": at, "comment": "clone3-abi run" }],
        "builds": builds,
        "tests": tests,
    });
    serde_json::to_string_pretty(&doc).expect("serializable")
}
