//! `clone3-abi bench --qemu`: what the matrix costs above the boots themselves. Each guest is
//! booted once with the agent powering off at once (the floor), one after another; then the
//! whole matrix runs as `clone3-abi qemu` runs it. The figure is matrix wall ÷ (Σ floor ÷
//! cores): 1.0 would be every core booting guests back to back with nothing else to do.
//! The floor boots are timed once more `cores` at a time, longest first, as the matrix runs
//! its guests: matrix ÷ that wall is what the cases and the tool add, without what sharing
//! the machine costs the boots themselves (TCG's threads, SMT siblings). Agents are found
//! (or built) before anything is timed, as an installed tool has them; each guest's line
//! shows where its agent's time went, by the agent's own clock (`Record::Phases`).

use super::{agent_for, find_agents, launch, recipe, QemuArgs};
use clone3_qemu::guest::{cached_accel, judge_console, recipe_kernel, write_initramfs};
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

pub fn bench(guests: &[String], rounds: usize) -> u8 {
    let recipes = match recipe::load(guests, None) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("clone3-abi: {e}");
            return crate::USAGE;
        }
    };
    // Found (built from a checkout) once, before anything is timed: an installed tool has
    // them ready, and the matrix below uses these.
    let agents = match find_agents(&recipes, None) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("clone3-abi: cannot test: {e}");
            return CANNOT_TEST;
        }
    };
    // This machine's speed drifts between minutes: several rounds, each floor and matrix
    // side by side, and their median.
    let mut ratios = Vec::new();
    for round in 1..=rounds {
        if rounds > 1 {
            println!("round {round} of {rounds}");
        }
        match one_round(&recipes, &agents) {
            Ok(r) => ratios.push(r),
            Err(code) => return code,
        }
    }
    if rounds > 1 {
        let median = |pick: fn(&(f64, f64)) -> f64| {
            let mut v: Vec<f64> = ratios.iter().map(pick).collect();
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        };
        let (r, s) = (median(|r| r.0), median(|r| r.1));
        let all = ratios.iter().map(|r| format!("{:.2}", r.0)).collect::<Vec<_>>().join(", ");
        println!("median of {rounds} rounds: ratio {r:.2} ({all}) (target <= {TARGET}){}; against the shared floor {s:.2}", if r <= TARGET { "" } else { "  ABOVE TARGET" });
    }
    GOOD
}

/// One round: the floors alone, the floors `cores` at a time, the matrix. Its two ratios
/// (against Σ floor ÷ cores, and against the shared floors), or the exit code of a failure.
fn one_round(recipes: &[recipe::Recipe], agents: &[(String, std::path::PathBuf)]) -> Result<(f64, f64), u8> {
    // Each guest's floor boot, alone on the machine.
    let mut floors = Vec::new();
    for r in recipes {
        match floor_boot(r, agents) {
            Ok((accel, wall)) => floors.push((accel, wall)),
            Err(e) => {
                eprintln!("clone3-abi: cannot test: {}: {e}", r.name);
                return Err(CANNOT_TEST);
            }
        }
    }
    let floor: Duration = floors.iter().map(|(_, w)| *w).sum();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    // The same floor boots `cores` at a time and longest first, as the matrix runs its
    // guests: what the boots alone cost when they share the machine (TCG's threads, SMT
    // siblings, the last guest running alone).
    let mut by_floor: Vec<(&recipe::Recipe, Duration)> = recipes.iter().zip(floors.iter().map(|(_, w)| *w)).collect();
    by_floor.sort_by_key(|(_, w)| std::cmp::Reverse(*w));
    let by_floor: Vec<&recipe::Recipe> = by_floor.into_iter().map(|(r, _)| r).collect();
    let shared = match floors_side_by_side(&by_floor, agents, cores) {
        Ok(wall) => wall,
        Err(e) => {
            eprintln!("clone3-abi: cannot test: {e}");
            return Err(CANNOT_TEST);
        }
    };
    let names = recipes.iter().map(|r| r.name.as_str()).collect::<Vec<_>>().join(",");
    let mut args = Cli::try_parse_from(["qemu", "--arch", &names]).expect("valid arguments").qemu;
    args.quiet = true;
    let start = Instant::now();
    let (verdict, ran) = super::run_matrix(&args, recipes.to_vec(), agents);
    let matrix = start.elapsed();
    print_guests(recipes, &floors, &ran);
    let ideal = floor.as_secs_f64() / cores as f64;
    let ratio = matrix.as_secs_f64() / ideal;
    let against_shared = matrix.as_secs_f64() / shared.as_secs_f64();
    println!("floor: Σ {:.2}s over {} guests, ÷ {cores} cores = {ideal:.2}s", floor.as_secs_f64(), recipes.len());
    println!("matrix (clone3-abi qemu --arch {names}): {:.2}s, exit {verdict}", matrix.as_secs_f64());
    println!("ratio: {ratio:.2} (target <= {TARGET}){}", if ratio <= TARGET { "" } else { "  ABOVE TARGET" });
    println!(
        "the floor boots {cores} at a time, longest first: {:.2}s; matrix ÷ that = {against_shared:.2} (what the cases and the tool add to the boots as the matrix runs them)",
        shared.as_secs_f64(),
    );
    match verdict {
        GOOD => Ok((ratio, against_shared)),
        _ => Err(CANNOT_TEST),
    }
}

