#!/usr/bin/env bash
# What the GitHub and GitLab recipes (ci/github/, ci/gitlab/) run in a kernel tree, and what
# this project's CI runs to keep them honest: build the kernel image, boot it under QEMU with
# clone3-abi's agent as /init, judge it by the model, keep every report format.
#   CLONE3_ABI     the clone3-abi binary (default: the one on PATH; an unpacked `cargo xtask
#                  dist` tarball's bin/clone3-abi)
#   GUEST          x86_64 (default), i386-native, aarch64 or riscv64
#   KERNEL_BUILD   the build command (default: defconfig and the image, cross-compiled)
#   KERNEL_IMAGE   the image it makes (default: the arch's boot image)
#   REPORT         where the reports go (default: report)
# Exit: clone3-abi's own: 0 good, 1 a difference from the model, 125 cannot test (the build
# failed, the kernel did not boot, QEMU is missing).
set -euo pipefail
clone3_abi=${CLONE3_ABI:-clone3-abi}
guest=${GUEST:-x86_64}
jobs=$(nproc)
case $guest in
  x86_64) make="make ARCH=x86_64"; image=arch/x86/boot/bzImage; target=bzImage ;;
  i386-native) make="make ARCH=i386"; image=arch/x86/boot/bzImage; target=bzImage ;;
  aarch64) make="make ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu-"; image=arch/arm64/boot/Image; target=Image ;;
  riscv64) make="make ARCH=riscv CROSS_COMPILE=riscv64-linux-gnu-"; image=arch/riscv/boot/Image; target=Image ;;
  *) echo "kernel-tree: GUEST must be x86_64, i386-native, aarch64 or riscv64, not $guest" >&2; exit 128 ;;
esac
build=${KERNEL_BUILD:-"$make -s defconfig && $make -s -j$jobs $target"}
image=${KERNEL_IMAGE:-$image}
report=${REPORT:-report}
"$clone3_abi" doctor || true
rc=0
start=$SECONDS
"$clone3_abi" qemu --arch "$guest" --kernel-build "$build" --kernel "$image" --report "$report" --cross-arch > /dev/null || rc=$?
echo "kernel-tree: clone3-abi qemu --arch $guest: exit $rc in $((SECONDS - start)) s (0 good, 1 a difference, 125 cannot test); reports in $report/"
exit "$rc"
