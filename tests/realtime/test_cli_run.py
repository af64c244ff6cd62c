"""`brain3d run` as a user runs it: SIGTERM mid-run leaves a complete, readable session folder."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT


@pytest.mark.slow
def test_sigterm_mid_run_stops_cleanly_with_a_complete_session_folder(tmp_path: Path) -> None:
    env = {**os.environ, "LSLAPICFG": str(REPO_ROOT / "tests" / "lsl_api.cfg")}
    command = [sys.executable, "-m", "brain3d", "run", "--headless", "--duration", "120",
               "--set", f"output.dir={tmp_path}", "--set", "onnx.providers=[cpu]",
               "--json", str(tmp_path / "run.json")]
    process = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    try:
        deadline = time.monotonic() + 90
        images: list[Path] = []
        while time.monotonic() < deadline and process.poll() is None:
            images = list(tmp_path.glob("*/images/*.png"))
            if len(images) >= 6:
                break
            time.sleep(0.2)
        assert len(images) >= 6, "the run produced no images"
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, err[-3000:]
    (session,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    summary = json.loads((session / "summary.json").read_text())
    assert summary["stopped_by"] == "SIGTERM" and summary["error"] is None
    assert summary["windows"] >= 6 and summary["duration_s"] < 100
    assert json.loads((tmp_path / "run.json").read_text())["windows"] == summary["windows"]
    import pyxdf

    streams, _ = pyxdf.load_xdf(str(session / "recording.xdf"))
    assert len(streams[0]["time_stamps"]) > 500
    traces = [json.loads(line) for line in (session / "traces.jsonl").read_text().splitlines()]
    assert len(traces) == summary["windows"]
    events = [json.loads(line)["event"] for line in (session / "events.jsonl").read_text().splitlines()]
    assert events[0] == "run_started" and events[-1] == "run_stopped"
    assert (session / "config.yaml").is_file()
    assert "session" in out and str(session) in out
