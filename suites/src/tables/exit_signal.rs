//! exit_signal: copy_clone_args_from_user's CSIGNAL and valid_signal checks (and their
//! v7.1 move to kernel_clone). SIGKILL and SIGSTOP are left out on purpose: the caller
//! would be killed or stopped when the child exits.

use crate::case::{Case, Ptr, SetTid, Stack};
use crate::flags::{PARENT, THREAD};

fn sig(id: &str, why: &'static str, exit_signal: u64) -> Case {
    Case { exit_signal, ..Case::base(format!("exit_signal.{id}"), why) }
}

pub fn cases() -> Vec<Case> {
    vec![
        sig("zero", "no signal at exit", 0),
        sig("sigchld", "the usual SIGCHLD", crate::case::SIGCHLD),
        sig("sigusr1", "any valid signal may be the exit signal", 10),
        sig("sigrtmin", "a real-time signal (34)", 34),
        sig("nsig_64", "_NSIG (64) is the largest valid", 64),
        sig("glibc_internal_32", "32 (glibc's SIGCANCEL) is an ordinary exit signal to the kernel", 32),
        sig("nsig_plus_1", "65 is not a valid signal", 65),
        sig("ff", "0xff fits CSIGNAL but is not a valid signal", 0xff),
        sig("bit8", "0x100 is outside CSIGNAL", 0x100),
        sig("bit32", "a bit in the upper half of the word", 1 << 32),
        sig("bit63", "the top bit", 1 << 63),
        sig("all_ones", "every bit", u64::MAX),
        sig("sigchld_with_high_bit", "a valid signal with a high bit set", (1 << 40) | 17),
        Case {
            set_tid: SetTid::new(Ptr::Unmapped, 1, &[]),
            ..sig("nsig_plus_1_with_unmapped_set_tid", "which check comes first moved in v7.1 (09e7827e7857)", 65)
        },
        Case { flags: PARENT, ..sig("parent_with_sigusr1", "CLONE_PARENT refuses any exit signal", 10) },
        Case { flags: THREAD, stack: Stack::Mapped(super::STACK), ..sig("thread_with_sigusr1", "CLONE_THREAD refuses any exit signal first", 10) },
    ]
}
