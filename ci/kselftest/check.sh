#!/usr/bin/env bash
# Proves ci/kselftest/clone3_abi with the kernel's own kselftest machinery: lib.mk installs
# it, run_kselftest.sh runs it. Needs the linux-source-6.12 tree ci/build-test-kernels.sh
# unpacks into the cache, and a built clone3-abi.
# usage: ci/kselftest/check.sh CLONE3_ABI_BINARY
set -euo pipefail
bin=$(realpath "${1:?usage: ci/kselftest/check.sh CLONE3_ABI_BINARY}")
here=$(realpath "$(dirname "$0")")
cache=${CLONE3_ABI_CACHE:-$HOME/.cache/clone3-abi}
tree=$(ls -d "$cache"/test-kernels/src-*/ 2>/dev/null | head -n1)
[ -n "$tree" ] || { echo "kselftest-check: no kernel tree in $cache/test-kernels (run ci/build-test-kernels.sh)" >&2; exit 2; }
sel="$tree/tools/testing/selftests"
out=$(mktemp -d)
# The collection goes into the tree only for the install, and leaves with this script.
trap 'rm -rf "$out" "$sel/clone3_abi"' EXIT
cp -r "$here/clone3_abi" "$sel/"
make -s -C "$sel" TARGETS=clone3_abi CLONE3_ABI="$bin" install INSTALL_PATH="$out" >/dev/null
grep -qx 'clone3_abi:clone3_abi.sh' "$out/kselftest-list.txt" || { echo "kselftest-check: not listed in kselftest-list.txt" >&2; exit 1; }
for f in clone3_abi.sh clone3-abi settings; do
  [ -e "$out/clone3_abi/$f" ] || { echo "kselftest-check: lib.mk did not install $f" >&2; exit 1; }
done
log=$("$out/run_kselftest.sh" -c clone3_abi 2>&1) || true
echo "$log" | grep -q '^ok 1 selftests: clone3_abi: clone3_abi.sh$' || {
  echo "$log" | tail -n 30 >&2; echo "kselftest-check: run_kselftest.sh did not report the collection as ok" >&2; exit 1; }
cases=$(echo "$log" | grep -cE '^# ok [0-9]+ [a-z0-9_]+\.[a-z0-9_]+' || true)
[ "$cases" -gt 250 ] || { echo "kselftest-check: only $cases case lines in the runner's log" >&2; exit 1; }
echo "kselftest-check: lib.mk installed clone3_abi; run_kselftest.sh: ok 1 selftests: clone3_abi: clone3_abi.sh, $cases case lines"
