#!/usr/bin/env bash
# Proves ci/kernelci/ with the parsers and validators KernelCI's pieces use:
#  1. jobs-clone3-abi.yaml parses; runtime/clone3-abi.jinja2 renders with jinja2 for each job
#     and platform of its scheduler, as kernelci-core's LAVA runtime renders (a YAML round trip);
#  2. each rendered job passes lava_common's strict job schema (Debian's lava-common 2023.01),
#     and its monitors are ci/lava/qemu-<guest>.yaml's, for the families of `clone3-abi list`;
#  3. lava-run runs the rendered x86_64 job (stock Debian kernel, our initramfs, TCG): job pass,
#     and the KCIDB paths KernelCI's result mapping makes of its results are exactly the paths
#     of kcidb.json from a real `clone3-abi run --report` on this host;
#  4. that kcidb.json passes kcidb-io's V5_3.validate_exactly, and every path is
#     clone3_abi.<guest>.<family>.<case> with [a-zA-Z0-9_-] segments.
# usage: ci/kernelci/check.sh [CLONE3_ABI_BINARY]  (as root for the full host run; the x86_64
# agent built and the x86_64 kernel cached, as for ci/lava/check.sh). Exit 1 on any failure.
# Cost once installed: about 30 s (one lava-run boot, one host run).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bin=$(realpath "${1:-$root/target/release/clone3-abi}")
py=/usr/bin/python3
cache=${CLONE3_ABI_CACHE:-$HOME/.cache/clone3-abi}
export DEBIAN_FRONTEND=noninteractive
t0=$SECONDS

templates=$(bash "$root/ci/lava/setup.sh")
ver=$(dpkg-query -W -f '${Version}' lava-dispatcher)
vbin=$(bash "$root/ci/setup-validators.sh")
echo "lava-dispatcher/lava-common $ver, jinja2 $($py -c 'import jinja2; print(jinja2.__version__)'), $("$vbin/pip" list 2>/dev/null | awk '$1 == "kcidb-io" {print "kcidb-io " $2}')"

work=$(mktemp -d)
status=0
trap '[ "$status" = 0 ] && rm -rf "$work" || echo "kept $work"' EXIT

# the files the rendered jobs point at: the x86_64 ones real, the others stand-ins
kernel=$(ls "$cache"/kernels/linux-image-6.12.117+deb13-amd64_*/vmlinuz-6.12.117+deb13-amd64 | head -n1)
agent=${CLONE3_ABI_AGENT:-$(dirname "$bin")/../x86_64-unknown-linux-gnu/agent/clone3-abi}
mkdir -p "$work/files/x86_64"
ln -s "$kernel" "$work/files/x86_64/kernel"
"$bin" initramfs --agent "$(realpath "$agent")" --out "$work/files/x86_64/initramfs.cpio.gz" --gzip

# 1, 2
"$bin" list > "$work/list"
"$py" "$here/check.py" render "$here/jobs-clone3-abi.yaml" "$here/runtime" "$work/files" "$work/jobs" || status=1
"$py" "$here/check.py" validate "$work/jobs" "$root/ci/lava" "$work/list" || status=1

# 3. lava-run of the rendered x86_64 job, with the device dictionary ci/lava uses
"$py" "$root/ci/lava/check.py" device "$work/jobs/clone3-abi-x86_64.yaml" "$templates" "$root/ci/lava/device-qemu.jinja2" "$work/device.yaml"
s=$SECONDS
lava-run --job-id kci-x86_64 --output-dir "$work/out" --device "$work/device.yaml" "$work/jobs/clone3-abi-x86_64.yaml" > "$work/lava.log" 2>&1 || true
"$py" "$root/ci/lava/check.py" lava-results "$work/lava.log" > "$work/lava.txt"
echo "lava-run of the rendered clone3-abi-x86_64 job: $((SECONDS - s)) s wall, $(grep -vc '^#' "$work/lava.txt") results; $(sed -n 's/^# timing: //p' "$work/lava.txt")"
grep -q '^# lava job pass$' "$work/lava.txt" || { echo "lava-run: the job did not pass"; status=1; }
"$py" "$here/check.py" kcidb-paths "$here/jobs-clone3-abi.yaml" clone3-abi-x86_64 "$work/lava.txt" > "$work/kci-paths.txt"

# 4. a real run's kcidb.json (this host's kernel; its guest is named after the arch)
s=$SECONDS
"$bin" run --report "$work/report" > /dev/null 2> "$work/run.err" || echo "clone3-abi run: exit $? ($(tail -n1 "$work/run.err"))"
echo "clone3-abi run --report: $((SECONDS - s)) s"
if [ "$(uname -m)" = x86_64 ]; then
  "$vbin/python" "$here/check.py" report "$work/report/kcidb.json" "$work/kci-paths.txt" || status=1
else
  "$vbin/python" "$here/check.py" report "$work/report/kcidb.json" || status=1
fi

echo "ci/kernelci: $((SECONDS - t0)) s"
[ "$status" = 0 ] && echo "ci/kernelci: all checks passed" || echo "ci/kernelci: FAILED"
exit "$status"
