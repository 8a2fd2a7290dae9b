//! Agent mode: the binary as `/init` of a QEMU guest. It mounts what the cases need, runs
//! the whole table through the same pipeline as `run`, prints the observations as console
//! records (and KTAP for console readers), and powers the guest off.
//!
//! The host blames kernel trouble on the cases that were running when it appeared, so
//! the agent says so on the console: the begin marker first of all (the kernel reached
//! the agent), the kernel's taint before and after the cases, and the table in batches,
//! each announced before it runs and reported as soon as it is done. Its own panic is a
//! record too, then a restart: never `Attempted to kill init`, which would read as a
//! kernel crash.

use crate::console::{self, Header, Record};
use crate::{crash, pipeline, probe, report};
use clone3_suites::tables;
use std::time::Duration;

pub fn is_agent() -> bool {
    rustix::process::getpid().is_init() && std::env::args().next().is_some_and(|a| a.ends_with("init"))
}


pub fn agent() -> ! {
    install_panic_hook();
    println!("{}", console::BEGIN);
    mount_all();
    // `clone3-abi bench --qemu`'s floor: the boot and power-off alone.
    if std::fs::read_to_string("/proc/cmdline").is_ok_and(|c| c.split_whitespace().any(|w| w == console::FLOOR)) {
        println!("{}", console::END);
        power_off()
    }
    quiet_console_below_warnings();
    println!("{}", console::line(&Record::TaintBefore(read_taint())));
    let outcome = run();
    if let Err(why) = outcome {
        println!("{}", console::line(&Record::CannotTest(why)));
    }
    println!("{}", console::END);
    power_off()
}

fn run() -> Result<(), String> {
    let mut phases = Phases::start();
    let probe = probe::probe()?;
    for n in &probe.notes {
        println!("# clone3-abi probe: {n}");
    }
    if let Some(why) = pipeline::clone3_missing() {
        return Err(why);
    }
    phases.done("probe");
    if let Some((iterations, seed)) = console::fuzz_request(&std::fs::read_to_string("/proc/cmdline").unwrap_or_default()) {
        let header = Header { arch: probe.arch.name.into(), uname: probe.uname.clone(), env: probe.env.clone(), cases: iterations as usize };
        println!("{}", console::line(&Record::Header(header)));
        let t = crate::fuzz::run_seeded(&probe, seed, iterations, |first, _, results| {
            for (i, r) in results.iter().enumerate() {
                let line = console::CaseLine { index: first as usize + i, id: r.case.id.clone(), observed: r.observed.clone() };
                println!("{}", console::line(&Record::Case(line)));
            }
        });
        println!("{}", console::line(&Record::TaintAfter(read_taint())));
        println!("# fuzz in the guest: {} inputs, {} ran, {} findings by the guest's own reckoning", t.inputs, t.ran, t.findings);
        phases.done("fuzz");
        println!("{}", console::line(&Record::Phases(phases.0)));
        return Ok(());
    }
    let cases = tables::all();
    let (predictions, run_mask) = pipeline::predict_all(&cases, &probe.env, &probe.arch);
    let header = Header { arch: probe.arch.name.into(), uname: probe.uname.clone(), env: probe.env.clone(), cases: cases.len() };
    println!("{}", console::line(&Record::Header(header)));
    phases.done("model");
    let (observed, took, start) = run_streaming(&cases, &run_mask, &probe);
    println!("{}", console::line(&Record::TaintAfter(read_taint())));
    phases.done("cases");
    let timing = console::Timing::of(start, cases.iter().map(|c| c.id.as_str()).zip(took));
    println!("{}", console::line(&Record::Timing(timing)));
    // KTAP for whoever reads the console directly (LAVA monitors, people).
    let results = pipeline::evaluate(&cases, predictions, observed);
    print!("{}", report::ktap::render(&results));
    phases.done("report");
    println!("{}", console::line(&Record::Phases(phases.0)));
    Ok(())
}

