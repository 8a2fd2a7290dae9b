//! Reads the facts the model takes as inputs off the running kernel.

use crate::cgroup::{self, Parent};
use clone3_arches::ArchProfile;
use clone3_suites::{Env, Features, Have, NsLimits, Release};

/// What the CLI learns before starting the worker.
pub struct Probe {
    pub env: Env,
    /// The arch profile of this process on this kernel (a 32-bit x86 binary may run on
    /// a native i386 kernel or on an x86_64 kernel's compat path).
    pub arch: ArchProfile,
    pub uname: String,
    /// Root with CAP_SYS_ADMIN (the snapshot variant). The PID-namespace sandbox is built
    /// only when the kernel has PID namespaces too: `env.pid_sandbox`.
    pub privileged: bool,
    /// Where the run's own cgroup2 directory goes: the CLI's own cgroup (`None`: nowhere
    /// usable, and `env.cgroup2` is false).
    pub cgroup2_parent: Option<Parent>,
    pub cgroup_v1_dir: Option<String>,
    /// What the probe could not read, or found inconsistent: said once before a run.
    pub notes: Vec<String>,
}

pub fn probe() -> Result<Probe, String> {
    let uname = rustix::system::uname();
    let release_text = uname.release().to_string_lossy().into_owned();
    let version_text = uname.version().to_string_lossy().into_owned();
    let release = Release::from_uname(&release_text, &version_text)
        .ok_or_else(|| format!("cannot parse kernel release {release_text:?}"))?;
    let status = std::fs::read_to_string("/proc/self/status").map_err(|e| format!("/proc/self/status: {e} (is /proc mounted?)"))?;
    let cap_eff = field(&status, "CapEff:").and_then(|v| u64::from_str_radix(v, 16).ok()).unwrap_or(0);
    let has = |bit: u32| cap_eff & (1 << bit) != 0;
    let (sys_admin, checkpoint_restore) = (has(21), has(40));
    let level = field(&status, "NSpid:").map_or(0, |v| v.split_whitespace().count() as u32 - 1);
    let privileged = sys_admin && rustix::process::geteuid().is_root();
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let cgroup_v1_dir = cgroup::mounts(&mountinfo).into_iter().find(|m| m.fstype == "cgroup").map(|m| m.point);
    let read_num = |p: &str| std::fs::read_to_string(p).ok().and_then(|s| s.trim().parse::<i64>().ok());
    let mut notes = Vec::new();
    let kernel = features(&KernelFiles::read(), &version_text, &mut notes);
    let unprivileged_userns = read_num("/proc/sys/kernel/unprivileged_userns_clone").is_none_or(|v| v != 0);
    // The sandbox is two PID namespaces deep: without PID_NS (or not knowing) the worker
    // runs as a normal user's does, and the cases that need the sandbox are skipped.
    let pid_sandbox = privileged && kernel.pid_ns == Have::Yes;
    // The run makes its cgroup under the CLI's own: where that is read-only (a container's
    // /sys/fs/cgroup), or shown by no mount, the target cases are skipped, as the model's
    // gate says. Any other failure to make it is the runner's: those cases are not run (125).
    let cgroup2_parent = match cgroup::find_parent(&mountinfo) {
        Ok(Some(p)) => {
            let ro = rustix::fs::statvfs(&p.dir).map_or(true, |v| v.f_flag.contains(rustix::fs::StatVfsMountFlags::RDONLY));
            if ro {
                notes.push(format!("this process's cgroup2 directory {} is read-only: CLONE_INTO_CGROUP target cases are skipped", p.dir.display()));
            }
            (!ro).then_some(p)
        }
        Ok(None) => None,
        Err(e) => {
            notes.push(format!("{e}: CLONE_INTO_CGROUP target cases are skipped"));
            None
        }
    };
    let env = Env {
        release,
        page_size: rustix::param::page_size() as u64,
        cap_sys_admin: sys_admin,
        cap_checkpoint_restore: checkpoint_restore,
        // The worker is always a forked child (runner::sandbox::spawn), pid 2 of ns2 in the
        // sandbox: never a namespace init, even when the CLI is one (the QEMU agent).
        caller_is_pidns_init: false,
        // In the sandbox the worker is pid 2 of ns2: two levels below ours.
        pid_level: level + if pid_sandbox { 2 } else { 0 },
        pid_max: read_num("/proc/sys/kernel/pid_max").unwrap_or(32768) as i32,
        pid_sandbox,
        cgroup2: cgroup2_parent.is_some(),
        cgroup_v1: cgroup_v1_dir.is_some(),
        cgroup_domain_controller: cgroup2_parent.as_ref().is_some_and(|p| cgroup::domain_controller(&p.dir).is_some()),
        unprivileged_userns,
        apparmor_restricts_userns: read_num("/proc/sys/kernel/apparmor_restrict_unprivileged_userns").is_some_and(|v| v == 1),
        user_addr_limit: 0,
        user_range_top: false,
        kernel,
        // The worker is the CLI's (or an init's) child, never one made with CLONE_AUTOREAP.
        caller_autoreaped: false,
        // The release says which fixes it has; `fixes` overrides (none from the probe).
        fixes: Default::default(),
    };
    let machine = uname.machine().to_string_lossy();
    let arch = match ArchProfile::native() {
        p if p == ArchProfile::I386_COMPAT && machine != "x86_64" => ArchProfile::I386_NATIVE,
        p => p,
    };
    let limit = user_addr_limit(&arch);
    let top = clone3_suites::Stack::TOP_OF_USER_RANGE;
    let env = Env { user_addr_limit: limit, user_range_top: limit.checked_sub(top).is_some_and(|a| can_map_at(a, top)), ..env };
    Ok(Probe { env, arch, uname: release_text, privileged, cgroup2_parent, cgroup_v1_dir, notes })
}

