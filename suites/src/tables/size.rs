//! `usize` and where the struct lies: copy_clone_args_from_user / copy_struct_from_user.

use crate::case::{Case, CgroupArg, Placement, Ptr, SetTid, Size, Tail};

fn at(id: &str, why: &'static str, size: Size) -> Case {
    Case { size, ..Case::base(format!("size.{id}"), why) }
}

pub fn cases() -> Vec<Case> {
    use Size::{Bytes, Page};
    vec![
        at("zero", "usize 0 is below VER0", Bytes(0)),
        at("one", "usize 1 is below VER0", Bytes(1)),
        at("eight", "usize 8 is below VER0", Bytes(8)),
        at("ver0_minus_8", "usize 56, one field short of VER0", Bytes(56)),
        at("ver0_minus_1", "usize 63, one byte short of VER0", Bytes(63)),
        at("ver0", "usize 64, the 5.3 struct", Bytes(64)),
        at("ver0_plus_8", "usize 72: set_tid copied, set_tid_size not", Bytes(72)),
        at("ver1", "usize 80, the 5.5 struct", Bytes(80)),
        at("ver2", "usize 88, the 5.7 struct", Bytes(88)),
        at("ver2_plus_8_zero_tail", "usize 96 with a zero tail is accepted", Bytes(96)),
        Case { tail: Tail::NonZeroAt(88), ..at("ver2_plus_8_nonzero_tail", "a non-zero byte past the known struct is E2BIG", Bytes(96)) },
        Case { tail: Tail::NonZeroAt(95), ..at("ver2_plus_8_nonzero_last_byte", "the last tail byte is checked too", Bytes(96)) },
        at("ver2_plus_16_zero_tail", "usize 104, zero tail", Bytes(104)),
        at("double_ver2_zero_tail", "usize 176, zero tail (kselftest's sizeof*2 is really +16)", Bytes(176)),
        at("bytes_256_zero_tail", "usize 256, zero tail", Bytes(256)),
        at("page_minus_8", "usize PAGE_SIZE-8, zero tail", Page(-8)),
        at("page", "usize PAGE_SIZE, zero tail: the largest accepted", Page(0)),
        Case { tail: Tail::NonZeroAt(4088), ..at("page_nonzero_last_word", "a non-zero word at the end of a page-sized struct", Page(0)) },
        at("page_plus_1", "usize PAGE_SIZE+1 is E2BIG", Page(1)),
        at("page_plus_8", "usize PAGE_SIZE+8 is E2BIG", Page(8)),
        at("two_pages", "usize 2*PAGE_SIZE is E2BIG", Page(4096)),
        at("u64_max", "usize 2^64-1 is E2BIG", Bytes(u64::MAX)),
        Case { placement: Placement::Null, ..at("null_ver2", "NULL uargs with a valid size faults", Bytes(88)) },
        Case { placement: Placement::Null, ..at("null_zero", "clone3(NULL, 0) is EINVAL (size first)", Bytes(0)) },
        Case { placement: Placement::Null, ..at("null_page_plus_8", "E2BIG wins over a bad pointer", Page(8)) },
        Case { placement: Placement::Unmapped, ..at("unmapped_ver2", "unmapped uargs faults", Bytes(88)) },
        Case { placement: Placement::Unmapped, ..at("unmapped_ver2_plus_8", "unmapped uargs faults in the tail scan", Bytes(96)) },
        Case { placement: Placement::GuardAt(88), ..at("tail_into_guard", "a tail running into a PROT_NONE page faults", Bytes(96)) },
        Case {
            placement: Placement::GuardAt(96),
            tail: Tail::NonZeroAt(88),
            ..at("nonzero_tail_before_guard", "a non-zero tail byte before the guard page is E2BIG", Bytes(104))
        },
        Case { placement: Placement::GuardAt(88), ..at("ver2_ends_at_guard", "a VER2 struct ending exactly at a guard page is fine", Bytes(88)) },
        Case { placement: Placement::GuardAt(40), ..at("straddles_guard", "a struct straddling into a guard page faults", Bytes(64)) },
        Case { placement: Placement::GuardAt(64), ..at("ver2_over_guard", "the head copy of a VER2 struct faults past a guard", Bytes(88)) },
        Case {
            cgroup: CgroupArg::Raw(7),
            ..at("ver1_ignores_cgroup", "the cgroup word past usize 80 is never read", Bytes(80))
        },
        Case {
            set_tid: SetTid::new(Ptr::Valid, 1, &[]),
            ..at("ver0_ignores_set_tid", "set_tid words past usize 64 are never read", Bytes(64))
        },
        Case {
            set_tid: SetTid::new(Ptr::Valid, 1, &[]),
            ..at("ver0_plus_8_set_tid_without_size", "usize 72 copies set_tid but not set_tid_size", Bytes(72))
        },
        // Found by the fuzzer: a usize inside a word copies that word's low bytes.
        Case {
            set_tid: SetTid::new(Ptr::Unmapped, 11, &[]),
            ..at("ver1_minus_1_copies_set_tid_size", "usize 79 copies 7 bytes of set_tid_size: 11 reaches the kernel", Bytes(79))
        },
        Case {
            set_tid: SetTid::new(Ptr::Valid, 1, &[]),
            needs: &[crate::case::Gate::PidSandbox],
            ..at("ver0_plus_9_one_byte_of_set_tid_size", "usize 73 copies the low byte of set_tid_size", Bytes(73))
        },
        // Table gap [15]: a usize inside the set_tid word copies its low bytes (little-endian).
        at("bytes_65_null_set_tid", "usize 65 copies one zero byte of a NULL set_tid", Bytes(65)),
        at("bytes_71_null_set_tid", "usize 71 copies seven zero bytes of a NULL set_tid", Bytes(71)),
        Case {
            set_tid: SetTid::new(Ptr::Valid, 1, &[]),
            ..at("bytes_71_set_tid", "usize 71 copies seven bytes of a set_tid pointer, never its size: set_tid without a size", Bytes(71))
        },
    ]
}
