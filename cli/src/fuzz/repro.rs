//! `clone3-abi repro FILE`: a finding as a ready-to-paste table case, and a standalone C
//! program (raw syscall, no dependencies) a kernel developer can attach to a report.

use crate::{probe, report, verdict, CANNOT_TEST, GOOD, USAGE};
use clap::Args;
use clone3_suites::case::{CgroupArg, Placement, Ptr, Size, Stack, Tail, Tid, Tls};
use clone3_suites::fuzz::FuzzInput;
use clone3_suites::{flags, predict, Case};
use std::fmt::Write;
use std::path::PathBuf;

#[derive(Args)]
pub struct ReproArgs {
    /// A finding written by `clone3-abi fuzz` (JSON) or a libFuzzer crash artifact (bytes).
    file: PathBuf,
    /// Where to write the C program (default: FILE with `.c` appended).
    #[arg(long, value_name = "FILE")]
    c_out: Option<PathBuf>,
}

pub fn repro(args: ReproArgs) -> u8 {
    let data = match std::fs::read(&args.file) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("clone3-abi: cannot read {}: {e}", args.file.display());
            return USAGE;
        }
    };
    let input = serde_json::from_slice::<serde_json::Value>(&data)
        .ok()
        .and_then(|v| serde_json::from_value::<FuzzInput>(v.get("input").cloned().unwrap_or(v)).ok())
        .or_else(|| FuzzInput::from_bytes(&data));
    let Some(input) = input else {
        eprintln!("clone3-abi: {} is neither a finding nor enough fuzzer bytes for an input", args.file.display());
        return USAGE;
    };
    let case = input.to_case();
    let expect = match probe::probe() {
        Ok(p) => verdict::expect_text(&predict(&case, &p.env, &p.arch).expect),
        Err(_) => "(no prediction: cannot read this kernel's facts)".into(),
    };
    println!("// The model predicts on this kernel: {expect}");
    for a in input.adjustments() {
        println!("// The fuzzer input was adjusted so the runner survives it: {a}");
    }
    println!("{}", table_case(&case));
    let c_path = args.c_out.unwrap_or_else(|| {
        let mut p = args.file.clone().into_os_string();
        p.push(".c");
        p.into()
    });
    match report::write_atomically(&c_path, c_program(&case, &expect).as_bytes()) {
        Ok(()) => {
            eprintln!("clone3-abi: wrote {} (cc -O2 -o repro {0} && ./repro)", c_path.display());
            GOOD
        }
        Err(e) => {
            eprintln!("clone3-abi: cannot write {}: {e}", c_path.display());
            CANNOT_TEST
        }
    }
}

/// Flag names for a mask, `A | B | 0x…` for the unnamed rest.
fn flag_expr(mask: u64) -> String {
    let mut parts = Vec::new();
    let mut rest = mask;
    for bit in 0..64 {
        let f = 1u64 << bit;
        let name = flags::bit_name(bit);
        if mask & f != 0 && !name.starts_with("bit") && !name.starts_with("csignal") {
            parts.push(format!("flags::{}", name.to_uppercase()));
            rest &= !f;
        }
    }
    if rest != 0 || parts.is_empty() {
        parts.push(format!("{rest:#x}"));
    }
    parts.join(" | ")
}

/// The case as a struct literal for `suites/src/tables/<family>.rs`.
pub fn table_case(c: &Case) -> String {
    let size = match c.size {
        Size::Bytes(n) => format!("Size::Bytes({n})"),
        Size::Page(d) => format!("Size::Page({d})"),
    };
    let tids: Vec<String> = c.set_tid.tids.iter().map(|t| format!("Tid::{t:?}")).collect();
    format!(
        "Case {{\n    size: {size},\n    placement: Placement::{:?},\n    flags: {},\n    exit_signal: {:#x},\n    \
         pidfd: Ptr::{:?},\n    child_tid: Ptr::{:?},\n    parent_tid: Ptr::{:?},\n    stack: Stack::{:?},\n    \
         tls: Tls::{:?},\n    set_tid: SetTid::new(Ptr::{:?}, {}, &[{}]),\n    cgroup: CgroupArg::{:?},\n    \
         tail: Tail::{:?},\n    caller: Caller::{:?},\n    needs: &{:?},\n    \
         ..Case::base(\"FAMILY.NAME\", \"found by the fuzzer as {}: SAY WHAT IT CHECKS\")\n}},",
        c.placement,
        flag_expr(c.flags),
        c.exit_signal,
        c.pidfd,
        c.child_tid,
        c.parent_tid,
        c.stack,
        c.tls,
        c.set_tid.ptr,
        c.set_tid.size,
        tids.join(", "),
        c.cgroup,
        c.tail,
        c.caller,
        c.needs,
        c.id
    )
}