/// access_ok's limit on this machine. x86 (64-bit, and 32-bit tasks on a 64-bit kernel,
/// whose access_ok uses the same TASK_SIZE_MAX): 2^56 - 4096 when the kernel runs 5-level
/// paging, which leaves the `la57` flag in /proc/cpuinfo (the kernel clears it otherwise).
/// riscv64: the largest of Sv57/Sv48/Sv39's user range where a page can really be mapped.
/// The kernel command line may state it (`clone3abi.user_addr_limit=0x…`): arm64's
/// access_ok uses the compile-time VA_BITS, which userspace cannot see, so QEMU recipes
/// pass what their kernel's config says.
fn user_addr_limit(arch: &ArchProfile) -> u64 {
    let cmdline = std::fs::read_to_string("/proc/cmdline").unwrap_or_default();
    let stated = cmdline.split_whitespace().find_map(|w| w.strip_prefix("clone3abi.user_addr_limit="));
    if let Some(v) = stated.and_then(|v| u64::from_str_radix(v.trim_start_matches("0x"), 16).ok()) {
        return v;
    }
    match arch.name {
        "x86_64" | "i386" => {
            let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
            let la57 = cpuinfo.lines().any(|l| l.starts_with("flags") && l.split_whitespace().any(|f| f == "la57"));
            if la57 { (1 << 56) - 4096 } else { arch.user_addr_limit }
        }
        "riscv64" => [1u64 << 56, 1 << 47, 1 << 38].into_iter().find(|&top| can_map_below(top)).unwrap_or(arch.user_addr_limit),
        _ => arch.user_addr_limit,
    }
}

/// Can a page be mapped just below `top`?
fn can_map_below(top: u64) -> bool {
    let page = rustix::param::page_size() as u64;
    top.checked_sub(2 * page).is_some_and(|a| can_map_at(a, page))
}

/// Can `len` bytes be mapped at `addr` (MAP_FIXED_NOREPLACE, so nothing is replaced)?
fn can_map_at(addr: u64, len: u64) -> bool {
    use rustix::mm::{mmap_anonymous, munmap, MapFlags, ProtFlags};
    let (Ok(addr), Ok(len)) = (usize::try_from(addr), usize::try_from(len)) else { return false };
    // SAFETY: a fresh private mapping at an address nothing uses (NOREPLACE), unmapped at once.
    match unsafe { mmap_anonymous(addr as *mut _, len, ProtFlags::READ, MapFlags::PRIVATE | MapFlags::FIXED_NOREPLACE) } {
        Ok(p) => {
            let _ = unsafe { munmap(p, len) };
            p as usize == addr
        }
        Err(_) => false,
    }
}

