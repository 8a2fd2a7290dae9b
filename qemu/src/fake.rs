//! Consoles as a guest's agent prints them, for the tests of what reads them (here and in
//! the CLI's matrix reports): the first three cases of the table, one batch, boot noise.

use crate::console::{self, CaseLine, Header, Record, BEGIN, END};
use crate::launch;
use clone3_arches::ArchProfile;
use clone3_runner::Observed;
use clone3_suites::{tables, Case, Env, Release};
use std::time::Duration;

pub fn cases() -> Vec<Case> {
    tables::all().into_iter().take(3).collect()
}

pub fn boot(lines: &[String]) -> launch::Boot {
    launch::Boot { console: lines.join("\n") + "\n", wall: Duration::from_secs(3), ..Default::default() }
}

pub fn rec(r: Record) -> String {
    console::line(&r)
}

pub fn header(cases: usize) -> String {
    let env = Env::sandboxed_root(Release::new(6, 12, 117), &ArchProfile::X86_64);
    rec(Record::Header(Header { arch: "x86_64".into(), uname: "6.12.117".into(), env, cases }))
}

pub fn case(i: usize) -> String {
    rec(Record::Case(CaseLine { index: i, id: cases()[i].id.clone(), observed: Some(Observed::Err(clone3_suites::Errno::EINVAL)) }))
}

/// A whole run as the agent prints it, boot noise and all: one batch of the three
/// cases; `inject` adds lines after the line at that position.
pub fn run_with(inject: &[(usize, &str)]) -> Vec<String> {
    let mut lines: Vec<String> = vec![
        "[    0.000000] Linux version 6.12.117 (debian-kernel@lists.debian.org)".into(),
        "[    0.912345] Run /init as init process".into(),
        BEGIN.into(),
        rec(Record::TaintBefore(Some(0))),
        header(3),
        rec(Record::Running { from: 0, to: 3 }),
        case(0),
        case(1),
        case(2),
        rec(Record::TaintAfter(Some(0))),
        "ok 1 size".into(),
        END.into(),
    ];
    for (at, l) in inject.iter().rev() {
        lines.insert(at + 1, l.to_string());
    }
    lines
}

pub const WARN: &str = "[    2.5] WARNING: CPU: 0 PID: 57 at kernel/fork.c:2290 copy_process+0x1c/0x2000";
