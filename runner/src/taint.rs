//! The kernel's taint flags, read before and after the cases (natively and by the agent in
//! a guest) and compared: bits set while the cases ran mean the kernel misbehaved.

pub const TAINTED: &str = "/proc/sys/kernel/tainted";

/// The taint bits, their letters and meanings, after the table in the kernel's
/// Documentation/admin-guide/tainted-kernels.rst (bit 0 is `P` when set, `G` when clear).
const FLAGS: &[(u32, char, &str)] = &[
    (0, 'P', "proprietary module loaded"),
    (1, 'F', "module force-loaded"),
    (2, 'S', "kernel running on an out-of-specification system"),
    (3, 'R', "module force-unloaded"),
    (4, 'M', "machine check exception"),
    (5, 'B', "bad page referenced or unexpected page flags"),
    (6, 'U', "taint requested by user space"),
    (7, 'D', "kernel died recently: OOPS or BUG"),
    (8, 'A', "ACPI table overridden"),
    (9, 'W', "kernel issued a warning"),
    (10, 'C', "staging driver loaded"),
    (11, 'I', "workaround for a platform firmware bug applied"),
    (12, 'O', "externally-built (out-of-tree) module loaded"),
    (13, 'E', "unsigned module loaded"),
    (14, 'L', "soft lockup occurred"),
    (15, 'K', "kernel live-patched"),
    (16, 'X', "auxiliary taint (distribution-defined)"),
    (17, 'T', "kernel built with the struct randomization plugin"),
    (18, 'N', "in-kernel test run"),
    (19, 'J', "user space used a mutating fwctl debug operation"),
];

/// Reads the taint mask, or why it cannot be read.
pub fn read(path: &str) -> Result<u64, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    text.trim().parse().map_err(|_| format!("{path}: not a number: {:?}", text.trim()))
}

/// The set bits of `mask`, each as `W (kernel issued a warning)`, comma-separated.
pub fn decode(mask: u64) -> String {
    (0..64)
        .filter(|b| mask & (1u64 << b) != 0)
        .map(|b| match FLAGS.iter().find(|(bit, _, _)| *bit == b) {
            Some((_, letter, what)) => format!("{letter} ({what})"),
            None => format!("bit {b} (unknown to clone3-abi)"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The taint bits set during the cases, described, or None if nothing new was set.
pub fn new_taint(before: u64, after: u64) -> Option<String> {
    let new = after & !before;
    (new != 0).then(|| format!("the kernel became tainted while the cases ran: {} (tainted {before} before, {after} after)", decode(new)))
}

/// Taint before and after the cases, compared.
#[derive(Debug, PartialEq, Eq)]
pub enum Taint {
    Unchanged,
    /// Not compared: the flags could not be read (a kernel without CONFIG_PROC_SYSCTL).
    Unreadable(String),
    /// Bits were set while the cases ran: the kernel misbehaved (see `new_taint`).
    New(String),
}

pub fn compare(before: Result<u64, String>, after: Result<u64, String>) -> Taint {
    match (before, after) {
        (Ok(b), Ok(a)) => new_taint(b, a).map_or(Taint::Unchanged, Taint::New),
        (Err(e), _) | (_, Err(e)) => Taint::Unreadable(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn taint_bits_decode_to_the_documented_letters() {
        assert_eq!(decode(0), "");
        assert_eq!(decode(1 << 9), "W (kernel issued a warning)");
        assert_eq!(decode((1 << 7) | (1 << 14)), "D (kernel died recently: OOPS or BUG), L (soft lockup occurred)");
        assert_eq!(decode(1), "P (proprietary module loaded)");
        assert!(decode(1 << 40).contains("bit 40"));
        let letters: String = FLAGS.iter().map(|f| f.1).collect();
        assert_eq!(letters, "PFSRMBUDAWCIOELKXTNJ");
        assert!(FLAGS.iter().enumerate().all(|(i, f)| f.0 as usize == i));
    }

    #[test]
    fn only_bits_set_during_the_cases_count() {
        assert_eq!(new_taint(1 << 9, 1 << 9), None, "a warning at boot is not the cases'");
        assert_eq!(new_taint(1 << 13, 0), None);
        let why = new_taint(1 << 13, (1 << 13) | (1 << 9)).unwrap();
        assert!(why.contains("W (kernel issued a warning)") && !why.contains("E ("), "{why}");
        assert_eq!(compare(Ok(0), Ok(0)), Taint::Unchanged);
        assert!(matches!(compare(Ok(0), Ok(1 << 7)), Taint::New(w) if w.contains("D (kernel died recently")));
        assert!(matches!(compare(Err("no file".into()), Ok(1 << 7)), Taint::Unreadable(_)));
    }

    #[test]
    fn the_taint_file_reads_as_a_number() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("tainted");
        std::fs::write(&p, "512\n").unwrap();
        assert_eq!(read(p.to_str().unwrap()), Ok(512));
        std::fs::write(&p, "x\n").unwrap();
        assert!(read(p.to_str().unwrap()).unwrap_err().contains("not a number"));
        assert!(read("/nonexistent/tainted").is_err());
    }
}
