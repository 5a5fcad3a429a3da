#!/usr/bin/env bash
# The GPU check, as one script for a lent GPU machine (no registry, no network): build carve
# against its CUDA LibTorch (tools/gpu/build.sh), run the test suite there, then the quickstart,
# the penalty comparison and the Fashion-MNIST Table 1 suite on CUDA, each timed, writing logs
# into OUT (default ./gpu-out).
#
#   tools/gpu/fetch-deps.sh .gpu/deps                 # here: the packages the build needs
#   OUT=... tools/gpu/check.sh .gpu/deps [SECONDS_FOR_TABLE1]
set -uo pipefail
deps=${1:?usage: tools/gpu/check.sh DEPS [SECONDS_FOR_TABLE1]}
table_seconds=${2:-180}
out=${OUT:-gpu-out}
mkdir -p "$out"
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# The wheel's libtorch.so exports std::filesystem symbols that shadow libstdc++'s (build.sh).
export LD_PRELOAD=$(g++ -print-file-name=libstdc++.so.6)
cd "$root"
step() { echo "== $* ($(date +%T))"; }
{
  step machine
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
  python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, "gpu", torch.cuda.get_device_name(0))'
  nproc
} 2>&1 | tee "$out/machine.txt"
step build
start=$SECONDS
tools/gpu/build.sh "$deps" build-cuda > "$out/build.log" 2>&1
echo "build exit $? in $((SECONDS - start)) s"; tail -3 "$out/build.log"
[ -x build-cuda/carve ] || exit 1
step tests
start=$SECONDS
(cd build-cuda && timeout 200 ctest -j "$(nproc)" --timeout 150 --output-on-failure) > "$out/ctest.log" 2>&1
echo "ctest exit $? in $((SECONDS - start)) s"; grep -E "tests passed|tests failed|\*\*\*|Skipped" "$out/ctest.log" | tail -25
step quickstart on cuda
start=$SECONDS
build-cuda/carve run experiments/quickstart.yaml --device cuda --out /tmp/qs-cuda > "$out/quickstart-cuda.log" 2>&1
echo "quickstart exit $? in $((SECONDS - start)) s"; tail -8 "$out/quickstart-cuda.log"
step penalty compare on cuda
build-cuda/carve penalty compare --device cuda --dtype float32 2>&1 | tee "$out/penalty-cuda.txt"
build-cuda/carve penalty compare --device cuda --dtype float64 --projections 64 2>&1 | tee -a "$out/penalty-cuda.txt"
step table1-fashion-mnist on cuda, at most ${table_seconds} s
start=$SECONDS
timeout "$table_seconds" build-cuda/carve run experiments/paper/table1-fashion-mnist.yaml --device cuda \
  --out /tmp/t1-cuda > "$out/table1-fashion-cuda.log" 2>&1
echo "table1 exit $? after $((SECONDS - start)) s"; tail -15 "$out/table1-fashion-cuda.log"
step done
