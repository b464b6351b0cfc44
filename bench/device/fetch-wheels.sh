#!/usr/bin/env bash
# Fetch, here (with network), the few wheels the device script installs on the lent GPU machine, whose
# python 3.12 has torch (with CUDA, and numpy) but none of the project's packages and no network:
# faiss-cpu (the CPU baseline; bench.common reads its version too) and pytest + hypothesis (the contract suite).
# They land in bench/device/wheels/ (git-ignored; about 40 MiB, under the 64 MiB a device call carries):
# pass it as carry: run(command="bash bench/device/run.sh", carry=["bench/device/wheels"]).
# numpy is left out (torch brings it); add it with WITH_NUMPY=1 if the device lacks it.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
pip="${PIP:-$here/../../.venv/bin/pip}"
mkdir -p "$here/wheels"
pkgs=(faiss-cpu pytest hypothesis)
[[ "${WITH_NUMPY:-0}" == 1 ]] && pkgs+=(numpy)
"$pip" download --only-binary=:all: --python-version 3.12 --platform manylinux2014_x86_64 \
  --platform manylinux_2_28_x86_64 --implementation cp --dest "$here/wheels" "${pkgs[@]}" \
  $([[ "${WITH_NUMPY:-0}" == 1 ]] || echo --no-deps) 
[[ "${WITH_NUMPY:-0}" == 1 ]] || "$pip" download --only-binary=:all: --python-version 3.12 \
  --platform manylinux2014_x86_64 --implementation cp --dest "$here/wheels" --no-deps \
  iniconfig packaging pluggy pygments attrs sortedcontainers
du -sh "$here/wheels"
