//! Boots one guest: QEMU with the kernel, the initramfs and the console on stdio, bounded
//! by a watchdog. Returns the console text and timings; judging is the caller's.

use super::recipe::Recipe;
use crate::console;
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
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

pub struct Boot {
    pub console: String,
    pub wall: Duration,
    /// From QEMU's start to the agent's first case record.
    pub to_first_case: Option<Duration>,
    pub timed_out: bool,
    pub qemu_failed: Option<String>,
}

/// Boots and waits; `progress` hears how many case records have arrived so far.
pub fn boot(
    recipe: &Recipe,
    kernel: &Path,
    initrd: &Path,
    accel: Accel,
    watchdog: Duration,
    append: &str,
    progress: &dyn Fn(usize),
) -> Boot {
    let q = &recipe.qemu;
    let append = format!("console={} panic=-1 quiet {} {append}", q.console, q.append);
    let mut cmd = Command::new(&q.binary);
    cmd.args(["-accel", accel.name(), "-M", &q.machine, "-cpu", &q.cpu, "-m", &q.memory, "-smp", "1"])
        .args(["-nodefaults", "-no-user-config", "-display", "none", "-serial", "stdio", "-no-reboot"])
        .args(&q.extra)
        .arg("-kernel")
        .arg(kernel)
        .arg("-initrd")
        .arg(initrd)
        .args(["-append", append.trim()])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let start = Instant::now();
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            return Boot {
                console: String::new(),
                wall: Duration::ZERO,
                to_first_case: None,
                timed_out: false,
                qemu_failed: Some(format!("cannot start {}: {e} (install qemu-system for this arch; on Debian 12: bash ci/setup-qemu.sh)", q.binary)),
            }
        }
    };
    // A reader thread timestamps the markers as they arrive.
    let mut out = child.stdout.take().expect("piped");
    let (tx, rx) = mpsc::channel();
    let records = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = records.clone();
    let reader = std::thread::spawn(move || {
        let mut text = Vec::new();
        let mut buf = [0u8; 4096];
        let mut first = None;
        // Case records are counted line by line as whole lines arrive (a fuzz run prints
        // tens of thousands: never rescan the whole text).
        let (mut counted_to, mut count) = (0, 0);
        while let Ok(n) = out.read(&mut buf) {
            if n == 0 {
                break;
            }
            text.extend_from_slice(&buf[..n]);
            let Some(end) = text.iter().rposition(|&b| b == b'\n') else { continue };
            count += text[counted_to..end].split(|&b| b == b'\n').filter(|l| l.starts_with(b"C3 {\"case\"")).count();
            counted_to = end;
            if first.is_none() && count > 0 {
                first = Some(start.elapsed());
            }
            seen.store(count, std::sync::atomic::Ordering::Relaxed);
        }
        let _ = tx.send((String::from_utf8_lossy(&text).into_owned(), first));
    });
    let mut timed_out = false;
    let status = loop {
        match child.try_wait() {
            Ok(Some(st)) => break Some(st),
            Ok(None) if start.elapsed() > watchdog => {
                timed_out = true;
                let _ = child.kill();
                break child.wait().ok();
            }
            Ok(None) => {
                progress(records.load(std::sync::atomic::Ordering::Relaxed));
                std::thread::sleep(Duration::from_millis(20))
            }
            Err(_) => break None,
        }
    };
    let wall = start.elapsed();
    let (text, to_first_case) = rx.recv_timeout(Duration::from_secs(5)).unwrap_or_default();
    let _ = reader.join();
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut err);
    }
    let qemu_failed = match status {
        Some(st) if !st.success() && !timed_out => Some(format!("{} exited with {st}: {}", q.binary, err.trim())),
        _ => None,
    };
    Boot { console: text, wall, to_first_case, timed_out, qemu_failed }
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
    let probe = boot(recipe, kernel, initrd, Accel::Kvm, Duration::from_secs(10), "", &|_| {});
    if probe.console.contains(console::END) { Accel::Kvm } else { Accel::Tcg }
}
