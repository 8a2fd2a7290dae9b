#!/usr/bin/env bash
# The tarball alone, as a user that is not root: `cargo xtask dist`, unpacked in a temporary
# directory, runs the six-guest matrix as nobody (no source tree, nothing built or installed,
# its own agents, recipes and snapshots, a cache of its own) and must give the same verdict
# for every case of every guest as the checkout's report REPORT_DIR (a `qemu --arch all
# --report` run).
# usage: ci/dist-check.sh REPORT_DIR
set -euo pipefail
want=$(realpath "${1:?usage: ci/dist-check.sh REPORT_DIR_OF_THE_CHECKOUT_RUN}")
cd "$(dirname "$0")/.."
cargo xtask dist
tarball=$(ls -t target/dist/clone3-abi-*-x86_64.tar.gz | head -n1)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
chmod 755 "$tmp"
tar -xzf "$tarball" -C "$tmp"
root=$(ls -d "$tmp"/clone3-abi-*/)
# The kernels this host has fetched already, so that the check does not download them
# again; everything else (initramfs, boot times) the tarball makes for itself.
mkdir -p "$tmp/cache" "$tmp/report"
cp -r "${CLONE3_ABI_CACHE:-$HOME/.cache/clone3-abi}/kernels" "$tmp/cache/" 2>/dev/null || true
chown -R 65534:65534 "$tmp/cache" "$tmp/report"
rc=0
start=$SECONDS
(cd "$tmp" && setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all \
  env -i PATH=/usr/bin:/bin HOME="$tmp" "$root/bin/clone3-abi" qemu --arch all --cache "$tmp/cache" --report "$tmp/report" \
  > "$tmp/report.ktap" 2> "$tmp/report.err") || rc=$?
tail -n 3 "$tmp/report.err"
echo "dist-check: the tarball's matrix as nobody: exit $rc in $((SECONDS - start)) s"
python3 - "$want/results.json" "$tmp/report/results.json" <<'PY'
import json, sys
def verdicts(path):
    out = {}
    for d in json.load(open(path)):
        for c in d.get("cases", []):
            out[(d["guest"], c["id"])] = c["verdict"]["verdict"]
        if "cases" not in d:
            out[(d["guest"], "")] = "crashed" if "crashed" in d else "cannot_test"
    return out
a, b = verdicts(sys.argv[1]), verdicts(sys.argv[2])
diff = sorted(set(a.items()) ^ set(b.items()))
if diff or not a:
    sys.exit(f"dist-check: the tarball's verdicts differ from the checkout's on {len(diff)} entries, e.g. {diff[:8]}")
print(f"dist-check: {len(a)} verdicts, the same from the tarball (as nobody) as from the checkout")
PY
[ "$rc" = 0 ] || { echo "dist-check: the tarball's matrix exited $rc" >&2; exit 1; }
