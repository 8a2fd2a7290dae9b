//! Boots one guest: QEMU with the kernel, the initramfs and the console on stdio, bounded
//! by a watchdog. Returns the console text and timings; judging is the caller's.

use crate::recipe::Recipe;
use crate::console;
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Accel {
    Tcg,
    Kvm,
}

impl Accel {
    pub fn name(self) -> &'static str {
        match self {
            Accel::Tcg => "tcg",
            Accel::Kvm => "kvm",
        }
    }
}

#[derive(Default)]
pub struct Boot {
    pub console: String,
    pub wall: Duration,
    /// From QEMU's start to the agent's first line (its begin marker).
    pub to_agent: Option<Duration>,
    /// From QEMU's start to the agent's first case record.
    pub to_first_case: Option<Duration>,
    /// Killed by the watchdog.
    pub timed_out: bool,
    /// Killed because the agent's first line had not appeared within this.
    pub boot_timed_out: Option<Duration>,
    /// This guest cannot run here at all (QEMU not installed, KVM refused): why.
    pub unavailable: Option<String>,
    /// QEMU ran and failed (its exit status and stderr).
    pub qemu_failed: Option<String>,
}

/// How long one boot may take.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// The whole run, boot and cases.
    pub watchdog: Duration,
    /// Until the agent's first line: a kernel that has not reached it by then never will.
    pub boot: Duration,
}

/// How long the console and stderr readers may take to finish once QEMU has ended
/// (something else holding the pipes open): then the text read so far is used.
const DRAIN: Duration = Duration::from_secs(2);

/// The kernel command line: the console, no reboot on panic, and every message level on
/// the console. Never `quiet`: it keeps KERN_WARNING, and with it every WARN(), off the
/// console (the agent lowers the console level to warnings and worse for the cases).
pub fn kernel_cmdline(recipe: &Recipe, append: &str) -> String {
    let q = &recipe.qemu;
    format!("console={} panic=-1 loglevel=7 {} {append}", q.console, q.append).split_whitespace().collect::<Vec<_>>().join(" ")
}

/// What the console reader has seen so far, shared with the thread that waits for QEMU.
#[derive(Default)]
struct Seen {
    text: Vec<u8>,
    to_agent: Option<Duration>,
    to_first_case: Option<Duration>,
    records: usize,
}

