#!/usr/bin/env bash
# Installs cargo-fuzz (crates.io) for the libFuzzer target in fuzz_targets/. On the stable
# toolchain it works with `--sanitizer none` (no -Zsanitizer): see README, Fuzzing.
set -euo pipefail
command -v cargo-fuzz >/dev/null && exit 0
cargo install cargo-fuzz --locked --quiet || { echo "setup-fuzz: cannot install cargo-fuzz from crates.io" >&2; exit 1; }
