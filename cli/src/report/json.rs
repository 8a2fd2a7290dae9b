//! `--json FILE`: every case's inputs, prediction (with its rule and source), observation
//! and verdict, plus the environment the model was given.

use super::CaseResult;
use clone3_suites::Env;
use serde_json::json;

pub fn render(env: &Env, arch: &str, uname: &str, results: &[CaseResult]) -> String {
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
    let doc = json!({ "arch": arch, "kernel": uname, "env": env, "cases": cases });
    serde_json::to_string_pretty(&doc).expect("serializable")
}