/// A C program making the same call. Symbolic values become what the runner uses; the
/// child leaves at once, so the program shows what clone3 returned to the caller.
pub fn c_program(c: &Case, expect: &str) -> String {
    let ptr = |p: Ptr, slot: usize| match p {
        Ptr::Null => "0".to_string(),
        Ptr::Valid => format!("(uintptr_t)&words[{slot}]"),
        Ptr::Unmapped => "(uintptr_t)hole".to_string(),
        Ptr::SameAsParentTid => "(uintptr_t)&words[4]".to_string(),
    };
    let (stack, stack_size) = match c.stack {
        Stack::None => ("0".into(), "0".into()),
        Stack::Mapped(n) => (format!("(uintptr_t)(stack + STACK_BYTES - {n})"), n.to_string()),
        Stack::Unmapped(n) => ("(uintptr_t)hole".into(), n.to_string()),
        Stack::Raw { stack, size } => (format!("{stack:#x}ULL"), format!("{size:#x}ULL")),
        Stack::PastUserLimit => ("user_limit - 4096".into(), "8192".into()),
        // Not a fuzz input's (the program maps no page at the limit); said, not guessed.
        Stack::EndsAtUserLimit(n) => (format!("user_limit - {n} /* a page the suite maps there */"), n.to_string()),
    };
    let mut set_tid = String::new();
    for i in 0..(c.set_tid.size as usize).min(64) {
        let v = match c.set_tid.tid(i) {
            Tid::Value(v) => v.to_string(),
            Tid::Free => format!("pid_max / 2 + {}", 2 * i),
            Tid::Freed => format!("pid_max / 2 + {} /* the suite uses and reaps it first */", 2 * i + 1),
            Tid::PidMax | Tid::HostPidMax => "pid_max /* the level's pid_max (see the model) */".into(),
            Tid::Own => "getpid()".into(),
        };
        writeln!(set_tid, "    words[16 + {i}] = {v};").unwrap();
    }
    let cgroup = match c.cgroup {
        CgroupArg::None => "0".into(),
        CgroupArg::Target => "(uint64_t)(argc > 1 ? open(argv[1], O_RDONLY | O_DIRECTORY) : -1) /* a cgroup2 directory */".into(),
        CgroupArg::ClosedFd => "(1ULL << 30) /* no such fd */".into(),
        CgroupArg::NotCgroup => "(uint64_t)open(\"/\", O_RDONLY | O_DIRECTORY)".into(),
        CgroupArg::V1Dir => "(uint64_t)(argc > 1 ? open(argv[1], O_RDONLY | O_DIRECTORY) : -1) /* a cgroup v1 directory */".into(),
        CgroupArg::Raw(v) => format!("{v:#x}ULL"),
        // The run's other cgroups are table cases' only, never a fuzz input's.
        other => format!("(uint64_t)-1 /* the suite's {other:?} cgroup fd */"),
    };
    let tls = match c.tls {
        Tls::None => "0".into(),
        Tls::Page => "(uintptr_t)tls_page".into(),
        Tls::ArchTls => "(uintptr_t)tls_page /* i386: fill in a struct user_desc for the %gs slot first */".into(),
        Tls::Raw(v) => format!("{v:#x}ULL"),
    };
    let (start, readable) = match c.placement {
        Placement::Mapped => ("args_area".to_string(), "sizeof a".to_string()),
        Placement::Null => ("NULL".into(), "0".into()),
        Placement::Unmapped => ("hole".into(), "0".into()),
        Placement::GuardAt(n) => (format!("args_area + 2 * page - {n}"), format!("{n} < sizeof a ? {n} : sizeof a")),
    };
    let size = match c.size {
        Size::Bytes(n) => format!("{n}ULL"),
        Size::Page(d) => format!("(uint64_t)(page + ({d}))"),
    };
    let tail = match c.tail {
        Tail::NonZeroAt(off) if matches!(c.placement, Placement::Mapped | Placement::GuardAt(_)) => {
            format!("    if ({off} < (size_t)(args_area + 2 * page - where)) where[{off}] = 0x5a;\n")
        }
        _ => String::new(),
    };
    format!(
        r#"/* clone3 reproducer for {id}, generated by `clone3-abi repro`.
 * The model predicted: {expect}
 * Build and run (as root for namespace flags): cc -O2 -o repro this.c && ./repro [cgroup-dir] */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define NR_CLONE3 435 /* the same on x86_64, i386, arm64, riscv64 */
#define STACK_BYTES (256 * 1024)

/* A child given a stack of its own must not return from a function: its stack is empty.
 * On x86_64 the child leaves from inside the same asm; elsewhere syscall() is used, which
 * is right only for cases without a stack. */
static long call_clone3(void *args, uint64_t size)
{{
#if defined(__x86_64__)
    long r;
    __asm__ volatile("syscall\n\t"
                     "test %%rax, %%rax\n\t"
                     "jnz 1f\n\t"
                     "mov $60, %%eax\n\t" /* the child: exit(0) at once */
                     "xor %%edi, %%edi\n\t"
                     "syscall\n"
                     "1:"
                     : "=a"(r)
                     : "0"((long)NR_CLONE3), "D"(args), "S"(size)
                     : "rcx", "r11", "memory");
    if (r < 0 && r > -4096) {{
        errno = (int)-r;
        return -1;
    }}
    return r;
#else
    long r = syscall(NR_CLONE3, args, size);
    if (r == 0)
        syscall(SYS_exit, 0); /* the child: leave at once */
    return r;
#endif
}}

/* include/uapi/linux/sched.h, CLONE_ARGS_SIZE_VER2 */
struct clone_args_v2 {{
    uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size, cgroup;
}};

int main(int argc, char **argv)
{{
    long page = sysconf(_SC_PAGESIZE);
    int anon = MAP_PRIVATE | MAP_ANONYMOUS;
    char *args_area = mmap(NULL, 3 * page, PROT_READ | PROT_WRITE, anon, -1, 0);
    mprotect(args_area + 2 * page, page, PROT_NONE); /* guard page after the args */
    char *hole = mmap(NULL, STACK_BYTES + page, PROT_NONE, anon, -1, 0); /* "unmapped" pointers */
    int32_t *words = mmap(NULL, page, PROT_READ | PROT_WRITE, anon, -1, 0);
    char *tls_page = mmap(NULL, page, PROT_READ | PROT_WRITE, anon, -1, 0);
    char *stack = mmap(NULL, STACK_BYTES, PROT_READ | PROT_WRITE, anon, -1, 0);
    long pid_max = 32768;
    FILE *f = fopen("/proc/sys/kernel/pid_max", "r");
    if (f) {{ fscanf(f, "%ld", &pid_max); fclose(f); }}
    uint64_t user_limit = (1ULL << 47) - 4096; /* x86_64 4-level TASK_SIZE_MAX; see the model */
    memset(words, 0xff, page);
{set_tid}
    struct clone_args_v2 a = {{
        .flags = {flags:#x}ULL,
        .pidfd = {pidfd},
        .child_tid = {child_tid},
        .parent_tid = {parent_tid},
        .exit_signal = {exit_signal:#x}ULL,
        .stack = {stack},
        .stack_size = {stack_size},
        .tls = {tls},
        .set_tid = {set_tid_ptr},
        .set_tid_size = {set_tid_size},
        .cgroup = {cgroup},
    }};
    (void)user_limit; (void)argv; (void)argc;
    char *where = {start};
    if (where == args_area || (where > args_area && where < args_area + 2 * page)) {{
        size_t n = {readable};
        memcpy(where, &a, n);
    }}
{tail}    uint64_t size = {size};
    sigset_t all; /* the child's exit signal may be any: it must not end this program */
    sigfillset(&all);
    sigprocmask(SIG_BLOCK, &all, NULL);
    long r = call_clone3(where, size);
    if (r < 0) {{
        printf("clone3 = -1, errno %d (%s)\n", errno, strerror(errno));
        return 1;
    }}
    printf("clone3 = %ld (a child)\n", r);
    waitpid(r, NULL, __WALL);
    return 0;
}}
"#,
        id = c.id,
        flags = c.flags,
        pidfd = ptr(c.pidfd, 0),
        child_tid = ptr(c.child_tid, 2),
        parent_tid = ptr(c.parent_tid, 4),
        exit_signal = c.exit_signal,
        set_tid_ptr = ptr(c.set_tid.ptr, 16),
        set_tid_size = c.set_tid.size,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_c_program_compiles() {
        let Ok(cc) = which_cc() else { return };
        for i in 0..20 {
            let case = FuzzInput::seeded(11, i).to_case();
            let dir = std::env::temp_dir().join(format!("c3repro{}-{i}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            let src = dir.join("r.c");
            std::fs::write(&src, c_program(&case, "x")).unwrap();
            let out = std::process::Command::new(&cc).arg("-fsyntax-only").arg("-Wall").arg(&src).output().unwrap();
            assert!(out.status.success(), "{}\n{}", String::from_utf8_lossy(&out.stderr), c_program(&case, "x"));
            std::fs::remove_dir_all(dir).unwrap();
        }
    }

    /// The generated program, compiled and run on this kernel, answers what the model
    /// predicts for the table cases it can express (x86_64: the child of a case with a
    /// stack leaves from inside the asm; a return through glibc's syscall() on its empty
    /// stack would crash it).
    #[test]
    fn the_c_program_does_what_the_model_says() {
        if !cfg!(target_arch = "x86_64") {
            return;
        }
        let Ok(cc) = which_cc() else {
            assert!(std::env::var_os("CI").is_none(), "CI has a C compiler");
            return;
        };
        let Ok(probe) = crate::probe::probe() else { return };
        let dir = std::env::temp_dir().join(format!("c3repro-run{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut checked = 0;
        for case in clone3_suites::tables::all() {
            // What the program cannot stand for: chosen pids (the suite's sandbox), the
            // run's cgroups, a CLONE_PARENT child (it would become the test harness's),
            // the capability-less caller, the user address limit (a constant there).
            let parent = case.flags & flags::PARENT != 0;
            let cgroup = case.cgroup.is_runs() || matches!(case.cgroup, CgroupArg::V1Dir | CgroupArg::Raw(_));
            let limit = matches!(case.stack, Stack::PastUserLimit | Stack::EndsAtUserLimit(_));
            if case.set_tid.size > 0 || cgroup || parent || case.caller != clone3_suites::Caller::Worker || limit {
                continue;
            }
            let expect = predict(&case, &probe.env, &probe.arch).expect;
            let want_child = match &expect {
                clone3_suites::Expect::Ok(_) => true,
                clone3_suites::Expect::Err(_) => false,
                clone3_suites::Expect::Skip(_) => continue,
            };
            let src = dir.join("r.c");
            let exe = dir.join("r");
            std::fs::write(&src, c_program(&case, "x")).unwrap();
            let out = std::process::Command::new(&cc).args(["-O2", "-o"]).arg(&exe).arg(&src).output().unwrap();
            assert!(out.status.success(), "{}: {}", case.id, String::from_utf8_lossy(&out.stderr));
            let out = std::process::Command::new(&exe).output().unwrap();
            let text = String::from_utf8_lossy(&out.stdout);
            let got = if text.contains("(a child)") {
                "a child".to_string()
            } else if let Some(n) = text.split("errno ").nth(1).and_then(|t| t.split_whitespace().next()?.parse::<i32>().ok()) {
                format!("{:?}", crate::runner::Observed::from_errno(n))
            } else {
                panic!("{}: the program said {text:?} ({:?})", case.id, out.status)
            };
            let matches = match &expect {
                clone3_suites::Expect::Err(e) => got == format!("{:?}", crate::runner::Observed::Err(*e)),
                _ => want_child && got == "a child",
            };
            assert!(matches, "{}: the model says {expect:?}, the C program got {got}", case.id);
            checked += 1;
        }
        std::fs::remove_dir_all(dir).unwrap();
        assert!(checked > 100, "only {checked} cases checked");
    }

    fn which_cc() -> Result<String, ()> {
        std::process::Command::new("cc").arg("--version").output().map(|_| "cc".to_string()).map_err(|_| ())
    }

    #[test]
    fn the_table_case_names_flags() {
        let mut c = Case::base("a.b", "x");
        c.flags = flags::VM | flags::NEWPID | (1 << 60);
        let text = table_case(&c);
        assert!(text.contains("flags::VM | flags::NEWPID | 0x1000000000000000"), "{text}");
    }
}
