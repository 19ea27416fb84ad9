#!/usr/bin/env bash
# One command for the paper-scale code paths no CPU run exercises (benchmarks/gpu_check.py):
# exact-protocol Omniglot ProtoNet, a ResNet-12 Meta-MaxUp loop, the float16 LLaMA pruning path.
# Usage: tools/gpu_check.sh [--size full|tiny] [--out FILE] [--omniglot NPZ] [--smollm2 FOLDER]
# Defaults: --size full, --out benchmarks/results/gpu_check.json, and the prepared Omniglot /
# SmolLM2 files under resources/prepared/ when they exist. Exit status 1 when any check failed
# (the JSON then holds its error and traceback); every check still runs.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
args=("$@")
if [[ " $* " != *" --out "* ]]; then args+=(--out benchmarks/results/gpu_check.json); fi
if [[ " $* " != *" --omniglot "* && -f resources/prepared/omniglot.npz ]]; then
  args+=(--omniglot resources/prepared/omniglot.npz)
fi
if [[ " $* " != *" --smollm2 "* && -d resources/prepared/smollm2_135m_instruct.model ]]; then
  args+=(--smollm2 resources/prepared/smollm2_135m_instruct.model)
fi
PYTHONPATH="$root${PYTHONPATH:+:$PYTHONPATH}" exec python benchmarks/gpu_check.py "${args[@]}"
