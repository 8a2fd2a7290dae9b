//! What the model needs to know about an architecture. Plain data: every profile is
//! available on every host, so the model is tested for arches we cannot run.

use serde::Serialize;

/// Where the child's stack pointer starts (`clone3_stack_valid` in kernel/fork.c).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum StackRule {
    /// SP = stack + stack_size: every arch without CONFIG_STACK_GROWSUP.
    GrowsDown,
    /// `stack` passed through unchanged as the lowest address: parisc (CONFIG_STACK_GROWSUP),
    /// and ia64, whose arch code took stack and stack_size separately until its removal in 6.7.
    GrowsUp,
}

/// How `CLONE_SETTLS` treats `tls` (`copy_thread` / `set_new_tls` per arch).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum TlsRule {
    /// x86_64 `do_arch_prctl_64(ARCH_SET_FS)`: tls >= TASK_SIZE_MAX gives EPERM (the
    /// environment's `user_addr_limit`, which 5-level paging raises).
    FsBase,
    /// i386 and ia32 compat `do_set_thread_area`: tls points at a `struct user_desc`.
    UserDesc,
    /// arm64 TPIDR_EL0, riscv64 tp: any value is taken as is, never an error.
    Register,
}

/// What `access_ok(stack, stack_size)` in clone3_stack_valid accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum AccessOk {
    /// The range must end at or below the user address limit (include/asm-generic/access_ok.h
    /// `__access_ok`, x86_32, arm64, riscv64).
    Limit,
    /// An x86_64 kernel, for native and ia32 compat tasks alike (arch/x86/include/asm/uaccess_64.h):
    /// `Limit`, except where the model's fixes table says otherwise (6.4 checked only the sign bit,
    /// 6.11.6 and 6.12.0–6.12.1 refused a range ending exactly at the limit).
    X86_64,
    /// CONFIG_ALTERNATE_USER_ADDRESS_SPACE (parisc; also s390 and sparc64, which have no profile):
    /// the generic `__access_ok` returns true at once, so no range is refused.
    Always,
}

/// Legacy `clone()` argument order (CONFIG_CLONE_BACKWARDS* in arch/Kconfig).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum CloneOrder {
    /// (flags, newsp, parent_tid, child_tid, tls)
    Default,
    /// (flags, newsp, parent_tid, tls, child_tid)
    Backwards,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct ArchProfile {
    /// The id used in case instance names and snapshot paths.
    pub name: &'static str,
    /// `_NSIG`: the highest valid exit_signal (`valid_signal`).
    pub nsig: u64,
    /// Highest user address + 1 that `access_ok` accepts, with the default paging mode
    /// (x86_64 4-level: TASK_SIZE_MAX). The runner probes the real one into `Env`.
    pub user_addr_limit: u64,
    /// The page size a default Debian kernel of this arch uses. The runner reads the real
    /// one from the kernel (AT_PAGESZ) and the model takes that; this is for model tests.
    pub default_page_size: u64,
    pub stack: StackRule,
    pub tls: TlsRule,
    pub clone_order: CloneOrder,
    /// First release with clone3 for this arch; `None`: never in mainline.
    pub clone3_since: Option<(u32, u32)>,
    /// PID_MAX_LIMIT (include/linux/threads.h): 4M where the kernel's long is 64-bit,
    /// PID_MAX_DEFAULT (32768) on 32-bit kernels.
    pub pid_max_limit: i32,
    /// The width of the kernel's `unsigned long` (not the task's): struct kernel_clone_args
    /// keeps stack, stack_size and tls in `unsigned long`s, so a 32-bit kernel cuts clone3's
    /// u64 fields to their low 32 bits (copy_clone_args_from_user does not check the high ones).
    pub kernel_long_bits: u32,
    /// Bits of a user pointer in the task (32 for an ia32 task on an x86_64 kernel, whose
    /// access_ok limit is far above anything it can map).
    pub task_pointer_bits: u32,
    pub access_ok: AccessOk,
    /// copy_thread took CLONE_SETTLS's value from clone()'s argument registers until the arch
    /// implemented copy_thread_tls (5.5, 5.4.12): clone3, which passes tls in its struct, set
    /// whatever those registers held. arm64, riscv and parisc; x86 had copy_thread_tls since 4.2.
    pub settls_from_clone_regs: bool,
}

