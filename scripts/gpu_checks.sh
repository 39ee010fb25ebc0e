#!/usr/bin/env bash
# The GPU checks of issue 13 in one prepared run, for a session lent a GPU for a few minutes.
#
#   bash scripts/gpu_checks.sh            # from the repository root, torch with CUDA installed
#
# 1. The tests that only run with --device cuda (GPU kernels equal the CPU paths on shared
#    inputs; the regional loss, curve estimators, trainer, the bundled pie-physics enhancer and
#    its sharpening and local contrast on the GPU, the device resolver on a real GPU).
# 2. The GPU benchmarks: superpixels (SLIC 1 x 1024^2 <= 2 ms, 16 x 384^2 <= 5 ms targets),
#    curves and enhance (PIE training step and its torch.profiler split), written to
#    benchmarks/results/<name>_cuda.json beside the CPU results; then the summary of both.
# Where $OUT is set (the device tool's output folder), the results are copied there.
set -euo pipefail
cd "$(dirname "$0")/.."
python -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 'no CUDA device: nothing to check')"
nvidia-smi --query-gpu=name,memory.total --format=csv || true
python -m pytest -q -x --device cuda -p no:cacheprovider \
  tests/segmentation tests/losses/test_regional.py tests/models/test_curve_net.py \
  tests/train/test_trainer.py tests/models/test_gain_net.py tests/isp/test_sharpen.py \
  tests/core/test_devices.py 2>&1 | tail -25
python -m benchmarks --device cuda --only superpixels curves enhance --timeout 240 || true
python -m benchmarks --summarise-only
if [ -n "${OUT:-}" ]; then
  cp benchmarks/results/*_cuda.json benchmarks/results/summary.json "$OUT"/ 2>/dev/null || true
fi
