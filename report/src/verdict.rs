//! Layer 4: a prediction and an observation make a verdict.

use crate::runner::Observed;
use clone3_suites::{ChildView, Expect};
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "verdict", content = "detail", rename_all = "snake_case")]
pub enum Verdict {
    Pass,
    /// What differs, in words.
    Fail(String),
    Skip(String),
    /// The runner could not look (setup failed, the worker died): says nothing about the
    /// kernel, so the run is "cannot test" (125) unless a real difference exists.
    Error(String),
}

pub fn judge(expect: &Expect, observed: Option<&Observed>) -> Verdict {
    let Some(observed) = observed else {
        return match expect {
            Expect::Skip(why) => Verdict::Skip(why.clone()),
            _ => Verdict::Error("the runner brought back no observation".into()),
        };
    };
    match (expect, observed) {
        (Expect::Skip(why), _) => Verdict::Skip(why.clone()),
        (_, Observed::NotRun(why)) => Verdict::Error(format!("not run: {why}")),
        (Expect::Err(want), Observed::Err(got)) if want == got => Verdict::Pass,
        (Expect::Ok(want), Observed::Ok(got)) => match view_diff(want, got) {
            None => Verdict::Pass,
            Some(d) => Verdict::Fail(d),
        },
        (want, got) => Verdict::Fail(format!("expected {}, got {}", expect_text(want), observed_text(got))),
    }
}

/// Every field the model predicts must have been observed with that value.
fn view_diff(want: &ChildView, got: &ChildView) -> Option<String> {
    let w = serde_json::to_value(want).expect("serializable");
    let g = serde_json::to_value(got).expect("serializable");
    let diffs: Vec<String> = w
        .as_object()?
        .iter()
        .filter(|(k, v)| g.get(k.as_str()) != Some(v))
        .map(|(k, v)| format!("{k}: expected {v}, got {}", g.get(k.as_str()).map_or("nothing".into(), |x| x.to_string())))
        .collect();
    (!diffs.is_empty()).then(|| diffs.join("; "))
}

pub fn expect_text(e: &Expect) -> String {
    match e {
        Expect::Ok(v) => format!("success {}", view_text(v)),
        Expect::Err(e) => e.to_string(),
        Expect::Skip(why) => format!("skip ({why})"),
    }
}

pub fn observed_text(o: &Observed) -> String {
    match o {
        Observed::Ok(v) => format!("success {}", view_text(v)),
        Observed::Err(e) => e.to_string(),
        Observed::ErrRaw(n) => format!("errno {n}"),
        Observed::NotRun(why) => format!("not run ({why})"),
    }
}

/// `{fate=reported sp=top ...}` in field order.
pub fn view_text(v: &ChildView) -> String {
    let value = serde_json::to_value(v).expect("serializable");
    let parts: Vec<String> = value
        .as_object()
        .map(|m| m.iter().map(|(k, v)| format!("{k}={}", compact(v))).collect())
        .unwrap_or_default();
    format!("{{{}}}", parts.join(" "))
}

fn compact(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.to_lowercase(),
        serde_json::Value::Object(m) => m.iter().map(|(k, v)| format!("{}({})", k.to_lowercase(), compact(v))).collect(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clone3_suites::{Errno, Fate};

    #[test]
    fn errno_must_match() {
        assert_eq!(judge(&Expect::Err(Errno::EINVAL), Some(&Observed::Err(Errno::EINVAL))), Verdict::Pass);
        assert!(matches!(judge(&Expect::Err(Errno::EINVAL), Some(&Observed::Err(Errno::E2BIG))), Verdict::Fail(_)));
    }

    #[test]
    fn a_case_the_runner_could_not_run_is_an_error_not_a_failure() {
        assert!(matches!(judge(&Expect::Err(Errno::EINVAL), None), Verdict::Error(_)));
        let not_run = Observed::NotRun("the worker ended early".into());
        assert!(matches!(judge(&Expect::Err(Errno::EINVAL), Some(&not_run)), Verdict::Error(_)));
        assert!(matches!(judge(&Expect::Skip("x".into()), Some(&not_run)), Verdict::Skip(_)));
    }

    #[test]
    fn predicted_fields_must_be_observed() {
        let want = ChildView { fate: Some(Fate::Reported), sp: Some(clone3_suites::SpAt::Top), ..Default::default() };
        let got_less = ChildView { fate: Some(Fate::Reported), ..Default::default() };
        let got_more = ChildView { tid_in_ns: Some(5), ..want.clone() };
        assert!(matches!(judge(&Expect::Ok(want.clone()), Some(&Observed::Ok(got_less))), Verdict::Fail(_)));
        assert_eq!(judge(&Expect::Ok(want), Some(&Observed::Ok(got_more))), Verdict::Pass);
    }

    #[test]
    fn a_skip_is_never_a_pass() {
        assert!(matches!(judge(&Expect::Skip("x".into()), None), Verdict::Skip(_)));
    }
}
