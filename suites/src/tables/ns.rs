//! Namespaces created by a caller without capabilities (copy_namespaces, create_user_ns).

use crate::case::{Caller, Case};
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
    ]
}
