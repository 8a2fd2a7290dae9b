//! `clone3-abi doctor`: what this host has and lacks for `run` and `qemu`, and the line that
//! installs what is missing on this distribution. It changes nothing.

use crate::install;
use std::path::Path;
use std::process::Command;

/// The QEMU system emulator per guest arch, and the package that ships it per package manager.
const QEMU: &[(&str, &str, &str, &str, &str)] = &[
    // binary, apt, dnf, pacman, zypper
    ("qemu-system-x86_64", "qemu-system-x86", "qemu-system-x86-core", "qemu-system-x86", "qemu-x86"),
    ("qemu-system-i386", "qemu-system-x86", "qemu-system-x86-core", "qemu-system-x86", "qemu-x86"),
    ("qemu-system-aarch64", "qemu-system-arm", "qemu-system-aarch64-core", "qemu-system-aarch64", "qemu-arm"),
    ("qemu-system-riscv64", "qemu-system-misc", "qemu-system-riscv-core", "qemu-system-riscv", "qemu-extra"),
];

/// Tools the kernel fetcher runs: (binary, apt, dnf, pacman, zypper).
const TOOLS: &[(&str, &str, &str, &str, &str)] = &[
    ("curl", "curl", "curl", "curl", "curl"),
    ("dpkg-deb", "dpkg", "dpkg", "dpkg", "dpkg"),
    ("tar", "tar", "tar", "tar", "tar"),
];

struct Report {
    missing: Vec<usize>,
    problems: usize,
}

pub fn doctor() -> u8 {
    let mut r = Report { missing: Vec::new(), problems: 0 };
    let os = os_release();
    println!("host: {} ({}), kernel {}", os.pretty, std::env::consts::ARCH, rustix::system::uname().release().to_string_lossy());
    match (install::prefix(), install::source_tree()) {
        (Some(p), _) => println!("  ok   installed at {} (agents, snapshots next to the binary)", p.display()),
        (None, Some(t)) => println!("  ok   running from the source tree {} (agents are built on demand)", t.display()),
        (None, None) => {
            println!("  --   no install layout and no source tree: `qemu` needs --agents DIR (from a `cargo xtask dist` tarball)");
        }
    }
    if let Some(dir) = install::agents_dir(None) {
        for t in crate::qemu::agent_targets() {
            let a = install::agent_in(&dir, &t);
            r.check(a.is_file(), &format!("agent {t}"), &a.display().to_string());
        }
    }

    println!("qemu (the `qemu` command):");
    for (i, (bin, ..)) in QEMU.iter().enumerate() {
        match version_of(bin) {
            Some(v) => println!("  ok   {bin}: {v}"),
            None => {
                println!("  MISS {bin}: not on PATH");
                r.missing.push(i);
            }
        }
    }
    for (i, (bin, ..)) in TOOLS.iter().enumerate() {
        let found = which(bin);
        if !found {
            r.missing.push(QEMU.len() + i);
        }
        println!("  {} {bin}{}", if found { "ok  " } else { "MISS" }, if found { "" } else { ": not on PATH (needed to fetch and unpack kernels)" });
    }
    let kvm = std::fs::OpenOptions::new().read(true).write(true).open("/dev/kvm");
    match kvm {
        Ok(_) => println!("  ok   /dev/kvm opens read-write (--accel auto still probe-boots each guest before using KVM)"),
        Err(e) => println!("  --   /dev/kvm: {e}: guests run under TCG (slower, same verdicts)"),
    }
    let cache = crate::qemu::cache_dir();
    let writable = std::fs::create_dir_all(&cache).is_ok() && tempfile::tempfile_in(&cache).is_ok();
    r.check(writable, "cache", &format!("{} (kernels, initramfs, boot times; --cache DIR or CLONE3_ABI_CACHE moves it)", cache.display()));
    println!("  --   mirror: {} (CLONE3_ABI_MIRROR overrides)", crate::qemu::mirror_root());

    println!("native run (the `run` command):");
    match crate::probe::probe() {
        Err(e) => r.check(false, "kernel", &e),
        Ok(p) => {
            println!("  ok   kernel {} as {}, model release {}{}", p.uname, p.arch.name, p.env.release,
                if p.env.release.beyond_model() { " (newer than the model's newest series)" } else { "" });
            let root = p.privileged;
            println!("  {}   privileges: {}", if root { "ok" } else { "--" },
                if root { "root with CAP_SYS_ADMIN: every case can run" } else { "not root: namespace, set_tid and cgroup cases are skipped" });
            println!("  {}   PID-namespace sandbox: {}", if p.env.pid_sandbox { "ok" } else { "--" },
                if p.env.pid_sandbox { "yes" } else { "no (cases that need it are skipped)" });
            match &p.cgroup2_parent {
                Some(c) => println!("  ok   cgroup2: {} (the run's cgroup goes under it)", c.dir.display()),
                None => println!("  --   cgroup2: no writable cgroup2 directory of this process: CLONE_INTO_CGROUP target cases are skipped"),
            }
            println!("  {}   unprivileged user namespaces: {}", if p.env.unprivileged_userns { "ok" } else { "--" },
                if p.env.unprivileged_userns { "allowed" } else { "disabled (kernel.unprivileged_userns_clone=0)" });
            for n in &p.notes {
                println!("  --   {n}");
            }
        }
    }

    if !r.missing.is_empty() {
        println!("install what is missing ({}):", os.id);
        println!("  {}", install_line(&os, &r.missing));
    }
    if r.missing.is_empty() && r.problems == 0 {
        println!("everything `run` and `qemu` need is here");
        0
    } else {
        1
    }
}

