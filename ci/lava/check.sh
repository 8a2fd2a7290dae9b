#!/usr/bin/env bash
# Proves ci/lava/ with LAVA's own code (Debian bookworm's lava-dispatcher/lava-common 2023.01):
#  1. the jobs are what `clone3-abi list` and qemu-images/*.toml make (make-jobs.py --check);
#  2. every job (strict), the test definition and the device dictionary pass lava_common's
#     schemas, and `lava-run --validate` builds each job's pipeline;
#  3. lava-run boots the x86_64 job (stock Debian kernel, our initramfs, TCG): its monitors'
#     results equal `clone3-abi qemu --arch x86_64`'s KTAP, case by case;
#  4. lava-run on a fake console (the same KTAP with cases turned into `not ok` and `# SKIP`)
#     gives fail and skip where they are, and ktap-to-lava.sh through LAVA's own
#     lava-test-case reports that KTAP the same way.
# usage: ci/lava/check.sh [CLONE3_ABI_BINARY]   (default target/release/clone3-abi; the
# x86_64 agent must be built, `cargo xtask agents`, or CLONE3_ABI_AGENT name it; the x86_64
# kernel must be in the cache, as `clone3-abi qemu` leaves it). Exit 1 on any mismatch or
# invalid file.
# Cost once installed: about 25 s (two boots of the x86_64 guest under TCG, ~5 s and ~11 s).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bin=$(realpath "${1:-$root/target/release/clone3-abi}")
py=/usr/bin/python3 # Debian's: lava-common is a Debian package, not in a venv
cache=${CLONE3_ABI_CACHE:-$HOME/.cache/clone3-abi}
export DEBIAN_FRONTEND=noninteractive

templates=$(bash "$here/setup.sh")
ver=$(dpkg-query -W -f '${Version}' lava-dispatcher)
echo "lava-dispatcher $ver, lava-common $(dpkg-query -W -f '${Version}' lava-common), qemu.jinja2 of lava-server $ver"

work=$(mktemp -d)
trap '[ "$status" = 0 ] && rm -rf "$work" || echo "kept $work"' EXIT
status=0

# 1. generated files are fresh
"$bin" list > "$work/list"
"$py" "$here/make-jobs.py" --check < "$work/list" || status=1

# 2. schemas, then each job's pipeline as lava-run builds it (files must exist: stand-ins)
"$py" "$here/check.py" validate "$here" "$templates" "$here/device-qemu.jinja2" || status=1
: > "$work/stand-in"
for job in "$here"/qemu-*.yaml; do
  name=$(basename "$job" .yaml)
  "$py" "$here/check.py" localize "$job" "$work/stand-in" "$work/stand-in" "$work/$name.yaml"
  "$py" "$here/check.py" device "$work/$name.yaml" "$templates" "$here/device-qemu.jinja2" "$work/$name-device.yaml"
  if lava-run --validate --job-id "v-$name" --output-dir "$work/v-$name" --device "$work/$name-device.yaml" "$work/$name.yaml" > "$work/v-$name.log" 2>&1; then
    echo "lava-run --validate: $name: pipeline valid"
  else
    grep -E '"lvl": "(error|exception)"' "$work/v-$name.log" | tail -5
    echo "lava-run --validate: $name: INVALID" ; status=1
  fi
done

# 3. the real boot: x86_64 stock kernel + our initramfs, through lava-run, vs clone3-abi qemu
# the agent next to the binary's target directory (cargo xtask agents), else the tarball's
agent=${CLONE3_ABI_AGENT:-$(dirname "$bin")/../x86_64-unknown-linux-gnu/agent/clone3-abi}
[ -f "$agent" ] || agent=$(dirname "$bin")/../lib/clone3-abi/agents/x86_64-unknown-linux-gnu/clone3-abi
agent=$(realpath "$agent")
mkdir -p "$work/agents/x86_64-unknown-linux-gnu"
ln -s "$agent" "$work/agents/x86_64-unknown-linux-gnu/clone3-abi"
kernel=$(ls "$cache"/kernels/linux-image-6.12.117+deb13-amd64_*/vmlinuz-6.12.117+deb13-amd64 2>/dev/null | head -n1 || true)
s=$SECONDS
"$bin" qemu --arch x86_64 --accel tcg --agents "$work/agents" --keep-logs "$work/logs" > "$work/qemu.ktap" 2> "$work/qemu.err" || true
echo "clone3-abi qemu --arch x86_64: $(tail -n1 "$work/qemu.err") ($((SECONDS - s)) s)"
[ -n "$kernel" ] || kernel=$(ls "$cache"/kernels/linux-image-6.12.117+deb13-amd64_*/vmlinuz-6.12.117+deb13-amd64 | head -n1)
"$bin" initramfs --agent "$agent" --out "$work/initramfs.cpio.gz" --gzip
"$py" "$here/check.py" localize "$here/qemu-x86_64.yaml" "$kernel" "$work/initramfs.cpio.gz" "$work/job.yaml"
"$py" "$here/check.py" device "$work/job.yaml" "$templates" "$here/device-qemu.jinja2" "$work/device.yaml"
s=$SECONDS
lava-run --job-id c3-x86_64 --output-dir "$work/out" --device "$work/device.yaml" "$work/job.yaml" > "$work/lava.log" 2>&1 || true
"$py" "$here/check.py" lava-results "$work/lava.log" > "$work/lava.txt"
grep '^# ' "$work/lava.txt" | sed "s/^# /lava-run x86_64: /"
echo "lava-run x86_64: wall $((SECONDS - s)) s"
grep -q '^# lava job pass$' "$work/lava.txt" || { echo "lava-run x86_64: the job did not pass"; status=1; }
"$py" "$here/check.py" ktap "$work/qemu.ktap" > "$work/qemu.txt"
"$py" "$here/check.py" compare "$work/lava.txt" "$work/qemu.txt" || status=1

