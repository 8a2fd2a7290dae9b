//! Where clone3-abi finds its files. An unpacked `cargo xtask dist` tarball has them next to
//! the binary, and that layout always wins, so an installed copy never reaches into the
//! source tree it was built from:
//!
//!     bin/clone3-abi
//!     lib/clone3-abi/agents/<rust target>/clone3-abi      static /init of each guest
//!     lib/clone3-abi/initramfs/<rust target>.cpio[.gz]    the same, packed (for LAVA, tuxrun)
//!     share/clone3-abi/snapshots/<guest>/<series>.snap
//!
//! Else the source tree at the path it was compiled from (a checkout, `cargo run`).

use std::path::{Path, PathBuf};

/// The installed prefix (`…/clone3-abi-<version>-<arch>/`), when this binary is in one.
pub fn prefix() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?.canonicalize().ok()?;
    let prefix = exe.parent()?.parent()?;
    prefix.join("lib/clone3-abi/agents").is_dir().then(|| prefix.to_path_buf())
}

/// The checkout this binary was built from, if it is still there and no install layout
/// is around the binary.
pub fn source_tree() -> Option<PathBuf> {
    if prefix().is_some() {
        return None;
    }
    let root = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
    root.join("xtask").is_dir().then(|| root.canonicalize().unwrap_or(root))
}

/// The folder of prebuilt agents: `--agents DIR`, else the install's.
pub fn agents_dir(given: Option<&Path>) -> Option<PathBuf> {
    given.map(Path::to_path_buf).or_else(|| prefix().map(|p| p.join("lib/clone3-abi/agents")))
}

/// The agent binary for a Rust target inside an agents folder.
pub fn agent_in(dir: &Path, target: &str) -> PathBuf {
    dir.join(target).join("clone3-abi")
}

/// The default snapshots folder: the install's, the checkout's, else `./snapshots`.
pub fn snapshots() -> PathBuf {
    if let Some(p) = prefix() {
        return p.join("share/clone3-abi/snapshots");
    }
    source_tree().map(|t| t.join("snapshots")).filter(|s| s.is_dir()).unwrap_or_else(|| PathBuf::from("snapshots"))
}