/// The files the kernel's features are read from, as read (`Err`: why not).
pub struct KernelFiles {
    /// The names in /proc/self/ns.
    pub ns: Result<Vec<String>, String>,
    pub filesystems: Result<String, String>,
    /// /proc/config.gz, decompressed; `None` where the kernel has no IKCONFIG_PROC.
    pub config: Option<Result<String, String>>,
    /// /proc/sys/kernel is there (CONFIG_PROC_SYSCTL), so a missing sysctl in it is absent.
    pub sysctl_dir: bool,
    /// /proc/sys/kernel/unprivileged_userns_clone exists (Debian's patch with USER_NS).
    pub userns_clone_sysctl: bool,
    pub max_user_namespaces: Result<u64, String>,
    /// `user.max_*_namespaces`, in [`NsLimits::NAMES`] order.
    pub max_namespaces: [Result<u64, String>; 7],
    pub cmdline: String,
}

impl KernelFiles {
    pub fn read() -> Self {
        let text = |p: &str| std::fs::read_to_string(p).map_err(|e| format!("{p}: {e}"));
        let ns = std::fs::read_dir("/proc/self/ns")
            .and_then(|d| d.map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned())).collect())
            .map_err(|e| format!("/proc/self/ns: {e}"));
        let config = match std::fs::File::open("/proc/config.gz") {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => Some(Err(format!("/proc/config.gz: {e}"))),
            Ok(f) => {
                let mut out = String::new();
                Some(std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(f), &mut out).map(|_| out).map_err(|e| format!("/proc/config.gz: {e}")))
            }
        };
        let sysctl = |name: &str| {
            let p = format!("/proc/sys/user/{name}");
            text(&p).and_then(|t| t.trim().parse::<u64>().map_err(|e| format!("{p}: {e}")))
        };
        let max = sysctl("max_user_namespaces");
        Self {
            ns,
            filesystems: text("/proc/filesystems"),
            config,
            sysctl_dir: std::path::Path::new("/proc/sys/kernel").is_dir(),
            userns_clone_sysctl: std::path::Path::new("/proc/sys/kernel/unprivileged_userns_clone").exists(),
            max_user_namespaces: max,
            max_namespaces: NsLimits::NAMES.map(sysctl),
            cmdline: std::fs::read_to_string("/proc/cmdline").unwrap_or_default(),
        }
    }
}

/// The namespace kinds of [`Features`], their /proc/self/ns entry and their option.
const NS_KINDS: [(&str, &str); 7] = [
    ("uts", "CONFIG_UTS_NS"),
    ("ipc", "CONFIG_IPC_NS"),
    ("pid", "CONFIG_PID_NS"),
    ("net", "CONFIG_NET_NS"),
    ("cgroup", "CONFIG_CGROUPS"),
    ("time", "CONFIG_TIME_NS"),
    ("user", "CONFIG_USER_NS"),
];

