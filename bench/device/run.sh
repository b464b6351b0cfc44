#!/usr/bin/env bash
# The device checks of issue 26, for the lent GPU machine (python 3.12 with torch + CUDA; no project packages,
# no network). Run from the repository root, each stage carrying the kit bench/device/fetch-wheels.sh made (a
# call carries at most 64 MiB, so one kit a call; run the second while the machine is still warm):
#   run(command="bash bench/device/run.sh vectors", carry=[".device/wheels"], timeout_s=540)
#   run(command="bash bench/device/run.sh encoder", carry=[".device/encoder-kit"], timeout_s=240)
# It installs the kit into a scratch folder, puts it and the repository on PYTHONPATH, then writes under $OUT:
#   vectors: contract.txt  the vector backends' contract suite (torch on cuda among them; --noconftest: no Redis)
#            vectors.json, vectors-faiss-cpu.json  bench.vectors, N x DIM, torch-cuda and faiss-cpu (16 threads)
#   encoder: encoder.json  bench.encoder_speed on the GPU: passages/s at 256 word pieces, a lone query's p50
# Knobs: N (10000000), DIM (384), DEVICE (cuda; cpu runs bench.vectors with torch-cpu), QUERIES (1024), BATCH1 (64),
# FAISS_QUERIES (256: faiss-cpu is slow at ten million), PASSAGES (8192), PYTHON (python3; may carry flags),
# SKIP_INSTALL=1 (use PYTHON's packages). A PYTHONPATH already set comes after the kit's.
# Tried here on the CPU with (vectors): N=20000 DEVICE=cpu SKIP_INSTALL=1 PYTHON=.venv/bin/python OUT=/tmp/out \
#   bash bench/device/run.sh vectors; (encoder) a kit made with PYVER=3.11 and a python that has torch alone.
set -uo pipefail
N="${N:-10000000}"; DIM="${DIM:-384}"; DEVICE="${DEVICE:-cuda}"; QUERIES="${QUERIES:-1024}"; BATCH1="${BATCH1:-64}"
FAISS_QUERIES="${FAISS_QUERIES:-256}"; PASSAGES="${PASSAGES:-8192}"; OUT="${OUT:-/tmp/device-out}"
read -ra PY <<< "${PYTHON:-python3}"
stage="${1:-}"
[[ "$stage" == vectors || "$stage" == encoder ]] || { echo "usage: $0 vectors|encoder" >&2; exit 2; }
mkdir -p "$OUT"
root="$(pwd)"
before="${PYTHONPATH:+:$PYTHONPATH}"
if [[ "${SKIP_INSTALL:-0}" == 1 ]]; then
  export PYTHONPATH="$root$before"
elif [[ "$stage" == vectors ]]; then
  site="$(mktemp -d)"
  "${PY[@]}" -m pip install --quiet --no-index --no-deps --target "$site" .device/wheels/*.whl || exit 1
  export PYTHONPATH="$root:$site$before"
else
  site="$(mktemp -d)"
  "${PY[@]}" -m pip install --quiet --no-index --no-deps --target "$site" .device/encoder-kit/wheels/*.whl || exit 1
  export PYTHONPATH="$root:$root/.device/encoder-kit/site:$site$before" HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
fi
"${PY[@]}" -c "import torch, numpy; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), 'numpy', numpy.__version__)" | tee "$OUT/env.txt"
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader >> "$OUT/env.txt" 2>&1 || true

if [[ "$stage" == encoder ]]; then
  echo "== bench.encoder_speed"
  timeout 200 "${PY[@]}" -m bench.encoder_speed --precisions fp32,bf16 --batch-sizes 32,256 --passages "$PASSAGES" \
    --json > "$OUT/encoder.json" 2> "$OUT/encoder.err"; echo "encoder rc $?"
  "${PY[@]}" -c "import json, sys; from bench.encoder_speed import _render; print(_render(json.load(open(sys.argv[1]))))" \
    "$OUT/encoder.json" || tail -20 "$OUT/encoder.err"
  exit 0
fi

echo "== contract suite"
timeout 120 "${PY[@]}" -m pytest -q -p no:cacheprovider --noconftest tests/contract/test_vector_backends.py \
  tests/unit/test_torch_vectors.py > "$OUT/contract.txt" 2>&1; echo "contract rc $?" | tee -a "$OUT/contract.txt"
tail -3 "$OUT/contract.txt"

echo "== bench.vectors, $N x $DIM"
timeout 300 "${PY[@]}" -m bench.vectors --n "$N" --dim "$DIM" --backends "torch-$DEVICE" --queries "$QUERIES" \
  --batch1 "$BATCH1" --json > "$OUT/vectors.json" 2> "$OUT/vectors.err"; echo "torch rc $?"
timeout 240 "${PY[@]}" -m bench.vectors --n "$N" --dim "$DIM" --backends faiss-cpu --threads 16 --queries "$FAISS_QUERIES" \
  --batch1 4 --json > "$OUT/vectors-faiss-cpu.json" 2> "$OUT/vectors-faiss-cpu.err"; echo "faiss-cpu rc $?"
"${PY[@]}" - "$OUT" <<'PY'
import json, sys
from bench.common import table
rows = []
for name in ("vectors.json", "vectors-faiss-cpu.json"):
    try:
        rows += json.load(open(f"{sys.argv[1]}/{name}"))["results"]
    except (OSError, ValueError) as err:
        print(name, "missing:", err)
print(table(rows, ["backend", "allow", "load_s", "qps_b1", "p50_b1_ms", "qps_b256", "recall@10", "same_as_exact"]))
PY
