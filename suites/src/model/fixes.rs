//! Every change of behaviour the model keys on a kernel release, as data. A rule never
//! compares releases itself: it asks [`Env::has`] "does this kernel have fix X?", or
//! [`Env::has_feature`] "does it have feature Y?".
//!
//! Where the line runs: a **fix** corrects or regresses what an existing ABI does (a check
//! added, moved, loosened, or a value the kernel mishandled) and may reach stable series, so
//! it is known by its mainline release *and* the stable point releases that took it, and a
//! run may override it (`Env::fixes`, for kernels with backports of their own, such as a
//! vendor's). A **feature** is new ABI (a flag, a struct field, a newly allowed flag
//! combination, a new capability): it comes with one mainline release and is never
//! backported, so it stays a plain "since". Which clone3 syscalls an arch wires up is the
//! arch profile's (`ArchProfile::clone3_since`).
//!
//! Sources for the stable point releases, as far as they can be read here (no stable git
//! tree): Debian's linux changelog (the upstream stable changelogs each Debian upload took,
//! read in linux-source-6.12 6.12.118-1~deb12u1's changelog.Debian), stable review cycles
//! and release announcements on the stable list, and the stable queue push logs. A series
//! not listed is taken as unfixed; where a series is known to be unsure the `evidence` says so.

use crate::{Env, Release};

/// One fix (or regression) and where it landed.
#[derive(Debug)]
pub struct Fix {
    /// The name rules and `--fixes +name,-name` use: `[a-z0-9_]`.
    pub name: &'static str,
    /// The first mainline release with it (x.y.0).
    pub mainline: Release,
    /// ((major, minor) of a stable series, the first point release of it that has it).
    pub stable: &'static [((u32, u32), u32)],
    /// The mainline commit (12 hex digits), or "" where it could not be read here.
    pub commit: &'static str,
    pub subject: &'static str,
    /// The rule ids it changes (`success.<field>` for what a successful child sees).
    pub rules: &'static [&'static str],
    /// The table cases whose prediction (outcome or deciding rule) differs with and without
    /// it, for a root worker in the sandbox, per arch profile; checked by the model's tests
    /// at every boundary the fix has.
    pub cases: &'static [Changes],
    /// Where the releases above come from, and what is unsure.
    pub evidence: &'static str,
}

/// Table cases a fix changes on some arch profiles (`arches` empty: every profile with clone3).
#[derive(Debug)]
pub struct Changes {
    pub arches: &'static [&'static str],
    pub ids: &'static [&'static str],
}

/// New ABI: one mainline release, never backported.
#[derive(Debug)]
pub struct Feature {
    pub name: &'static str,
    pub since: Release,
    pub commit: &'static str,
    pub subject: &'static str,
}

impl Fix {
    /// Does `r` carry this fix: mainline from `mainline` on, or a listed stable series from
    /// its point release on?
    pub fn in_release(&self, r: Release) -> bool {
        r >= self.mainline || self.stable.iter().any(|&((ma, mi), p)| (r.major, r.minor) == (ma, mi) && r.patch >= p)
    }

    /// The table cases this fix changes on `arch`.
    pub fn cases_on(&self, arch: &str) -> Vec<&'static str> {
        let mut ids: Vec<&'static str> = self
            .cases
            .iter()
            .filter(|c| c.arches.is_empty() || c.arches.contains(&arch))
            .flat_map(|c| c.ids.iter().copied())
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    /// "6.3, 5.10.175, 6.1.20": where it landed, for rule source lines.
    pub fn releases(&self) -> String {
        let mut out = format!("{}.{}", self.mainline.major, self.mainline.minor);
        for ((ma, mi), p) in self.stable {
            out.push_str(&format!(", {ma}.{mi}.{p}"));
        }
        out
    }
}

const fn r(major: u32, minor: u32) -> Release {
    Release::new(major, minor, 0)
}

