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
    /// Cases the runner could not run ([`Verdict::Error`]).
    pub error: usize,
}

impl Counts {
    pub fn of<'a>(results: impl IntoIterator<Item = &'a CaseResult<'a>>) -> Self {
        let mut c = Counts::default();
        for r in results {
            match r.verdict {
                Verdict::Pass => c.pass += 1,
                Verdict::Fail(_) => c.fail += 1,
                Verdict::Skip(_) => c.skip += 1,
                Verdict::Error(_) => c.error += 1,
            }
        }
        c
    }

    pub fn add(self, o: Counts) -> Counts {
        Counts { pass: self.pass + o.pass, fail: self.fail + o.fail, skip: self.skip + o.skip, error: self.error + o.error }
    }

    /// The bisect code these verdicts alone give: any failure is bad; otherwise any case
    /// the runner could not run makes the run "cannot test".
    pub fn code(&self) -> u8 {
        if self.fail > 0 {
            crate::BAD
        } else if self.error > 0 {
            crate::CANNOT_TEST
        } else {
            crate::GOOD
        }
    }

    /// The plain closing line CI systems read (`N passed, N failed, N skipped`), preceded
    /// by the cases that could not run, when there are any.
    pub fn closing_lines(&self) -> String {
        let not_run = if self.error > 0 {
            format!("clone3-abi: {} cases could not be run by the tool (cannot test; see above)\n", self.error)
        } else {
            String::new()
        };
        format!("{not_run}clone3-abi: {} passed, {} failed, {} skipped", self.pass, self.fail, self.skip)
    }
}

/// One line per distinct reason the runner could not run cases (a dead worker takes the
/// rest of the table with it: one cause, not 300 lines), naming the first cases.
pub fn not_run_lines(results: &[CaseResult], guest: &str) -> Vec<String> {
    let mut by_reason: Vec<(&str, Vec<&str>)> = Vec::new();
    for r in results {
        if let Verdict::Error(why) = &r.verdict {
            match by_reason.iter_mut().find(|(w, _)| *w == why.as_str()) {
                Some((_, ids)) => ids.push(&r.case.id),
                None => by_reason.push((why, vec![&r.case.id])),
            }
        }
    }
    let guest = if guest.is_empty() { String::new() } else { format!("{guest} ") };
    by_reason
        .into_iter()
        .map(|(why, ids)| match ids.as_slice() {
            [one] => format!("  NOT RUN {guest}{one}: {why}"),
            [first, second, ..] => {
                let more = if ids.len() > 2 { ", …" } else { "" };
                format!("  NOT RUN {guest}{} cases ({first}, {second}{more}): {why}", ids.len())
            }
            [] => unreachable!("a reason has a case"),
        })
        .collect()
}

/// Writes `contents` to `path` through a temporary file (random name, O_EXCL, removed on
/// any failure) and a rename: a reader sees the old file or the new one, never half of one.
pub fn write_atomically(path: &std::path::Path, contents: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut f = tempfile::NamedTempFile::new_in(dir)?;
    f.write_all(contents)?;
    // Readable like any file the tool writes (the temp file starts as 0600).
    f.as_file().set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o644))?;
    f.as_file().sync_all()?;
    f.persist(path).map_err(|e| e.error)?;
    // The rename itself survives a crash only once the directory is synced.
    std::fs::File::open(dir).and_then(|d| d.sync_all())
}
