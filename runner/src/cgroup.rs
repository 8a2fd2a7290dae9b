//! The run's own cgroup2 directory, the target of the CLONE_INTO_CGROUP cases: where it
//! goes, its making and its removal.
//!
//! It goes under the CLI's own cgroup (the `0::` line of /proc/self/cgroup), reached
//! through the cgroup2 mount that shows that cgroup: a mount's root (mountinfo's field 4)
//! may be a subtree (a bind mount, a container without a cgroup namespace), and a later
//! mount on the same place hides an earlier one. So the case children never leave the
//! cgroup the run was started in (a CI job's limits and accounting keep applying).
//!
//! It is named `clone3-abi.<pid>.<random>`, made by the CLI before the worker starts and
//! removed once the sandbox has ended; the worker only opens it. Inside it are the other
//! cgroups the cases name (`CgroupArg`): `locked` (its cgroup.procs mode 0444),
//! `ancestor` (the same) holding `src` and `dst`, and the one the worker removes itself.
//! A cgroup with a domain controller in its subtree_control cannot sit inside the target
//! (the target would then take no processes): it is a sibling, `<name>.busy`, made only
//! where the starting cgroup enables a domain controller for its children. A run holds an flock on
//! its directory while anything of it is alive, so a later run can tell a stale directory
//! (its run was SIGKILLed) from a live one even across PID namespaces, and removes the
//! stale empty ones at start: rmdir only, which never removes a cgroup with members or
//! children.

use rustix::fd::OwnedFd;
use rustix::fs::{flock, FlockOperation, Mode, OFlags};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// One line of /proc/self/mountinfo, unescaped.
#[derive(Debug, PartialEq, Eq)]
pub struct Mount {
    /// The directory of the filesystem this mount shows at `point` (field 4).
    pub root: String,
    pub point: String,
    pub fstype: String,
}

/// The lines of a mountinfo file, in its order (the order the mounts were made in).
pub fn mounts(mountinfo: &str) -> Vec<Mount> {
    mountinfo
        .lines()
        .filter_map(|l| {
            let (pre, post) = l.split_once(" - ")?;
            let mut pre = pre.split(' ');
            let root = pre.nth(3)?;
            let point = pre.next()?;
            let fstype = post.split(' ').next()?;
            Some(Mount { root: unescape(root), point: unescape(point), fstype: unescape(fstype) })
        })
        .collect()
}

