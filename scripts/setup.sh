#!/usr/bin/env bash
# Set up Brain3D Live on a fresh machine: a virtual environment in .venv with
# torch==2.13.0 (CPU wheel) and this project (editable) with its dev tools.
# Idempotent: when nothing that decides the install has changed, it returns at once.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
VENV=.venv
STAMP="$VENV/.brain3d-setup"

# --- system packages (viewer, issue 9) ---
# The viewer renders offscreen through Mesa (EGL / OSMesa), and its Qt window needs X
# and Qt's xcb libraries, which a bare Debian/Ubuntu lacks; tests run it under Xvfb.
# Installs only what is missing (apt-get needs root or sudo); silent when all present.
SYSTEM_PACKAGES="xvfb xauth libgl1 libegl1 libgl1-mesa-dri libglx-mesa0 libegl-mesa0 libosmesa6
  libx11-6 libx11-xcb1 libxext6 libxrender1 libxcursor1 libxkbcommon0 libxkbcommon-x11-0 libxcb1
  libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-randr0 libxcb-render0
  libxcb-render-util0 libxcb-shape0 libxcb-shm0 libxcb-sync1 libxcb-util1 libxcb-xfixes0
  libxcb-xinerama0 libxcb-xkb1 libdbus-1-3 libfontconfig1 libfreetype6 libglib2.0-0"
if [ "${BRAIN3D_SKIP_APT:-0}" != 1 ] && command -v dpkg-query >/dev/null 2>&1; then
    missing=$(for p in $SYSTEM_PACKAGES; do
        dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q "install ok installed" || echo "$p"
    done | tr '\n' ' ')
    if [ -n "${missing// /}" ]; then
        if [ "$(id -u)" = 0 ]; then apt=(apt-get); elif command -v sudo >/dev/null 2>&1; then apt=(sudo apt-get); else apt=(); fi
        if [ ${#apt[@]} -gt 0 ]; then
            echo "setup: installing system packages for the viewer: $missing"
            export DEBIAN_FRONTEND=noninteractive
            # shellcheck disable=SC2086
            "${apt[@]}" update -qq && "${apt[@]}" install -y -qq --no-install-recommends $missing >/dev/null \
                || echo "setup: WARNING: apt-get could not install: $missing (the live window and its tests need them)" >&2
        else
            echo "setup: WARNING: missing system packages (need root to install): $missing" >&2
        fi
    fi
fi
# --- end system packages ---

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