/// The agent's parts, timed one after another (`Record::Phases`).
struct Phases(Vec<(String, u64)>, std::time::Instant);

impl Phases {
    fn start() -> Self {
        Phases(Vec::new(), std::time::Instant::now())
    }

    fn done(&mut self, what: &str) {
        let now = std::time::Instant::now();
        self.0.push((what.to_string(), now.duration_since(self.1).as_micros() as u64));
        self.1 = now;
    }
}

/// Runs the table in one sandbox, each case's record printed as soon as the worker reports
/// it, with those of the cases right after it that never run: kernel trouble is pinned to
/// the case after the last record (`Record::Streaming`). Batches of 8 cases, one sandbox
/// each, took 0.8 s of a 324-case table where one sandbox took 0.2 s (lean 6.12 kernel,
/// x86_64 TCG). Should the worker end early (the kernel killed it), the case it was in
/// keeps what the runner says of it and the rest run in a new sandbox.
///
/// The last case of a round is printed only when the round is over: a worker that ends
/// badly after its last line leaves that case not run (runner::sandbox), and the record
/// says so.
///
/// Also each case's time in µs from the previous report (`Record::Timing`), and the sum
/// over the rounds of the time to their first report (the sandbox's start and that case).
fn run_streaming(cases: &[clone3_suites::Case], run_mask: &[bool], probe: &probe::Probe) -> (Vec<Option<crate::runner::Observed>>, Vec<Option<u64>>, u64) {
    let n = cases.len();
    let mut observed = vec![None; n];
    let mut took = vec![None; n];
    let mut start = 0;
    let mut printed = 0;
    let print_upto = |printed: &mut usize, upto: usize, observed: &[Option<crate::runner::Observed>]| {
        for (index, case) in cases.iter().enumerate().take(upto).skip(*printed) {
            let line = console::CaseLine { index, id: case.id.clone(), observed: observed[index].clone() };
            println!("{}", console::line(&Record::Case(line)));
        }
        *printed = (*printed).max(upto);
    };
    // Past `i`, up to the next case that runs.
    let through_skipped = |i: usize| (i + 1..n).find(|&j| run_mask[j]).unwrap_or(n);
    let mut todo = run_mask.to_vec();
    while let Some(first) = todo.iter().position(|t| *t) {
        let last = todo.iter().rposition(|t| *t).expect("one to do");
        print_upto(&mut printed, first, &observed);
        println!("{}", console::line(&Record::Streaming { from: first, to: n }));
        let mut reported = vec![false; n];
        let (mut since, mut first_report) = (std::time::Instant::now(), true);
        let mut each = |i: usize, o: &crate::runner::Observed| {
            reported[i] = true;
            let us = since.elapsed().as_micros() as u64;
            match std::mem::take(&mut first_report) {
                true => start += us,
                false => took[i] = Some(us),
            }
            since = std::time::Instant::now();
            if i != last {
                observed[i] = Some(o.clone());
                print_upto(&mut printed, through_skipped(i), &observed);
            }
        };
        let got = pipeline::execute(cases, &todo, probe, Duration::from_secs(5), pipeline::Progress::Each(&mut each));
        // The case the worker was in when it ended, if it ended early; the ones after it go again.
        // Up to it, what the runner returned stands (the streamed values, and what it says of
        // the casualty or of a last case after which the worker ended badly).
        let casualty = (0..n).find(|&i| todo[i] && !reported[i]).unwrap_or(last);
        for (i, t) in todo.iter_mut().enumerate().filter(|(_, t)| **t) {
            if i <= casualty {
                observed[i] = got[i].clone();
            }
            *t = i > casualty;
        }
        print_upto(&mut printed, through_skipped(casualty), &observed);
    }
    print_upto(&mut printed, n, &observed);
    (observed, took, start)
}