/// Boots and waits; `progress` hears how many case records have arrived so far.
pub fn boot(recipe: &Recipe, kernel: &Path, initrd: &Path, accel: Accel, limits: Limits, append: &str, progress: &dyn Fn(usize)) -> Boot {
    let q = &recipe.qemu;
    let append = kernel_cmdline(recipe, append);
    let mut cmd = Command::new(&q.binary);
    cmd.args(["-accel", accel.name(), "-M", &q.machine, "-cpu", &q.cpu, "-m", &q.memory, "-smp", "1"])
        .args(["-nodefaults", "-no-user-config", "-display", "none", "-serial", "stdio", "-no-reboot"])
        .args(&q.extra)
        .arg("-kernel")
        .arg(kernel)
        .arg("-initrd")
        .arg(initrd)
        .args(["-append", &append])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let start = Instant::now();
    let mut boot = Boot::default();
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            boot.unavailable =
                Some(format!("cannot start {}: {e} (install qemu-system for this arch: `clone3-abi doctor` prints the line for this distribution)", q.binary));
            return boot;
        }
    };
    // The console reader timestamps the markers as they arrive and keeps the text where
    // the waiting side can take it, finished or not.
    let seen = Arc::new(Mutex::new(Seen::default()));
    let (out_done, out_finished) = mpsc::channel::<()>();
    let mut out = child.stdout.take().expect("piped");
    let shared = seen.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        // Whole lines are scanned once as they arrive (a fuzz run prints tens of
        // thousands: never rescan the whole text).
        let mut scanned_to = 0;
        while let Ok(n) = out.read(&mut buf) {
            if n == 0 {
                break;
            }
            let mut s = shared.lock().unwrap_or_else(|e| e.into_inner());
            s.text.extend_from_slice(&buf[..n]);
            let Some(end) = s.text.iter().rposition(|&b| b == b'\n') else { continue };
            let (mut began, mut records) = (false, 0);
            for l in s.text[scanned_to..end].split(|&b| b == b'\n') {
                began |= l.windows(console::BEGIN.len()).any(|w| w == console::BEGIN.as_bytes());
                records += usize::from(crate::console::is_case_record(l));
            }
            scanned_to = end;
            if began && s.to_agent.is_none() {
                s.to_agent = Some(start.elapsed());
            }
            s.records += records;
            if s.to_first_case.is_none() && s.records > 0 {
                s.to_first_case = Some(start.elapsed());
            }
        }
        let _ = out_done.send(());
    });
    // QEMU's stderr is read as it comes: a full pipe would stop QEMU.
    let (err_done, err_text) = mpsc::channel::<String>();
    let mut err = child.stderr.take().expect("piped");
    std::thread::spawn(move || {
        let mut all = Vec::new();
        let _ = err.read_to_end(&mut all);
        // The end is what explains a failure; keep it bounded.
        let tail = &all[all.len().saturating_sub(4096)..];
        let _ = err_done.send(String::from_utf8_lossy(tail).into_owned());
    });
    let status = loop {
        match child.try_wait() {
            Ok(Some(st)) => break Some(st),
            Ok(None) => {
                let (reached, records) = {
                    let s = seen.lock().unwrap_or_else(|e| e.into_inner());
                    (s.to_agent.is_some(), s.records)
                };
                let over_watchdog = start.elapsed() > limits.watchdog;
                let over_boot = !reached && start.elapsed() > limits.boot;
                if over_watchdog || over_boot {
                    if over_watchdog {
                        boot.timed_out = true;
                    } else {
                        boot.boot_timed_out = Some(limits.boot);
                    }
                    let _ = child.kill();
                    break child.wait().ok();
                }
                progress(records);
                std::thread::sleep(Duration::from_millis(20))
            }
            Err(_) => break None,
        }
    };
    boot.wall = start.elapsed();
    // Bounded: what the readers have by then is what there is.
    let deadline = Instant::now() + DRAIN;
    let _ = out_finished.recv_timeout(DRAIN);
    let err = err_text.recv_timeout(deadline.saturating_duration_since(Instant::now())).unwrap_or_default();
    {
        let s = seen.lock().unwrap_or_else(|e| e.into_inner());
        boot.console = String::from_utf8_lossy(&s.text).into_owned();
        boot.to_agent = s.to_agent;
        boot.to_first_case = s.to_first_case;
    }
    let killed = boot.timed_out || boot.boot_timed_out.is_some();
    match status {
        Some(st) if !st.success() && !killed => {
            let why = format!("{} exited with {st}: {}", q.binary, err.trim().replace('\n', " | "));
            if accel == Accel::Kvm && boot.to_agent.is_none() && err.to_lowercase().contains("kvm") {
                boot.unavailable = Some(format!("KVM is not usable here: {why}"));
            } else {
                boot.qemu_failed = Some(why);
            }
        }
        None if !killed => boot.qemu_failed = Some(format!("cannot wait for {}", q.binary)),
        _ => {}
    }
    boot
}

/// Is this file a kernel image QEMU can boot? Checks the headers of the formats Debian
/// ships: x86 bzImage ("HdrS"), arm64 Image ("ARMd"), riscv Image ("RSC\x05"), ELF, and
/// EFI zboot / PE images ("MZ").
pub fn looks_like_kernel(path: &Path) -> Result<(), String> {
    let mut head = vec![0u8; 0x240];
    let mut f = std::fs::File::open(path).map_err(|e| format!("cannot open kernel {}: {e}", path.display()))?;
    let n = f.read(&mut head).map_err(|e| format!("cannot read kernel {}: {e}", path.display()))?;
    head.truncate(n);
    let at = |off: usize, magic: &[u8]| head.get(off..off + magic.len()) == Some(magic);
    if at(0x202, b"HdrS") || at(0x38, b"ARMd") || at(0x38, b"RSC\x05") || at(0, b"\x7fELF") || at(0, b"MZ") {
        Ok(())
    } else {
        Err(format!(
            "{} is not a kernel image (no bzImage, arm64/riscv Image, ELF or PE header): pass arch/*/boot/bzImage, Image, or vmlinux",
            path.display()
        ))
    }
}

