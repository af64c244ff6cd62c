"""SimulatorSource: the SIMULATED stream in-process, paced on the LSL clock."""

from __future__ import annotations

import time

import numpy as np
import pytest

from acquisition.sim_source import SimulatorSource
from brain3d.channels import STANDARD_64
from brain3d.config import SimulateSourceConfig
from brain3d.schema import Description
from brain3d.sim.lsl_stream import make_simulator

pylsl = pytest.importorskip("pylsl")


def test_paced_data_and_stimuli() -> None:
    config = SimulateSourceConfig(sfreq=250.0, seed=7)
    source = SimulatorSource(config, onset_interval_s=0.3)
    with source:
        desc = source.description
        assert desc.simulated and desc.channel_names == tuple(STANDARD_64) and desc.units == "uV"
        chunks = []
        stimuli = []
        t_start = pylsl.local_clock()
        while pylsl.local_clock() - t_start < 1.5:
            chunk = source.read(timeout=0.05)
            if chunk is not None:
                # never released before the last sample is due
                assert chunk.timestamps[-1] <= pylsl.local_clock() + 1e-6
                chunks.append(chunk)
            stimuli += source.drain_stimuli()
        t_end = pylsl.local_clock()
    data = np.concatenate([c.data for c in chunks])
    ts = np.concatenate([c.timestamps for c in chunks])
    assert data.dtype == np.float32 and data.shape[1] == 64
    # paced in real time: about as many samples as time elapsed since open
    elapsed = t_end - source.start_time
    assert abs(len(ts) - elapsed * 250) <= 20
    np.testing.assert_allclose(ts, source.start_time + np.arange(len(ts)) / 250.0)
    # same data as the LSL streamer's simulator, read in equal blocks
    reference = make_simulator(config, 0.3)
    ref = np.concatenate(
        [reference.read(source.chunk_samples).data for _ in range(len(ts) // source.chunk_samples)],
        axis=1,
    ).T
    np.testing.assert_array_equal(data, ref)
    # stimuli: onset times are sample timestamps, ground-truth descriptions
    assert len(stimuli) >= 3
    for t, seed, description in stimuli:
        i = int(round((t - source.start_time) * 250))
        assert ts[i] == pytest.approx(t, abs=1e-9)
        assert isinstance(seed, int) and isinstance(description, Description)


def test_catch_up_after_late_read() -> None:
    source = SimulatorSource(SimulateSourceConfig(sfreq=500.0), chunk_samples=5)
    with source:
        time.sleep(0.3)
        chunk = source.read()
        assert chunk is not None and 130 <= len(chunk) <= 200
        # caught up: the next read continues the timeline with only a few blocks
        nxt = source.read(timeout=0.05)
        assert nxt is not None and len(nxt) <= 50
        assert nxt.timestamps[0] == pytest.approx(chunk.timestamps[-1] + 1 / 500.0)
        assert source.drain_events() == []
