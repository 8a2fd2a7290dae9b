//! The guest's initramfs: a gzip-compressed cpio "newc" archive holding the agent as
//! `/init` and the empty directories it mounts on.

use flate2::write::GzEncoder;
use std::io::Write;

pub fn build(agent: &[u8]) -> Vec<u8> {
    let mut cpio = Vec::new();
    let mut ino = 1;
    for dir in ["dev", "proc", "sys", "tmp"] {
        entry(&mut cpio, &mut ino, dir, 0o040755, &[]);
    }
    entry(&mut cpio, &mut ino, "init", 0o100755, agent);
    entry(&mut cpio, &mut ino, "TRAILER!!!", 0, &[]);
    let mut gz = GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&cpio).expect("in memory");
    gz.finish().expect("in memory")
}

/// One newc record: a 110-byte ASCII header, the name, the data, each padded to 4 bytes.
fn entry(out: &mut Vec<u8>, ino: &mut u32, name: &str, mode: u32, data: &[u8]) {
    let fields = [*ino, mode, 0, 0, 1, 0, data.len() as u32, 0, 0, 0, 0, name.len() as u32 + 1, 0];
    *ino += 1;
    out.extend_from_slice(b"070701");
    for f in fields {
        out.extend_from_slice(format!("{f:08x}").as_bytes());
    }
    out.extend_from_slice(name.as_bytes());
    out.push(0);
    pad4(out);
    out.extend_from_slice(data);
    pad4(out);
}

fn pad4(out: &mut Vec<u8>) {
    while out.len() % 4 != 0 {
        out.push(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn newc_layout() {
        let gz = build(b"#!agent");
        let mut cpio = Vec::new();
        flate2::read::GzDecoder::new(&gz[..]).read_to_end(&mut cpio).unwrap();
        assert!(cpio.starts_with(b"070701"));
        assert_eq!(cpio.len() % 4, 0);
        let text = String::from_utf8_lossy(&cpio);
        assert!(text.contains("init\0") && text.contains("#!agent") && text.contains("TRAILER!!!"));
    }
}
