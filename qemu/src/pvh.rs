//! x86 PVH boots: QEMU starts an ELF vmlinux directly (no real-mode setup, no
//! decompressor), about a second faster than the bzImage under TCG. The ELF is the
//! bzImage's payload, decompressed (zstd on Debian 6.12, xz on 6.1).

use std::io::Read;
use std::path::{Path, PathBuf};

/// The ELF next to `bzimage` (`<bzimage>.elf`), made once per bzImage (again when the
/// bzImage is newer, e.g. re-unpacked after a failed check).
/// `<bzImage>.elf`, next to it.
pub fn elf_name(bzimage: &Path) -> PathBuf {
    let mut name = bzimage.file_name().unwrap_or_default().to_os_string();
    name.push(".elf");
    bzimage.with_file_name(name)
}

pub fn elf_for(bzimage: &Path) -> Result<PathBuf, String> {
    let elf = elf_name(bzimage);
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    if elf.is_file() && modified(&elf) >= modified(bzimage) {
        return Ok(elf);
    }
    let data = std::fs::read(bzimage).map_err(|e| format!("{}: {e}", bzimage.display()))?;
    let image = extract(&data).map_err(|e| format!("{}: cannot extract the ELF for PVH: {e}", bzimage.display()))?;
    clone3_report::write_atomically(&elf, &image).map_err(|e| format!("{}: {e}", elf.display()))?;
    Ok(elf)
}

/// Documentation/arch/x86/boot.rst: setup_sects at 0x1f1, payload_offset and
/// payload_length at 0x248/0x24c (protocol 2.08+), relative to the protected-mode code.
fn extract(bz: &[u8]) -> Result<Vec<u8>, String> {
    let u32_at = |off: usize| bz.get(off..off + 4).map(|b| u32::from_le_bytes(b.try_into().unwrap()) as usize);
    if bz.get(0x202..0x206) != Some(b"HdrS") {
        return Err("not a bzImage".into());
    }
    let setup_sects = match bz[0x1f1] {
        0 => 4,
        n => n as usize,
    };
    let start = (setup_sects + 1) * 512 + u32_at(0x248).ok_or("short header")?;
    let len = u32_at(0x24c).ok_or("short header")?;
    let payload = bz.get(start..start + len).ok_or("payload outside the file")?;
    // The kernel's build appends the decompressed size (4 bytes) after the stream
    // (arch/x86/boot/compressed/Makefile: *_with_size).
    let stream = &payload[..payload.len().saturating_sub(4)];
    let mut out = Vec::new();
    if payload.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        let mut dec = ruzstd::decoding::StreamingDecoder::new(stream).map_err(|e| format!("zstd: {e}"))?;
        dec.read_to_end(&mut out).map_err(|e| format!("zstd: {e}"))?;
    } else if payload.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0]) {
        // liblzma, for the x86 BCJ filter Debian's xz kernels use.
        xz2::read::XzDecoder::new(stream).read_to_end(&mut out).map_err(|e| format!("xz: {e}"))?;
    } else {
        return Err(format!("payload compressed with an unsupported format ({:02x?})", &payload[..payload.len().min(4)]));
    }
    if !out.starts_with(b"\x7fELF") {
        return Err("the payload is not an ELF".into());
    }
    Ok(out)
}
