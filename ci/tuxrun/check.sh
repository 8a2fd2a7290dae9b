#!/usr/bin/env bash
# Proves ci/tuxrun/README.md with tuxrun's and LAVA's own code, offline (file:// artefacts,
# `--runtime null`: tuxrun calls the host's lava-run, Debian's lava-dispatcher 2023.01):
#  1. tuxrun's own qemu device with our initramfs as a cpio rootfs (x86_64): the guest boots,
#     the agent's KTAP reaches the console and matches `clone3-abi qemu` case by case, and the
#     LAVA job fails at login-action ("Connection closed": the agent has no login prompt) —
#     the check fails if that ever changes, so the README is kept true;
#  2. the job and device dictionary tuxlava makes for those arguments (gen.py, tuxlava's Job
#     API) are the ones tuxrun ran, and what lava_common's schemas say about them;
#  3. `tuxrun --device qemu-lava --job-definition` with ci/lava's job, for x86_64, aarch64
#     and riscv64: job pass, and every case's result equals `clone3-abi qemu --arch A`'s.
# usage: ci/tuxrun/check.sh [CLONE3_ABI_BINARY]  (agents built, `cargo xtask agents`; kernels
# are fetched into the cache by `clone3-abi qemu` if missing). Exit 1 on any mismatch.
# tuxrun runs in the work directory: lava-run's --output-dir is relative (`output`).
# Cost once installed: about 80-90 s (three reference boots, four tuxrun boots, all TCG).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bin=$(realpath "${1:-$root/target/release/clone3-abi}")
cache=${CLONE3_ABI_CACHE:-$HOME/.cache/clone3-abi}
lava=$root/ci/lava
export DEBIAN_FRONTEND=noninteractive
t0=$SECONDS

# tuxrun and tuxlava from PyPI, pinned, in their own venv (Debian's python3: the venv is
# only for tuxrun; lava-run and lava_common are Debian's, as ci/lava/check.sh installs them)
venv=$cache/tuxrun-venv
want="tuxrun==1.11.0 tuxlava==0.28.0"
if [ "$(cat "$venv/.wanted" 2>/dev/null)" != "$want" ]; then
  rm -rf "$venv"
  /usr/bin/python3 -m venv "$venv"
  # shellcheck disable=SC2086
  "$venv/bin/pip" install --quiet --disable-pip-version-check $want
  echo "$want" > "$venv/.wanted"
fi
if ! dpkg -s lava-dispatcher lava-common >/dev/null 2>&1; then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends lava-dispatcher lava-common >/dev/null
fi
echo "tuxrun $("$venv/bin/tuxrun" --version | awk '{print $2}'), tuxlava $("$venv/bin/python" -c 'import tuxlava; print(tuxlava.__version__)'), lava-dispatcher $(dpkg-query -W -f '${Version}' lava-dispatcher), $(qemu-system-x86_64 --version | head -n1)"

work=$(mktemp -d)
status=0
trap '[ "$status" = 0 ] && rm -rf "$work" || echo "kept $work"' EXIT

kernel_of() { # the stock kernel of qemu-images/<arch>.toml, as `clone3-abi qemu` caches it
  local pkg ver path
  pkg=$(sed -n 's/^package = "\(.*\)"/\1/p' "$root/qemu-images/$1.toml")
  ver=$(sed -n 's/^version = "\(.*\)"/\1/p' "$root/qemu-images/$1.toml")
  path=$(sed -n 's/^kernel_path = "\(.*\)"/\1/p' "$root/qemu-images/$1.toml")
  ls "$cache"/kernels/"${pkg}_${ver}"_*/"$(basename "$path")" 2>/dev/null | head -n1
}
target_of() { sed -n 's/^agent_target = "\(.*\)"/\1/p' "$root/qemu-images/$1.toml"; }

# reference: clone3-abi's own QEMU runner (also fetches the kernel when missing)
for a in x86_64 aarch64 riscv64; do
  t=$(target_of "$a")
  agent=$(realpath "$(dirname "$bin")/../$t/agent/clone3-abi")
  mkdir -p "$work/agents/$t"; ln -sf "$agent" "$work/agents/$t/clone3-abi"
  "$bin" initramfs --agent "$agent" --out "$work/initramfs-$a.cpio.gz" --gzip
  s=$SECONDS
  "$bin" qemu --arch "$a" --accel tcg --agents "$work/agents" > "$work/ref-$a.ktap" 2> "$work/ref-$a.err" || true
  /usr/bin/python3 "$lava/check.py" ktap "$work/ref-$a.ktap" > "$work/ref-$a.txt"
  echo "reference clone3-abi qemu --arch $a: $(wc -l < "$work/ref-$a.txt") cases, $((SECONDS - s)) s"
  [ -n "$(kernel_of "$a")" ] || { echo "no cached kernel for $a"; status=1; }
done

# 1. tuxrun's qemu device, our initramfs as the rootfs (a .cpio.gz: tuxlava passes it as -initrd)
k=$(kernel_of x86_64)
s=$SECONDS
rc=0
(cd "$work" && "$venv/bin/tuxrun" --runtime null --device qemu-x86_64 --kernel "file://$k" \
  --rootfs "file://$work/initramfs-x86_64.cpio.gz" --save-outputs --cache-dir "$work/tuxA" \
  --lava-definition --log-file-text "$work/A.txt") > "$work/A.out" 2>&1 || rc=$?
