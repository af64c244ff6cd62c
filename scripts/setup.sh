#!/usr/bin/env bash
# Set up Brain3D Live on a fresh machine: a virtual environment in .venv with
# torch==2.13.0 (CPU wheel) and this project (editable) with its dev tools.
# Idempotent: when nothing that decides the install has changed, it returns at once.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
VENV=.venv
STAMP="$VENV/.brain3d-setup"

# What decides the install: the dependency list and this script.
want=$(cat pyproject.toml scripts/setup.sh | sha256sum | cut -d' ' -f1)
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ] && "$VENV/bin/python" -c "import brain3d, export_onnx" 2>/dev/null; then
    echo "setup: .venv is up to date"
    exit 0
fi

"$PYTHON" - <<'PY' || { echo "setup: Python >= 3.10 is required (set PYTHON=/path/to/python3)" >&2; exit 1; }
import sys
sys.exit(0 if sys.version_info >= (3, 10) else 1)
PY

[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
pip=("$VENV/bin/python" -m pip install --disable-pip-version-check --progress-bar off -q)
# torch first and exactly: a bare `torch` (or a range) pulls a multi-GB CUDA build.
"${pip[@]}" "torch==2.13.0"
"${pip[@]}" -e ".[dev]"
echo "$want" > "$STAMP"
echo "setup: done ($("$VENV/bin/python" -c 'import torch, onnxruntime; print(f"torch {torch.__version__}, onnxruntime {onnxruntime.__version__}")'))"
