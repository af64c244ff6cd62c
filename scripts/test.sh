#!/usr/bin/env bash
# Run the test suite (sets up .venv first). Fails when no test ran (pytest exit 5).
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh || exit 1

# Keep Lab Streaming Layer traffic on this machine: no multicast to the network
# (tests/conftest.py sets the same file again, whatever the environment says).
export LSLAPICFG="$PWD/tests/lsl_api.cfg"
# The viewer tests start their own Xvfb (setup.sh installs it with Mesa and Qt's xcb libraries).
if ! command -v Xvfb >/dev/null 2>&1; then
    if [ "${BRAIN3D_STRICT_SKIPS:-0}" = 1 ]; then
        echo "test.sh: ERROR: Xvfb is not installed; the live-window tests will fail (skips are failures on CI)" >&2
    else
        echo "test.sh: WARNING: Xvfb is not installed; the live-window tests will be skipped" >&2
    fi
fi

.venv/bin/python -m pytest "$@"
status=$?
if [ "$status" -eq 5 ]; then
    echo "test.sh: pytest collected no tests; failing on purpose" >&2
    exit 1
fi
exit "$status"
