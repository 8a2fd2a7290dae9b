#!/usr/bin/env bash
# Installs what `cargo build --target <triple>` needs for the three cross targets of
# clone3-abi (the linkers named in .cargo/config.toml and their static C libraries).
# Idempotent: prints nothing when everything is already there. Debian/Ubuntu only.
set -euo pipefail

targets=(i686-unknown-linux-gnu aarch64-unknown-linux-gnu riscv64gc-unknown-linux-gnu)
packages=(gcc-i686-linux-gnu gcc-aarch64-linux-gnu gcc-riscv64-linux-gnu
          libc6-dev-i386-cross libc6-dev-arm64-cross libc6-dev-riscv64-cross)
linkers=(i686-linux-gnu-gcc aarch64-linux-gnu-gcc riscv64-linux-gnu-gcc)

die() {
    echo "setup-cross: $*" >&2
    exit 1
}

# --- Rust standard libraries for the targets ---
command -v rustup >/dev/null || die "rustup not found: install rustup, then run this again"
installed=$(rustup target list --installed) || die "'rustup target list --installed' failed"
missing=()
for t in "${targets[@]}"; do
    grep -qx "$t" <<<"$installed" || missing+=("$t")
done
if ((${#missing[@]})); then
    echo "setup-cross: rustup target add ${missing[*]}"
    out=$(rustup target add "${missing[@]}" 2>&1) || die "could not install Rust targets ${missing[*]}:
$out"
fi

# --- Cross linkers and C libraries from Debian ---
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
    command -v apt-get >/dev/null || die "apt-get not found; install the equivalents of: ${missing[*]}"
    sudo=()
    if ((EUID != 0)); then
        command -v sudo >/dev/null || die "need root (or sudo) to install: ${missing[*]}"
        sudo=(sudo)
    fi
    echo "setup-cross: apt-get install ${missing[*]}"
    out=$("${sudo[@]}" apt-get -o DPkg::Lock::Timeout=600 update -q 2>&1) || die "apt-get update failed:
$out"
    out=$(DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends \
        "${missing[@]}" 2>&1) || die "could not install ${missing[*]}:
$out"
fi

for l in "${linkers[@]}"; do
    command -v "$l" >/dev/null || die "linker $l is still missing after the install"
done
