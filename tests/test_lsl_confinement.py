"""Test streams stay among the tests: this machine only, and their own LSL session id."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

from tests.conftest import LSL_CONFIG, REPO_ROOT

RESOLVE = """
import sys, pylsl
found = pylsl.resolve_byprop("source_id", sys.argv[1], 1, 2.0)
print("found" if found else "not found")
"""


def _resolve_in_child(source_id: str, lsl_config: Path) -> str:
    env = {**os.environ, "LSLAPICFG": str(lsl_config)}
    done = subprocess.run([sys.executable, "-c", RESOLVE, source_id], env=env, capture_output=True, text=True,
                          timeout=60, check=True)
    return done.stdout.strip()


def test_conftest_sets_the_test_lsl_config_whatever_the_environment_says() -> None:
    assert os.environ["LSLAPICFG"] == str(LSL_CONFIG)
    probe = "import os, tests.conftest; print(os.environ['LSLAPICFG'])"
    env = {**os.environ, "LSLAPICFG": "/somewhere/else/lsl_api.cfg"}
    done = subprocess.run([sys.executable, "-c", probe], cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                          timeout=120, check=True)
    assert done.stdout.strip().splitlines()[-1] == str(LSL_CONFIG)


def test_a_test_stream_is_invisible_outside_the_test_session_id(tmp_path: Path) -> None:
    import pylsl

    source_id = f"confinement-{uuid.uuid4().hex[:8]}"
    outlet = pylsl.StreamOutlet(pylsl.StreamInfo("confinement-probe", "Probe", 1, 10.0, pylsl.cf_float32,
                                                 source_id))
    # a program on this machine with liblsl's default session (machine scope, no SessionID)
    other = tmp_path / "other_lsl_api.cfg"
    other.write_text("[ports]\nIPv6 = disable\n\n[multicast]\nResolveScope = machine\n")
    try:
        assert _resolve_in_child(source_id, LSL_CONFIG) == "found"
        assert _resolve_in_child(source_id, other) == "not found"
    finally:
        del outlet
