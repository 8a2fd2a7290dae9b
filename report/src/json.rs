//! `--json FILE` and `results.json`: every case's inputs, prediction (with its rule and
//! source), observation and verdict, plus the environment the model was given.

use super::{CaseResult, Guest, Outcome};
use clone3_suites::Env;
use serde_json::{json, Value};

/// A native run: one document.
pub fn render(env: &Env, arch: &str, uname: &str, results: &[CaseResult]) -> String {
    serde_json::to_string_pretty(&doc(env, arch, uname, results)).expect("serializable")
}

/// A matrix: one document per guest, named; a guest without results says why.
pub fn render_guests(guests: &[Guest]) -> String {
    let docs: Vec<Value> = guests
        .iter()
        .map(|g| {
            let mut d = match (&g.outcome, g.env) {
                (Outcome::Ran(r), Some(env)) => doc(env, g.arch, g.kernel, r),
                (Outcome::Ran(_), None) => unreachable!("a guest that ran has an environment"),
                (Outcome::Crashed(why), _) => json!({ "crashed": why }),
                (Outcome::CannotTest(why), _) => json!({ "cannot_test": why }),
                (Outcome::Unavailable(why), _) => json!({ "cannot_test": why, "unavailable": true }),
            };
            d["guest"] = json!(g.name);
            d["repro"] = json!(g.repro);
            if let Some(c) = g.console_file() {
                d["console"] = json!(c);
            }
            d
        })
        .collect();
    serde_json::to_string_pretty(&docs).expect("serializable")
}

fn doc(env: &Env, arch: &str, uname: &str, results: &[CaseResult]) -> Value {
    let cases: Vec<_> = results
        .iter()
        .map(|r| {
            json!({
                "id": r.case.id,
                "why": r.case.why,
                "inputs": r.case,
                "predicted": r.prediction.expect,
                "rule": r.prediction.rule,
                "source": r.prediction.source,
                "observed": r.observed,
                "verdict": r.verdict,
            })
        })
        .collect();
    json!({ "arch": arch, "kernel": uname, "env": env, "cases": cases })
}
