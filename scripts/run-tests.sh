#!/bin/bash
# The test quick start: install what is missing, configure and build, run every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh python data
[ -f build/build.ninja ] || meson setup build
ninja -C build
meson test -C build --print-errorlogs "$@"