const ALL: &[&str] = &[];
const X86_64_KERNELS: &[&str] = &["x86_64", "i386"];
const GROWS_DOWN: &[&str] = &["x86_64", "i386", "i386-native", "aarch64", "riscv64"];

/// The cases a child runs on a given stack in, or that give raw stack values.
const STACK_CHILDREN: &[&str] = &[
    "combo.pthread_like",
    "combo.sighand_vm_files_fs",
    "combo.thread_parent",
    "combo.thread_sighand_vm",
    "combo.vfork_vm",
    "combo.vm_with_exit_signal_zero",
    "flags.alone_vm",
    "ns.newpid_init_shares_sighand",
    "ns.newpid_init_shares_sighand_sigusr1",
    "stack.between_task_size_max_and_sign_bit",
    "stack.kernel_address",
    "stack.mapped",
    "stack.mapped_small",
    "stack.mapped_unaligned_size",
    "stack.mapped_vfork_vm",
    "stack.mapped_vm",
    "stack.past_user_limit",
    "stack.size_without_stack",
    "stack.stack_without_size",
    "stack.wraps_around",
    "tid.child_cleartid_vm",
    "tid.settid_cleartid_thread",
    "tls.arch_tls",
    "tls.without_flag",
];

pub static FIXES: &[Fix] = &[
    Fix {
        name: "clone3_stack_validation",
        mainline: r(5, 4),
        stable: &[((5, 3), 11)],
        commit: "fa729c4df558",
        subject: "clone3: validate stack arguments",
        rules: &[
            "args_valid.stack_size_without_stack",
            "args_valid.stack_without_size",
            "args_valid.stack_not_user",
            "success.sp",
            "success.fate",
        ],
        cases: &[
            // Every mapped stack was the raw SP (the child faults), every raw one unchecked.
            Changes { arches: GROWS_DOWN, ids: STACK_CHILDREN },
            // Not on an ia32 task of an x86_64 kernel, where it cannot run (Gate::UserRangeTop).
            Changes { arches: &["x86_64", "i386-native", "aarch64", "riscv64"], ids: &["stack.ends_at_user_limit"] },
            Changes {
                arches: &["x86_64", "aarch64", "riscv64"],
                ids: &["flags.alone_settls", "tls.low_address", "tls.page", "tls.thread", "tls.zero"],
            },
            Changes { arches: &["aarch64", "riscv64"], ids: &["tls.four_level_task_size_max", "tls.u64_max"] },
            // Raw high bits: a 32-bit kernel never sees them (0 and 0 either way).
            Changes {
                arches: &["x86_64", "i386", "aarch64", "riscv64", "parisc"],
                ids: &["stack.size_high_bits_only", "stack.stack_high_bits_only"],
            },
            // STACK_GROWSUP took `stack` as the base anyway, and access_ok refuses nothing.
            Changes { arches: &["parisc"], ids: &["stack.size_without_stack", "stack.stack_without_size"] },
        ],
        evidence: "5.3.11: Debian's changelog (upstream 5.3.11, in linux 5.3.15-1); before it `stack` was the \
                   child's raw SP and stack_size was not looked at",
    },
    Fix {
        name: "copy_thread_tls",
        mainline: r(5, 5),
        stable: &[((5, 4), 12)],
        commit: "dd499f7a7e34",
        subject: "clone3: ensure copy_thread_tls is implemented (with arm64, riscv, parisc, arm, um: Implement \
                  copy_thread_tls)",
        rules: &["success.tls_readback"],
        cases: &[Changes {
            arches: &["aarch64", "riscv64", "parisc"],
            ids: &[
                "flags.alone_settls",
                "tls.arch_tls",
                "tls.four_level_task_size_max",
                "tls.low_address",
                "tls.page",
                "tls.thread",
                "tls.u64_max",
                "tls.zero",
            ],
        }],
        evidence: "5.5-rc6 (tag clone3-tls-v5.5-rc6); 5.4.12: Debian's changelog (upstream 5.4.12, in linux \
                   5.4.13-1) lists \"[arm64] Implement copy_thread_tls\", \"[riscv64] …\", \"[hppa/parisc] …\" and \
                   \"clone3: ensure copy_thread_tls is implemented\". 5.3.y ended (5.3.18) without it. Since then \
                   clone3 is ENOSYS on an arch without copy_thread_tls, none of which has a profile (review finding \
                   5)",
    },
    Fix {
        name: "newtime_in_clone3",
        mainline: r(6, 3),
        stable: &[((5, 10), 175), ((5, 15), 103), ((6, 1), 20), ((6, 2), 7)],
        commit: "a402f1e35313",
        subject: "fork: allow CLONE_NEWTIME in clone3 flags",
        rules: &["args_valid.csignal_or_detached"],
        cases: &[Changes {
            arches: ALL,
            ids: &[
                "flags.alone_newtime",
                "combo.all_namespaces",
                "ns.no_caps_newtime",
            ],
        }],
        evidence: "all four from the stable batch of 15 Mar 2023: 6.1.20 in Debian's changelog (linux 6.1.20-1); \
                   5.10.175 and 5.15.103 in their -rc1 review shortlogs; 6.2.7 in the queue/6.2 push of that day \
                   (the same batch as the 6.2.7-rc1 review). 5.4 has no time namespaces (review finding 6)",
    },
    Fix {
        name: "x86_access_ok_sign_bit",
        mainline: r(6, 4),
        stable: &[],
        commit: "",
        subject: "x86-64: make access_ok() independent of LAM",
        rules: &["args_valid.stack_not_user"],
        cases: &[Changes { arches: X86_64_KERNELS, ids: &["stack.between_task_size_max_and_sign_bit", "stack.past_user_limit"] }],
        evidence: "a regression, not a fix: from 6.4 x86_64's valid_user_address() only tested the sign bit, so \
                   access_ok(stack, stack_size) took any range ending below 2^63 that does not wrap (the hunk is \
                   quoted in tglx's March 2024 sparse fix; commit id not read here). Undone by x86_user_ptr_max \
                   (review finding 2)",
    },
    Fix {
        name: "x86_user_ptr_max",
        mainline: r(6, 12),
        stable: &[((6, 11), 6)],
        commit: "86e6b1547b3d",
        subject: "x86: fix user address masking non-canonical speculation issue",
        rules: &["args_valid.stack_not_user"],
        cases: &[
            Changes { arches: X86_64_KERNELS, ids: &["stack.between_task_size_max_and_sign_bit", "stack.past_user_limit"] },
            Changes { arches: &["x86_64"], ids: &["stack.ends_at_user_limit"] },
        ],
        evidence: "6.12-rc5; 6.11.6: Debian's changelog (linux 6.11.6-1) and CVE-2024-50102 (\"affected >=6.4.0 \
                   <6.11.6\"). It set USER_PTR_MAX = TASK_SIZE_MAX - 1 (see x86_access_ok_off_by_one). 6.6.y: a \
                   backport series was posted by Jimmy Tran in July 2025; whether it landed is not known here, so \
                   6.6 counts as without it",
    },
    Fix {
        name: "x86_access_ok_off_by_one",
        mainline: r(6, 13),
        stable: &[((6, 11), 11), ((6, 12), 2)],
        commit: "573f45a9f9a4",
        subject: "x86: fix off-by-one in access_ok()",
        rules: &["args_valid.stack_not_user"],
        cases: &[Changes { arches: &["x86_64"], ids: &["stack.ends_at_user_limit"] }],
        evidence: "6.13-rc1 merge window; 6.12.2: the \"Linux 6.12.2\" announcement's shortlog; 6.11.11: \"[PATCH \
                   6.11 480/817]\" (3 Dec 2024) and that day's linux-6.11.y push. Debian 6.12.118's common.c has \
                   USER_PTR_MAX = TASK_SIZE_MAX. Seen through stack.ends_at_user_limit (gap [1])",
    },
    Fix {
        name: "copy_sighand_u64_flags",
        mainline: r(6, 18),
        stable: &[((5, 10), 246), ((5, 15), 195), ((6, 1), 157), ((6, 6), 113), ((6, 12), 54), ((6, 17), 4)],
        commit: "04ff48239f46",
        subject: "copy_sighand: Handle architectures where sizeof(unsigned long) < sizeof(u64)",
        rules: &["success.handlers_default"],
        cases: &[Changes {
            arches: &["i386-native"],
            ids: &["flags.alone_clear_sighand", "sighand.clear", "sighand.clear_with_vfork", "sighand.clear_with_vm"],
        }],
        evidence: "6.12.54: Debian's changelog (linux 6.12.57-1); 6.1.157: Debian's 6.1 changelog (seen working on \
                   Debian 6.1.176 686-pae); 5.10.246, 5.15.195, 6.6.113, 6.17.4: their -rc1 reviews (17 and 27 Oct \
                   2025) carry \"[PATCH x.y n/m] copy_sighand: …\". Native 32-bit kernels only (review finding 8)",
    },
    Fix {
        name: "alloc_pid_checks_first",
        mainline: r(7, 0),
        stable: &[],
        commit: "6d864a1b1825",
        subject: "pid: only take pidmap_lock once on alloc",
        rules: &["alloc_pid.set_tid"],
        cases: &[Changes { arches: ALL, ids: &["set_tid.newuser_newpid_nocaps_free_free", "set_tid.own_then_zero"] }],
        evidence: "the order read in Debian's linux-source-7.2 7.2.13-1 kernel/pid.c (alloc_pid): every set_tid level's \
                   range and capability checks before pidmap_lock is taken, then one locked loop that allocates each level \
                   and checks its reaper after the allocation; a third-party copy of a pre-7.2 pid.c with the same loops \
                   agrees. The commit is in the vfs-7.0 misc branch (linux-next, Jan 2026; pulled for 7.0-rc1); its diff \
                   was not read, so that the reaper check moved in this same commit rests on that copy. Not backported: a \
                   performance change. Seen on the x86_64-sid guest (7.2.13), `qemu --fuzz 20000 --seed 31`: with the 6.19 \
                   order 55 findings (53 EEXIST predicted, EINVAL seen: an inner taken pid and an outer bad one; 2 EINVAL \
                   predicted, EPERM seen: NoCaps NEWUSER|NEWPID), with this fix none; 100000 inputs, none (review finding \
                   12). The set_tid.own_then_zero and set_tid.newuser_newpid_nocaps_free_free cases tell the orders \
                   apart (suites/TABLE-GAPS.md [9])",
    },
    Fix {
        name: "exit_signal_in_kernel_clone",
        mainline: r(7, 1),
        stable: &[],
        commit: "09e7827e7857",
        subject: "kernel/fork: validate exit_signal in kernel_clone()",
        rules: &["copy_args.exit_signal_invalid", "kernel_clone.exit_signal_invalid"],
        cases: &[Changes {
            arches: ALL,
            ids: &["exit_signal.nsig_plus_1", "exit_signal.ff", "exit_signal.nsig_plus_1_with_unmapped_set_tid"],
        }],
        evidence: "merged for v7.1; its 6.12 and 7.0 stable backports were questioned by Oleg (7 Jun 2026: \"I don't \
                   think this is the -stable material\") and Debian 6.12.118's fork.c still checks valid_signal in \
                   copy_clone_args_from_user, so no stable series is listed",
    },
];