/// proc and sysfs for the probe, devtmpfs for /dev, cgroup2 for CLONE_INTO_CGROUP.
fn mount_all() {
    use rustix::mount::{mount, MountFlags};
    for (src, dir, fstype) in
        [("proc", "/proc", "proc"), ("sysfs", "/sys", "sysfs"), ("devtmpfs", "/dev", "devtmpfs"), ("cgroup2", "/sys/fs/cgroup", "cgroup2")]
    {
        let _ = std::fs::create_dir_all(dir);
        if let Err(e) = mount(src, dir, fstype, MountFlags::empty(), None) {
            eprintln!("clone3-abi agent: mount {fstype} on {dir}: {e}");
        }
    }
    enable_domain_controllers();
}

/// The guest is ours: its root cgroup hands every domain controller it has to its children,
/// so that `cgroup.target_with_subtree_control` can run (on a host the run only uses what
/// its starting cgroup already enables). One at a time: a kernel may refuse one of them.
fn enable_domain_controllers() {
    let root = std::path::Path::new("/sys/fs/cgroup");
    let have = std::fs::read_to_string(root.join("cgroup.controllers")).unwrap_or_default();
    for c in have.split_whitespace().filter(|c| crate::runner::cgroup::DOMAIN_CONTROLLERS.contains(c)) {
        if let Err(e) = std::fs::write(root.join("cgroup.subtree_control"), format!("+{c}")) {
            eprintln!("clone3-abi agent: enable {c} for child cgroups: {e}");
        }
    }
}

fn read_taint() -> Option<u64> {
    crash::read(crash::TAINTED).map_err(|e| println!("# clone3-abi agent: taint not compared: {e}")).ok()
}

/// The kernel command line says `loglevel=7`, so the whole boot is on the console (a hang
/// before /init shows where). For the cases the console takes warnings and worse only
/// (console_loglevel 5: KERN_WARNING is 4, every WARN, BUG, oops, lockup, stall and OOM
/// report is 4 or below): the KERN_INFO reports of user-space faults, which cases cause on
/// purpose in their children, would otherwise cut into the agent's records.
fn quiet_console_below_warnings() {
    const SYSLOG_ACTION_CONSOLE_LEVEL: libc::c_int = 8;
    if unsafe { libc::klogctl(SYSLOG_ACTION_CONSOLE_LEVEL, std::ptr::null_mut(), 5) } != 0 {
        println!("# clone3-abi agent: console loglevel stays: {}", std::io::Error::last_os_error());
    }
}

/// A panic of the agent is reported as such, and the guest restarts. Only the agent
/// itself does this: the sandbox's processes are forks of it (the hook is inherited),
/// and their panics are the runner's to report. Inside its own PID namespace a sandbox
/// init is pid 1 too, but /proc (mounted by the agent, in the first namespace) names it
/// by its pid there.
fn install_panic_hook() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        default(info);
        let the_agent = rustix::process::getpid().is_init() && std::fs::read_link("/proc/self").map_or(true, |p| p.as_os_str() == "1");
        if !the_agent {
            return;
        }
        let why = info.to_string().replace(['\n', '\r'], " ");
        // Straight to fd 1: the panic may have happened with stdout's buffer in use.
        let text = format!("{}\n", console::line(&Record::AgentPanic(why)));
        let _ = rustix::io::write(unsafe { rustix::fd::BorrowedFd::borrow_raw(1) }, text.as_bytes());
        rustix::fs::sync();
        let _ = rustix::system::reboot(rustix::system::RebootCommand::Restart);
        std::process::abort()
    }));
}

fn power_off() -> ! {
    use std::io::Write;
    let _ = std::io::stdout().flush();
    rustix::fs::sync();
    // A restart, not a power-off: QEMU runs with -no-reboot, so a reset ends it, and every
    // kernel can reset, while a kernel without a power-off driver (tinyconfig: no ACPI)
    // turns POWER_OFF into a halt and QEMU runs on until the watchdog.
    let _ = rustix::system::reboot(rustix::system::RebootCommand::Restart);
    // Should that fail, exiting PID 1 panics the kernel: with panic=-1 and -no-reboot QEMU
    // still ends, and the end marker is already out.
    std::process::exit(0)
}
