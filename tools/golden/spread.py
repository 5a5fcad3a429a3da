#!/usr/bin/env python3
"""Measures how far each golden value moves under the variations one machine can produce, and
records beside each value a tolerance of 4x the largest spread it saw (docs/ARCHITECTURE.md,
"Reproducibility").

The golden test (tests/golden/golden_test.cpp) runs each experiment file shortened; with
CARVE_GOLDEN_DUMP=DIR it writes the fresh values to DIR/<case>.json instead of comparing. This
script runs it once per variation:

  - ATen's CPU capability (ATEN_CPU_CAPABILITY): LibTorch's default and every other level the CPU
    supports, down to `default` (no vectorization);
  - the BLAS kernel family (OPENBLAS_CORETYPE), where the BLAS is an OpenBLAS built with
    DYNAMIC_ARCH that lets a process choose: one core type per family of kernels the CPU can run
    (SSE, AVX, AVX2, AVX-512, AVX-512 with bf16); that the choice took is checked by asking the
    library (openblas_get_corename), not assumed;
  - one and two threads (CARVE_GOLDEN_THREADS);
  - the lowest of all three at once;

plus any dumps made elsewhere (--include DIR: one folder per variation, each holding
<case>.json; tools/compat/libtorch2.sh --golden-dump DIR makes them in CI's LibTorch 2.x root).
Each golden value is the baseline's (this machine, LibTorch's own choices, one thread); its
tolerance is max(4 x (max - min over every variation), floor), the floor being float32 rounding
of the value's scale (for a parameter's sum, the parameter's norm: sums cancel).

  /usr/bin/python3 tools/golden/spread.py                measure every case, write tests/golden/
  /usr/bin/python3 tools/golden/spread.py ae cae         some cases
  /usr/bin/python3 tools/golden/spread.py --dump-only D  run the variations, write D/<variation>/
  /usr/bin/python3 tools/golden/spread.py --include D    merge dumps made elsewhere too
  /usr/bin/python3 tools/golden/spread.py --from D       merge this machine's dumps made before
                                                         (--dump-only D) instead of running them
  /usr/bin/python3 tools/golden/spread.py --list         print the variations this machine has

Takes about as long as the golden tests times the number of variations (two at a time where they
use one thread each): ~40 min on a 2-core machine for every case.
"""
import argparse
import concurrent.futures
import ctypes
import datetime
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
GOLDEN_DIR = os.path.join(ROOT, "tests", "golden")
TEST_PREFIX = "Experiments/Golden.FreshRunMatchesRecordedNumbers/"

# ATen's levels, highest first, and the CPU flags each needs (ATen's own checks).
ATEN_LEVELS = [
    ("avx512", {"avx512f", "avx512bw", "avx512vl", "avx512dq"}),
    ("avx2", {"avx2", "fma"}),
    ("default", set()),
]
# One OpenBLAS core type per family of kernels, and the CPU flags its kernels use.
BLAS_FAMILIES = [
    ("Cooperlake", {"avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512_bf16"}),
    ("SkylakeX", {"avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512cd"}),
    ("Haswell", {"avx2", "fma"}),
    ("SandyBridge", {"avx"}),
    ("Nehalem", {"ssse3", "sse4_2"}),
]
# float32 rounding, with room for the few operations that print a value (relative), and an
# absolute floor for values that are zero by construction.
ROUNDING = 4 * 2.0 ** -24
ABSOLUTE_FLOOR = 1e-9


def cpu_flags():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("flags"):
                return set(line.split(":", 1)[1].split())
    return set()


def cpu_name():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def blas_core(env):
    """The core type the system BLAS runs under `env`, or None when it is not an OpenBLAS that says."""
    code = ("import ctypes\n"
            "l = ctypes.CDLL('libblas.so.3')\n"
            "f = l.openblas_get_corename\n"
            "f.restype = ctypes.c_char_p\n"
            "print(f().decode())\n")
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    return r.stdout.strip().lower() if r.returncode == 0 else None


def aten_default():
    """LibTorch's own choice of capability when none is asked for (as Python torch reports it), or None."""
    env = dict(os.environ)
    env.pop("ATEN_CPU_CAPABILITY", None)
    code = ("import torch\n"
            "b = getattr(torch.backends, 'cpu', None)\n"
            "print(b.get_cpu_capability() if b and hasattr(b, 'get_cpu_capability') else "
            "torch.__config__.show().split('CPU capability usage:')[1].splitlines()[0].strip())\n")
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    if r.returncode != 0:
        return None
    name = r.stdout.strip().lower().replace("no avx", "default")
    return name if name in {level for level, _ in ATEN_LEVELS} else None


