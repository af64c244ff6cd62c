"""End-to-end headless runs from a replayed recording and from BrainFlow's synthetic board."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from realtime.engine import Engine
from tests.fakes import FakeDescriber, FakeGenerator
from tests.realtime.conftest import make_config


@pytest.mark.slow
def test_a_replayed_recording_runs_through_the_engine(tmp_path: Path, fast_path: Any) -> None:
    first = Engine(make_config(tmp_path / "rec"), fast_path=fast_path, slow_stages=False, lsl_outputs=False)
    recording = Path(first.run(3.0).session_dir) / "recording.xdf"
    config = make_config(tmp_path / "replay", "source.kind=replay", f"source.replay.path={recording}")
    engine = Engine(config, fast_path=fast_path, describer=FakeDescriber(), generator=FakeGenerator(),
                    lsl_outputs=False)
    summary = engine.run(3.0)
    assert summary.error is None and summary.source.startswith("replay")
    assert summary.windows >= 8 and summary.stages["cloud"]["count"] > 0
    assert Path(summary.session_dir).name.endswith("-replay")
    assert (Path(summary.session_dir) / "recording.xdf").stat().st_size > 0


def test_brainflow_synthetic_board_runs_through_the_engine(tmp_path: Path, fast_path: Any) -> None:
    pytest.importorskip("brainflow")
    # the synthetic board has 16 of the model's 64 channels: the others are zero-filled
    config = make_config(tmp_path, "source.kind=brainflow", "channels.missing=zero")
    engine = Engine(config, fast_path=fast_path, describer=FakeDescriber(), generator=FakeGenerator(),
                    lsl_outputs=False)
    summary = engine.run(3.0)
    assert summary.error is None and summary.source.startswith("brainflow")
    assert summary.windows >= 8 and summary.stages["description"]["count"] > 0
    assert summary.identification is None  # the board sends no ground truth
