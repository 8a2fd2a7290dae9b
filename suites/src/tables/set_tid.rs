//! set_tid: copy_clone_args_from_user's size checks and alloc_pid's per-level checks.
//! All run in the PID-namespace sandbox, where the suite knows every taken pid.

use crate::case::{Caller, Case, Gate, Ptr, SetTid, Tid};
use crate::flags::{NEWPID, NEWUSER};

fn tid(id: &str, why: &'static str, set_tid: SetTid) -> Case {
    Case { set_tid, needs: &[Gate::PidSandbox], ..Case::base(format!("set_tid.{id}"), why) }
}

fn arr(size: u64, tids: &'static [Tid]) -> SetTid {
    SetTid::new(Ptr::Valid, size, tids)
}

/// The third entry lands outside the sandbox; 0 there fails before anything is taken.
const THIRD_IS_ZERO: &[Tid] = &[Tid::Free, Tid::Free, Tid::Value(0)];

pub fn cases() -> Vec<Case> {
    let mut v = Vec::new();
    for n in 0..=33u64 {
        v.push(tid(&format!("size_{n}"), "set_tid_size n with an array of free pids", arr(n, THIRD_IS_ZERO)));
        v.push(tid(&format!("size_{n}_null"), "set_tid_size n with no array", SetTid::new(Ptr::Null, n, &[])));
    }
    v.extend([
        tid("unmapped_array", "an unmapped set_tid array faults", SetTid::new(Ptr::Unmapped, 1, &[])),
        tid("tid_zero", "pid 0 is invalid", arr(1, &[Tid::Value(0)])),
        tid("tid_minus_one", "pid -1 is invalid", arr(1, &[Tid::Value(-1)])),
        tid("tid_one_taken", "pid 1 exists in the sandbox namespace", arr(1, &[Tid::Value(1)])),
        tid("tid_pid_max", "the level's pid_max itself is out of range", arr(1, &[Tid::PidMax])),
        tid("tid_host_pid_max", "the host's pid_max is valid in a child namespace since 6.14", arr(1, &[Tid::HostPidMax])),
        tid("tid_own", "the caller's own pid is taken", arr(1, &[Tid::Own])),
        tid("tid_own_outer_level", "the caller's pid one level up is taken", arr(2, &[Tid::Free, Tid::Own])),
        tid("tid_freed", "a pid used and reaped a moment ago is free again", arr(1, &[Tid::Freed])),
        tid("two_levels", "pids at the caller's level and the one above", arr(2, &[Tid::Free, Tid::Free])),
        tid("outer_level_invalid", "an invalid pid at the outer level", arr(2, &[Tid::Free, Tid::Value(0)])),
        Case { flags: NEWPID, ..tid("newpid_one", "the init of a new namespace may be asked for as pid 1", arr(1, &[Tid::Value(1)])) },
        Case { flags: NEWPID, ..tid("newpid_no_reaper", "pid != 1 in a namespace with no init yet", arr(1, &[Tid::Free])) },
        Case { flags: NEWPID, ..tid("nested_2_levels", "pid 1 in the new namespace and a chosen pid in ours", arr(2, &[Tid::Value(1), Tid::Free])) },
        Case { flags: NEWPID, ..tid("nested_3_levels", "three levels, all chosen", arr(3, &[Tid::Value(1), Tid::Free, Tid::Free])) },
        Case { flags: NEWPID, ..tid("nested_4_levels_outer_zero", "the fourth level is outside the sandbox: 0 fails there", arr(4, &[Tid::Value(1), Tid::Free, Tid::Free, Tid::Value(0)])) },
        Case { flags: NEWPID, ..tid("nested_taken_in_ours", "pid 1 in the new namespace, a taken pid in ours", arr(2, &[Tid::Value(1), Tid::Own])) },
        Case { flags: NEWPID, ..tid("newpid_size_5", "one more level than exists", arr(5, &[Tid::Value(1)])) },
        Case { caller: Caller::NoCaps, ..tid("no_caps", "without CAP_CHECKPOINT_RESTORE or CAP_SYS_ADMIN", arr(1, &[Tid::Free])) },
        Case { caller: Caller::NoCaps, ..tid("no_caps_invalid_tid", "an invalid pid is found before the missing capability", arr(1, &[Tid::Value(0)])) },
        Case { caller: Caller::NoCaps, flags: NEWPID, ..tid("no_caps_newpid", "the namespace EPERM comes first", arr(1, &[Tid::Value(1)])) },
        Case {
            caller: Caller::NoCaps,
            flags: NEWUSER | NEWPID,
            ..tid("no_caps_newuser_newpid", "a caller owns the user namespace it creates", arr(1, &[Tid::Value(1)]))
        },
        Case {
            caller: Caller::NoCaps,
            flags: NEWUSER | NEWPID,
            ..tid("no_caps_newuser_newpid_outer", "but not the level above it", arr(2, &[Tid::Value(1), Tid::Free]))
        },
        // Table gap [9]: where 7.0's alloc_pid order (every level checked before any is taken) differs.
        tid("own_then_zero", "a taken inner pid and an invalid outer one: which is looked at first", arr(2, &[Tid::Own, Tid::Value(0)])),
        Case { flags: NEWPID, ..tid("newpid_free_then_own", "no reaper for a chosen pid, a taken one above", arr(2, &[Tid::Free, Tid::Own])) },
        Case {
            caller: Caller::NoCaps,
            flags: NEWUSER | NEWPID,
            ..tid("newuser_newpid_nocaps_free_free", "no reaper in the new level, no capability in ours", arr(2, &[Tid::Free, Tid::Free]))
        },
    ]);
    v
}
