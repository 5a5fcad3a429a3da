#!/usr/bin/env bash
# The quickstart: set up if needed, build, then compare the three contractive penalties on a
# random CAE layer of the paper's size (784 -> 1000 sigmoid units, batch 100).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${CARVE_BUILD_DIR:-$root/build}
"$root/tools/setup.sh"
"$build/carve" penalty compare --inputs 784 --hidden 1000 --batch 100 --dtype float64 --projections 64 --repeats 1 "$@"
