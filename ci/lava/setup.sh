#!/usr/bin/env bash
# Installs Debian's lava-dispatcher and lava-common (lava-run, lava_common's schemas) and takes
# lava-server's device-type templates out of its .deb (the jinja2 files a LAVA server renders
# device dictionaries with; the server itself needs PostgreSQL and Django and is never
# installed). Idempotent. Prints the templates directory.
set -euo pipefail
cache=${CLONE3_ABI_CACHE:-$HOME/.cache/clone3-abi}
export DEBIAN_FRONTEND=noninteractive
if ! dpkg -s lava-dispatcher lava-common >/dev/null 2>&1; then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends lava-dispatcher lava-common >/dev/null
fi
ver=$(dpkg-query -W -f '${Version}' lava-dispatcher)
templates=$cache/lava/lava-server-$ver/device-types
if [ ! -f "$templates/qemu.jinja2" ]; then
  tmp=$(mktemp -d)
  (cd "$tmp" && apt-get download -qq "lava-server=$ver" 2>/dev/null)
  mkdir -p "$templates"
  dpkg-deb --fsys-tarfile "$tmp"/lava-server_*.deb | tar -x -C "$tmp" ./usr/share/lava-server/device-types
  cp "$tmp"/usr/share/lava-server/device-types/*.jinja2 "$templates/"
  rm -rf "$tmp"
fi
echo "$templates"
