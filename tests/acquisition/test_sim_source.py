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


@pytest.mark.parametrize("speed", [1.0, 4.0])
def test_paced_data_and_stimuli(speed: float) -> None:
    """At speed s, sample i is released and stamped at t0 + i / (250 Hz * s); the data are the same."""
    config = SimulateSourceConfig(sfreq=250.0, seed=7, speed=speed)
    source = SimulatorSource(config, onset_interval_s=0.3)
    rate = 250.0 * speed
    with source:
        desc = source.description
        assert desc.simulated and desc.channel_names == tuple(STANDARD_64) and desc.units == "uV"
        assert desc.sfreq == 250.0  # the nominal rate of the data, whatever the speed
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
    # paced on the clock: about as many samples as time elapsed since open, times the speed
    elapsed = t_end - source.start_time
    assert abs(len(ts) - elapsed * rate) <= 20 * speed
    np.testing.assert_allclose(ts, source.start_time + np.arange(len(ts)) / rate)
    # same data as the LSL streamer's simulator, read in equal blocks
    reference = make_simulator(config, 0.3)
    ref = np.concatenate(
        [reference.read(source.chunk_samples).data for _ in range(len(ts) // source.chunk_samples)],
        axis=1,
    ).T
    np.testing.assert_array_equal(data, ref)
    # stimuli: onset times are sample timestamps, ground-truth descriptions
    assert len(stimuli) >= 3 * speed
    for t, seed, description in stimuli:
        i = int(round((t - source.start_time) * rate))
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