def variations():
    """(name, environment additions, threads) for each variation this machine can produce."""
    flags = cpu_flags()
    base_env = dict(os.environ)
    for key in ("ATEN_CPU_CAPABILITY", "OPENBLAS_CORETYPE", "CARVE_GOLDEN_THREADS"):
        base_env.pop(key, None)
    out = [("baseline", {}, 1)]
    notes = []
    default_level = aten_default()
    aten = [level for level, need in ATEN_LEVELS if need <= flags]
    for level in aten:
        if level != default_level:
            out.append((f"aten-{level}", {"ATEN_CPU_CAPABILITY": level}, 1))
    default_core = blas_core(base_env)
    blas = []
    if default_core is None:
        notes.append("the BLAS is not an OpenBLAS that reports its core: its kernels were not varied")
    else:
        for core, need in BLAS_FAMILIES:
            if not need <= flags:
                continue
            got = blas_core(dict(base_env, OPENBLAS_CORETYPE=core))
            if got != core.lower():
                notes.append(f"OPENBLAS_CORETYPE={core} ran {got}: not a variation")
                continue
            blas.append(core)
            if got != default_core:
                out.append((f"blas-{core}", {"OPENBLAS_CORETYPE": core}, 1))
    out.append(("threads-2", {}, 2))
    lowest = {}
    if len(aten) > 1:
        lowest["ATEN_CPU_CAPABILITY"] = aten[-1]
    if blas:
        lowest["OPENBLAS_CORETYPE"] = blas[-1]
    out.append(("lowest-threads-2", lowest, 2))
    return out, notes, default_level, default_core


def run_variation(test_binary, cases, name, env_add, threads, dump_root):
    dump = os.path.join(dump_root, name)
    shutil.rmtree(dump, ignore_errors=True)
    env = dict(os.environ)
    for key in ("ATEN_CPU_CAPABILITY", "OPENBLAS_CORETYPE"):
        env.pop(key, None)
    env.update(env_add)
    env["CARVE_GOLDEN_DUMP"] = dump
    env["CARVE_GOLDEN_THREADS"] = str(threads)
    gtest_filter = ":".join(TEST_PREFIX + c for c in cases)
    r = subprocess.run([test_binary, f"--gtest_filter={gtest_filter}"], env=env, capture_output=True, text=True)
    missing = [c for c in cases if not os.path.exists(os.path.join(dump, c + ".json"))]
    if r.returncode != 0 or missing:
        tail = "\n".join((r.stdout + r.stderr).splitlines()[-30:])
        raise RuntimeError(f"variation {name}: the golden test failed (missing: {', '.join(missing)})\n{tail}")
    return name


def scale_of(key, values):
    """What a value's rounding is relative to: its size, or for a parameter's sum its norm."""
    v = values[key]
    if v is None:
        return 0.0
    scale = abs(v)
    if key.endswith(":sum") and values.get(key + "sq") is not None:
        scale = max(scale, math.sqrt(values[key + "sq"]))
    return scale


