//! Agent mode: the binary as `/init` of a QEMU guest. It mounts what the cases need, runs
//! the whole table through the same pipeline as `run`, prints the observations as console
//! records (and KTAP for console readers), and powers the guest off.

use crate::console::{self, Header, Record};
use crate::{pipeline, probe, report};
use clone3_suites::tables;
use std::time::Duration;

pub fn is_agent() -> bool {
    rustix::process::getpid().is_init() && std::env::args().next().is_some_and(|a| a.ends_with("init"))
}

pub fn agent() -> ! {
    mount_all();
    println!("{}", console::BEGIN);
    let outcome = run();
    if let Err(why) = outcome {
        println!("{}", console::line(&Record::CannotTest(why)));
    }
    println!("{}", console::END);
    power_off()
}

/// `clone3abi.fuzz=N clone3abi.seed=S` on the kernel command line: seeded fuzzing instead
/// of the tables (the host regenerates the same inputs from the seed).
pub fn fuzz_request(cmdline: &str) -> Option<(u64, u64)> {
    let get = |key: &str| cmdline.split_whitespace().find_map(|w| w.strip_prefix(key)).and_then(|v| v.parse().ok());
    Some((get("clone3abi.fuzz=")?, get("clone3abi.seed=").unwrap_or(0)))
}

fn run() -> Result<(), String> {
    let probe = probe::probe()?;
    for n in &probe.notes {
        println!("# clone3-abi probe: {n}");
    }
    if let Some(why) = pipeline::clone3_missing() {
        return Err(why);
    }
    if let Some((iterations, seed)) = fuzz_request(&std::fs::read_to_string("/proc/cmdline").unwrap_or_default()) {
        let header = Header { arch: probe.arch.name.into(), uname: probe.uname.clone(), env: probe.env.clone(), cases: iterations as usize };
        println!("{}", console::line(&Record::Header(header)));
        let t = crate::fuzz::run_seeded(&probe, seed, iterations, |first, _, results| {
            for (i, r) in results.iter().enumerate() {
                let line = console::CaseLine { index: first as usize + i, id: r.case.id.clone(), observed: r.observed.clone() };
                println!("{}", console::line(&Record::Case(line)));
            }
        });
        println!("# fuzz in the guest: {} inputs, {} ran, {} findings by the guest's own reckoning", t.inputs, t.ran, t.findings);
        return Ok(());
    }
    let cases = tables::all();
    let (predictions, run_mask) = pipeline::predict_all(&cases, &probe.env, &probe.arch);
    let header = Header { arch: probe.arch.name.into(), uname: probe.uname.clone(), env: probe.env.clone(), cases: cases.len() };
    println!("{}", console::line(&Record::Header(header)));
    let observed = pipeline::execute(&cases, &run_mask, &probe, Duration::from_secs(5), false);
    for (index, (case, observed)) in cases.iter().zip(&observed).enumerate() {
        let line = console::CaseLine { index, id: case.id.clone(), observed: observed.clone() };
        println!("{}", console::line(&Record::Case(line)));
    }
    // KTAP for whoever reads the console directly (LAVA monitors, people).
    let results = pipeline::evaluate(&cases, predictions, observed);
    print!("{}", report::ktap::render(&results));
    Ok(())
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
