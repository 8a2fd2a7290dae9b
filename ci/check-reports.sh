#!/usr/bin/env bash
# Checks a `--report DIR` with the real parsers of its consumers (ci/check-reports.py):
# junitparser, kcidb-io, kunit.py, tappy, and the page as headless Chromium renders it.
# usage: ci/check-reports.sh DIR [SCREENSHOT.png]
set -euo pipefail
dir=$(realpath "${1:?usage: ci/check-reports.sh REPORT_DIR [SCREENSHOT]}")
here=$(dirname "$0")
bin=$(bash "$here/setup-validators.sh")
kunit=$(bash "$here/kunit-check.sh" --dir)
command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }
dom=$(mktemp)
trap 'rm -f "$dom"' EXIT
chrome=(chromium --headless --no-sandbox --disable-gpu --disable-dev-shm-usage)
timeout 120 "${chrome[@]}" --dump-dom "file://$dir/report.html" > "$dom" 2>/dev/null
if [ -n "${2:-}" ]; then
  timeout 120 "${chrome[@]}" --hide-scrollbars --window-size=1400,1100 --screenshot="$(realpath -m "$2")" "file://$dir/report.html" >/dev/null 2>&1
fi
"$bin/python" "$here/check-reports.py" "$dir" "$kunit" "$dom"
