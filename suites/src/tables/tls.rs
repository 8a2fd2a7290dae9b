//! CLONE_SETTLS: what the child's thread pointer becomes (arch-specific, see TlsRule).
//! Every case gives the child its own stack: the child code never touches TLS.

use super::STACK;
use crate::case::{Case, Ptr, Stack, Tls};
use crate::flags::*;

fn tls(id: &str, why: &'static str, tls: Tls) -> Case {
    Case { flags: SETTLS, tls, stack: Stack::Mapped(STACK), ..Case::base(format!("tls.{id}"), why) }
}

pub fn cases() -> Vec<Case> {
    vec![
        tls("page", "the child reads back the TLS base it was given", Tls::Page),
        tls("arch_tls", "a thread pointer set the arch's way (i386: a user_desc for the %gs slot)", Tls::ArchTls),
        tls("zero", "tls 0 (x86_64: FS base 0; i386: a NULL user_desc)", Tls::Raw(0)),
        tls("four_level_task_size_max", "x86_64 refuses a base at 4-level TASK_SIZE_MAX (5-level paging takes it)", Tls::Raw((1 << 47) - 4096)),
        tls("u64_max", "an all-ones base", Tls::Raw(u64::MAX)),
        tls("low_address", "a low but non-zero base", Tls::Raw(0x1000)),
        Case { flags: 0, ..tls("without_flag", "tls is ignored without CLONE_SETTLS", Tls::Raw(u64::MAX)) },
        Case {
            flags: SETTLS | THREAD | SIGHAND | VM | CHILD_CLEARTID,
            exit_signal: 0,
            child_tid: Ptr::Valid,
            ..tls("thread", "a thread with its own TLS, as pthread_create makes it", Tls::Page)
        },
    ]
}
