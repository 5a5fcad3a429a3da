#!/usr/bin/env bash
# The quickstart: set up if needed, build, then train experiments/quickstart.yaml (a CAE on the
# real MNIST digits beside a plain AE) into runs/quickstart/ and print the ranked table.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${CARVE_BUILD_DIR:-$root/build}
"$root/tools/setup.sh"
cd "$root"
exec "$build/carve" run experiments/quickstart.yaml --force "$@"
