//! Kernels for the recipes: downloaded once from the Debian mirror's pool (`mirror.rs`) at the pinned
//! path, checked against the pinned sha256, unpacked, and kept in the cache
//! (`~/.cache/clone3-abi/`). Every file lands through a temporary name and a rename, so an
//! interrupted download leaves nothing that looks complete.

use crate::recipe::Recipe;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::Command;


static CACHE: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();

/// `--cache DIR`: wins over `CLONE3_ABI_CACHE` and the default, for this process.
pub fn set_cache_dir(dir: PathBuf) {
    let _ = CACHE.set(dir);
}

pub fn cache_dir() -> PathBuf {
    if let Some(d) = CACHE.get() {
        return d.clone();
    }
    std::env::var_os("CLONE3_ABI_CACHE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/clone3-abi")))
        .unwrap_or_else(|| PathBuf::from("/tmp/clone3-abi-cache"))
}

/// Guests that share a kernel (x86_64 and i386) must not fetch it twice at once.
static FETCHING: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// The unpacked kernel image for a recipe, fetching it if needed; `then` (e.g. the PVH
/// extraction) runs under the same lock.
pub fn kernel_then(recipe: &Recipe, then: impl FnOnce(PathBuf) -> Result<PathBuf, String>) -> Result<PathBuf, String> {
    let _one_at_a_time = FETCHING.lock().unwrap_or_else(|e| e.into_inner());
    then(kernel(recipe)?)
}

/// Where a recipe's unpacked kernel lives in the cache: (its folder, the file), and the
/// package's file stem.
fn image_path(recipe: &Recipe) -> (PathBuf, PathBuf, String) {
    let k = &recipe.kernel;
    let stem = format!("{}_{}_{}", k.package, k.version, k.deb_arch);
    let dir = cache_dir().join("kernels").join(&stem);
    let image = dir.join(Path::new(&k.kernel_path).file_name().unwrap_or(k.kernel_path.as_ref()));
    (dir, image, stem)
}

/// The file a guest boots once fetched (the PVH ELF for PVH recipes), fetched or not.
pub fn cached_image(recipe: &Recipe) -> PathBuf {
    let (_, image, _) = image_path(recipe);
    if recipe.kernel.pvh {
        crate::pvh::elf_name(&image)
    } else {
        image
    }
}

fn kernel(recipe: &Recipe) -> Result<PathBuf, String> {
    let k = &recipe.kernel;
    let (dir, image, stem) = image_path(recipe);
    if image.is_file() {
        if sha256_of(&image)? == k.image_sha256 {
            return Ok(image);
        }
        // A damaged or foreign file: unpack the (hash-checked) package again.
        std::fs::remove_file(&image).map_err(|e| format!("{}: {e}", image.display()))?;
    }
    let deb = cache_dir().join("debs").join(format!("{stem}.deb"));
    if !(deb.is_file() && sha256_of(&deb)? == k.sha256) {
        download(&format!("{}/{}", crate::mirror::root(k.archive), k.filename), &deb, &k.sha256)?;
    }
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let tmp = dir.join(format!(".unpack{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).map_err(|e| e.to_string())?;
    // Paths go in as positional parameters, never into the script text; bounded like
    // every wait of the tool.
    let ok = Command::new("timeout")
        .args(["300", "sh", "-c", r#"dpkg-deb --fsys-tarfile "$1" | tar -x -C "$2" "$3""#, "sh"])
        .arg(&deb)
        .arg(&tmp)
        .arg(&k.kernel_path)
        .status()
        .is_ok_and(|s| s.success());
    let unpacked = tmp.join(&k.kernel_path);
    if !ok || !unpacked.is_file() {
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(format!("{} has no {} (dpkg-deb and tar are needed)", deb.display(), k.kernel_path));
    }
    let got = sha256_of(&unpacked)?;
    if got != k.image_sha256 {
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(format!("{} unpacked from {} has sha256 {got}, the recipe pins {}", k.kernel_path, deb.display(), k.image_sha256));
    }
    std::fs::rename(&unpacked, &image).map_err(|e| e.to_string())?;
    let _ = std::fs::remove_dir_all(&tmp);
    Ok(image)
}

fn download(url: &str, to: &Path, sha256: &str) -> Result<(), String> {
    std::fs::create_dir_all(to.parent().unwrap_or(Path::new("."))).map_err(|e| e.to_string())?;
    let tmp = to.with_extension(format!("part{}", std::process::id()));
    let status = Command::new("curl")
        // A stalled mirror must not hang a bisection step: bounded connect, total time
        // and minimum speed.
        .args(["-fsSL", "--retry", "3", "--connect-timeout", "30", "--max-time", "900", "--speed-limit", "10000", "--speed-time", "60", "-o"])
        .arg(&tmp)
        .arg(url)
        .status()
        .map_err(|e| format!("cannot run curl: {e} (install curl)"))?;
    if !status.success() {
        let _ = std::fs::remove_file(&tmp);
        return Err(format!(
            "download of {url} failed; the mirror may have dropped this pinned version: update the recipe in qemu-images/"
        ));
    }
    let got = sha256_of(&tmp)?;
    if got != sha256 {
        let _ = std::fs::remove_file(&tmp);
        return Err(format!("{url}: sha256 {got}, the recipe pins {sha256}"));
    }
    std::fs::rename(&tmp, to).map_err(|e| e.to_string())
}

fn sha256_of(path: &Path) -> Result<String, String> {
    use std::io::Read;
    let mut f = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        match f.read(&mut buf).map_err(|e| format!("{}: {e}", path.display()))? {
            0 => break,
            n => h.update(&buf[..n]),
        }
    }
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}
