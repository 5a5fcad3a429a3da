#!/usr/bin/env bash
# Builds carve against the CUDA LibTorch of the first python3 with torch, using the packages
# that tools/gpu/fetch-deps.sh unpacked into DEPS, into BUILD.
#
#   tools/gpu/build.sh .gpu/deps build-cuda
#
# Two things differ from a Debian build (seen with torch 2.11.0+cu130):
# - the wheel ships fmt headers of its own (v12), found before Debian's: fmt is used header-only
#   (FMT_HEADER_ONLY) so that headers and code are one version;
# - the wheel's libtorch.so exports std::filesystem symbols of its own, and an executable that
#   lists libtorch before libstdc++ calls them: std::filesystem::remove_all jumped to address 0.
#   Run the programs with LD_PRELOAD=$(g++ -print-file-name=libstdc++.so.6) (check.sh does).
set -euo pipefail
deps=$(cd "${1:?usage: tools/gpu/build.sh DEPS BUILD}" && pwd)
build=${2:?usage: tools/gpu/build.sh DEPS BUILD}
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
py=${PYTHON:-python3}
read -r torch_prefix abi cuda < <("$py" -c 'import torch; print(torch.utils.cmake_prefix_path, int(torch._C._GLIBCXX_USE_CXX11_ABI), torch.version.cuda)')
echo "torch $("$py" -c 'import torch; print(torch.__version__)'), CUDA $cuda, C++11 ABI $abi"
if [ "$abi" != 1 ]; then
  echo "build.sh: this torch uses the old C++ ABI: fmt, yaml-cpp, CLI11 and GoogleTest must be built from source with -D_GLIBCXX_USE_CXX11_ABI=0" >&2
  exit 1
fi
lib=$deps/usr/lib/x86_64-linux-gnu
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$torch_prefix;$deps/usr;$lib/cmake;$deps/usr/share/cmake" \
  -DCMAKE_CXX_FLAGS="-isystem $deps/usr/include -DFMT_HEADER_ONLY=1" \
  -DCMAKE_EXE_LINKER_FLAGS="-L$lib -Wl,-rpath,$lib" \
  -DZLIB_INCLUDE_DIR="$deps/usr/include" -DZLIB_LIBRARY="$lib/libz.a" \
  -DCMAKE_CUDA_ARCHITECTURES=90 -DTORCH_CUDA_ARCH_LIST=9.0 -DCARVE_PYTHON="$(command -v "$py")"
cmake --build "$build" -j "$(nproc)"
