//! `clone3-abi bisect`: drives `git bisect run` over a kernel tree with `qemu --kernel-build`
//! as the step (0 good, 1 bad, 125 cannot test: a failed build or boot is skipped, never
//! blamed), then names the first bad commit with the cases that differed there and their rules.

use crate::{CANNOT_TEST, GOOD, USAGE};
use clap::Args;
use std::path::PathBuf;
use std::process::{Command, Stdio};

#[derive(Args)]
pub struct BisectArgs {
    /// A commit where the kernel behaves (tag, branch or hash).
    #[arg(long)]
    good: String,
    /// A commit where it does not.
    #[arg(long)]
    bad: String,
    /// The one guest to boot (as `qemu --arch`).
    #[arg(long)]
    arch: String,
    /// The shell command that builds the kernel in the tree (`make … bzImage`).
    #[arg(long, value_name = "CMD")]
    build: String,
    /// The image the build makes (arch/x86/boot/bzImage, arch/arm64/boot/Image, …).
    #[arg(long, value_name = "FILE")]
    kernel: PathBuf,
    /// More arguments for each step's `clone3-abi qemu` (after `--`: --baseline F, --fixes …).
    #[arg(last = true)]
    qemu: Vec<String>,
}

pub fn bisect(args: BisectArgs) -> u8 {
    let in_tree = git(&["rev-parse", "--is-inside-work-tree"]).is_ok_and(|o| o.trim() == "true");
    if !in_tree {
        eprintln!("clone3-abi: bisect runs in the kernel's git tree: cd into it first");
        return USAGE;
    }
    let started = match git(&["bisect", "start", &args.bad, &args.good]) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("clone3-abi: cannot test: git bisect start {} {}: {e}", args.bad, args.good);
            let _ = git(&["bisect", "reset"]);
            return CANNOT_TEST;
        }
    };
    let exe = std::env::current_exe().unwrap_or_else(|_| "clone3-abi".into());
    let mut step = Command::new("git");
    step.args(["bisect", "run"]).arg(&exe).args(["qemu", "--arch", &args.arch, "--kernel"]).arg(&args.kernel);
    step.args(["--kernel-build", &args.build]).args(&args.qemu);
    let ran = interleaved(step);
    let log = git(&["bisect", "log"]).unwrap_or_default();
    let _ = git(&["bisect", "reset"]);
    let text = match ran {
        Ok(t) => format!("{started}{t}"),
        Err(e) => {
            eprintln!("clone3-abi: cannot test: git bisect run: {e}");
            return CANNOT_TEST;
        }
    };
    for line in log.lines().filter(|l| l.starts_with("# good:") || l.starts_with("# bad:") || l.starts_with("# skip:")) {
        eprintln!("clone3-abi: step {}", line.trim_start_matches("# "));
    }
    let Some(first) = text.lines().find_map(|l| l.strip_suffix(" is the first bad commit")) else {
        let tail: Vec<&str> = text.lines().rev().take(12).collect();
        eprintln!("clone3-abi: cannot test: git bisect found no first bad commit:");
        for l in tail.into_iter().rev() {
            eprintln!("  {l}");
        }
        return CANNOT_TEST;
    };
    let subject = git(&["log", "-1", "--format=%h %s", first]).unwrap_or_else(|_| first.to_string());
    println!("first bad commit: {}", subject.trim());
    // The cases the step on that commit reported as differing, with their rules.
    let fails: Vec<&str> = steps(&text).into_iter().find(|(sha, _)| first.starts_with(sha.as_str())).map_or(vec![], |(_, s)| s);
    match fails.is_empty() {
        true => println!("  (that commit was the --bad end: `clone3-abi qemu --arch {} --kernel …` on it lists the cases)", args.arch),
        false => fails.iter().for_each(|l| println!("{l}")),
    }
    GOOD
}

/// What each step's run said of its differing cases, by the commit it ran on: git prints
/// `[<sha>] <subject>` for every commit it checks out, then runs the step there.
fn steps(text: &str) -> Vec<(String, Vec<&str>)> {
    let mut out: Vec<(String, Vec<&str>)> = Vec::new();
    for line in text.lines() {
        let sha = line.strip_prefix('[').and_then(|l| l.split_once(']')).map(|(s, _)| s);
        if let Some(sha) = sha.filter(|s| s.len() >= 7 && s.bytes().all(|b| b.is_ascii_hexdigit())) {
            out.push((sha.to_string(), Vec::new()));
        } else if line.starts_with("  FAIL ") || line.starts_with("       repro: ") {
            if let Some((_, fails)) = out.last_mut() {
                fails.push(line);
            }
        }
    }
    out
}

/// Runs `cmd` with stdout and stderr in one pipe, so that each step's summary (stderr) stays
/// after the commit git announced (stdout).
fn interleaved(mut cmd: Command) -> Result<String, String> {
    use std::io::Read;
    let (rd, wr) = rustix::pipe::pipe().map_err(|e| e.to_string())?;
    let wr2 = wr.try_clone().map_err(|e| e.to_string())?;
    let mut child = cmd.stdout(Stdio::from(wr)).stderr(Stdio::from(wr2)).spawn().map_err(|e| e.to_string())?;
    drop(cmd); // the parent's copies of the write end: EOF comes when the child's close
    let mut bytes = Vec::new();
    let read = std::fs::File::from(rd).read_to_end(&mut bytes);
    child.wait().map_err(|e| e.to_string())?;
    read.map_err(|e| e.to_string())?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

fn git(args: &[&str]) -> Result<String, String> {
    let o = Command::new("git").args(args).output().map_err(|e| e.to_string())?;
    match o.status.success() {
        true => Ok(String::from_utf8_lossy(&o.stdout).into_owned()),
        false => Err(String::from_utf8_lossy(&o.stderr).trim().to_string()),
    }
}
