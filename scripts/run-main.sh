#!/bin/bash
# The main job's quick start: install what is missing, build, run the freeze sweep
# (results/<system>-<threads>.csv and a table on stdout).  Arguments go to freeze_sweep.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
[ -f build/build.ninja ] || meson setup build
ninja -C build
./build/bench/freeze_sweep "$@"
