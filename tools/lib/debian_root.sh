# Sourced by tools/compat/libtorch2.sh and tools/package/deb.sh: a Debian root made by
# debootstrap (minbase) under carve's cache directory, with packages installed in it, and reused
# while the stamp it was made with matches (a root of the same suite with another stamp gets the
# packages installed into it).
#
#   debian_root DIR SUITE STAMP LOG [PACKAGE...]    (returns 1 with the log's tail on failure)
debian_root() {
  local dir=$1 suite=$2 stamp=$3 log=$4
  shift 4
  [[ -f $dir/.carve-root && $(cat "$dir/.carve-root") == "$stamp" ]] && return 0
  # A complete root of the same suite made with another package list: install what the new list
  # adds (apt leaves the rest as it is) instead of starting again; start again if that fails.
  if (($#)) && [[ -f $dir/.carve-root ]] && grep -qx "VERSION_CODENAME=$suite" "$dir/etc/os-release" 2>/dev/null; then
    cp /etc/resolv.conf "$dir/etc/resolv.conf" 2>/dev/null || true
    mount -t proc proc "$dir/proc"
    local added=0
    chroot "$dir" /usr/bin/env DEBIAN_FRONTEND=noninteractive bash -c \
      "apt-get update -qq && apt-get install -y -qq --no-install-recommends $*" >> "$log" 2>&1 && added=1
    umount -l "$dir/proc"
    if ((added)); then
      echo "$stamp" > "$dir/.carve-root"
      return 0
    fi
    echo "debian_root: adding packages to $dir failed; making it again (log: $log)" >&2
  fi
  command -v debootstrap >/dev/null ||
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
  rm -rf "$dir.partial" "$dir"
  mkdir -p "$(dirname "$dir")"
  if ! debootstrap --variant=minbase "$suite" "$dir.partial" "${CARVE_DEBIAN_MIRROR:-http://deb.debian.org/debian}" \
       > "$log" 2>&1; then
    tail -20 "$log" >&2
    echo "debootstrap of Debian $suite failed (log: $log)" >&2
    return 1
  fi
  if (($#)); then
    cp /etc/resolv.conf "$dir.partial/etc/resolv.conf" 2>/dev/null || true
    mount -t proc proc "$dir.partial/proc"
    local status=0
    chroot "$dir.partial" /usr/bin/env DEBIAN_FRONTEND=noninteractive bash -c \
      "apt-get update -qq && apt-get install -y -qq --no-install-recommends $*" >> "$log" 2>&1 || status=1
    umount -l "$dir.partial/proc"
    if ((status)); then
      tail -20 "$log" >&2
      echo "apt-get in the Debian $suite root failed (log: $log)" >&2
      return 1
    fi
  fi
  echo "$stamp" > "$dir.partial/.carve-root"
  mv "$dir.partial" "$dir"
}
