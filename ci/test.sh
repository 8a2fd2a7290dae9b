#!/usr/bin/env bash
# The project's test command (see README). Installs what the tests need, then runs them:
# the workspace's unit and integration tests (a full native run as root, its snapshot,
# a leak check; the five QEMU guests against their snapshots), and the KTAP output of
# both through the kernel's own kunit parser.
set -euo pipefail
cd "$(dirname "$0")/.."
export CI=true INSTA_UPDATE=no CARGO_TERM_COLOR=never

# QEMU 10 from bookworm-backports, curl; the cross toolchains and the four static agents.
bash ci/setup-qemu.sh
cargo xtask agents >/dev/null

# No doc-tests: there are none, and their empty "0 passed" would close the log.
cargo test --release --workspace --lib --bins --tests

# The main command itself, its KTAP checked by kunit; its summary closes the log.
ktap=$(mktemp)
summary=$(mktemp)
trap 'rm -f "$ktap" "$summary"' EXIT
status=0
./target/release/clone3-abi run > "$ktap" 2> "$summary" || status=$?
bash ci/kunit-check.sh "$ktap"
# The five-guest matrix's KTAP too (the matrix itself was checked by cargo test).
./target/release/clone3-abi qemu --arch all > "$ktap" 2>/dev/null || status=$?
bash ci/kunit-check.sh "$ktap"
cat "$summary"
exit "$status"
