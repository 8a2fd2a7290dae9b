#!/usr/bin/env bash
# The project's test command (see README). Installs what the tests need, then runs them:
# the workspace's unit and integration tests (a full native run as root, its snapshot,
# a leak check; the six QEMU guests against their snapshots; the test kernels built from
# linux-source-6.12 without COMPAT_32BIT_TIME and without namespaces), and the KTAP output of
# both through the kernel's own kunit parser.
set -euo pipefail
cd "$(dirname "$0")/.."
export CI=true INSTA_UPDATE=no CARGO_TERM_COLOR=never

# QEMU 10 from bookworm-backports, curl; the cross toolchains and the four static agents;
# cargo-fuzz.
bash ci/setup-qemu.sh
cargo xtask agents >/dev/null
bash ci/setup-fuzz.sh
# The tinyconfig 6.12 kernels of cli/tests/test_kernels.rs (about 8 minutes on 2 cores the
# first time; cached under ~/.cache/clone3-abi/test-kernels).
start=$SECONDS
bash ci/build-test-kernels.sh >/dev/null
echo "test kernels ready in $((SECONDS - start)) s"

# No doc-tests: there are none, and their empty "0 passed" would close the log.
cargo test --release --workspace --lib --bins --tests

# The main command itself, its KTAP checked by kunit; its summary closes the log.
ktap=$(mktemp)
summary=$(mktemp)
corpus=$(mktemp -d)
trap 'rm -rf "$ktap" "$summary" "$corpus"' EXIT
status=0

# libFuzzer mode, bounded: the committed seeds (table cases) and 2000 runs; a
# kernel/model difference aborts the target.
if ! cargo fuzz run clone3_args --fuzz-dir fuzz_targets --sanitizer none "$corpus" fuzz_targets/seeds \
     -- -runs=2000 -rss_limit_mb=0 > "$corpus.log" 2>&1; then
  tail -n 30 "$corpus.log"
  echo "libFuzzer run failed" >&2
  status=1
fi
grep -E '^Done [0-9]+ runs' "$corpus.log" || true
rm -f "$corpus.log"

./target/release/clone3-abi run > "$ktap" 2> "$summary" || status=$?
bash ci/kunit-check.sh "$ktap"
# The six-guest matrix's KTAP too (the matrix itself was checked by cargo test), and its
# report directory read by the formats' real parsers (junitparser, kcidb-io, kunit.py,
# tappy, Chromium): every format says the same of every case.
reports=$(mktemp -d)
trap 'rm -rf "$ktap" "$summary" "$corpus" "$reports"' EXIT
./target/release/clone3-abi qemu --arch all --report "$reports/matrix" > "$ktap" 2>/dev/null || status=$?
bash ci/kunit-check.sh "$ktap"
bash ci/check-reports.sh "$reports/matrix"
# The same matrix from the `cargo xtask dist` tarball alone, unpacked in a temporary
# directory and run as nobody: the same verdicts.
bash ci/dist-check.sh "$reports/matrix"
# Reports with failures and with a guest that cannot test, through the same parsers: this
# host judged by a model told its kernel lacks a fix it has (6.18 has newtime_in_clone3:
# exit 1), and a guest given 1 s to boot (exit 125).
expect() { # expect CODE COMMAND…: the command's exit code must be CODE
  local want=$1 rc=0; shift
  "$@" >/dev/null 2>&1 || rc=$?
  [ "$rc" = "$want" ] || { echo "expected exit $want, got $rc: $*" >&2; status=1; }
}
expect 1 ./target/release/clone3-abi run --fixes=-newtime_in_clone3 --no-snapshot --report "$reports/lie"
bash ci/check-reports.sh "$reports/lie"
expect 125 ./target/release/clone3-abi qemu --arch riscv64 --boot-timeout 1 --report "$reports/broken"
bash ci/check-reports.sh "$reports/broken"
# The kselftest collection, installed by the kernel's lib.mk and run by its run_kselftest.sh.
bash ci/kselftest/check.sh target/release/clone3-abi
# The LAVA jobs and test definition, validated by LAVA's own schemas, and the x86_64 job run
# by a local lava-run with the same verdicts as `clone3-abi qemu` (ci/lava/README.md).
bash ci/lava/check.sh target/release/clone3-abi
# tuxrun (its null runtime over the same lava-run) and the KernelCI job and template
# (ci/tuxrun/README.md, ci/kernelci/README.md).
bash ci/tuxrun/check.sh target/release/clone3-abi
bash ci/kernelci/check.sh target/release/clone3-abi
# The GitHub and GitLab recipes: actionlint, check-jsonschema's vendored schemas, and the
# script both call, run for real.
bash ci/workflows-check.sh target/release/clone3-abi
cat "$summary"
exit "$status"
