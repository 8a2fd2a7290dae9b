//! Namespaces created by a caller without capabilities (copy_namespaces, create_user_ns).

use super::STACK;
use crate::case::{Caller, Case, Gate, Stack};
use crate::flags::*;

fn ns(id: &str, why: &'static str, flags: u64) -> Case {
    Case { flags, caller: Caller::NoCaps, ..Case::base(format!("ns.{id}"), why) }
}

pub fn cases() -> Vec<Case> {
    vec![
        ns("no_caps_newpid", "a new PID namespace needs CAP_SYS_ADMIN", NEWPID),
        ns("no_caps_newnet", "a new network namespace needs CAP_SYS_ADMIN", NEWNET),
        ns("no_caps_newns", "a new mount namespace needs CAP_SYS_ADMIN", NEWNS),
        ns("no_caps_newtime", "a new time namespace needs CAP_SYS_ADMIN", NEWTIME),
        ns("no_caps_newipc_sysvsem", "EPERM before the NEWIPC|SYSVSEM EINVAL", NEWIPC | SYSVSEM),
        ns("no_caps_newuser", "a user namespace needs no capability", NEWUSER),
        ns("no_caps_newuser_newpid", "a caller owns the user namespace it creates", NEWUSER | NEWPID),
        ns("no_caps_newuser_newnet_newns", "all namespaces under a new user namespace", NEWUSER | NEWNET | NEWNS),
        ns("no_caps_plain", "a plain child needs no capability", 0),
        // Table gap [17]: EMPTY_MNTNS implies NEWNS (7.1).
        ns("no_caps_empty_mntns", "an empty mount namespace needs CAP_SYS_ADMIN", EMPTY_MNTNS),
        // Found by the fuzzer (seed 8): an init sharing our handlers sets our SIGCHLD to SIG_IGN.
        Case {
            caller: Caller::Worker,
            stack: Stack::Mapped(STACK),
            ..ns("newpid_init_shares_sighand", "the init's exit leaves SIGCHLD ignored for the caller too", NEWPID | SIGHAND | VM)
        },
        // Gap [16]: a caller in a user namespace of its own, whose limits it may set.
        Case { caller: Caller::UserNs, needs: &[Gate::OwnUserNs], ..ns("own_user_ns_newpid", "the root of a user namespace may make a PID namespace", NEWPID) },
        Case {
            caller: Caller::UserNsWithoutRoom,
            needs: &[Gate::OwnUserNs],
            ..ns("max_pid_namespaces_zero", "user.max_pid_namespaces = 0: ENOSPC, whatever the capabilities", NEWPID)
        },
        Case {
            caller: Caller::UserNsWithoutRoom,
            needs: &[Gate::OwnUserNs],
            ..ns("max_user_namespaces_zero", "user.max_user_namespaces = 0: ENOSPC", NEWUSER)
        },
        Case {
            caller: Caller::UserNsWithoutRoom,
            needs: &[Gate::OwnUserNs],
            ..ns("max_pid_namespaces_zero_newnet", "each kind has its own limit", NEWNET)
        },
        Case {
            caller: Caller::Worker,
            stack: Stack::Mapped(STACK),
            exit_signal: 10,
            ..ns("newpid_init_shares_sighand_sigusr1", "a non-SIGCHLD exit signal is still sent", NEWPID | SIGHAND | VM)
        },
    ]
}
