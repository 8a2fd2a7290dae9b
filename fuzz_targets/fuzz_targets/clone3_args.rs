//! Coverage-guided fuzzing of clone3 on the host kernel, differential against the model:
//! each input runs in a fresh PID-namespace sandbox, and any difference between the
//! kernel and the model aborts with the input and the rule (clone3_abi::fuzz::check).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| clone3_abi::fuzz::check(data));