/// Per guest: its floor alone, its boot in the matrix, and where the agent's time went
/// there (the agent's own clock: probe, model, cases, report).
fn print_guests(recipes: &[recipe::Recipe], floors: &[(launch::Accel, Duration)], ran: &[super::Guest]) {
    // The agent's parts, in the order it reports them (every guest runs the same ones).
    let mut phase_names: Vec<&str> = Vec::new();
    for (name, _) in ran.iter().filter_map(|g| g.outcome.as_ref().ok()).flat_map(|t| &t.phases) {
        if !phase_names.contains(&name.as_str()) {
            phase_names.push(name);
        }
    }
    let mut head = format!("{:<12} {:>5} {:>7} {:>7} {:>9}", "guest", "accel", "floor", "matrix", "to agent");
    for p in &phase_names {
        head.push_str(&format!(" {p:>8}"));
    }
    println!("{head}");
    let secs = |d: Duration| format!("{:.2}s", d.as_secs_f64());
    for (r, (accel, floor)) in recipes.iter().zip(floors) {
        let g = ran.iter().find(|g| g.recipe.name == r.name);
        let boot = g.and_then(|g| g.boot.as_ref());
        let mut row = format!(
            "{:<12} {:>5} {:>7} {:>7} {:>9}",
            r.name,
            accel.name(),
            secs(*floor),
            boot.map_or("-".into(), |b| secs(b.wall)),
            boot.and_then(|b| b.to_agent).map_or("-".into(), secs)
        );
        let phases = g.and_then(|g| g.outcome.as_ref().ok()).map(|t| t.phases.as_slice()).unwrap_or_default();
        for p in &phase_names {
            let us = phases.iter().find(|(n, _)| n == p).map(|&(_, us)| us);
            row.push_str(&format!(" {:>8}", us.map_or("-".into(), |us| secs(Duration::from_micros(us)))));
        }
        println!("{row}");
    }
    println!("(floor: the guest alone, the agent powering off at once; matrix: its boot in the matrix; the rest: the agent's parts, its own clock)");
    print_timing(ran);
}

/// Where each guest's cases phase went, by family, and its slowest cases (`Record::Timing`).
fn print_timing(ran: &[super::Guest]) {
    let timed: Vec<(&str, &crate::console::Timing)> =
        ran.iter().filter_map(|g| Some((g.recipe.name.as_str(), g.outcome.as_ref().ok()?.timing.as_ref()?))).collect();
    if timed.is_empty() {
        return;
    }
    let mut families: Vec<&str> = Vec::new();
    for (name, _, _) in timed.iter().flat_map(|(_, t)| &t.families) {
        if !families.contains(&name.as_str()) {
            families.push(name);
        }
    }
    let mut head = format!("{:<12} {:>5}", "family", "timed");
    for (guest, _) in &timed {
        head.push_str(&format!(" {guest:>11}"));
    }
    println!("{head}");
    let ms = |us: u64| format!("{:.0}ms", us as f64 / 1000.0);
    for f in families {
        let of = |t: &crate::console::Timing| t.families.iter().find(|(n, _, _)| n == f).map(|&(_, us, n)| (us, n));
        let cases = timed.iter().find_map(|(_, t)| of(t)).map_or(0, |(_, n)| n);
        let mut row = format!("{f:<12} {cases:>5}");
        for (_, t) in &timed {
            row.push_str(&format!(" {:>11}", of(t).map_or("-".into(), |(us, _)| ms(us))));
        }
        println!("{row}");
    }
    let mut row = format!("{:<12} {:>5}", "(start)", "");
    for (_, t) in &timed {
        row.push_str(&format!(" {:>11}", ms(t.start)));
    }
    println!("{row}");
    println!("(each case from the previous case's report to its own, by the agent's clock: its share of the console records is in it; (start): the sandbox's start and its first case)");
    for (guest, t) in &timed {
        let slow: Vec<String> = t.slowest.iter().map(|(id, us)| format!("{id} {}", ms(*us))).collect();
        println!("slowest on {guest}: {}", slow.join(", "));
    }
}

/// One floor boot: the agent powers off at once. Its accelerator and wall time.
fn floor_boot(r: &recipe::Recipe, agents: &[(String, std::path::PathBuf)]) -> Result<(launch::Accel, Duration), String> {
    let agent = agent_for(agents, r).expect("find_agents covers every target");
    let kernel = recipe_kernel(r)?;
    let initrd = write_initramfs(&agent, true)?;
    let accel = cached_accel(r, &kernel, &initrd);
    let limits = launch::Limits { watchdog: Duration::from_secs(240), boot: Duration::from_secs(120) };
    let b = launch::boot(r, &kernel, &initrd, accel, limits, crate::console::FLOOR, &|_| {});
    if b.console.contains(crate::console::END) {
        return Ok((accel, b.wall));
    }
    // Why, in the matrix's own words: QEMU missing (with the install hint) or failed, a
    // crash, a hang, a console cut short.
    let why = judge_console(&b, &[]).err().map_or_else(|| "no end marker".into(), |u| u.why().to_string());
    Err(format!("the floor boot did not reach the agent's end: {why}"))
}

/// Every floor boot, `cores` at a time (each thread takes the next guest, in the order
/// given): the wall time.
fn floors_side_by_side(recipes: &[&recipe::Recipe], agents: &[(String, std::path::PathBuf)], cores: usize) -> Result<Duration, String> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let start = Instant::now();
    std::thread::scope(|s| {
        let workers: Vec<_> = (0..cores.min(recipes.len()))
            .map(|_| {
                s.spawn(|| loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    let Some(r) = recipes.get(i) else { return Ok::<(), String>(()) };
                    floor_boot(r, agents).map_err(|e| format!("{}: {e}", r.name))?;
                })
            })
            .collect();
        workers.into_iter().try_for_each(|w| w.join().unwrap_or_else(|_| Err("a floor boot panicked".to_string())))
    })?;
    Ok(start.elapsed())
}
