#!/usr/bin/env bash
# carve on LibTorch 2.x: a Debian 13 (trixie) root made with debootstrap, with Debian's
# libtorch-dev 2.6, GCC 14, yaml-cpp 0.8 and python3-torch 2.6; carve is built there from this
# checkout (mounted read-only) and the whole test suite runs there, but for the SLURM cluster
# tests (their daemons stay on the host). Then the files that cross versions are checked
# (tools/compat/cross_version.sh).
#
#   tools/compat/libtorch2.sh            make or reuse the root, build, run the suite
#   tools/compat/libtorch2.sh -R Golden  extra arguments go to ctest
#   tools/compat/libtorch2.sh --golden-dump DIR
#                                        instead of the suite, the golden cases under each of the
#                                        root's variations into DIR/<variation>/ (tools/golden/spread.py
#                                        --dump-only; merged on the host with spread.py --include DIR)
#
# The root lives under $CARVE_CACHE_DIR (default ~/.cache/carve) and is reused when present
# (a stamp file records that it is complete and which package list made it); its build
# directory too. Needs root (debootstrap, chroot, mounts) and the Debian registry.
set -euo pipefail
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cache=${CARVE_CACHE_DIR:-$HOME/.cache/carve}
rootfs=$cache/trixie-libtorch2
packages="build-essential cmake ninja-build pkg-config libtorch-dev libopenblas0-openmp libfmt-dev libyaml-cpp-dev
  libgtest-dev libcli11-dev nlohmann-json3-dev libstb-dev zlib1g-dev python3-torch python3-sklearn python3-matplotlib
  python3-minimal python3-yaml python3-pytest dataset-fashion-mnist ca-certificates"
stamp_text="carve trixie root v1: $(echo $packages)"

[[ $(id -u) == 0 ]] || { echo "libtorch2.sh: needs root (debootstrap, chroot, mount)" >&2; exit 1; }
golden_dump=
if [[ ${1:-} == --golden-dump ]]; then
  [[ -n ${2:-} ]] || { echo "libtorch2.sh: --golden-dump needs a directory" >&2; exit 2; }
  mkdir -p "$2"
  golden_dump=$(cd "$2" && pwd)
  shift 2
fi

mounted=()
cleanup() {
  local m
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do umount -l "${mounted[i]}" 2>/dev/null || true; done
}
trap cleanup EXIT
mount_in() {  # mount_in OPTIONS... TARGET: a mount that the trap undoes
  mkdir -p "${@: -1}"
  mount "$@"
  mounted+=("${@: -1}")
}

# shellcheck source=../lib/debian_root.sh
source "$src/tools/lib/debian_root.sh"
if [[ ! -f $rootfs/.carve-root ]]; then
  echo "libtorch2: making the Debian 13 root in $rootfs (debootstrap, then LibTorch 2.6: ~8 min)"
elif [[ $(cat "$rootfs/.carve-root") != "$stamp_text" ]]; then
  echo "libtorch2: installing the packages the list adds into the Debian 13 root in $rootfs"
fi
# shellcheck disable=SC2086
debian_root "$rootfs" trixie "$stamp_text" "$cache/trixie.log" $packages || exit 1

# The checkout at /carve-checkout (its data/ holds the MNIST digits setup.sh fetched); the build
# (/carve-build) and scratch space in the root. Names no installed file could contain by chance:
# the install test looks for them in what carve installs.
rm -rf "$rootfs/build"; rmdir "$rootfs/carve" 2>/dev/null || true  # where earlier versions built
mount_in --bind "$src" "$rootfs/carve-checkout"
mount_in -t proc proc "$rootfs/proc"
mount_in --bind /dev "$rootfs/dev"
mount_in -t tmpfs -o size=8g tmpfs "$rootfs/tmp"
[[ -z $golden_dump ]] || mount_in --bind "$golden_dump" "$rootfs/golden-dump"

