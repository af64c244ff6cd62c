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


def test_mne_lsl_player_streaming_a_fif_recording_in_volts_is_decoded(tmp_path: Path, fast_path: Any) -> None:
    """mne-lsl's PlayerLSL publishes type 'eeg' and units as power-of-ten exponents ('0' =
    volts): found by the default selector (type EEG) and scaled to µV, not flagged flat."""
    mne = pytest.importorskip("mne")
    player_module = pytest.importorskip("mne_lsl.player")
    import uuid

    import numpy as np

    from brain3d.channels import STANDARD_64

    rng = np.random.default_rng(0)
    sfreq = 250.0
    seconds = np.arange(int(sfreq * 20)) / sfreq
    volts = (20.0 * rng.standard_normal((64, seconds.size)) + 10.0 * np.sin(2 * np.pi * 10 * seconds)) * 1e-6
    fname = tmp_path / "recording_raw.fif"
    mne.io.RawArray(volts, mne.create_info(list(STANDARD_64), sfreq, "eeg"), verbose=False).save(fname, verbose=False)
    name = f"Player-{uuid.uuid4().hex[:8]}"
    player = player_module.PlayerLSL(fname, chunk_size=16, name=name, source_id=name)
    player.start()
    try:
        config = make_config(tmp_path, "source.kind=lsl", f"source.lsl.name={name}")
        assert config.source.lsl.type == "EEG"  # the player says 'eeg'
        summary = Engine(config, fast_path=fast_path, slow_stages=False, lsl_outputs=False).run(4.0)
    finally:
        player.stop()
    assert summary.error is None and summary.windows >= 10
    assert summary.windows_unusable <= 0.2 * (summary.windows + summary.windows_unusable)