// x86_64 TASK_SIZE_MAX with 4-level paging: (1 << 47) - PAGE_SIZE (arch/x86/include/asm/page_64_types.h).
const X86_64_TASK_SIZE_MAX: u64 = (1 << 47) - 4096;

impl ArchProfile {
    pub const X86_64: Self = Self {
        name: "x86_64",
        nsig: 64,
        user_addr_limit: X86_64_TASK_SIZE_MAX,
        default_page_size: 4096,
        stack: StackRule::GrowsDown,
        tls: TlsRule::FsBase,
        clone_order: CloneOrder::Default,
        clone3_since: Some((5, 3)),
        pid_max_limit: 4 * 1024 * 1024,
        kernel_long_bits: 64,
        task_pointer_bits: 64,
        access_ok: AccessOk::X86_64,
        settls_from_clone_regs: false,
    };
    /// A 32-bit task on an x86_64 kernel (ia32 compat): access_ok uses TASK_SIZE_MAX too.
    pub const I386_COMPAT: Self = Self {
        name: "i386",
        tls: TlsRule::UserDesc,
        clone_order: CloneOrder::Backwards,
        task_pointer_bits: 32,
        ..Self::X86_64
    };
    /// A native 32-bit i386 kernel (3G/1G split: TASK_SIZE = PAGE_OFFSET = 0xC0000000).
    pub const I386_NATIVE: Self = Self {
        name: "i386-native",
        user_addr_limit: 0xC000_0000,
        pid_max_limit: 32768,
        kernel_long_bits: 32,
        access_ok: AccessOk::Limit,
        ..Self::I386_COMPAT
    };
    /// arm64 with 48-bit VAs (Debian's CONFIG_ARM64_VA_BITS=48).
    pub const AARCH64: Self = Self {
        name: "aarch64",
        nsig: 64,
        user_addr_limit: 1 << 48,
        default_page_size: 4096,
        stack: StackRule::GrowsDown,
        tls: TlsRule::Register,
        clone_order: CloneOrder::Backwards,
        clone3_since: Some((5, 3)),
        pid_max_limit: 4 * 1024 * 1024,
        kernel_long_bits: 64,
        task_pointer_bits: 64,
        access_ok: AccessOk::Limit,
        settls_from_clone_regs: true,
    };
    /// riscv64 under Sv39 (what QEMU's virt `rv64` gives a Debian kernel by default: TASK_SIZE 2^38 - ...).
    pub const RISCV64: Self = Self {
        name: "riscv64",
        user_addr_limit: 1 << 38,
        ..Self::AARCH64
    };
    /// ia64: never had clone3 in mainline (removed in 6.7), kept as the STACK_GROWSUP-style
    /// profile the model is tested against.
    pub const IA64: Self = Self {
        name: "ia64",
        nsig: 64,
        user_addr_limit: 1 << 61,
        default_page_size: 16384,
        stack: StackRule::GrowsUp,
        tls: TlsRule::Register,
        clone_order: CloneOrder::Default,
        clone3_since: None,
        pid_max_limit: 4 * 1024 * 1024,
        kernel_long_bits: 64,
        task_pointer_bits: 64,
        access_ok: AccessOk::Limit,
        settls_from_clone_regs: false,
    };
    /// parisc: CONFIG_STACK_GROWSUP, clone3 since 5.3, and CONFIG_ALTERNATE_USER_ADDRESS_SPACE
    /// (arch/parisc/Kconfig selects it, read in Debian 6.12.118; older kernels had
    /// `access_ok(uaddr, size)` defined as always true): access_ok never refuses a stack.
    pub const PARISC: Self = Self {
        name: "parisc",
        clone3_since: Some((5, 3)),
        user_addr_limit: 1 << 32,
        default_page_size: 4096,
        access_ok: AccessOk::Always,
        settls_from_clone_regs: true,
        task_pointer_bits: 32,
        ..Self::IA64
    };

    pub const ALL: [Self; 7] =
        [Self::X86_64, Self::I386_COMPAT, Self::I386_NATIVE, Self::AARCH64, Self::RISCV64, Self::IA64, Self::PARISC];

    pub fn by_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.name == name)
    }

    /// The profile of the arch this binary runs as.
    pub fn native() -> Self {
        if cfg!(target_arch = "x86_64") {
            Self::X86_64
        } else if cfg!(target_arch = "x86") {
            Self::I386_COMPAT
        } else if cfg!(target_arch = "aarch64") {
            Self::AARCH64
        } else {
            Self::RISCV64
        }
    }
}
