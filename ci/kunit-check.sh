#!/usr/bin/env bash
# Checks a KTAP file with the kernel tree's own parser (tools/testing/kunit/kunit.py parse),
# as KernelCI does. The parser comes from Debian's linux-source-6.12 package, fetched once
# into the cache (only the kunit directory is kept); nothing of it enters the repository.
# usage: ci/kunit-check.sh FILE   → exit 0 when kunit parses FILE with no failure or error
#        ci/kunit-check.sh --dir  → prints the kunit directory (fetching it first)
set -euo pipefail
file=${1:?usage: ci/kunit-check.sh KTAP-FILE}
cache=${CLONE3_ABI_CACHE:-$HOME/.cache/clone3-abi}/kunit
pkg=linux-source-6.12
kunit=$(ls -d "$cache"/linux-source-6.12/tools/testing/kunit 2>/dev/null || true)
if [ -z "$kunit" ]; then
  mkdir -p "$cache"
  (cd "$cache" && apt-get download -q "$pkg" >/dev/null 2>&1) || {
    apt-get update -qq && (cd "$cache" && apt-get download -q "$pkg" >/dev/null 2>&1)
  } || { echo "kunit-check: cannot download $pkg from Debian" >&2; exit 2; }
  deb=$(ls -t "$cache"/${pkg}_*.deb | head -n1)
  dpkg-deb --fsys-tarfile "$deb" | tar -xO "./usr/src/$pkg.tar.xz" \
    | tar -xJ -C "$cache" --wildcards "$pkg/tools/testing/kunit/*"
  rm -f "$deb"
  kunit="$cache/$pkg/tools/testing/kunit"
fi
if [ "$file" = --dir ]; then echo "$kunit"; exit 0; fi
out=$(python3 "$kunit/kunit.py" parse "$file" 2>&1) || { echo "$out" | tail -n 20 >&2; echo "kunit-check: kunit.py rejected $file" >&2; exit 1; }
summary=$(echo "$out" | grep -o 'Ran [0-9]* tests.*' | tail -n1)
case "$summary" in
  *failed*|*crashed*|*errors*|"") echo "kunit-check: $file: ${summary:-no summary}" >&2; exit 1 ;;
esac
echo "kunit-check: $file: $summary"
