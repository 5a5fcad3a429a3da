#!/usr/bin/env bash
# Gathers carve's non-LibTorch build dependencies as Debian 12 packages unpacked into DIR, for a
# machine with a CUDA PyTorch but no Debian registry and no network (the lent GPU machine):
# fmt, yaml-cpp, CLI11, nlohmann-json, stb, GoogleTest and zlib, with their CMake configs (which
# relocate with their prefix). Debian builds them with the C++11 ABI, which is what PyTorch
# wheels from 2.7 on use; tools/gpu/build.sh checks that before building.
#
#   tools/gpu/fetch-deps.sh .gpu/deps        # here, then carry .gpu to the GPU machine
set -euo pipefail
out=${1:?usage: tools/gpu/fetch-deps.sh DIR}
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && apt-get download -qq libfmt-dev libfmt9 libyaml-cpp-dev libyaml-cpp0.7 libcli11-dev \
   nlohmann-json3-dev libstb-dev libstb0 libgtest-dev zlib1g-dev 2>/dev/null)
for deb in "$tmp"/*.deb; do dpkg -x "$deb" "$out"; done
echo "unpacked $(ls "$tmp" | wc -l) packages into $out"