pub static FEATURES: &[Feature] = &[
    Feature {
        name: "set_tid",
        since: r(5, 5),
        commit: "49cb2fc42ce4",
        subject: "fork: extend clone3() to support setting a PID",
    },
    Feature {
        name: "clear_sighand",
        since: r(5, 5),
        commit: "b612e5df4587",
        subject: "clone3: add CLONE_CLEAR_SIGHAND",
    },
    Feature {
        name: "into_cgroup",
        since: r(5, 7),
        commit: "ef2c41cf38a7",
        subject: "clone3: allow spawning processes into cgroups",
    },
    Feature {
        name: "set_tid_checkpoint_restore",
        since: r(5, 9),
        commit: "",
        subject: "pid: use checkpoint_restore_ns_capable() for set_tid (with \"capabilities: Introduce \
                  CAP_CHECKPOINT_RESTORE\")",
    },
    Feature {
        name: "pidfd_thread",
        since: r(6, 9),
        commit: "83b290c9e3b5",
        subject: "pidfd: clone: allow CLONE_THREAD | CLONE_PIDFD together",
    },
    Feature {
        name: "pid_max_per_ns",
        since: r(6, 14),
        commit: "7863dcc72d0f",
        subject: "pid: allow pid_max to be set per pid namespace",
    },
    Feature {
        name: "autoreap_nnp_autokill",
        since: r(7, 1),
        commit: "",
        subject: "clone: add CLONE_AUTOREAP; clone: add CLONE_NNP; pidfd: add CLONE_PIDFD_AUTOKILL",
    },
    Feature {
        name: "empty_mntns",
        since: r(7, 1),
        commit: "9d4e752a24f7",
        subject: "CLONE_EMPTY_MNTNS (id and release from a third-party doc only)",
    },
];

