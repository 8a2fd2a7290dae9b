//! `clone3-abi bench --qemu`: what the matrix costs above the boots themselves. Each guest is
//! booted once with the agent powering off at once (the floor), one after another; then the
//! whole matrix runs as `clone3-abi qemu` runs it. The figure is matrix wall ÷ (Σ floor ÷
//! cores): 1.0 would be every core booting guests back to back with nothing else to do.

use super::{agent_for, find_agents, launch, recipe, recipe_kernel, write_initramfs, QemuArgs};
use crate::{CANNOT_TEST, GOOD};
use clap::Parser;
use std::time::{Duration, Instant};

/// The target for the ratio.
const TARGET: f64 = 1.3;

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    qemu: QemuArgs,
}

pub fn bench(guests: &[String]) -> u8 {
    let recipes = match recipe::load(guests, None) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("clone3-abi: {e}");
            return crate::USAGE;
        }
    };
    let agents = match find_agents(&recipes, None) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("clone3-abi: cannot test: {e}");
            return CANNOT_TEST;
        }
    };
    let mut floor = Duration::ZERO;
    println!("{:<12} {:>5} {:>9}", "guest", "accel", "floor");
    for r in &recipes {
        let agent = agent_for(&agents, r).expect("find_agents covers every target");
        let booted = recipe_kernel(r).and_then(|kernel| {
            let initrd = write_initramfs(&agent, true)?;
            let accel = super::cached_accel(r, &kernel, &initrd);
            let limits = launch::Limits { watchdog: Duration::from_secs(240), boot: Duration::from_secs(120) };
            let b = launch::boot(r, &kernel, &initrd, accel, limits, crate::agent::FLOOR, &|_| {});
            match b.console.contains(crate::console::END) {
                true => Ok((accel, b.wall)),
                false => Err(format!("the floor boot did not reach the agent's end: {}", b.qemu_failed.unwrap_or_default())),
            }
        });
        match booted {
            Ok((accel, wall)) => {
                println!("{:<12} {:>5} {:>8.2}s", r.name, accel.name(), wall.as_secs_f64());
                floor += wall;
            }
            Err(e) => {
                eprintln!("clone3-abi: cannot test: {}: {e}", r.name);
                return CANNOT_TEST;
            }
        }
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let names = recipes.iter().map(|r| r.name.as_str()).collect::<Vec<_>>().join(",");
    let mut args = Cli::try_parse_from(["qemu", "--arch", &names]).expect("valid arguments").qemu;
    args.quiet = true;
    let start = Instant::now();
    let verdict = super::qemu(args);
    let matrix = start.elapsed();
    let ideal = floor.as_secs_f64() / cores as f64;
    let ratio = matrix.as_secs_f64() / ideal;
    println!("floor: Σ {:.2}s over {} guests, ÷ {cores} cores = {ideal:.2}s", floor.as_secs_f64(), recipes.len());
    println!("matrix (clone3-abi qemu --arch {names}): {:.2}s, exit {verdict}", matrix.as_secs_f64());
    println!("ratio: {ratio:.2} (target <= {TARGET}){}", if ratio <= TARGET { "" } else { "  ABOVE TARGET" });
    match verdict {
        GOOD => GOOD,
        _ => CANNOT_TEST,
    }
}