def merge(case, dumps, how):
    """dumps: {variation: {key: value}}; the baseline first."""
    baseline = dumps["baseline"]
    values = {}
    widest = (0.0, "", "")
    for key in sorted(baseline):
        b = baseline[key]
        seen = [d[key] for d in dumps.values() if key in d]
        floor = ROUNDING * scale_of(key, baseline) + ABSOLUTE_FLOOR
        if b is None or any(v is None for v in seen):
            # A value that is not finite somewhere: recorded as is, compared as NaN against NaN.
            values[key] = [b, floor]
            continue
        spread = max(seen) - min(seen)
        tolerance = max(4 * spread, floor)
        values[key] = [b, tolerance]
        relative = spread / max(scale_of(key, baseline), 1e-30)
        if relative > widest[0]:
            widest = (relative, key, f"{min(seen)} .. {max(seen)}")
    measured = dict(how, widest_relative_spread={"key": widest[1], "relative": widest[0], "range": widest[2]})
    # One line a value, [value, tolerance], so that a re-blessing reads as a diff of values.
    rows = [f"  {json.dumps(k)}: [{json.dumps(v)}, {json.dumps(t)}]" for k, (v, t) in values.items()]
    text = ("{\n \"measured\": " + json.dumps(measured, indent=1).replace("\n", "\n ") + ",\n \"values\": {\n" +
            ",\n".join(rows) + "\n }\n}\n")
    json.loads(text)
    with open(os.path.join(GOLDEN_DIR, case + ".json"), "w") as f:
        f.write(text)
    return widest


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("cases", nargs="*", help="golden cases (default: every one in tests/golden)")
    parser.add_argument("--build", default=os.environ.get("CARVE_BUILD_DIR", os.path.join(ROOT, "build")))
    parser.add_argument("--jobs", type=int, default=max(1, os.cpu_count() or 1),
                        help="one-thread variations run this many at a time")
    parser.add_argument("--dump-only", metavar="DIR", help="write DIR/<variation>/<case>.json, merge nothing")
    parser.add_argument("--include", metavar="DIR", action="append", default=[],
                        help="dumps made elsewhere (DIR/<variation>/<case>.json) to merge too")
    parser.add_argument("--from", dest="from_dir", metavar="DIR",
                        help="this machine's dumps, made before with --dump-only DIR: merged, not run again")
    parser.add_argument("--list", action="store_true", help="print this machine's variations and stop")
    args = parser.parse_args()

    found, notes, default_level, default_core = variations()
    if args.list:
        print(f"{cpu_name()}: ATen default {default_level}, BLAS core {default_core}")
        for name, env, threads in found:
            print(f"  {name:20s} {' '.join(f'{k}={v}' for k, v in env.items()) or '-'}  threads {threads}")
        for n in notes:
            print("  note:", n)
        return 0
    cases = args.cases or sorted(f[:-5] for f in os.listdir(GOLDEN_DIR) if f.endswith(".json"))
    if args.from_dir:
        dump_root = args.from_dir
        found = [(name, {}, 0) for name, _, _ in found if os.path.isdir(os.path.join(dump_root, name))]
        if not found or found[0][0] != "baseline":
            print(f"spread: {dump_root}: no baseline/ (made by --dump-only)", file=sys.stderr)
            return 2
    else:
        test_binary = os.path.join(args.build, "tests", "carve_tests")
        if not os.access(test_binary, os.X_OK):
            print(f"spread: {test_binary}: not built (tools/setup.sh)", file=sys.stderr)
            return 2
        dump_root = args.dump_only or tempfile.mkdtemp(prefix="carve-golden-spread-")
        os.makedirs(dump_root, exist_ok=True)
        # The baseline first and alone: a case may generate its data set on first use.
        print(f"spread: {len(cases)} cases x {len(found)} variations into {dump_root}", flush=True)
        run_variation(test_binary, cases, *found[0], dump_root)
        print("spread: baseline done", flush=True)
        single = [v for v in found[1:] if v[2] == 1]
        multi = [v for v in found[1:] if v[2] > 1]
        with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
            for done in pool.map(lambda v: run_variation(test_binary, cases, *v, dump_root), single):
                print(f"spread: {done} done", flush=True)
        for v in multi:
            print(f"spread: {run_variation(test_binary, cases, *v, dump_root)} done", flush=True)
        if args.dump_only:
            return 0

    def load(folder, case):
        path = os.path.join(folder, case + ".json")
        if not os.path.exists(path):
            return None
        with open(path) as f:
            return json.load(f)

    extra = []
    for folder in args.include:
        for name in sorted(os.listdir(folder)):
            if os.path.isdir(os.path.join(folder, name)):
                extra.append((f"{os.path.basename(os.path.normpath(folder))}/{name}", os.path.join(folder, name)))
    how = {
        "by": "tools/golden/spread.py",
        "date": datetime.date.today().isoformat(),
        "cpu": cpu_name(),
        "aten_default": default_level,
        "blas_default": default_core,
        "variations": [name for name, _, _ in found] + [name for name, _ in extra],
        "notes": notes,
        "tolerance": "max(4 x (max - min) over the variations, 4 x 2^-24 x scale + 1e-9)",
    }
    for case in cases:
        dumps = {name: load(os.path.join(dump_root, name), case) for name, _, _ in found}
        for name, folder in extra:
            d = load(folder, case)
            if d is not None:
                dumps[name] = d
        rel, key, span = merge(case, {k: v for k, v in dumps.items() if v is not None}, how)
        print(f"spread: {case}: widest relative spread {rel:.2e} ({key}: {span})")
    if not args.from_dir and not os.environ.get("CARVE_KEEP_DUMPS"):
        shutil.rmtree(dump_root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