impl Report {
    fn check(&mut self, ok: bool, what: &str, detail: &str) {
        if !ok {
            self.problems += 1;
        }
        println!("  {} {what}: {detail}", if ok { "ok  " } else { "FAIL" });
    }
}

struct OsRelease {
    id: String,
    like: String,
    pretty: String,
    codename: String,
}

fn os_release() -> OsRelease {
    let text = std::fs::read_to_string("/etc/os-release").unwrap_or_default();
    let get = |k: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(k).and_then(|v| v.strip_prefix('=')))
            .map(|v| v.trim_matches('"').to_string())
            .unwrap_or_default()
    };
    OsRelease { id: get("ID"), like: get("ID_LIKE"), pretty: get("PRETTY_NAME"), codename: get("VERSION_CODENAME") }
}

/// The install command for the missing entries (indices into QEMU then TOOLS).
fn install_line(os: &OsRelease, missing: &[usize]) -> String {
    let family = |f: &str| os.id == f || os.like.split_whitespace().any(|l| l == f);
    let (col, cmd) = if family("debian") || family("ubuntu") {
        (0, "sudo apt-get install -y")
    } else if family("fedora") || family("rhel") {
        (1, "sudo dnf install -y")
    } else if family("arch") {
        (2, "sudo pacman -S --needed")
    } else if family("suse") {
        (3, "sudo zypper install -y")
    } else {
        return "install QEMU's system emulators for x86, arm and riscv, curl, dpkg-deb and tar with this distribution's tools".into();
    };
    let mut pkgs: Vec<&str> = missing
        .iter()
        .map(|&i| {
            let row = if i < QEMU.len() { QEMU[i] } else { TOOLS[i - QEMU.len()] };
            [row.1, row.2, row.3, row.4][col]
        })
        .collect();
    pkgs.sort();
    pkgs.dedup();
    // Debian 12's own QEMU is 7.2; 10 is in bookworm-backports (the version the recipes were
    // measured with; 7.2 boots them too).
    let backports = if os.id == "debian" && os.codename == "bookworm" { " -t bookworm-backports" } else { "" };
    format!("{cmd}{backports} {}", pkgs.join(" "))
}

fn which(bin: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|p| std::env::split_paths(&p).any(|d| is_executable(&d.join(bin))))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// `qemu-system-x86_64 --version`'s first line, bounded like every child of the tool.
fn version_of(bin: &str) -> Option<String> {
    if !which(bin) {
        return None;
    }
    let out = Command::new("timeout").args(["10", bin, "--version"]).output().ok()?;
    String::from_utf8_lossy(&out.stdout).lines().next().map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(id: &str, like: &str, codename: &str) -> OsRelease {
        OsRelease { id: id.into(), like: like.into(), pretty: String::new(), codename: codename.into() }
    }

    #[test]
    fn the_install_line_names_this_distributions_packages_once() {
        // x86_64 and i386 come from one package; riscv64 from another.
        let all = [0, 1, 3];
        assert_eq!(install_line(&os("debian", "", "bookworm"), &all), "sudo apt-get install -y -t bookworm-backports qemu-system-misc qemu-system-x86");
        assert_eq!(install_line(&os("ubuntu", "debian", "noble"), &[2]), "sudo apt-get install -y qemu-system-arm");
        assert_eq!(install_line(&os("rocky", "rhel centos fedora", ""), &[0, 4]), "sudo dnf install -y curl qemu-system-x86-core");
        assert_eq!(install_line(&os("arch", "", ""), &[5]), "sudo pacman -S --needed dpkg");
        assert!(install_line(&os("plan9", "", ""), &[0]).starts_with("install QEMU"));
    }
}