/// KVM where it really works: /dev/kvm must open and a short probe boot of this guest
/// must reach the agent. Otherwise TCG. (On machines with a nested software KVM, stock
/// kernels hang: the probe catches that.)
pub fn choose_accel(recipe: &Recipe, kernel: &Path, initrd: &Path, host_arch: &str) -> Accel {
    let same_arch = matches!((host_arch, recipe.qemu.binary.as_str()), ("x86_64", "qemu-system-x86_64"));
    if !same_arch || std::fs::File::open("/dev/kvm").is_err() {
        return Accel::Tcg;
    }
    let ten = Duration::from_secs(10);
    let probe = boot(recipe, kernel, initrd, Accel::Kvm, Limits { watchdog: ten, boot: ten }, "", &|_| {});
    if probe.console.contains(console::END) { Accel::Kvm } else { Accel::Tcg }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn the_kernel_command_line_lets_warnings_through() {
        let r = &crate::recipe::load(&["all".into()], None).unwrap();
        for recipe in r {
            let line = kernel_cmdline(recipe, "clone3abi.fuzz=3");
            let words: Vec<&str> = line.split(' ').collect();
            assert!(!words.contains(&"quiet"), "{line}");
            // console_loglevel must exceed KERN_WARNING (4) for WARN() to reach the console.
            let level = words.iter().find_map(|w| w.strip_prefix("loglevel=")).and_then(|v| v.parse::<u32>().ok());
            assert!(level.is_some_and(|l| l > 4) || words.contains(&"ignore_loglevel"), "{line}");
            assert!(line.ends_with("clone3abi.fuzz=3") && line.contains(&format!("console={}", recipe.qemu.console)), "{line}");
        }
    }

    /// A recipe whose "QEMU" is a shell script: boot() is judged on what it does with the
    /// script's stdout, stderr and lifetime.
    fn fake_qemu(script: &str) -> (tempfile::TempDir, Recipe) {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("qemu");
        std::fs::write(&bin, format!("#!/bin/sh\n{script}\n")).unwrap();
        std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
        let mut r = crate::recipe::load(&["x86_64".into()], None).unwrap().remove(0);
        r.qemu.binary = bin.to_string_lossy().into_owned();
        (dir, r)
    }

    fn run(r: &Recipe, watchdog: u64, boot_limit: u64) -> (Boot, Duration) {
        let t = Instant::now();
        let limits = Limits { watchdog: Duration::from_secs(watchdog), boot: Duration::from_secs(boot_limit) };
        let b = boot(r, Path::new("/k"), Path::new("/i"), Accel::Tcg, limits, "", &|_| {});
        (b, t.elapsed())
    }

    #[test]
    fn a_flood_on_qemus_stderr_never_stalls_the_guest() {
        // 256 KiB of stderr (a pipe holds 64 KiB) before the console output.
        let (_d, r) = fake_qemu(&format!(
            "head -c 262144 /dev/zero | tr '\\0' x >&2\necho '{}'\necho 'C3 {{\"case\":{{}}}}'\necho '{}'",
            console::BEGIN,
            console::END
        ));
        let (b, took) = run(&r, 20, 20);
        assert!(!b.timed_out && b.qemu_failed.is_none(), "{:?}", b.qemu_failed);
        assert!(b.console.contains(console::END), "{}", b.console);
        assert!(b.to_agent.is_some() && b.to_first_case.is_some());
        assert!(took < Duration::from_secs(10), "{took:?}");
    }

    #[test]
    fn console_text_is_kept_when_the_pipe_outlives_qemu() {
        // Something else (here a child of the script) keeps the console pipe open after
        // QEMU has ended: the text already read is still the guest's.
        let (_d, r) = fake_qemu(&format!("echo '{}'\necho '{}'\n(sleep 6) &\nexit 0", console::BEGIN, console::END));
        let (b, took) = run(&r, 20, 20);
        assert!(b.console.contains(console::BEGIN) && b.console.contains(console::END), "{:?}", b.console);
        assert!(took < DRAIN + Duration::from_secs(2), "every wait after QEMU's end is bounded: {took:?}");
    }

    #[test]
    fn a_kernel_that_does_not_reach_the_agent_is_stopped_at_the_boot_limit() {
        let (_d, r) = fake_qemu("echo 'Booting the kernel.'\nexec sleep 30");
        let (b, took) = run(&r, 60, 1);
        assert_eq!(b.boot_timed_out, Some(Duration::from_secs(1)));
        assert!(!b.timed_out && b.qemu_failed.is_none() && b.to_agent.is_none());
        assert!(b.console.contains("Booting the kernel."));
        assert!(took < Duration::from_secs(5), "{took:?}");
        // Once the agent has spoken, only the watchdog applies.
        let (_d, r) = fake_qemu(&format!("echo '{}'\nexec sleep 30", console::BEGIN));
        let (b, _) = run(&r, 2, 1);
        assert!(b.timed_out && b.boot_timed_out.is_none() && b.to_agent.is_some());
    }

    #[test]
    fn qemu_that_cannot_start_or_fails_says_why() {
        let (_d, mut r) = fake_qemu("echo 'qemu: could not load kernel' >&2\nexit 1");
        let (b, _) = run(&r, 20, 20);
        assert!(b.qemu_failed.as_deref().is_some_and(|e| e.contains("could not load kernel")), "{:?}", b.qemu_failed);
        r.qemu.binary = "/nonexistent/qemu-system-x86_64".into();
        let (b, _) = run(&r, 20, 20);
        assert!(b.unavailable.as_deref().is_some_and(|e| e.contains("cannot start")), "{:?}", b.unavailable);
    }
}
