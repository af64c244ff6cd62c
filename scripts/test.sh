#!/usr/bin/env bash
# Run the test suite (sets up .venv first). Fails when no test ran (pytest exit 5).
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh || exit 1

# Keep Lab Streaming Layer traffic on this machine: no multicast to the network.
export LSLAPICFG="$PWD/tests/lsl_api.cfg"
# The viewer tests start their own Xvfb (setup.sh installs it with Mesa and Qt's xcb libraries).
command -v Xvfb >/dev/null 2>&1 || echo "test.sh: WARNING: Xvfb is not installed; the live-window tests will be skipped" >&2

.venv/bin/python -m pytest "$@"
status=$?
if [ "$status" -eq 5 ]; then
    echo "test.sh: pytest collected no tests; failing on purpose" >&2
    exit 1
fi
exit "$status"
