#!/usr/bin/env bash
# Builds the small x86_64 kernels the tests boot with `clone3-abi qemu --kernel`, from
# Debian's linux-source-6.12 (a full 6.12 tree with Debian's patches), and caches each
# bzImage under ~/.cache/clone3-abi/test-kernels/<name>-<hash>/ keyed by the source
# version and the config below, so a second run costs nothing.
#
#   lean  tinyconfig + what the agent and the cases need (namespaces, cgroups,
#         IA32_EMULATION, PVH), without COMPAT_32BIT_TIME (a y2038-clean config) and
#         without any initramfs decompressor (BLK_DEV_INITRD alone: plain cpio)
#   nons  lean without PID_NS, USER_NS, TIME_NS and CGROUPS
#
# Prints `name=path` per kernel on stdout. Usage: ci/build-test-kernels.sh [--cached] [name...]
# (--cached: only print those already built; never install or build).
set -euo pipefail
cache="${CLONE3_ABI_CACHE:-$HOME/.cache/clone3-abi}"
cached_only=false
if [ "${1:-}" = --cached ]; then cached_only=true; shift; fi
names=("$@")
[ ${#names[@]} -eq 0 ] && names=(lean nons)

need=()
for pkg in linux-source-6.12 bc flex bison libelf-dev libssl-dev build-essential cpio xz-utils; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || need+=("$pkg")
done
if $cached_only; then
  need=()
  dpkg-query -W linux-source-6.12 >/dev/null 2>&1 || exit 0
fi
if [ ${#need[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq "${need[@]}" >/dev/null
fi
version=$(dpkg-query -W -f='${Version}' linux-source-6.12)
tarball=/usr/src/linux-source-6.12.tar.xz
src="$cache/test-kernels/src-$version"
if ! $cached_only && [ ! -f "$src/.unpacked" ]; then
  rm -rf "$src" && mkdir -p "$src"
  tar -xJf "$tarball" -C "$src" --strip-components=1
  touch "$src/.unpacked"
fi

# Options on top of tinyconfig, per kernel: `+X` enables CONFIG_X, `-X` disables it.
lean=(+64BIT +PRINTK +TTY +SERIAL_8250 +SERIAL_8250_CONSOLE +BLK_DEV_INITRD -RD_GZIP -RD_BZIP2 -RD_LZMA -RD_XZ -RD_LZO -RD_LZ4 -RD_ZSTD
      +BINFMT_ELF +BINFMT_SCRIPT +PROC_FS +SYSFS +DEVTMPFS +MULTIUSER +FUTEX +EPOLL +SIGNALFD
      +TIMERFD +EVENTFD +POSIX_TIMERS +SHMEM +TMPFS +HYPERVISOR_GUEST +PARAVIRT +PVH
      +NAMESPACES +UTS_NS +IPC_NS +SYSVIPC +PID_NS +NET +NET_NS +USER_NS +TIME_NS
      +CGROUPS +CGROUP_PIDS +IA32_EMULATION +CHECKPOINT_RESTORE +SECCOMP +SECCOMP_FILTER
      +RSEQ +ADVISE_SYSCALLS +KALLSYMS -COMPAT_32BIT_TIME)
nons=("${lean[@]}" -PID_NS -USER_NS -TIME_NS -CGROUPS -CGROUP_PIDS)

for name in "${names[@]}"; do
  declare -n opts="$name"
  key=$(printf '%s\n' "$version" "${opts[@]}" | sha256sum | cut -c1-12)
  out="$cache/test-kernels/$name-$key"
  if $cached_only; then
    [ -f "$out/bzImage" ] && echo "$name=$out/bzImage"
    continue
  fi
  if [ ! -f "$out/bzImage" ]; then
    # One build tree for all: a second config rebuilds only what its options touch.
    build="$cache/test-kernels/build"
    mkdir -p "$build"
    start=$SECONDS
    make -s -C "$src" O="$build" tinyconfig >/dev/null
    args=()
    for o in "${opts[@]}"; do
      case "$o" in +*) args+=(-e "${o#+}") ;; -*) args+=(-d "${o#-}") ;; esac
    done
    "$src/scripts/config" --file "$build/.config" "${args[@]}"
    make -s -C "$src" O="$build" olddefconfig >/dev/null
    declare -A want=()  # the last +X/-X of an option wins
    for o in "${opts[@]}"; do want["CONFIG_${o#?}"]="${o:0:1}"; done
    bad=()  # every option must have taken: a silent drop would test another kernel
    for sym in "${!want[@]}"; do
      if [ "${want[$sym]}" = + ]; then
        grep -q "^$sym=y" "$build/.config" || bad+=("$sym did not stay on")
      else
        ! grep -q "^$sym=y" "$build/.config" || bad+=("$sym did not go off")
      fi
    done
    unset want
    if [ ${#bad[@]} -gt 0 ]; then
      printf 'build-test-kernels: %s: %s\n' "$name" "${bad[*]}" >&2
      exit 1
    fi
    make -s -C "$src" O="$build" -j"$(nproc)" bzImage >"$build/make.log" 2>&1 || {
      tail -n 30 "$build/make.log" >&2; echo "build-test-kernels: $name failed" >&2; exit 1; }
    mkdir -p "$out.tmp"
    cp "$build/arch/x86/boot/bzImage" "$build/.config" "$out.tmp/"
    rm -rf "$out" && mv "$out.tmp" "$out"
    echo "build-test-kernels: $name built in $((SECONDS - start)) s" >&2
  fi
  echo "$name=$out/bzImage"
done
