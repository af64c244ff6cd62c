"""SIMULATED EEG over LSL: headers, no loss, exact drift-free stamps, onset markers.

LSL stays on this machine (``tests/conftest.py`` sets ``LSLAPICFG``); every stream has
a random ``source_id`` so parallel runs cannot pick up each other's streams.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pytest

from brain3d.channels import STANDARD_64
from brain3d.config import SimulateSourceConfig
from brain3d.schema import Description
from brain3d.sim.lsl_stream import (
    MANUFACTURER,
    SIMULATED_FIELD,
    SimulationStreamer,
    make_simulator,
    stream_simulation,
)

pylsl = pytest.importorskip("pylsl")

RESOLVE_TIMEOUT_S = 10.0


@dataclass
class Received:
    """Everything one pair of inlets received."""

    eeg: np.ndarray  # [n, 64]
    eeg_stamps: np.ndarray  # [n]
    markers: list[str]
    marker_stamps: np.ndarray
    eeg_info: pylsl.StreamInfo


def _resolve_one(source_id: str) -> pylsl.StreamInfo:
    found = pylsl.resolve_byprop("source_id", source_id, minimum=1, timeout=RESOLVE_TIMEOUT_S)
    assert len(found) == 1, f"expected one stream with source_id {source_id!r}, found {len(found)}"
    return found[0]


def _stream_and_receive(streamer: SimulationStreamer) -> Received:
    """Connect inlets before streaming, stream to the end, pull everything."""
    streamer.open()
    eeg_inlet = pylsl.StreamInlet(_resolve_one(streamer.source_id), recover=False)
    marker_inlet = pylsl.StreamInlet(_resolve_one(streamer.marker_source_id), recover=False)
    eeg_inlet.open_stream(timeout=RESOLVE_TIMEOUT_S)
    marker_inlet.open_stream(timeout=RESOLVE_TIMEOUT_S)
    eeg_info = eeg_inlet.info(timeout=RESOLVE_TIMEOUT_S)

    streamer.start()
    expected = streamer.total_samples
    assert expected is not None
    eeg_parts, stamp_parts, markers, marker_stamps = [], [], [], []
    received = 0
    deadline = pylsl.local_clock() + 20.0
    while received < expected and pylsl.local_clock() < deadline:
        data, stamps = eeg_inlet.pull_chunk(
            timeout=0.2, max_samples=4096, as_numpy=True, min_samples=1
        )
        if len(stamps):
            eeg_parts.append(np.array(data))
            stamp_parts.append(np.array(stamps))
            received += len(stamps)
        values, stamps = marker_inlet.pull_chunk(timeout=0.0)
        markers += [v[0] for v in values]
        marker_stamps += list(stamps)
    assert streamer.join(timeout=10.0), "streamer did not finish its max duration"
    # Markers are pushed right after their EEG chunk; drain the rest.
    while len(markers) < streamer.markers_pushed and pylsl.local_clock() < deadline:
        values, stamps = marker_inlet.pull_chunk(timeout=0.2)
        markers += [v[0] for v in values]
        marker_stamps += list(stamps)
    extra, _ = eeg_inlet.pull_chunk(timeout=0.2, max_samples=4096, as_numpy=True)
    assert len(extra) == 0, "received more samples than were pushed"
    return Received(
        eeg=np.concatenate(eeg_parts) if eeg_parts else np.zeros((0, 64), np.float32),
        eeg_stamps=np.concatenate(stamp_parts) if stamp_parts else np.zeros(0),
        markers=markers,
        marker_stamps=np.asarray(marker_stamps, dtype=np.float64),
        eeg_info=eeg_info,
    )


@pytest.fixture
def make_streamer() -> Iterator:
    """Build streamers with a random source_id; each is stopped (thread joined) at teardown."""
    made: list[SimulationStreamer] = []

    def factory(config: SimulateSourceConfig, **kwargs) -> SimulationStreamer:
        streamer = SimulationStreamer(
            config, source_id=f"brain3d-sim-test-{uuid.uuid4().hex[:12]}", **kwargs
        )
        made.append(streamer)
        return streamer

    yield factory
    for streamer in made:
        streamer.stop(timeout=10.0)
        assert not streamer.running


def _check_markers(streamer: SimulationStreamer, got: Received) -> None:
    assert streamer.markers_pushed >= 1
    assert len(got.markers) == streamer.markers_pushed
    for value, stamp in zip(got.markers, got.marker_stamps, strict=True):
        marker = json.loads(value)
        assert marker["event"] == "stimulus" and marker["simulated"] is True
        assert isinstance(marker["scene_seed"], int)
        Description.model_validate(marker["description"])
        # The marker is stamped with the EEG time stamp of its onset sample.
        nearest = int(np.argmin(np.abs(got.eeg_stamps - stamp)))
        assert nearest == marker["sample"]
        assert abs(got.eeg_stamps[nearest] - stamp) < 1e-6


def test_realtime_stream_headers_no_loss_exact_stamps(make_streamer) -> None:
    config = SimulateSourceConfig(sfreq=500.0, subject=1, seed=7)
    streamer = make_streamer(config, max_duration_s=2.4, chunk_samples=10, wait_for_consumers_s=5.0)
    got = _stream_and_receive(streamer)
    stats = streamer.stop()

    # Header: 64 labelled EEG channels in µV, nominal rate, honest about being simulated.
    info = got.eeg_info
    assert info.name() == "Brain3D-Sim-EEG" and info.type() == "EEG"
    assert info.nominal_srate() == 500.0 and info.channel_count() == 64
    assert info.channel_format() == pylsl.cf_float32
    assert info.get_channel_labels() == list(STANDARD_64)
    assert set(info.get_channel_units()) == {"microvolts"}
    assert set(info.get_channel_types()) == {"EEG"}
    desc = info.desc()
    assert desc.child("acquisition").child_value("manufacturer") == MANUFACTURER
    assert desc.child_value("simulated") == SIMULATED_FIELD == "SIMULATED EEG, not a recording"

    # No loss, and exactly the data the simulator makes (same seed, same chunking).
    assert stats.samples_pushed == streamer.total_samples == 1200
    assert got.eeg.shape == (1200, 64)
    reference = make_simulator(config)
    expected = np.concatenate([reference.read(10).data for _ in range(120)], axis=1).T
    np.testing.assert_array_equal(got.eeg, expected)

    # Time stamps: sample i at t0 + i / sfreq, strictly increasing, no drift.
    steps = np.diff(got.eeg_stamps)
    assert np.all(steps > 0)
    np.testing.assert_allclose(steps, 1 / 500.0, atol=1e-6, rtol=0)
    np.testing.assert_allclose(
        got.eeg_stamps, stats.start_time + np.arange(1200) / 500.0, atol=1e-6, rtol=0
    )
    # Pacing: the stream ended when its last sample was due (real time), not earlier.
    assert stats.wall_s >= 1199 / 500.0 - 1e-3
    assert stats.stopped_by == "duration" and stats.chunks_pushed == 120

    # Markers: about one onset per second, stamped at the onset sample.
    assert stats.markers_pushed == len(got.markers) >= 2
    _check_markers(streamer, got)


def test_accelerated_stream_stamps_follow_wall_time(make_streamer) -> None:
    config = SimulateSourceConfig(sfreq=250.0, subject=0, seed=3)
    streamer = make_streamer(config, max_duration_s=2.0, speed=4.0, onset_interval_s=0.5)
    assert streamer.chunk_samples == 10  # 10 ms of wall time at 4 x 250 Hz
    got = _stream_and_receive(streamer)
    stats = streamer.stop()

    assert got.eeg_info.nominal_srate() == 250.0
    assert len(got.eeg_stamps) == stats.samples_pushed == 500
    np.testing.assert_allclose(np.diff(got.eeg_stamps), 1 / 1000.0, atol=1e-6, rtol=0)
    assert 0.45 <= stats.wall_s < 1.5  # 2 s of data at 4x
    assert stats.markers_pushed >= 3
    _check_markers(streamer, got)


def test_stop_interrupts_an_endless_stream(make_streamer) -> None:
    streamer = make_streamer(SimulateSourceConfig(sfreq=1000.0))
    with streamer:
        assert streamer.running
        deadline = pylsl.local_clock() + 5.0
        while streamer.samples_pushed < 100 and pylsl.local_clock() < deadline:
            streamer.join(timeout=0.01)
    assert not streamer.running
    stats = streamer.stats()
    assert stats.stopped_by == "stop" and stats.samples_pushed >= 100
    # Outlets are gone: the stream can no longer be resolved.
    assert pylsl.resolve_byprop("source_id", streamer.source_id, timeout=0.5) == []


def test_blocking_stream_simulation_for_the_cli() -> None:
    source_id = f"brain3d-sim-test-{uuid.uuid4().hex[:12]}"
    stats = stream_simulation(SimulateSourceConfig(sfreq=500.0), 0.2, source_id=source_id)
    assert stats.samples_pushed == 100 and stats.stopped_by == "duration"
    assert stats.source_id == source_id and stats.wall_s >= 0.19
    # run() closes its outlets when it returns.
    assert pylsl.resolve_byprop("source_id", source_id, timeout=0.5) == []
