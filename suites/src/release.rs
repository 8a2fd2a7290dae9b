//! Kernel releases as the model compares them.

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Release {
    pub major: u32,
    pub minor: u32,
    pub patch: u32,
}

impl Release {
    /// Every mainline series with clone3, 5.3 (where it came) to 7.2 (the newest the model knows).
    pub const SERIES: &'static [(u32, u32)] = &[
        (5, 3), (5, 4), (5, 5), (5, 6), (5, 7), (5, 8), (5, 9), (5, 10), (5, 11), (5, 12), (5, 13), (5, 14), (5, 15), (5, 16),
        (5, 17), (5, 18), (5, 19), (6, 0), (6, 1), (6, 2), (6, 3), (6, 4), (6, 5), (6, 6), (6, 7), (6, 8), (6, 9), (6, 10),
        (6, 11), (6, 12), (6, 13), (6, 14), (6, 15), (6, 16), (6, 17), (6, 18), (6, 19), (7, 0), (7, 1), (7, 2),
    ];

    /// Is this a series after the newest the model knows? Such a kernel is predicted as that
    /// newest one behaves; what it changed since is for a run to find.
    pub fn beyond_model(self) -> bool {
        let &(major, minor) = Self::SERIES.last().expect("series");
        (self.major, self.minor) > (major, minor)
    }

    pub const fn new(major: u32, minor: u32, patch: u32) -> Self {
        Self { major, minor, patch }
    }

    /// Parses `uname -r` style strings: "6.18.44-fc-v669", "6.12.0-rc3", "7.1".
    pub fn parse(s: &str) -> Option<Self> {
        let mut nums = s
            .split(|c: char| !c.is_ascii_digit())
            .take(3)
            .map(|p| p.parse::<u32>().ok());
        let major = nums.next()??;
        let minor = nums.next()??;
        let patch = nums.next().flatten().unwrap_or(0);
        Some(Self { major, minor, patch })
    }

    /// The release from `uname -r` and `uname -v`. Debian names 6.1 kernels by ABI
    /// ("6.1.0-50-686-pae") and puts the real stable release in the version string
    /// ("#1 SMP PREEMPT_DYNAMIC Debian 6.1.176-1 (2026-…)"): that one wins when it names
    /// the same series.
    pub fn from_uname(release: &str, version: &str) -> Option<Self> {
        let r = Self::parse(release)?;
        let debian = version.split("Debian ").nth(1).and_then(Self::parse);
        Some(match debian {
            Some(d) if (d.major, d.minor) == (r.major, r.minor) && d.patch > r.patch => d,
            _ => r,
        })
    }

    /// "6.18": the key snapshots are stored under.
    pub fn series(self) -> String {
        format!("{}.{}", self.major, self.minor)
    }

    /// Is this release at or after `major.minor`? (The model keys nothing on this: its
    /// release boundaries are the named fixes and features of model::fixes.)
    pub fn at_least(self, major: u32, minor: u32) -> bool {
        (self.major, self.minor) >= (major, minor)
    }
}

impl fmt::Display for Release {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_series_after_the_table_are_beyond_the_model() {
        assert!(Release::new(7, 3, 4).beyond_model());
        assert!(!Release::new(7, 2, 99).beyond_model());
        assert!(!Release::new(5, 10, 262).beyond_model());
    }

    #[test]
    fn parses_uname_strings() {
        assert_eq!(Release::parse("6.18.44-fc-v669"), Some(Release::new(6, 18, 44)));
        assert_eq!(Release::parse("6.12.0-rc3+"), Some(Release::new(6, 12, 0)));
        assert_eq!(Release::parse("7.1"), Some(Release::new(7, 1, 0)));
        assert_eq!(Release::parse("garbage"), None);
    }

    #[test]
    fn debian_abi_names_yield_to_the_real_release() {
        let v = "#1 SMP PREEMPT_DYNAMIC Debian 6.1.176-1 (2026-10-02)";
        assert_eq!(Release::from_uname("6.1.0-50-686-pae", v), Some(Release::new(6, 1, 176)));
        assert_eq!(Release::from_uname("6.12.117+deb13-amd64", "#1 SMP Debian 6.12.117-1"), Some(Release::new(6, 12, 117)));
        assert_eq!(Release::from_uname("6.18.44-fc", "#1 SMP PREEMPT_DYNAMIC @0"), Some(Release::new(6, 18, 44)));
    }

    #[test]
    fn orders_by_number_not_text() {
        assert!(Release::new(6, 9, 0) < Release::new(6, 10, 0));
        assert!(Release::new(5, 3, 11).at_least(5, 3));
        assert!(!Release::new(6, 8, 12).at_least(6, 9));
    }
}