/// mountinfo's octal escapes (`\040` space, `\011` tab, `\012` newline, `\134` backslash).
fn unescape(field: &str) -> String {
    let b = field.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let octal = b.get(i + 1..i + 4).filter(|d| b[i] == b'\\' && d.iter().all(|c| (b'0'..=b'7').contains(c)));
        match octal {
            Some(d) => {
                out.push(d.iter().fold(0u8, |v, c| v.wrapping_mul(8) + (c - b'0')));
                i += 4;
            }
            None => {
                out.push(b[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// This process's cgroup2 path, from /proc/self/cgroup's `0::` line.
pub fn own_path(proc_self_cgroup: &str) -> Option<String> {
    proc_self_cgroup.lines().find_map(|l| l.strip_prefix("0::")).map(str::to_string)
}

/// The directories that are cgroup `path` through each cgroup2 mount that shows it, the
/// most recent mount first.
pub fn candidates(mounts: &[Mount], path: &str) -> Vec<PathBuf> {
    mounts
        .iter()
        .rev()
        .filter(|m| m.fstype == "cgroup2")
        .filter_map(|m| {
            let below = if m.root == "/" { Some(path) } else { path.strip_prefix(m.root.as_str()) }?;
            (below.is_empty() || below.starts_with('/')).then(|| PathBuf::from(format!("{}{}", m.point.trim_end_matches('/'), below)))
        })
        .collect()
}

/// Where the run's cgroup can go: a directory, and the cgroup path it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Parent {
    pub dir: PathBuf,
    /// As /proc/self/cgroup shows it (`/` or `/a/b`).
    pub path: String,
}

/// The CLI's own cgroup, as a directory: the first candidate whose `cgroup.procs` lists
/// this process (which proves the directory is that cgroup, whatever the mounts do).
/// `Ok(None)`: there is no cgroup2 mount at all.
pub fn find_parent(mountinfo: &str) -> Result<Option<Parent>, String> {
    let mounts = mounts(mountinfo);
    if !mounts.iter().any(|m| m.fstype == "cgroup2") {
        return Ok(None);
    }
    let own = std::fs::read_to_string("/proc/self/cgroup").map_err(|e| format!("/proc/self/cgroup: {e}"))?;
    let path = own_path(&own).ok_or("/proc/self/cgroup has no cgroup2 (0::) line")?;
    let me = rustix::process::getpid().as_raw_nonzero().get().to_string();
    let lists_me = |dir: &Path| std::fs::read_to_string(dir.join("cgroup.procs")).is_ok_and(|t| t.lines().any(|l| l == me));
    let found = candidates(&mounts, &path).into_iter().find(|d| lists_me(d));
    match found {
        Some(dir) => Ok(Some(Parent { dir, path })),
        None => Err(format!("no cgroup2 mount shows this process's cgroup {path}")),
    }
}

/// The line /proc/self/cgroup shows for a member of `name` under `parent`.
pub fn proc_line(parent: &str, name: &str) -> String {
    format!("0::{}/{name}", parent.trim_end_matches('/'))
}

/// The controllers that make a cgroup a domain one (the rest are threaded: cpu, cpuset,
/// perf_event, pids): enabled in a cgroup's subtree_control, any of them keeps processes out
/// of it (cgroup_migrate_vet_dst, kernel/cgroup/cgroup.c).
pub const DOMAIN_CONTROLLERS: [&str; 5] = ["memory", "io", "hugetlb", "rdma", "misc"];

/// The first domain controller `dir`'s cgroup.subtree_control enables for its children.
pub fn domain_controller(dir: &Path) -> Option<String> {
    let enabled = std::fs::read_to_string(dir.join("cgroup.subtree_control")).ok()?;
    enabled.split_whitespace().find(|c| DOMAIN_CONTROLLERS.contains(c)).map(str::to_string)
}

/// The run's cgroup: removed (rmdir) when dropped, after the sandbox has ended.
#[derive(Debug)]
pub struct RunCgroup {
    pub dir: PathBuf,
    /// The line `/proc/self/cgroup` shows for a member: `0::/path`.
    pub proc_line: String,
    /// `<dir>.busy`, or why there is none.
    pub busy: Result<PathBuf, String>,
    /// Hold the flocks that say "in use" to other runs' sweeps.
    _locks: Vec<OwnedFd>,
}

const PREFIX: &str = "clone3-abi.";

/// The cgroups inside the run's, made in this order (parents first).
pub const LOCKED: &str = "locked";
pub const ANCESTOR: &str = "ancestor";
pub const ANCESTOR_SRC: &str = "ancestor/src";
pub const ANCESTOR_DST: &str = "ancestor/dst";
/// Made and removed by the worker (a removed cgroup it still holds open).
pub const REMOVED: &str = "removed";

impl RunCgroup {
    /// Removes stale siblings (once per process), then makes `clone3-abi.<pid>.<random>`
    /// and what is inside it; with `busy`, the sibling too.
    pub fn make(parent: &Parent, busy: bool) -> Result<Self, String> {
        let mut run = Self::make_dir(parent)?;
        for sub in [LOCKED, ANCESTOR, ANCESTOR_SRC, ANCESTOR_DST] {
            let d = run.dir.join(sub);
            std::fs::create_dir(&d).map_err(|e| format!("cannot make the run's cgroup {}: {e}", d.display()))?;
        }
        for locked in [LOCKED, ANCESTOR] {
            use std::os::unix::fs::PermissionsExt;
            let procs = run.dir.join(locked).join("cgroup.procs");
            std::fs::set_permissions(&procs, std::fs::Permissions::from_mode(0o444))
                .map_err(|e| format!("cannot make {} read-only: {e}", procs.display()))?;
        }
        if busy {
            run.busy = run.make_busy(parent);
            super::interrupt::cgroups(&Self::all(&run.dir, run.busy.as_ref().ok()));
        }
        Ok(run)
    }

    /// Every directory a run makes, deepest first (the order they can be removed in).
    fn all(dir: &Path, busy: Option<&PathBuf>) -> Vec<PathBuf> {
        let inner = [ANCESTOR_SRC, ANCESTOR_DST, ANCESTOR, LOCKED, REMOVED].map(|d| dir.join(d));
        inner.into_iter().chain([dir.to_path_buf()]).chain(busy.cloned()).collect()
    }

    /// `<dir>.busy` with the parent's domain controller enabled in its subtree_control.
    fn make_busy(&mut self, parent: &Parent) -> Result<PathBuf, String> {
        let ctrl = domain_controller(&parent.dir).ok_or_else(|| format!("{} enables no domain controller", parent.dir.display()))?;
        let mut name = self.dir.clone().into_os_string();
        name.push(".busy");
        let dir = PathBuf::from(name);
        std::fs::create_dir(&dir).map_err(|e| format!("cannot make {}: {e}", dir.display()))?;
        if let Ok(fd) = open_dir(&dir) {
            let _ = flock(&fd, FlockOperation::NonBlockingLockExclusive);
            self._locks.push(fd);
        }
        let control = dir.join("cgroup.subtree_control");
        match std::fs::write(&control, format!("+{ctrl}")) {
            Ok(()) => Ok(dir),
            Err(e) => {
                let _ = std::fs::remove_dir(&dir);
                Err(format!("cannot enable {ctrl} in {}: {e}", control.display()))
            }
        }
    }

    fn make_dir(parent: &Parent) -> Result<Self, String> {
        static SWEPT: std::sync::Once = std::sync::Once::new();
        SWEPT.call_once(|| sweep(&parent.dir));
        let pid = std::process::id();
        for _ in 0..4 {
            let name = format!("{PREFIX}{pid}.{:016x}", random());
            let dir = parent.dir.join(&name);
            match std::fs::create_dir(&dir) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(format!("cannot make the run's cgroup {}: {e}", dir.display())),
            }
            let lock = match open_dir(&dir) {
                Ok(fd) => fd,
                Err(e) => {
                    let _ = std::fs::remove_dir(&dir);
                    return Err(format!("cannot open the run's cgroup {}: {e}", dir.display()));
                }
            };
            // Never fails on a directory nobody else has seen yet; should it, a sweep
            // could remove the directory while it is empty, and the cases would say so.
            let _ = flock(&lock, FlockOperation::NonBlockingLockExclusive);
            super::interrupt::cgroups(&Self::all(&dir, None));
            let busy = Err("no case asked for it".to_string());
            return Ok(RunCgroup { proc_line: proc_line(&parent.path, &name), dir, busy, _locks: vec![lock] });
        }
        Err(format!("cannot make the run's cgroup in {}: every name tried exists", parent.dir.display()))
    }
}

impl Drop for RunCgroup {
    fn drop(&mut self) {
        super::interrupt::cgroups(&[]);
        if let Ok(busy) = &self.busy {
            let _ = std::fs::remove_dir(busy);
        }
        // Members that were just killed may take a moment to leave (EBUSY).
        let deadline = Instant::now() + Duration::from_secs(2);
        loop {
            remove_inner(&self.dir);
            match std::fs::remove_dir(&self.dir) {
                Ok(()) => return,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return,
                Err(e) if e.raw_os_error() == Some(libc::EBUSY) && Instant::now() < deadline => {
                    super::time::sleep(Duration::from_millis(10));
                }
                Err(e) => {
                    use std::io::Write;
                    let _ = writeln!(std::io::stderr(), "clone3-abi: note: could not remove the run's cgroup {}: {e}", self.dir.display());
                    return;
                }
            }
        }
    }
}

/// Removes the cgroups inside `dir`, deepest first: rmdir only (the files of a cgroup
/// directory go with it), so one with members stays.
fn remove_inner(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            remove_inner(&entry.path());
            let _ = std::fs::remove_dir(entry.path());
        }
    }
}

fn open_dir(dir: &Path) -> rustix::io::Result<OwnedFd> {
    rustix::fs::open(dir, OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty())
}

/// Removes the `clone3-abi.*` directories in `parent` that no live run holds: not this
/// process's, not one whose pid is alive here, not one whose flock is held. rmdir only:
/// a cgroup with members or children stays.
fn sweep(parent: &Path) {
    let Ok(entries) = std::fs::read_dir(parent) else { return };
    let me = std::process::id() as i32;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(PREFIX)) else { continue };
        let pid = rest.split('.').next().and_then(|p| p.parse::<i32>().ok()).filter(|p| *p > 0);
        if pid.is_some_and(|p| p == me || unsafe { libc::kill(p, 0) == 0 || *libc::__errno_location() == libc::EPERM }) {
            continue;
        }
        let Ok(fd) = open_dir(&entry.path()) else { continue };
        if flock(&fd, FlockOperation::NonBlockingLockExclusive).is_ok() {
            remove_inner(&entry.path());
            let _ = std::fs::remove_dir(entry.path());
        }
    }
}

