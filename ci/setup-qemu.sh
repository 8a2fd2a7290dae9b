#!/usr/bin/env bash
# Installs what `clone3-abi qemu` needs on a Debian 12 host: qemu-system for the four guest
# architectures (QEMU 10 from bookworm-backports: the machine's qemu-utils comes from there,
# so bookworm's QEMU 7.2 would conflict), curl to fetch kernels, dpkg-deb/tar to unpack them;
# and qemu-user-static, whose missing clone3 (ENOSYS) tests the "cannot test" path.
# Idempotent and quiet when everything is present.
set -euo pipefail
need=()
for bin in qemu-system-x86_64 qemu-system-i386 qemu-system-aarch64 qemu-system-riscv64; do
  command -v "$bin" >/dev/null || need+=(qemu-system-x86 qemu-system-arm qemu-system-misc)
done
command -v qemu-aarch64-static >/dev/null || need+=(qemu-user-static)
command -v curl >/dev/null || need+=(curl)
command -v dpkg-deb >/dev/null || need+=(dpkg)
[ ${#need[@]} -eq 0 ] && exit 0
src=/etc/apt/sources.list.d/clone3-abi-backports.sources
if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
  # The host's own Debian mirror (the one it installs bookworm from), or CLONE3_ABI_MIRROR.
  mirror=${CLONE3_ABI_MIRROR:-$(grep -rhoE '(URIs:[[:space:]]*|^deb[[:space:]]+(\[[^]]*\][[:space:]]+)?)https?://[^[:space:]]*/debian/?([[:space:]]|$)' \
    /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null | grep -oE 'https?://[^[:space:]]*' | head -n 1 || true)}
  if [ -z "$mirror" ]; then
    echo "setup-qemu: no Debian mirror in the apt sources: set CLONE3_ABI_MIRROR=<URL of a Debian archive, …/debian>" >&2
    exit 1
  fi
  cat > "$src" <<SRC
Types: deb
URIs: ${mirror%/}
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
fi
export DEBIAN_FRONTEND=noninteractive
apt-get -o DPkg::Lock::Timeout=600 update -qq
mapfile -t uniq < <(printf '%s\n' "${need[@]}" | sort -u)
apt-get -o DPkg::Lock::Timeout=600 install -y -qq -t bookworm-backports "${uniq[@]}" >/dev/null || {
  echo "setup-qemu: cannot install ${uniq[*]} from bookworm-backports" >&2
  exit 1
}