# 4. fail and skip: a fake console (the agent's console with three cases altered) for the
# monitors, and the same KTAP through ktap-to-lava.sh and LAVA's lava-test-case
console=$work/logs/x86_64.log
tr -d '\r' < "$console" | sed -E -e 's/^( *)ok ([0-9]+) size\.zero$/\1not ok \2 size.zero/' \
       -e 's/^( *)ok ([0-9]+) ns\.no_caps_plain$/\1not ok \2 ns.no_caps_plain # SKIP made up by check.sh/' \
       -e 's/^( *)ok ([0-9]+) flags\.(.*)$/\1ok \2 flags.\3 # SKIP made up by check.sh/' \
       > "$work/fake-console"
grep -q 'not ok [0-9]* size.zero' "$work/fake-console" || { echo "fake console: size.zero not found in $console"; status=1; }
printf '#!/bin/sh\ncat %q\nsleep 1\n' "$work/fake-console" > "$work/fake-qemu"
chmod +x "$work/fake-qemu"
"$py" "$here/check.py" device "$work/job.yaml" "$templates" "$here/device-qemu.jinja2" "$work/fake-device.yaml" "$work/fake-qemu"
lava-run --job-id c3-fake --output-dir "$work/fake-out" --device "$work/fake-device.yaml" "$work/job.yaml" > "$work/fake.log" 2>&1 || true
"$py" "$here/check.py" lava-results "$work/fake.log" > "$work/fake-lava.txt"
"$py" "$here/check.py" ktap "$work/fake-console" > "$work/fake-want.txt"
grep -c ' fail$' "$work/fake-want.txt" | grep -qx 1 || { echo "fake console: expected exactly one fail"; status=1; }
echo -n "monitors on the fake console: "
"$py" "$here/check.py" compare "$work/fake-lava.txt" "$work/fake-want.txt" || status=1

lts=/usr/lib/python3/dist-packages/lava_dispatcher/lava_test_shell
mkdir -p "$work/ltc" "$work/results"
printf '#!/bin/sh\nexec sh %q/lava-test-case "$@"\n' "$lts" > "$work/ltc/lava-test-case"
chmod +x "$work/ltc/lava-test-case"
sed -n '/^KTAP version 1/,/^<<<clone3-abi:end/p' "$work/fake-console" | grep -v '^<<<' > "$work/fake.ktap"
printf '#!/bin/sh\ncat %q\nexit 1\n' "$work/fake.ktap" > "$work/fake-run"
chmod +x "$work/fake-run"
PATH=$work/ltc:$lts:$PATH LAVA_RESULT_DIR=$work/results sh "$here/ktap-to-lava.sh" "$work/fake-run" > "$work/ltc.out"
sed -nE 's/^<LAVA_SIGNAL_TESTCASE TEST_CASE_ID=([^ ]+) RESULT=([a-z]+).*>$/\1 \2/p' "$work/ltc.out" | grep -v '^clone3_abi_exit ' > "$work/ltc.txt"
grep -qx '<LAVA_SIGNAL_TESTCASE TEST_CASE_ID=clone3_abi_exit RESULT=fail MEASUREMENT=1>' "$work/ltc.out" || { echo "ktap-to-lava.sh: no clone3_abi_exit fail/1"; status=1; }
echo -n "ktap-to-lava.sh through lava-test-case: "
"$py" "$here/check.py" compare "$work/ltc.txt" "$work/fake-want.txt" || status=1

[ "$status" = 0 ] && echo "ci/lava: all checks passed" || echo "ci/lava: FAILED"
exit "$status"