/// 64 bits that differ between runs (std's per-process random hash keys).
fn random() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(Instant::now().elapsed().as_nanos());
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    const HYBRID: &str = "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n\
                          39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n\
                          41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";

    #[test]
    fn the_parent_is_the_own_cgroup_through_the_mount() {
        let m = mounts(HYBRID);
        assert_eq!(m[1], Mount { root: "/".into(), point: "/sys/fs/cgroup/pids".into(), fstype: "cgroup".into() });
        assert_eq!(candidates(&m, "/"), [PathBuf::from("/sys/fs/cgroup/unified")]);
        assert_eq!(candidates(&m, "/ci/job 7"), [PathBuf::from("/sys/fs/cgroup/unified/ci/job 7")]);
        assert!(candidates(&mounts(""), "/").is_empty());
    }

    #[test]
    fn a_mounted_subtree_and_escapes_are_honoured() {
        // A container without a cgroup namespace: /docker/abc bound on /sys/fs/cgroup, with
        // a space in the mount point for the escapes.
        let mi = "50 40 0:30 /docker/abc /sys/fs/my\\040cgroup rw - cgroup2 cgroup2 rw\n";
        let m = mounts(mi);
        assert_eq!(m[0].point, "/sys/fs/my cgroup");
        assert_eq!(candidates(&m, "/docker/abc"), [PathBuf::from("/sys/fs/my cgroup")]);
        assert_eq!(candidates(&m, "/docker/abc/sub"), [PathBuf::from("/sys/fs/my cgroup/sub")]);
        // Not shown by that mount: /docker/abcd is no subdirectory of /docker/abc.
        assert!(candidates(&m, "/docker/abcd").is_empty());
        assert!(candidates(&m, "/").is_empty());
        assert_eq!(unescape("a\\134b\\011c\\0"), "a\\b\tc\\0");
    }

    #[test]
    fn a_later_mount_comes_first() {
        // /sub bound over the whole hierarchy's mount point hides it.
        let mi = format!("{HYBRID}60 41 0:38 /sub /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n");
        let c = candidates(&mounts(&mi), "/sub");
        assert_eq!(c, [PathBuf::from("/sys/fs/cgroup/unified"), PathBuf::from("/sys/fs/cgroup/unified/sub")]);
    }

    #[test]
    fn members_show_the_path_under_the_parent() {
        assert_eq!(proc_line("/", "clone3-abi.1.ab"), "0::/clone3-abi.1.ab");
        assert_eq!(proc_line("/ci/job", "clone3-abi.1.ab"), "0::/ci/job/clone3-abi.1.ab");
        assert_eq!(own_path("12:pids:/x\n0::/ci/job\n").as_deref(), Some("/ci/job"));
        assert_eq!(own_path("12:pids:/x\n"), None);
    }
}
