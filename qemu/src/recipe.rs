//! Guest recipes: data in `qemu-images/<guest>.toml`, compiled into the binary so it is
//! self-contained; `--recipes DIR` reads another set.

use serde::Deserialize;
use std::path::Path;

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Recipe {
    /// Guest id: also the snapshot folder (`snapshots/<name>/`).
    pub name: String,
    /// The model's arch profile (`ArchProfile::by_name`).
    pub profile: String,
    /// Rust target of the agent (`/init`).
    pub agent_target: String,
    pub kernel: Kernel,
    pub qemu: Qemu,
}

/// A pinned Debian kernel package.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Kernel {
    /// The Debian suite it comes from (for people).
    #[allow(dead_code)]
    pub suite: String,
    pub package: String,
    pub version: String,
    pub deb_arch: String,
    /// Of the .deb.
    pub sha256: String,
    /// Path below the archive's root (`pool/main/…`).
    pub filename: String,
    /// Which archive of the mirror holds it: `debian` (the default) or `debian-security`
    /// (stable series' newest kernels; see `mirror.rs`).
    #[serde(default)]
    pub archive: crate::mirror::Archive,
    /// The kernel file inside the package (`./boot/vmlinuz-…`).
    pub kernel_path: String,
    /// Of that file once unpacked: checked at every use, so a damaged cache is re-unpacked.
    pub image_sha256: String,
    /// What that file is: bzImage, Image, … (for people; QEMU finds out itself).
    #[allow(dead_code)]
    pub format: String,
    /// x86: boot the ELF vmlinux inside the bzImage through PVH, which is faster.
    #[serde(default)]
    pub pvh: bool,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Qemu {
    pub binary: String,
    pub machine: String,
    pub cpu: String,
    pub memory: String,
    /// The console device the agent's output appears on (`ttyS0`, `ttyAMA0`).
    pub console: String,
    /// More kernel command line (`earlycon=sbi`).
    #[serde(default)]
    pub append: String,
    /// More QEMU arguments (`-bios default`).
    #[serde(default)]
    pub extra: Vec<String>,
}

/// Which matrix a recipe belongs to: `--arch all` boots the stock guests (one per arch and
/// path, plus the newest series); `--matrix versions` boots every series Debian's mirror
/// still serves for each arch, the stock guests among them.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Matrix {
    Stock,
    Versions,
}

macro_rules! recipes {
    ($($matrix:ident $name:literal),* $(,)?) => {
        &[$((Matrix::$matrix, $name, include_str!(concat!("../../qemu-images/", $name, ".toml")))),*]
    };
}

/// The recipes shipped in `qemu-images/`, in matrix order (oldest series first within the
/// version matrix).
const BUILTIN: &[(Matrix, &str, &str)] = recipes![
    Stock "x86_64",
    Stock "i386",
    Stock "i386-native",
    Stock "aarch64",
    Stock "riscv64",
    Stock "x86_64-sid",
    Versions "x86_64-bullseye",
    Versions "i386-bullseye",
    Versions "i386-native-bullseye",
    Versions "aarch64-bullseye",
    Versions "x86_64-bookworm",
    Versions "i386-bookworm",
    Versions "aarch64-bookworm",
    Versions "aarch64-sid",
    Versions "riscv64-sid",
    Versions "x86_64-backports",
    Versions "aarch64-backports",
];

pub fn names() -> Vec<&'static str> {
    BUILTIN.iter().map(|(_, n, _)| *n).collect()
}

/// The guests of a matrix: the stock ones, or every recipe.
pub fn matrix(m: Matrix) -> Vec<String> {
    BUILTIN.iter().filter(|(of, _, _)| m == Matrix::Versions || *of == m).map(|(_, n, _)| n.to_string()).collect()
}

/// Loads the named recipes (`all` for the stock matrix) from `dir`, or the built-in set.
pub fn load(wanted: &[String], dir: Option<&Path>) -> Result<Vec<Recipe>, String> {
    let stock = matrix(Matrix::Stock);
    let all = wanted.iter().any(|w| w == "all");
    let mut out = Vec::new();
    for name in names() {
        if !(all && stock.iter().any(|s| s == name)) && !wanted.iter().any(|w| w == name) {
            continue;
        }
        let text = match dir {
            Some(d) => {
                let p = d.join(format!("{name}.toml"));
                std::fs::read_to_string(&p).map_err(|e| format!("recipe {}: {e}", p.display()))?
            }
            None => BUILTIN.iter().find(|(_, n, _)| *n == name).map(|(_, _, t)| t.to_string()).unwrap_or_default(),
        };
        let r: Recipe = toml::from_str(&text).map_err(|e| format!("recipe {name}: {e}"))?;
        if clone3_arches::ArchProfile::by_name(&r.profile).is_none() {
            return Err(format!("recipe {name}: unknown profile {:?}", r.profile));
        }
        out.push(r);
    }
    for w in wanted.iter().filter(|w| *w != "all") {
        if !names().contains(&w.as_str()) {
            return Err(format!("unknown arch {w:?}: the guests are {} (or all)", names().join(", ")));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_recipes_parse_and_name_real_profiles() {
        assert_eq!(load(&["all".into()], None).unwrap().len(), 6);
        let all = load(&matrix(Matrix::Versions), None).unwrap();
        assert_eq!(all.len(), BUILTIN.len());
        for r in &all {
            assert!(r.name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'), "{}: a KCIDB path segment", r.name);
            assert_eq!(r.kernel.sha256.len(), 64, "{}", r.name);
            assert!(r.kernel.filename.starts_with("pool/"), "{}", r.name);
        }
        assert!(load(&["sparc".into()], None).unwrap_err().contains("unknown arch"));
    }
}
