#!/usr/bin/env bash
# Plant realistic bugs in scratch copies of the committed code and check that the tests
# catch each one (scripts/mutants.py; --list shows them). Sets up .venv first.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh >/dev/null || exit 1
exec .venv/bin/python scripts/mutants.py "$@"
