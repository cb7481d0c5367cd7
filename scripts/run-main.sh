#!/bin/bash
# The main job's quick start: install what is missing, build, run the seed example.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
[ -f build/build.ninja ] || meson setup build
ninja -C build
./build/examples/simple_net "$@"