outA=$(ls -d "$work"/tuxA/tests/*/ | head -n1)
/usr/bin/python3 "$lava/check.py" ktap "$work/A.txt" > "$work/A-ktap.txt"
echo -n "tuxrun --device qemu-x86_64 (exit $rc, $((SECONDS - s)) s): console KTAP vs reference: "
/usr/bin/python3 "$lava/check.py" compare "$work/A-ktap.txt" "$work/ref-x86_64.txt" || status=1
"$venv/bin/python" - "$outA/results.json" <<'PY' || status=1
import json, sys
lava = json.load(open(sys.argv[1]))["lava"]
login, job = lava.get("login-action", {}), lava.get("job", {})
print(f"tuxrun --device qemu-x86_64: LAVA login-action {login.get('result')} ({login.get('extra', {}).get('fail')}), job {job.get('result')} ({job.get('error_type')}: {job.get('error_msg')})")
sys.exit(0 if login.get("result") == "fail" and job.get("error_msg") == "Connection closed" else 1)
PY

# 2. the same job from tuxlava's API, and LAVA's schemas on it
"$venv/bin/python" "$here/gen.py" qemu-x86_64 "file://$k" "file://$work/initramfs-x86_64.cpio.gz" - "$work/genA"
/usr/bin/python3 - "$work/genA/definition.yaml" "$outA/definition.yaml" "$work/genA/device.yaml" <<'PY' || status=1
import sys, yaml
from lava_common.schemas import validate
from lava_common.schemas.device import validate as validate_device
gen, ran, dev = (yaml.safe_load(open(p)) for p in sys.argv[1:4])
bad = 0
if gen != ran:
    print("tuxlava job: differs from the one tuxrun ran"); bad = 1
else:
    print("tuxlava job (gen.py) == the job tuxrun ran (--lava-definition)")
def check(what, f):
    try:
        f(); return "valid"
    except Exception as e:
        return f"invalid: {e}"
print("lava_common 2023.01 on tuxlava's job, strict:", check("", lambda: validate(gen, strict=True)))
ctx = dict(gen["context"]); ctx.pop("no_network", None)
r = check("", lambda: validate(dict(gen, context=ctx), strict=True))
print("  the same without context.no_network (a key newer than 2023.01), strict:", r)
if r != "valid": bad = 1
print("lava_common 2023.01 on tuxlava's device dictionary:", check("", lambda: validate_device(dev)))
sys.exit(bad)
PY

# 3. ci/lava's jobs through tuxrun (qemu-lava): tuxlava's device dictionary, our monitors
for a in x86_64 aarch64 riscv64; do
  /usr/bin/python3 "$lava/check.py" localize "$lava/qemu-$a.yaml" "$(kernel_of "$a")" "$work/initramfs-$a.cpio.gz" "$work/job-$a.yaml"
  # tuxlava's qemu device template adds -enable-kvm unless the job context says no_kvm
  /usr/bin/python3 -c 'import sys, yaml; d = yaml.safe_load(open(sys.argv[1])); d["context"]["no_kvm"] = True; yaml.safe_dump(d, open(sys.argv[1], "w"), sort_keys=False)' "$work/job-$a.yaml"
  s=$SECONDS
  rc=0
  (cd "$work" && "$venv/bin/tuxrun" --runtime null --device qemu-lava --job-definition "file://$work/job-$a.yaml" \
    --save-outputs --cache-dir "$work/tuxB-$a") > "$work/B-$a.out" 2>&1 || rc=$?
  out=$(ls -d "$work"/tuxB-"$a"/tests/*/ | head -n1)
  /usr/bin/python3 "$lava/check.py" lava-results "$out/logs.yaml" > "$work/B-$a.txt"
  echo "tuxrun qemu-lava $a: exit $rc (2 = suites other than tuxrun's own), wall $((SECONDS - s)) s, $(grep -v '^#' "$work/B-$a.txt" | grep -c ' pass$') pass, $(grep -v '^#' "$work/B-$a.txt" | grep -c ' skip$') skip, $(grep -v '^#' "$work/B-$a.txt" | grep -c ' fail$') fail; $(sed -n 's/^# timing: //p' "$work/B-$a.txt")"
  grep -q '^# lava job pass$' "$work/B-$a.txt" || { echo "tuxrun qemu-lava $a: the LAVA job did not pass"; status=1; }
  [ "$rc" = 2 ] || { echo "tuxrun qemu-lava $a: exit $rc, expected 2"; status=1; }
  echo -n "tuxrun qemu-lava $a vs reference: "
  /usr/bin/python3 "$lava/check.py" compare "$work/B-$a.txt" "$work/ref-$a.txt" || status=1
done

echo "ci/tuxrun: $((SECONDS - t0)) s"
[ "$status" = 0 ] && echo "ci/tuxrun: all checks passed" || echo "ci/tuxrun: FAILED"
exit "$status"
