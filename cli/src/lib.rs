//! clone3-abi: runs the clone3 case tables against the running kernel and compares each
//! result with the model's prediction and with the stored snapshot for this kernel.
//!
//! Exit codes follow `git bisect run`: 0 good, 1 a difference, 125 cannot test
//! (clone3 missing or filtered, the tool itself failed), 128 bad command line.
//!
//! A library too, so that the cargo-fuzz target (`fuzz_targets/`) runs inputs through the
//! same runner and model: see [`fuzz::check`].

mod agent;
mod bench;
mod bisect;
mod crash;
mod doctor;
pub mod fuzz;
mod install;
mod oracle;
mod pipeline;
mod probe;
mod qemu;
use clone3_qemu::console;
use clone3_report as report;
use clone3_runner as runner;
use clone3_report::verdict;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

use clone3_report::{worse, BAD, CANNOT_TEST, GOOD};
const USAGE: u8 = 128;

#[derive(Parser)]
#[command(name = "clone3-abi", version, about = "Test the Linux clone3() ABI against an executable model of the kernel")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the cases on this kernel: KTAP on stdout, a summary on stderr.
    Run(run::RunArgs),
    /// List the cases (id, family, why) without running them.
    List {
        /// Only ids containing this text.
        #[arg(long)]
        filter: Option<String>,
    },
    /// The model's predicted table for a release and arch, no kernel needed.
    Model(oracle::ModelArgs),
    /// Which rules decide one case, in kernel order, with their sources.
    Explain(oracle::ExplainArgs),
    /// Which release and backports explain a run's observations (`run --json` report).
    Fingerprint(oracle::FingerprintArgs),
    /// Measure the suite's per-case cost against a raw clone3+exit+wait loop.
    Bench(bench::BenchArgs),
    /// Boot each architecture's kernel under QEMU with the agent as /init and run the cases.
    Qemu(qemu::QemuArgs),
    /// Seeded structure-aware fuzzing against the model (no libFuzzer needed).
    Fuzz(fuzz::FuzzArgs),
    /// Turn a fuzz finding (JSON) or a libFuzzer artifact into a table case and a C program.
    Repro(fuzz::ReproArgs),
    /// What this host has and lacks for `run` and `qemu`, and the line that installs the rest.
    Doctor,
    /// Find the commit of a kernel tree that changed clone3's behaviour: `git bisect run` with
    /// `qemu --kernel-build` as the step, then the first bad commit and its differing cases.
    Bisect(bisect::BisectArgs),
    /// Write the initramfs whose /init is an agent, for other engines (LAVA, tuxrun, a lab).
    Initramfs(qemu::InitramfsArgs),
}

mod run;

/// Set when stdout's reader went away (`clone3-abi list | head`).
static STDOUT_CLOSED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// `println!` panics when stdout is a closed pipe. That is the reader's choice, not a crash
/// of the tool: no panic message or backtrace for it, and the run ends as "cannot test" (it
/// could not say all it had to), like any output it could not write.
fn quiet_on_closed_stdout() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let text = info.payload().downcast_ref::<String>().map(String::as_str).or_else(|| info.payload().downcast_ref::<&str>().copied());
        if text.is_some_and(|t| t.starts_with("failed printing to stdout") && t.contains("Broken pipe")) {
            STDOUT_CLOSED.store(true, std::sync::atomic::Ordering::Relaxed);
            return;
        }
        default(info)
    }));
}

/// The binary's entry point.
pub fn main() -> ExitCode {
    if agent::is_agent() {
        agent::agent();
    }
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { USAGE } else { GOOD });
        }
    };
    // SIGINT/SIGTERM/SIGHUP kill the sandbox, remove the run's cgroup, exit 128 + the signal.
    runner::interrupt::install();
    quiet_on_closed_stdout();
    // A crash of the tool must never read as "bad kernel" to git bisect.
    match std::panic::catch_unwind(move || match cli.command {
        Command::Run(args) => run::run(args),
        Command::List { filter } => run::list(filter.as_deref()),
        Command::Model(args) => oracle::model(args),
        Command::Explain(args) => oracle::explain_case(args),
        Command::Fingerprint(args) => oracle::fingerprint_report(args),
        Command::Bench(args) => bench::bench(args),
        Command::Qemu(args) => qemu::qemu(args),
        Command::Fuzz(args) => fuzz::fuzz(args),
        Command::Repro(args) => fuzz::repro(args),
        Command::Doctor => doctor::doctor(),
        Command::Initramfs(args) => qemu::write_initramfs_file(args),
        Command::Bisect(args) => bisect::bisect(args),
    }) {
        Ok(code) => ExitCode::from(code),
        Err(_) if STDOUT_CLOSED.load(std::sync::atomic::Ordering::Relaxed) => ExitCode::from(CANNOT_TEST),
        Err(_) => {
            // stderr may be a closed pipe: never panic again here (that would exit 101).
            use std::io::Write;
            let _ = writeln!(std::io::stderr(), "clone3-abi: internal error (panic above): cannot test");
            ExitCode::from(CANNOT_TEST)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_difference_outranks_cannot_test_everywhere() {
        assert_eq!(worse(CANNOT_TEST, BAD), BAD);
        assert_eq!(worse(BAD, CANNOT_TEST), BAD);
        assert_eq!(worse(GOOD, CANNOT_TEST), CANNOT_TEST);
        assert_eq!(worse(GOOD, GOOD), GOOD);
        assert_eq!(worse(BAD, USAGE), USAGE);
    }

    #[test]
    fn bench_rounds_belong_to_the_qemu_bench() {
        let parse = |a: &[&str]| Cli::try_parse_from(["clone3-abi", "bench"].iter().chain(a));
        assert!(parse(&["--rounds", "3"]).is_err(), "--rounds without --qemu");
        assert!(parse(&["--qemu", "--rounds", "0"]).is_err());
        assert!(parse(&["--qemu", "--rounds", "3"]).is_ok() && parse(&["--qemu"]).is_ok() && parse(&[]).is_ok());
    }
}


/// The snapshots folder: the install's, the checkout's, else `./snapshots`.
fn default_snapshot_dir() -> PathBuf {
    install::snapshots()
}

/// Unit tests that start a sandbox take this: a fork copies every fd of the test process,
/// so a sandbox started by a concurrent test would hold this one's result pipe open.
#[cfg(test)]
pub(crate) fn one_sandbox_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}
