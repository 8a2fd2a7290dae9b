//! Layer 4 outputs: every reporter reads the same list of [`CaseResult`]s.

pub mod json;
pub mod ktap;
pub mod snapshot;

use crate::runner::Observed;
use crate::verdict::Verdict;
use clone3_suites::{Case, Prediction};

pub struct CaseResult<'a> {
    pub case: &'a Case,
    pub prediction: Prediction,
    pub observed: Option<Observed>,
    pub verdict: Verdict,
}

#[derive(Default, Debug, Clone, Copy)]
pub struct Counts {
    pub pass: usize,
    pub fail: usize,
    pub skip: usize,
}

impl Counts {
    pub fn of<'a>(results: impl IntoIterator<Item = &'a CaseResult<'a>>) -> Self {
        let mut c = Counts::default();
        for r in results {
            match r.verdict {
                Verdict::Pass => c.pass += 1,
                Verdict::Fail(_) => c.fail += 1,
                Verdict::Skip(_) => c.skip += 1,
            }
        }
        c
    }
}

/// Writes `contents` to `path` through a temporary file and a rename: a reader sees the
/// old file or the new one, never half of one.
pub fn write_atomically(path: &std::path::Path, contents: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
    std::fs::create_dir_all(dir)?;
    // Unique per process and call: threads may write files side by side.
    static SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let seq = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("out");
    let tmp = dir.join(format!(".{name}.tmp{}.{seq}", std::process::id()));
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(contents)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)
}
