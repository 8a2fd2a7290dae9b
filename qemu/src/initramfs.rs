//! The guest's initramfs: a gzip-compressed cpio "newc" archive holding the agent as
//! `/init` and the empty directories it mounts on.

use cpio::newc::{trailer, Builder};
use flate2::write::GzEncoder;
use std::io::Write;

/// The archive, gzip-compressed when `gzip` (the kernel then needs CONFIG_RD_GZIP).
pub fn build(agent: &[u8], gzip: bool) -> Vec<u8> {
    let mut out = Vec::new();
    let mut ino = 1;
    for dir in ["dev", "proc", "sys", "tmp"] {
        out = entry(out, &mut ino, dir, 0o040755, 2, &[]);
    }
    out = entry(out, &mut ino, "init", 0o100755, 1, agent);
    let cpio = trailer(out).expect("in memory");
    if !gzip {
        return cpio;
    }
    let mut gz = GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&cpio).expect("in memory");
    gz.finish().expect("in memory")
}

/// One newc record, owned by root, mtime 0 (the archive is a function of the agent alone).
fn entry(out: Vec<u8>, ino: &mut u32, name: &str, mode: u32, nlink: u32, data: &[u8]) -> Vec<u8> {
    let mut w = Builder::new(name).ino(*ino).mode(mode).nlink(nlink).write(out, data.len() as u32);
    *ino += 1;
    w.write_all(data).expect("in memory");
    w.finish().expect("in memory")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    /// GNU cpio, what initramfs tooling uses, reads back what the kernel will unpack.
    #[test]
    fn gnu_cpio_lists_and_extracts_it() {
        let gz = build(b"#!agent", true);
        let mut cpio = Vec::new();
        flate2::read::GzDecoder::new(&gz[..]).read_to_end(&mut cpio).unwrap();
        assert_eq!(cpio, build(b"#!agent", false), "the same archive, compressed or not");
        let dir = tempfile::tempdir().unwrap();
        let run = |args: &[&str]| {
            let mut child = match std::process::Command::new("cpio")
                .args(args)
                .current_dir(dir.path())
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::null())
                .spawn()
            {
                Ok(c) => c,
                Err(_) => return None,
            };
            child.stdin.take().unwrap().write_all(&cpio).unwrap();
            Some(child.wait_with_output().unwrap())
        };
        let Some(list) = run(&["-itv", "--quiet"]) else {
            assert!(std::env::var_os("CI").is_none(), "CI installs cpio (ci/build-test-kernels.sh)");
            return;
        };
        assert!(list.status.success());
        let text = String::from_utf8_lossy(&list.stdout);
        let rows: Vec<Vec<&str>> = text.lines().map(|l| l.split_whitespace().collect()).collect();
        let names: Vec<&str> = rows.iter().filter_map(|r| r.last().copied()).collect();
        assert_eq!(names, ["dev", "proc", "sys", "tmp", "init"], "{text}");
        let init = rows.iter().find(|r| r.last() == Some(&"init")).unwrap();
        assert_eq!((init[0], init[2], init[3], init[4]), ("-rwxr-xr-x", "root", "root", "7"), "{text}");
        assert!(rows[..4].iter().all(|r| r[0] == "drwxr-xr-x"), "{text}");
        assert!(run(&["-idm", "--quiet"]).unwrap().status.success());
        assert_eq!(std::fs::read(dir.path().join("init")).unwrap(), b"#!agent");
    }
}
