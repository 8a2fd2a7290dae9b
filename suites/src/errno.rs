//! Error numbers by name. The model speaks in names; the runner maps the raw number it
//! observed with the target's own `libc` constants (they differ on mips, alpha, parisc).

use serde::{Deserialize, Serialize};

macro_rules! errnos {
    ($($name:ident),* $(,)?) => {
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[allow(clippy::upper_case_acronyms)]
        pub enum Errno { $($name,)* }
        impl Errno {
            pub const ALL: &'static [Errno] = &[$(Errno::$name,)*];
            pub fn name(self) -> &'static str {
                match self { $(Errno::$name => stringify!($name),)* }
            }
        }
    };
}

errnos!(EPERM, ENOENT, EINTR, EBADF, EAGAIN, ENOMEM, EACCES, EFAULT, EBUSY, EEXIST, EINVAL, EMFILE, ENOSPC, E2BIG, ENOSYS, EOPNOTSUPP);

impl std::fmt::Display for Errno {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