/// The kernel's features from what [`KernelFiles`] found. /proc/self/ns decides (its
/// entries are what the kernel has); /proc/config.gz stands in where it cannot be read and
/// is otherwise a cross-check whose disagreements become notes. Nothing unread counts as
/// absent: it is `Unknown`, and the model skips what depends on it.
pub fn features(f: &KernelFiles, version: &str, notes: &mut Vec<String>) -> Features {
    let config = match &f.config {
        Some(Ok(c)) => Some(c.as_str()),
        Some(Err(e)) => {
            notes.push(format!("could not read {e}"));
            None
        }
        None => None,
    };
    // `mnt` is in every kernel's listing: without it the listing is not the kernel's.
    let listing = match &f.ns {
        Ok(names) if names.iter().any(|n| n == "mnt") => Some(names),
        Ok(_) => {
            notes.push("/proc/self/ns has no mnt entry: its listing is not trusted".into());
            None
        }
        Err(e) => {
            notes.push(format!("could not read {e}"));
            None
        }
    };
    let mut have = [Have::Unknown; 7];
    for (slot, (name, option)) in have.iter_mut().zip(NS_KINDS) {
        let seen = listing.map(|l| l.iter().any(|n| n == name));
        let configured = config.map(|c| config_enabled(c, option));
        *slot = match (seen, configured) {
            (Some(s), Some(c)) if s != c => {
                notes.push(format!("/proc/self/ns/{name} {} but /proc/config.gz has {option}{}: trusting /proc/self/ns", if s { "exists" } else { "is absent" }, if c { "=y" } else { " off" }));
                Have::from_bool(s)
            }
            (Some(s), _) | (None, Some(s)) => Have::from_bool(s),
            (None, None) => Have::Unknown,
        };
    }
    let [uts_ns, ipc_ns, pid_ns, net_ns, cgroups, time_ns, user_ns] = have;
    let cgroup2_fs = match &f.filesystems {
        Ok(t) => Have::from_bool(t.lines().any(|l| l.split_whitespace().last() == Some("cgroup2"))),
        Err(e) => {
            notes.push(format!("could not read {e}"));
            cgroups
        }
    };
    let stated = f.cmdline.split_whitespace().find_map(|w| w.strip_prefix("clone3abi.debian_patches="));
    let debian_userns_patch = match (user_ns, f.sysctl_dir) {
        // With USER_NS the patch's sysctl is there exactly when the patch is.
        (Have::Yes, true) => Have::from_bool(f.userns_clone_sysctl),
        _ => match stated {
            Some("1") => Have::Yes,
            Some("0") => Have::No,
            _ if version.contains("Debian ") => Have::Yes,
            _ => Have::Unknown,
        },
    };
    let max_user_namespaces = match &f.max_user_namespaces {
        Ok(n) => Some(*n),
        Err(e) => {
            notes.push(format!("could not read {e}"));
            None
        }
    };
    // Without /proc/sys (CONFIG_PROC_SYSCTL off) nothing can have changed a limit from its default.
    let limits = f.max_namespaces.each_ref().map(|r| match r {
        Ok(n) => Some(*n),
        Err(_) if !f.sysctl_dir => Some(clone3_suites::env::MAX_USER_NAMESPACES_DEFAULT),
        Err(e) => {
            notes.push(format!("could not read {e}"));
            None
        }
    });
    let max_namespaces = NsLimits::from_values(limits);
    Features { uts_ns, ipc_ns, pid_ns, net_ns, cgroups, time_ns, user_ns, cgroup2_fs, debian_userns_patch, max_user_namespaces, max_namespaces }
}

/// `CONFIG_X=y` in a .config; `# CONFIG_X is not set`, or no line at all (a symbol whose
/// dependencies are unmet, or that this release lacks), is off.
fn config_enabled(config: &str, option: &str) -> bool {
    config.lines().any(|l| l.strip_prefix(option).is_some_and(|rest| rest == "=y"))
}

