#!/usr/bin/env bash
# The project's test command (see README). Installs what the tests need, then runs them:
# the workspace's unit and integration tests (a full native run as root, its snapshot,
# a leak check), and the KTAP output through the kernel's own kunit parser.
set -euo pipefail
cd "$(dirname "$0")/.."
export CI=true INSTA_UPDATE=no CARGO_TERM_COLOR=never

cargo test --release --workspace

ktap=$(mktemp)
trap 'rm -f "$ktap"' EXIT
./target/release/clone3-abi run --no-snapshot > "$ktap"
bash ci/kunit-check.sh "$ktap"
