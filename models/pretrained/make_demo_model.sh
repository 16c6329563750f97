#!/usr/bin/env bash
# Rebuilds the shipped demo model (models/pretrained/sicleer_demo.safetensors) from synthetic
# data: `make demo-model`. Takes about 15 minutes on a 2-core CPU (measured: 15.6 min).
# The demo recording that `make demo` streams is synthetic subject 1 with the same seed, so
# the demo shows the model on the subject it was fitted to (a rehearsal, not an evaluation).
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${BIN:-.venv/bin}
WORK=${WORK:-.demo/model-build}
"$BIN/sicleer-synth" "$WORK/SEED" --subjects 1 --sessions 2 --trial-seconds 60 --seed 0 --force
"$BIN/sicleer-train" --data "$WORK/SEED" --out "$WORK/run" --subjects 1 \
    --epochs 15 --batch-size 32 --stride-seconds 0.5 --hidden-dims 32 --output-dims 128 \
    --seed 0 --fresh --export models/pretrained/sicleer_demo.safetensors
