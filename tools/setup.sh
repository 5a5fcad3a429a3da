#!/usr/bin/env bash
# Installs every system dependency of carve from Debian packages (idempotent), points the
# system BLAS at OpenBLAS, then configures and builds into build/.
#
#   tools/setup.sh            install what is missing, configure, build
#   CARVE_BUILD_DIR=dir       build somewhere else (default: <checkout>/build)
#   CARVE_SKIP_BUILD=1        install dependencies only
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${CARVE_BUILD_DIR:-$root/build}

packages=(
  build-essential cmake ninja-build pkg-config
  libtorch-dev libopenblas0-openmp
  libfmt-dev libyaml-cpp-dev libgtest-dev libcli11-dev nlohmann-json3-dev libstb-dev zlib1g-dev
  python3-torch python3-sklearn
)

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "setup: need root or sudo to install packages" >&2; exit 1; }
  sudo_cmd=(sudo)
fi

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [ "$status" = "install ok installed" ] || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# libtorch links libblas.so.3 / liblapack.so.3 through Debian's alternatives. The reference
# BLAS runs sgemm ~20x slower than OpenBLAS, so select OpenBLAS explicitly.
arch=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -print-multiarch)
for lib in blas lapack; do
  target=/usr/lib/$arch/openblas-openmp/lib$lib.so.3
  link=lib$lib.so.3-$arch
  if [ -e "$target" ] && [ "$(readlink -f /etc/alternatives/$link 2>/dev/null)" != "$target" ]; then
    "${sudo_cmd[@]}" update-alternatives --quiet --set "$link" "$target"
  fi
done

[ "${CARVE_SKIP_BUILD:-0}" = 1 ] && exit 0

if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release
fi
# Each translation unit that sees libtorch's headers needs ~1.5 GiB; two jobs fit two cores.
cmake --build "$build" -j "${CARVE_JOBS:-$(nproc)}"
