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

fn run() -> Result<(), String> {
    let probe = probe::probe()?;
    if let Some(why) = pipeline::clone3_missing() {
        return Err(why);
    }
    let cases = tables::all();
    let (predictions, run_mask) = pipeline::predict_all(&cases, &probe.env, &probe.arch);
    let header = Header { arch: probe.arch.name.into(), uname: probe.uname.clone(), env: probe.env.clone(), cases: cases.len() };
    println!("{}", console::line(&Record::Header(header)));
    let observed = pipeline::execute(&cases, &run_mask, &probe, &probe.arch, Duration::from_secs(5), false);
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
    let _ = rustix::system::reboot(rustix::system::RebootCommand::PowerOff);
    // Should the power-off fail, exiting PID 1 panics the kernel: with panic=-1 and
    // -no-reboot QEMU still ends, and the end marker is already out.
    std::process::exit(0)
}