fn field<'a>(status: &'a str, name: &str) -> Option<&'a str> {
    status.lines().find_map(|l| l.strip_prefix(name)).map(str::trim)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(ns: &[&str]) -> KernelFiles {
        KernelFiles {
            ns: Ok(ns.iter().map(|s| s.to_string()).collect()),
            filesystems: Ok("nodev\tsysfs\nnodev\tproc\nnodev\tcgroup\nnodev\tcgroup2\n\text4\n".into()),
            config: None,
            sysctl_dir: true,
            userns_clone_sysctl: true,
            max_user_namespaces: Ok(63229),
            max_namespaces: [0; 7].map(|_| Ok(63229)),
            cmdline: String::new(),
        }
    }

    #[test]
    fn namespace_limits_are_read_and_default_only_without_sysctls() {
        let mut f = files(FULL);
        f.max_namespaces[3] = Ok(0);
        f.max_namespaces[5] = Err("/proc/sys/user/max_net_namespaces: EACCES".into());
        let mut notes = Vec::new();
        let k = features(&f, "", &mut notes);
        assert_eq!((k.max_namespaces.pid, k.max_namespaces.net, k.max_namespaces.mnt), (Some(0), None, Some(63229)));
        assert!(notes.iter().any(|n| n.contains("max_net_namespaces")), "{notes:?}");
        // No /proc/sys at all: nothing can have set them.
        f.sysctl_dir = false;
        let k = features(&f, "", &mut Vec::new());
        assert_eq!(k.max_namespaces.net, Some(clone3_suites::env::MAX_USER_NAMESPACES_DEFAULT));
    }

    const FULL: &[&str] = &["cgroup", "ipc", "mnt", "net", "pid", "pid_for_children", "time", "time_for_children", "user", "uts"];

    #[test]
    fn a_full_kernel_has_everything() {
        let mut notes = Vec::new();
        assert_eq!(features(&files(FULL), "#1 SMP PREEMPT_DYNAMIC Debian 6.12.117-1", &mut notes), Features { max_user_namespaces: Some(63229), max_namespaces: NsLimits::from_values([Some(63229); 7]), ..Features::ALL });
        assert!(notes.is_empty(), "{notes:?}");
    }

    #[test]
    fn missing_ns_entries_are_missing_options() {
        // The end-to-end kernel: PID_NS, USER_NS, TIME_NS and CGROUPS off.
        let mut f = files(&["ipc", "mnt", "net", "uts"]);
        f.filesystems = Ok("nodev\tsysfs\nnodev\tproc\n\text4\n".into());
        f.userns_clone_sysctl = false;
        let mut notes = Vec::new();
        let k = features(&f, "#1 SMP PREEMPT_DYNAMIC Thu Dec  3 2026", &mut notes);
        assert_eq!((k.uts_ns, k.ipc_ns, k.net_ns), (Have::Yes, Have::Yes, Have::Yes));
        assert_eq!((k.pid_ns, k.user_ns, k.time_ns, k.cgroups, k.cgroup2_fs), (Have::No, Have::No, Have::No, Have::No, Have::No));
        // Without USER_NS Debian's patch leaves no trace: unknown unless stated.
        assert_eq!(k.debian_userns_patch, Have::Unknown);
        f.cmdline = "console=ttyS0 clone3abi.debian_patches=1".into();
        assert_eq!(features(&f, "#1", &mut notes).debian_userns_patch, Have::Yes);
        assert_eq!(features(&f, "#1 SMP Debian 6.12.117-1", &mut Vec::new()).debian_userns_patch, Have::Yes);
        // With USER_NS the sysctl tells: a mainline kernel has none.
        let mut mainline = files(FULL);
        mainline.userns_clone_sysctl = false;
        assert_eq!(features(&mainline, "#1", &mut notes).debian_userns_patch, Have::No);
    }

    #[test]
    fn unreadable_proc_is_unknown_not_absent() {
        let mut f = files(FULL);
        f.ns = Err("/proc/self/ns: Permission denied".into());
        f.filesystems = Err("/proc/filesystems: Permission denied".into());
        f.max_user_namespaces = Err("/proc/sys/user/max_user_namespaces: No such file or directory".into());
        let mut notes = Vec::new();
        let k = features(&f, "#1", &mut notes);
        assert_eq!((k.pid_ns, k.user_ns, k.cgroups, k.cgroup2_fs), (Have::Unknown, Have::Unknown, Have::Unknown, Have::Unknown));
        assert_eq!(k.max_user_namespaces, None);
        assert_eq!(notes.len(), 3, "{notes:?}");
        // A listing without mnt is not the kernel's either.
        assert_eq!(features(&files(&["net"]), "#1", &mut Vec::new()).net_ns, Have::Unknown);
    }

    #[test]
    fn config_gz_stands_in_and_cross_checks() {
        let config = "CONFIG_UTS_NS=y\nCONFIG_TIME_NS=y\nCONFIG_IPC_NS=y\n# CONFIG_USER_NS is not set\n\
                      # CONFIG_PID_NS is not set\nCONFIG_NET_NS=y\nCONFIG_CGROUPS=y\n";
        let mut f = files(FULL);
        f.ns = Err("/proc/self/ns: Permission denied".into());
        f.config = Some(Ok(config.into()));
        let k = features(&f, "#1", &mut Vec::new());
        assert_eq!((k.uts_ns, k.pid_ns, k.user_ns, k.time_ns, k.cgroups), (Have::Yes, Have::No, Have::No, Have::Yes, Have::Yes));
        // Where both exist and disagree, /proc/self/ns wins and the probe says so.
        let mut both = files(FULL);
        both.config = Some(Ok(config.into()));
        let mut notes = Vec::new();
        assert_eq!(features(&both, "#1", &mut notes).pid_ns, Have::Yes);
        assert_eq!(notes.len(), 2, "{notes:?}");
        assert!(!config_enabled("CONFIG_PID_NS_EXTRA=y\n", "CONFIG_PID_NS"));
    }
}