pub fn fix(name: &str) -> &'static Fix {
    FIXES.iter().find(|f| f.name == name).unwrap_or_else(|| panic!("no fix named {name:?} in model::fixes::FIXES"))
}

pub fn feature(name: &str) -> &'static Feature {
    let found = FEATURES.iter().find(|f| f.name == name);
    found.unwrap_or_else(|| panic!("no feature named {name:?} in model::fixes::FEATURES"))
}

/// `+name,-name` (the form of `--fixes`): `+` the kernel carries the fix whatever its
/// release says, `-` it does not. Unknown names are refused with the list of known ones.
pub fn parse_overrides(text: &str) -> Result<std::collections::BTreeMap<String, bool>, String> {
    let mut out = std::collections::BTreeMap::new();
    for item in text.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        let (has, name) = match item.split_at(1) {
            ("+", n) => (true, n),
            ("-", n) => (false, n),
            _ => return Err(format!("{item:?}: write +name (the kernel has the fix) or -name (it does not)")),
        };
        if !FIXES.iter().any(|f| f.name == name) {
            let names: Vec<&str> = FIXES.iter().map(|f| f.name).collect();
            return Err(format!("no fix named {name:?}; known: {}", names.join(", ")));
        }
        out.insert(name.to_string(), has);
    }
    Ok(out)
}

/// Names in an override map that no fix has (for a `--fixes` flag to refuse).
pub fn unknown_overrides(env: &Env) -> Vec<String> {
    env.fixes.keys().filter(|k| !FIXES.iter().any(|f| f.name == k.as_str())).cloned().collect()
}

impl Release {
    /// Does this release carry `fix` (mainline or the stable backport)? No overrides: see [`Env::has`].
    pub fn has(self, fix: &Fix) -> bool {
        fix.in_release(self)
    }
}

impl Env {
    /// Does this kernel have the fix named `name`? An entry in `fixes` overrides what the
    /// release says (for backports the table does not know, or a kernel that reverted one).
    pub fn has(&self, name: &str) -> bool {
        let f = fix(name);
        self.fixes.get(f.name).copied().unwrap_or_else(|| self.release.has(f))
    }

    /// Does this kernel have the feature named `name`?
    pub fn has_feature(&self, name: &str) -> bool {
        self.release >= feature(name).since
    }
}

#[cfg(test)]
mod tests;
