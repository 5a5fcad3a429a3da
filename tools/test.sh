#!/usr/bin/env bash
# The test command: set up if needed (system packages, configure, build), then run the suite.
#
#   tools/test.sh                 everything
#   tools/test.sh -R Contractive  extra arguments go to ctest
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${CARVE_BUILD_DIR:-$root/build}
"$root/tools/setup.sh"
cd "$build"
ctest --output-on-failure -j "$(nproc)" "$@"
