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

    /// "6.18": the key snapshots are stored under.
    pub fn series(self) -> String {
        format!("{}.{}", self.major, self.minor)
    }

    /// Is this release at or after `major.minor`?
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
    fn parses_uname_strings() {
        assert_eq!(Release::parse("6.18.44-fc-v669"), Some(Release::new(6, 18, 44)));
        assert_eq!(Release::parse("6.12.0-rc3+"), Some(Release::new(6, 12, 0)));
        assert_eq!(Release::parse("7.1"), Some(Release::new(7, 1, 0)));
        assert_eq!(Release::parse("garbage"), None);
    }

    #[test]
    fn orders_by_number_not_text() {
        assert!(Release::new(6, 9, 0) < Release::new(6, 10, 0));
        assert!(Release::new(5, 3, 11).at_least(5, 3));
        assert!(!Release::new(6, 8, 12).at_least(6, 9));
    }
}
