//! Kernel trouble met while the cases ran, and what a run does about it: the taint itself
//! is read and compared by `clone3_runner::taint`.

use crate::{BAD, CANNOT_TEST};
pub use clone3_runner::taint::{compare, read, Taint, TAINTED};

/// `--on-crash`: what an oops, BUG, WARN or new taint during the cases makes of the run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum OnCrash {
    /// Bad (exit 1): the kernel misbehaved while it was exercised; CI must see it.
    #[default]
    Fail,
    /// Cannot test (exit 125): for a bisection that hunts an errno change and must step
    /// over unrelated crashes.
    Skip,
}

impl OnCrash {
    pub fn code(self) -> u8 {
        match self {
            OnCrash::Fail => BAD,
            OnCrash::Skip => CANNOT_TEST,
        }
    }

    /// The exit code a taint comparison gives a run on its own: good unless bits were set.
    pub fn for_taint(self, taint: &Taint) -> u8 {
        match taint {
            Taint::New(_) => self.code(),
            Taint::Unchanged | Taint::Unreadable(_) => crate::GOOD,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_taint_is_bad_or_cannot_test_as_asked() {
        let warned = compare(Ok(0), Ok(1 << 9));
        assert_eq!((OnCrash::Fail.for_taint(&warned), OnCrash::Skip.for_taint(&warned)), (BAD, CANNOT_TEST));
        assert_eq!(OnCrash::Fail.for_taint(&compare(Ok(1), Ok(1))), crate::GOOD);
        assert_eq!(OnCrash::Fail.for_taint(&compare(Err("x".into()), Ok(1))), crate::GOOD);
    }

    #[test]
    fn on_crash_fails_by_default_and_skips_on_request() {
        assert_eq!(OnCrash::default().code(), BAD);
        assert_eq!(OnCrash::Skip.code(), CANNOT_TEST);
    }
}
