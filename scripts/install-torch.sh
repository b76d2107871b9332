#!/usr/bin/env bash
# Install torch into a virtual environment: the CUDA build from PyPI where an NVIDIA GPU is
# present, otherwise the CPU build (on Linux PyPI's default wheel pulls several GB of CUDA
# libraries that a CPU-only machine cannot use).
#   usage: scripts/install-torch.sh <venv python> <torch version>
set -euo pipefail
python="$1"
version="$2"
cpu_index="${TORCH_CPU_INDEX:-https://download.pytorch.org/whl/cpu}"

if "$python" -c "import torch, sys; sys.exit(0 if torch.__version__.split('+')[0] == '$version' else 1)" 2>/dev/null; then
  echo "torch $version is already installed"
  exit 0
fi
if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
  echo "NVIDIA GPU found: installing torch $version with CUDA"
  "$python" -m pip install --quiet "torch==$version"
elif [ "$(uname -s)" = "Linux" ]; then
  echo "no NVIDIA GPU: installing the CPU build of torch $version"
  "$python" -m pip install --quiet --retries 1 --timeout 15 \
    --index-url "$cpu_index" --extra-index-url https://pypi.org/simple "torch==$version"
else
  echo "installing torch $version (PyPI's build for $(uname -s))"
  "$python" -m pip install --quiet "torch==$version"
fi
