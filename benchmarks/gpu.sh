#!/usr/bin/env bash
# Everything to run on a GPU machine, in one go, within 10 minutes (an H200 was the target):
#   1. the GPU tests (pytest -m gpu: training in fp32 and bf16, a model file on the GPU);
#   2. training-step throughput, CPU and CUDA, baseline / fp32 / bf16 (benchmarks/train_throughput.py);
#      folds side by side on CUDA, bf16: K = 1 and 9 against one by one, K = 45 stacked alone, with
#      the full protocol's time extrapolated from it (benchmarks/stacked_folds.py);
#   3. a timed subject-dependent run on one full-length synthetic subject (3 sessions of 3394 s),
#      exactly EPOCHS epochs (--min-steps 0, so the per-epoch time extrapolates), its 3 folds side
#      by side (--parallel-folds auto), with the figure extrapolated to the full protocol
#      (45 sessions x 50 epochs), said so;
#   4. live inference of the 64/320 architecture on the GPU (benchmarks/live_latency.py --device cuda).
# Each part has its own time limit and the script goes on when one fails; every figure is printed
# with what it measured. Copy them into docs/RESULTS.md.
#
#   PYTHON=python3 bash benchmarks/gpu.sh        (default: .venv/bin/python, else python3)
#   EPOCHS=5 bash benchmarks/gpu.sh              (epochs of the timed run; default 5)
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-}
if [ -z "$PY" ]; then
    if [ -x .venv/bin/python ]; then PY=.venv/bin/python; else PY=python3; fi
fi
EPOCHS=${EPOCHS:-5}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/sicleer-gpu.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
export LSLAPICFG=$PWD/tests/lsl_api.cfg QT_QPA_PLATFORM=offscreen TQDM_DISABLE=1

part() { echo; echo "=== $1 ($(date -u +%H:%M:%S) UTC)"; }

part "machine"
"$PY" -c "import torch; print('torch', torch.__version__, '| cuda', torch.cuda.is_available(),
'|', torch.cuda.get_device_name() if torch.cuda.is_available() else 'no GPU')"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || true

part "1. GPU tests"
timeout 150 "$PY" -m pytest -q -m gpu -p no:cacheprovider tests/models/test_gpu.py \
    tests/offline_training/test_stacked.py \
    || echo "GPU tests: failed or timed out (rc $?)"

part "2. training-step throughput"
timeout 150 "$PY" benchmarks/train_throughput.py --steps 20 || echo "throughput: rc $?"
timeout 120 "$PY" benchmarks/stacked_folds.py --device cuda --precision bf16 --folds 1 9 \
    || echo "stacked folds: rc $?"
timeout 90 "$PY" benchmarks/stacked_folds.py --device cuda --precision bf16 --folds 45 \
    --no-baseline || echo "stacked folds, K = 45: rc $?"

part "3. subject-dependent protocol on one full-length synthetic subject, $EPOCHS epochs"
if timeout 90 "$PY" -m offline_training.synth_cli "$WORK/SEED" --subjects 1 --sessions 3; then
    start=$(date +%s.%N)
    timeout 240 "$PY" -m offline_training --data "$WORK/SEED" --out "$WORK/run" \
        --epochs "$EPOCHS" --min-steps 0 --device cuda --occlusion-windows 0 -q \
        --parallel-folds auto
    rc=$?
    end=$(date +%s.%N)
    if [ $rc -eq 0 ]; then
        "$PY" - "$WORK/run/report.json" "$start" "$end" "$EPOCHS" <<'EOF'
import json, sys
report = json.load(open(sys.argv[1]))
seconds = float(sys.argv[3]) - float(sys.argv[2])
epochs = int(sys.argv[4])
folds = report["folds"]
train_s = sum(f["train_seconds"] for f in folds)
print(f"SYNTHETIC data, subject-dependent, {len(folds)} sessions x {epochs} epochs: "
      f"{seconds:.0f} s in all, {train_s:.0f} s training, "
      f"{report['runtime']['windows_per_second']:.0f} training windows/s "
      f"({report['runtime']['device']}, {report['runtime']['precision']})")
per_epoch = train_s / (len(folds) * epochs)
stacked = max(f.get("stacked", 1) for f in folds)
print(f"EXTRAPOLATED to 45 sessions x 50 epochs (training only, in stacks of {stacked}): "
      f"{45 * 50 * per_epoch / 60:.1f} min (target: under 3 min)")
print("accuracy (synthetic):", " ".join(f"{100 * f['accuracy']:.1f}" for f in folds))
EOF
    else
        echo "timed run: rc $rc"
    fi
else
    echo "synthetic data: could not be written"
fi

part "4. live inference, 64/320 architecture (random weights), CUDA"
"$PY" - "$WORK/model64.safetensors" <<'EOF' && timeout 90 "$PY" benchmarks/live_latency.py \
    --seconds 30 --device cuda --model "$WORK/model64.safetensors" || echo "live: rc $?"
import sys
import torch
from models import SICLEER, ModelConfig, ModelMetadata, save_model
from models.eeg.seed_layout import SEED_CHANNELS
from models.metadata import Preprocessing
from models.preprocessing import Normalisation
torch.manual_seed(0)
cfg = ModelConfig(n_channels=62, hidden_dims=64, output_dims=320)
norm = Normalisation.from_lists([0.0] * 62, [20.0] * 62)
meta = ModelMetadata(config=cfg, channel_names=list(SEED_CHANNELS), sfreq=200.0,
                     window_samples=200, preprocessing=Preprocessing(norm), synthetic=True,
                     protocol="benchmark: random weights")
save_model(sys.argv[1], SICLEER(cfg), meta)
EOF
part "done"
