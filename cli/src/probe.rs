//! Reads the facts the model takes as inputs off the running kernel.

use clone3_arches::ArchProfile;
use clone3_suites::{Env, Release};

/// What the CLI learns before starting the worker.
pub struct Probe {
    pub env: Env,
    /// The arch profile of this process on this kernel (a 32-bit x86 binary may run on
    /// a native i386 kernel or on an x86_64 kernel's compat path).
    pub arch: ArchProfile,
    pub uname: String,
    /// Root with CAP_SYS_ADMIN: the PID-namespace sandbox can be built.
    pub privileged: bool,
    pub cgroup2_mount: Option<String>,
    pub cgroup_v1_dir: Option<String>,
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
    let cgroup2_mount = mount_of(&mountinfo, |fstype, _| fstype == "cgroup2");
    let cgroup_v1_dir = mount_of(&mountinfo, |fstype, _| fstype == "cgroup");
    let read_num = |p: &str| std::fs::read_to_string(p).ok().and_then(|s| s.trim().parse::<i64>().ok());
    let unprivileged_userns = read_num("/proc/sys/kernel/unprivileged_userns_clone").is_none_or(|v| v != 0)
        && read_num("/proc/sys/user/max_user_namespaces").is_none_or(|v| v > 0);
    let env = Env {
        release,
        page_size: rustix::param::page_size() as u64,
        cap_sys_admin: sys_admin,
        cap_checkpoint_restore: checkpoint_restore,
        // In the sandbox the worker is pid 2 of ns2: two levels below ours.
        caller_is_pidns_init: !privileged && rustix::process::getpid().is_init(),
        pid_level: level + if privileged { 2 } else { 0 },
        pid_max: read_num("/proc/sys/kernel/pid_max").unwrap_or(32768) as i32,
        pid_sandbox: privileged,
        cgroup2: cgroup2_mount.is_some(),
        cgroup_v1: cgroup_v1_dir.is_some(),
        unprivileged_userns,
        user_addr_limit: 0,
    };
    let machine = uname.machine().to_string_lossy();
    let arch = match ArchProfile::native() {
        p if p == ArchProfile::I386_COMPAT && machine != "x86_64" => ArchProfile::I386_NATIVE,
        p => p,
    };
    let env = Env { user_addr_limit: user_addr_limit(&arch), ..env };
    Ok(Probe { env, arch, uname: release_text, privileged, cgroup2_mount, cgroup_v1_dir })
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

/// Can a page be mapped just below `top` (MAP_FIXED_NOREPLACE, so nothing is replaced)?
fn can_map_below(top: u64) -> bool {
    use rustix::mm::{mmap_anonymous, munmap, MapFlags, ProtFlags};
    let page = rustix::param::page_size() as u64;
    let Some(addr) = top.checked_sub(2 * page).and_then(|a| usize::try_from(a).ok()) else { return false };
    // SAFETY: a fresh private mapping at an address nothing uses (NOREPLACE), unmapped at once.
    match unsafe { mmap_anonymous(addr as *mut _, page as usize, ProtFlags::READ, MapFlags::PRIVATE | MapFlags::FIXED_NOREPLACE) } {
        Ok(p) if p as usize == addr => {
            let _ = unsafe { munmap(p, page as usize) };
            true
        }
        Ok(p) => {
            let _ = unsafe { munmap(p, page as usize) };
            false
        }
        Err(_) => false,
    }
}

/// [`probe`] for the front ends: on failure says why and gives the exit code.
pub fn probe_or_say() -> Result<Probe, u8> {
    probe().map_err(|e| {
        eprintln!("clone3-abi: cannot read the kernel's facts: {e}");
        crate::CANNOT_TEST
    })
}

fn field<'a>(status: &'a str, name: &str) -> Option<&'a str> {
    status.lines().find_map(|l| l.strip_prefix(name)).map(str::trim)
}

/// The mount point of the first mount whose filesystem type matches.
fn mount_of(mountinfo: &str, want: impl Fn(&str, &str) -> bool) -> Option<String> {
    mountinfo.lines().find_map(|l| {
        let (pre, post) = l.split_once(" - ")?;
        let mut post = post.split_whitespace();
        let fstype = post.next()?;
        let source = post.next().unwrap_or("");
        let point = pre.split_whitespace().nth(4)?;
        want(fstype, source).then(|| point.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_cgroup2_in_a_hybrid_layout() {
        let mi = "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n\
                  39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n\
                  41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";
        assert_eq!(mount_of(mi, |t, _| t == "cgroup2").as_deref(), Some("/sys/fs/cgroup/unified"));
        assert_eq!(mount_of(mi, |t, _| t == "cgroup").as_deref(), Some("/sys/fs/cgroup/pids"));
        assert_eq!(mount_of("", |t, _| t == "cgroup2"), None);
    }
}
