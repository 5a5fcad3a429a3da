#!/usr/bin/env bash
# The Debian package, built and installed as a lab would: cpack makes carve_<version>_amd64.deb
# from a build directory (dependencies by dpkg-shlibdeps), then apt installs it into a clean
# Debian 12 root (debootstrap bookworm, minbase), where the installed carve prints its version,
# generates a dataset, checks an experiment file and runs it with its analysis (the plotter is
# one of the package's dependencies); then, with python3-torch added, Python's `import carve`
# loads the installed operators and reads that run back.
#
#   tools/package/deb.sh [BUILD_DIR]      (default: build/ of this checkout)
#
# The pristine root is made once under $CARVE_CACHE_DIR (default ~/.cache/carve) and each run
# installs into a fresh copy of it. Needs root (debootstrap, chroot, mounts) and the Debian registry.
# (A .deb built against Debian 12's LibTorch 1.13 does not install on Debian 13.)
set -euo pipefail
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=$(cd "${1:-$src/build}" && pwd)
cache=${CARVE_CACHE_DIR:-$HOME/.cache/carve}
pristine=$cache/bookworm-clean
stamp_text="carve bookworm clean root v1"
say() { echo "deb: $*"; }
fail() { echo "deb: $*" >&2; exit 1; }

[[ $(id -u) == 0 ]] || fail "needs root (debootstrap, chroot, mount)"
command -v dpkg-shlibdeps >/dev/null || fail "dpkg-shlibdeps is missing (apt-get install dpkg-dev; tools/setup.sh does)"

(cd "$build" && rm -f carve_*_amd64.deb && cpack -G DEB > cpack.log 2>&1) || { tail -20 "$build/cpack.log" >&2; fail "cpack failed"; }
deb=$(ls "$build"/carve_*_amd64.deb)
say "$(basename "$deb"): $(du -h "$deb" | cut -f1), Depends: $(dpkg-deb -f "$deb" Depends)"

# shellcheck source=../lib/debian_root.sh
source "$src/tools/lib/debian_root.sh"
[[ -f $pristine/.carve-root && $(cat "$pristine/.carve-root") == "$stamp_text" ]] ||
  say "making a clean Debian 12 root in $pristine (debootstrap: ~3 min)"
debian_root "$pristine" bookworm "$stamp_text" "$cache/bookworm.log" || exit 1

work=$(mktemp -d "${TMPDIR:-/tmp}/carve-deb.XXXXXX")
root=$work/root
mounted=()
cleanup() {
  local i
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do umount -l "${mounted[i]}" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
cp -a "$pristine" "$root"
cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
for m in proc dev; do
  mkdir -p "$root/$m"
  if [[ $m == proc ]]; then mount -t proc proc "$root/proc"; else mount --bind /dev "$root/dev"; fi
  mounted+=("$root/$m")
done
cp "$deb" "$root/tmp/"

start=$(date +%s)
chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive \
  bash -c "apt-get update -qq && apt-get install -y -qq --no-install-recommends /tmp/$(basename "$deb")" \
  > "$work/apt.log" 2>&1 || { tail -20 "$work/apt.log" >&2; fail "apt-get install of the package failed"; }
say "apt installed it with its dependencies into the clean root in $(( $(date +%s) - start )) s"

chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 bash -c '
  set -euo pipefail
  cd /tmp
  carve --version
  carve data generate rectangles --out /tmp/data --train 200 --valid 40 --test 100 > /dev/null
  cat > /tmp/rectangles.yaml <<YAML
name: rectangles
seed: 1
data: {dataset: "amat:/tmp/data/rectangles_train.amat,/tmp/data/rectangles_test.amat", valid: 40}
model: {hidden: 20}
regularizers: {contractive: {weight: 0.1}}
training: {epochs: 2, batch_size: 20}
analysis: {points: 20}
YAML
  carve check /tmp/rectangles.yaml > /dev/null
  carve run /tmp/rectangles.yaml --out /tmp/run > /tmp/run.log
  test -f /tmp/run/summary.json && test -f /tmp/run/encoder.pt && test -f /tmp/run/analysis/contraction.png
  ls /usr/share/carve/experiments/quickstart.yaml /usr/lib/cmake/carve/carveConfig.cmake \
     /usr/include/carve/models/autoencoder.h > /dev/null
' > "$work/use.log" 2>&1 || { cat "$work/use.log" >&2; fail "the installed carve does not work in the clean root"; }
say "in the clean Debian 12 root: $(head -1 "$work/use.log"); check, run and analysis work"

# The Python package of the .deb, with what it recommends (python3-torch, python3-yaml): Debian's
# python3 finds it in /usr/lib/python3/dist-packages, and it finds /usr/lib/libcarve_ops.so.
start=$(date +%s)
chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive \
  bash -c "apt-get install -y -qq --no-install-recommends python3-torch python3-yaml" \
  > "$work/apt-python.log" 2>&1 || { tail -20 "$work/apt-python.log" >&2; fail "apt-get install python3-torch failed"; }
chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 python3 -c '
import torch, carve
assert carve.load_library() == "/usr/lib/libcarve_ops.so", carve.load_library()
run = carve.load_run("/tmp/run")
x = torch.rand(4, run.encoder.inputs)
a, e = (carve.contractive_penalty(run.encoder, x, m).item() for m in ("analytic", "exact"))
assert abs(a - e) <= 1e-5 * a, (a, e)
print(f"import carve: {carve.load_library()}, the run read back, analytic = exact = {a:.4g}")
' > "$work/python.log" 2>&1 || { cat "$work/python.log" >&2; fail "the installed Python package does not work in the clean root"; }
say "$(cat "$work/python.log") (python3-torch installed in $(( $(date +%s) - start )) s)"
