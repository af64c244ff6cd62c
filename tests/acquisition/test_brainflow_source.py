"""BrainFlowSource on BrainFlow's synthetic board (id -1; no hardware, no network)."""

from __future__ import annotations

import time

import numpy as np
import pytest

from acquisition.base import EventKind
from acquisition.brainflow_source import BrainFlowSource, count_lost_packages
from brain3d.config import BrainFlowSourceConfig
from brain3d.errors import StreamError

pytest.importorskip("brainflow")
pylsl = pytest.importorskip("pylsl")


def test_count_lost_packages() -> None:
    nums = np.array([250, 251, 252, 255, 0, 1, 5, 5, 6], dtype=float)  # wraps at 256
    lost, positions, duplicates = count_lost_packages(nums)
    assert lost == 2 + 3  # 253, 254 and 2, 3, 4
    assert positions.tolist() == [3, 6]
    assert duplicates == 1
    # across reads: previous read ended at 248 -> 249 missing
    lost, positions, _ = count_lost_packages(nums, previous=248)
    assert lost == 6 and positions.tolist() == [0, 3, 6]
    # no gap over the wrap
    assert count_lost_packages(np.arange(250, 262) % 256, previous=249)[0] == 0


def test_data_loss_event_from_fabricated_rows() -> None:
    source = BrainFlowSource()
    source._pkg_row = 0
    source._gap_check = None
    rows = np.arange(0, 40) % 256
    source._check_packages(rows, now=1.0)
    assert source.drain_events() == []
    source._check_packages(np.array([45, 46, 47]), now=2.0)  # 40..44 lost
    events = source.drain_events()
    assert [e.kind for e in events] == [EventKind.DATA_LOSS]
    assert events[0].detail["lost_packages"] == 5
    assert source.lost_packages == 5


def test_synthetic_board_streams_named_channels() -> None:
    source = BrainFlowSource(BrainFlowSourceConfig(board_id=-1))
    with source:
        desc = source.description
        assert desc.sfreq == 250.0 and desc.units == "uV" and desc.simulated
        assert desc.n_channels == 16 and desc.channel_names[:3] == ("Fz", "C3", "Cz")
        t_open = pylsl.local_clock()
        chunks = []
        deadline = time.monotonic() + 1.2
        while time.monotonic() < deadline:
            chunk = source.read(timeout=0.1)
            if chunk is not None:
                chunks.append(chunk)
        data = np.concatenate([c.data for c in chunks])
        ts = np.concatenate([c.timestamps for c in chunks])
        assert data.dtype == np.float32 and data.shape[1] == 16
        assert np.isfinite(data).all() and data.std() > 0
        # about 250 Hz for ~1.2 s, stamped on the LSL clock
        assert 150 <= len(ts) <= 400
        assert np.all(np.diff(ts) > 0)
        assert abs(ts[0] - t_open) < 0.5 and abs(ts[-1] - pylsl.local_clock()) < 0.5
        assert 200 < (len(ts) - 1) / (ts[-1] - ts[0]) < 300
        assert not [e for e in source.drain_events() if e.kind is EventKind.DATA_LOSS]
    assert source._board is None
    source.close()  # idempotent


def test_unknown_board_is_a_stream_error() -> None:
    with pytest.raises(StreamError, match="board_id"):
        BrainFlowSource(BrainFlowSourceConfig(board_id=987654)).open()