arch=x86_64-linux-gnu
chroot "$rootfs" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
  CARVE_DATA_DIR=/carve-checkout/data bash -c "
    set -euo pipefail
    for lib in blas lapack; do  # OpenBLAS, as on the host (the reference BLAS is ~20x slower)
      t=/usr/lib/$arch/openblas-openmp/lib\$lib.so.3
      [ -e \$t ] && update-alternatives --quiet --set lib\$lib.so.3-$arch \$t
    done
    echo \"libtorch2: \$(dpkg-query -W -f='libtorch-dev \${Version}' libtorch-dev), \$(gcc --version | head -1)\"
    [ -f /carve-build/CMakeCache.txt ] || cmake -S /carve-checkout -B /carve-build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
    if ! cmake --build /carve-build -j $(nproc) > /carve-build/build.log 2>&1; then
      grep -E -A8 'error|FAILED' /carve-build/build.log | head -80; echo 'libtorch2: the build failed'; exit 1
    fi
    if [[ -n '$golden_dump' ]]; then
      python3 /carve-checkout/tools/golden/spread.py --build /carve-build --dump-only /golden-dump ${*@Q}
      exit 0
    fi
    cd /carve-build && ctest --output-on-failure -j $(nproc) -LE slurm ${*@Q}
    # An encoder written by carve on LibTorch 1.13, in Python torch 2.6: the same codes.
    python3 - <<'PY'
import torch
m = torch.jit.load('/carve-checkout/tests/fixtures/encoder-1.13.pt')
x = torch.linspace(0, 1, 75).reshape(3, 25)
h = m.forward(x).double()
rows = [l for l in open('/carve-checkout/tests/fixtures/encoder-1.13-codes.csv') if not l.startswith('#')]
want = torch.tensor([[float(v) for v in r.split(',')] for r in rows], dtype=torch.float64)
err = (h - want).abs().max().item()
assert err < 1e-6, f'encoder-1.13.pt in Python torch {torch.__version__}: codes differ by {err}'
print(f'libtorch2: encoder-1.13.pt loads in Python torch {torch.__version__}, codes within {err:.1e}')
PY
    # And the other way: an encoder written by carve on LibTorch 2.6, with its codes from Python
    # torch 2.6, for Python torch 1.13 on the host (below).
    mkdir -p /tmp/cross && cd /tmp/cross
    /carve-build/carve data generate rectangles --out /tmp/cross --train 100 --valid 20 --test 20 > /dev/null
    printf 'name: cross\nseed: 1\ndata: {dataset: \"amat:/tmp/cross/rectangles_train.amat,/tmp/cross/rectangles_test.amat\", valid: 20}\nmodel: {hidden: 12}\nregularizers: {contractive: {weight: 0.1}}\ntraining: {epochs: 1, batch_size: 20}\n' > cross.yaml
    /carve-build/carve --threads 1 run cross.yaml --out /tmp/cross/run > /dev/null
    python3 - <<'PY'
import torch
m = torch.jit.load('/tmp/cross/run/encoder.pt')
x = torch.linspace(0, 1, 3 * 784).reshape(3, 784)
with open('/tmp/cross/codes-2.6.csv', 'w') as f:
    for row in m.forward(x).double().tolist():
        f.write(','.join(repr(v) for v in row) + '\\n')
PY
  "
[[ -z $golden_dump ]] || exit 0
# The encoder written on 2.6 in Debian 12's Python torch 1.13 (the host's).
/usr/bin/python3 - "$rootfs/tmp/cross" <<'PY'
import sys
import torch
d = sys.argv[1]
try:
    m = torch.jit.load(f'{d}/run/encoder.pt')
except RuntimeError as e:
    sys.exit(f'libtorch2: an encoder.pt written by carve on LibTorch 2.6 does not load in Python torch {torch.__version__}: '
             + str(e).splitlines()[0])
x = torch.linspace(0, 1, 3 * 784).reshape(3, 784)
want = torch.tensor([[float(v) for v in line.split(',')] for line in open(f'{d}/codes-2.6.csv')], dtype=torch.float64)
err = (m.forward(x).double() - want).abs().max().item()
assert err < 1e-6, f'encoder.pt of LibTorch 2.6 in Python torch {torch.__version__}: codes differ by {err}'
print(f'libtorch2: an encoder.pt written by carve on LibTorch 2.6 loads in Python torch {torch.__version__}, '
      f'the same codes within {err:.1e}')
PY
