#!/usr/bin/env bash
# The test command: set up if needed (system packages, configure, build), then run the suite:
# the unit suite (with the install test: examples/consumer against an installed carve), then the
# tests against a local one-node SLURM cluster (tools/slurm/cluster.sh; they skip where no
# cluster can be started), then the Debian package installed into a clean Debian 12 root
# (tools/package/deb.sh; as root). Prints the minutes of each stage.
#
#   tools/test.sh                 everything
#   tools/test.sh -R Contractive  extra arguments go to ctest (one stage)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${CARVE_BUILD_DIR:-$root/build}

stages=()
stage_start=$SECONDS
stage() {  # stage NAME STATUS: records the minutes since the previous stage
  stages+=("$(printf '%-32s %5.1f min  %s' "$1" "$(awk -v s=$((SECONDS - stage_start)) 'BEGIN { print s / 60 }')" "$2")")
  stage_start=$SECONDS
}
report() {
  echo
  echo "stage                            minutes"
  printf '%s\n' "${stages[@]}"
}

"$root/tools/setup.sh"
stage "setup, build" ok
cd "$build"
if [[ $# -gt 0 ]]; then
  exec ctest --output-on-failure -j "$(nproc)" "$@"
fi

failed=0
if ctest --output-on-failure -j "$(nproc)" -LE slurm; then stage "unit suite" ok; else stage "unit suite" FAILED; failed=1; fi
if ctest --output-on-failure -L slurm; then stage "SLURM cluster tests" ok; else stage "SLURM cluster tests" FAILED; failed=1; fi
if [[ $(id -u) != 0 ]]; then
  stage "Debian package" "not run: needs root (tools/package/deb.sh)"
elif "$root/tools/package/deb.sh" "$build"; then stage "Debian package" ok; else stage "Debian package" FAILED; failed=1; fi
report
exit $failed
