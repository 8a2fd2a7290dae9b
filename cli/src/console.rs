//! The agent's console protocol: what a guest prints and how the host reads it back.
//! The agent's structured lines carry every observation home; the host recomputes the
//! predictions and verdicts with the same model, so no verdict is ever parsed from text.
//!
//! ```text
//! <<<clone3-abi:begin v1>>>
//! C3 {"header":{"arch":"aarch64","uname":"6.12.57+deb13-arm64","env":{…},"cases":304}}
//! C3 {"case":{"index":0,"id":"size.zero","observed":{"err":"EINVAL"}}}
//! …
//! <<<clone3-abi:end v1>>>
//! ```
//! Other lines (printk, KTAP for console readers) may come between; only `C3 ` lines count.

use crate::runner::Observed;
use clone3_suites::Env;
use serde::{Deserialize, Serialize};

pub const BEGIN: &str = "<<<clone3-abi:begin v1>>>";
pub const END: &str = "<<<clone3-abi:end v1>>>";
const PREFIX: &str = "C3 ";

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Header {
    pub arch: String,
    pub uname: String,
    pub env: Env,
    pub cases: usize,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CaseLine {
    pub index: usize,
    pub id: String,
    pub observed: Option<Observed>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Record {
    Header(Header),
    Case(CaseLine),
    /// The guest cannot test (clone3 missing, setup failed): why.
    CannotTest(String),
}

pub fn line(r: &Record) -> String {
    format!("{PREFIX}{}", serde_json::to_string(r).expect("serializable"))
}

/// What a guest's console said.
#[derive(Debug, Default)]
pub struct Transcript {
    pub header: Option<Header>,
    pub cases: Vec<CaseLine>,
    pub cannot_test: Option<String>,
    pub began: bool,
    pub ended: bool,
    /// Kernel crash lines (panic, oops, BUG, WARNING) quoted as seen.
    pub crashes: Vec<String>,
    /// `C3 ` lines that did not parse: console garbage, never a verdict.
    pub garbage: Vec<String>,
}

/// The patterns LAVA treats as a kernel crash (lava_dispatcher/utils/messages.py).
const CRASH_PATTERNS: &[&str] =
    &["Kernel panic - not syncing", "Oops", "kernel BUG at", "BUG: KASAN", "WARNING:", "[ cut here ]", "Unable to handle kernel"];

pub fn parse(text: &str) -> Transcript {
    let mut t = Transcript::default();
    for raw in text.lines() {
        let l = raw.trim_end_matches('\r');
        if CRASH_PATTERNS.iter().any(|p| l.contains(p)) {
            t.crashes.push(l.to_string());
        }
        if l.ends_with(BEGIN) {
            t.began = true;
            continue;
        }
        if l.ends_with(END) && t.began {
            t.ended = true;
            continue;
        }
        if !t.began || t.ended {
            continue;
        }
        let Some(json) = l.find(PREFIX).map(|i| &l[i + PREFIX.len()..]) else { continue };
        match serde_json::from_str::<Record>(json) {
            Ok(Record::Header(h)) => t.header = Some(h),
            Ok(Record::Case(c)) => t.cases.push(c),
            Ok(Record::CannotTest(why)) => t.cannot_test = Some(why),
            Err(_) => t.garbage.push(l.chars().take(120).collect()),
        }
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_records_between_markers_and_ignores_noise() {
        let text = format!(
            "[    0.1] booting\nC3 {{\"cannot_test\":\"before begin: ignored\"}}\n{BEGIN}\n[    1.0] random: crng init done\n{}\nC3 {{\"case\":{{\"index\":0,\"id\":\"size.zero\",\"observed\":{{\"err\":\"EINVAL\"}}}}}}\n{END}\n",
            line(&Record::CannotTest("x".into()))
        );
        let t = parse(&text);
        assert!(t.began && t.ended);
        assert_eq!(t.cases.len(), 1);
        assert_eq!(t.cannot_test.as_deref(), Some("x"));
        assert!(t.garbage.is_empty() && t.crashes.is_empty());
    }

    #[test]
    fn truncated_or_garbled_output_is_noticed() {
        let t = parse(&format!("{BEGIN}\nC3 {{\"case\":{{\"index\":0,\"id\":\nKernel panic - not syncing: Attempted to kill init!\n"));
        assert!(t.began && !t.ended);
        assert_eq!(t.garbage.len(), 1);
        assert_eq!(t.crashes.len(), 1);
    }
}
