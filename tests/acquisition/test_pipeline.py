"""AcquisitionThread (source -> raw XDF -> preprocessing -> windows) and source_from_config."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import pyxdf

from acquisition.base import Chunk, Source, SourceEvent, StreamDescription
from acquisition.brainflow_source import BrainFlowSource
from acquisition.lsl_inlet import LSLInletSource
from acquisition.pipeline import (
    AcquisitionError,
    AcquisitionThread,
    PipelineEvent,
    PipelineEventKind,
    source_from_config,
)
from acquisition.preprocessing import window_phases
from acquisition.replay import ReplaySource
from acquisition.sim_source import SimulatorSource
from brain3d.channels import STANDARD_64
from brain3d.config import Config
from brain3d.errors import ConfigError, StreamError
from brain3d.results import Window, WindowFlag


class FakeSource(Source):
    """Deterministic 64-channel µV data, not paced: ``n_chunks`` chunks as fast as read.

    ``nan_chunk``: that chunk is all NaN. ``fail_at``: that read raises RuntimeError.
    """

    def __init__(self, n_chunks: int = 200, chunk: int = 25, sfreq: float = 500.0,
                 nan_chunk: int | None = None, fail_at: int | None = None) -> None:  # fmt: skip
        self.n_chunks, self.chunk, self.sfreq = n_chunks, chunk, sfreq
        self.nan_chunk, self.fail_at = nan_chunk, fail_at
        self.reads = 0
        self.sent = 0
        self.opened = False
        self.closed = 0
        self._description = StreamDescription("fake", "EEG", "fake-1", tuple(STANDARD_64), sfreq, "uV")
        self._rng = np.random.default_rng(0)

    @property
    def description(self) -> StreamDescription:
        return self._description

    def open(self) -> None:
        self.opened = True

    def read(self, timeout: float = 0.0, min_samples: int = 1) -> Chunk | None:
        self.reads += 1
        if self.fail_at is not None and self.reads >= self.fail_at:
            raise RuntimeError("device unplugged (injected)")
        k = self.sent // self.chunk
        if k >= self.n_chunks:
            time.sleep(timeout)
            return None
        i = np.arange(self.sent, self.sent + self.chunk)
        t = i / self.sfreq
        data = (20 * np.sin(2 * np.pi * 10 * t)[:, None] + self._rng.normal(0, 5, (self.chunk, 64))).astype(np.float32)
        if k == self.nan_chunk:
            data[:] = np.nan
        self.sent += self.chunk
        return Chunk(data, 1000.0 + t)

    def drain_events(self) -> list[SourceEvent]:
        return []

    def close(self) -> None:
        self.closed += 1


def wait_for(predicate, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return False


def test_simulator_windows_recording_and_clean_stop(tmp_path: Path) -> None:
    config = Config()
    windows: list[Window] = []
    chunks: list[Chunk] = []
    threads: set[str] = set()

    def on_window(window: Window) -> None:
        threads.add(threading.current_thread().name)
        windows.append(window)

    source = SimulatorSource(config.source.simulate)
    acq = AcquisitionThread(
        source, config, on_window=on_window, on_chunk=lambda c, _t: chunks.append(c),
        recorder=tmp_path / "recording.xdf", read_timeout_s=0.003,
    )  # fmt: skip
    with acq:
        assert acq.running
        assert wait_for(lambda: len(windows) >= 6, timeout=15.0), acq.stats()
    stats = acq.stop()  # second stop: idempotent, no error
    assert acq.stop() == stats
    assert not acq.running and source._simulator is None  # source closed

    hop_s = config.window.hop / config.window.sfreq
    input_period = 1.0 / config.source.simulate.sfreq
    seqs = [w.seq for w in windows]
    assert seqs == list(range(len(windows)))
    # 500 Hz input: windows alternate between two resampling grids so that every window
    # ends on an input sample: ends a whole number of input periods apart, within one
    # period of the hop, and a hop apart on average
    for a, b in zip(windows, windows[1:], strict=False):
        step = b.t_last - a.t_last
        assert abs(step - hop_s) < input_period
        assert step / input_period == pytest.approx(round(step / input_period), abs=1e-3)
    for a, b in zip(windows, windows[2:], strict=False):
        assert b.t_last - a.t_last == pytest.approx(2 * hop_s, abs=1e-6)
    for w in windows:
        assert w.data.shape == (64, config.window.samples)
        assert "buffered" in w.trace.stamps and w.trace.stamps["buffered"] >= w.t_last - 1e-3
        assert w.flags.usable
    assert threads == {"acquisition"}

    received = stats["samples_received"]
    assert received == sum(len(c) for c in chunks) == stats["samples_recorded"] > 0
    assert stats["recorder"]["samples_written"] == received
    assert stats["windows_emitted"] == stats["windows_delivered"] >= len(windows)
    streams, _ = pyxdf.load_xdf(str(tmp_path / "recording.xdf"), synchronize_clocks=False, dejitter_timestamps=False)
    (eeg,) = streams
    assert eeg["time_series"].shape == (received, 64)
    np.testing.assert_array_equal(eeg["time_stamps"], np.concatenate([c.timestamps for c in chunks]))
    np.testing.assert_array_equal(eeg["time_series"], np.concatenate([c.data for c in chunks]))
    assert eeg["info"]["desc"][0]["simulated"] == ["true"]


def _run_fake(policy: str, **source_kwargs: object) -> tuple[AcquisitionThread, list[Window], list[object]]:
    config = Config()
    config.preprocessing.bad_window_policy = policy  # type: ignore[assignment]
    windows: list[Window] = []
    events: list[object] = []
    source = FakeSource(**source_kwargs)  # type: ignore[arg-type]
    acq = AcquisitionThread(source, config, on_window=windows.append, on_event=events.append)
    acq.start()
    assert wait_for(lambda: acq.samples_received >= source.n_chunks * source.chunk), acq.stats()
    acq.stop()
    return acq, windows, events


def test_nan_chunk_is_skipped_under_policy_skip() -> None:
    acq, windows, events = _run_fake("skip", nan_chunk=100)
    assert acq.windows_skipped > 0
    assert acq.windows_emitted == acq.windows_delivered + acq.windows_skipped == len(windows) + acq.windows_skipped
    assert all(w.flags.usable for w in windows)
    skipped = [e for e in events if isinstance(e, PipelineEvent) and e.kind is PipelineEventKind.SKIPPED]
    assert len(skipped) == acq.windows_skipped
    assert "NON_FINITE" in skipped[0].detail["flags"]
    assert acq.stats()["events"]["skipped"] == acq.windows_skipped
    seqs = [w.seq for w in windows] + [e.detail["seq"] for e in skipped]
    assert sorted(seqs) == list(range(acq.windows_emitted))  # nothing lost, numbers never reused


def test_nan_chunk_is_delivered_under_policy_feed() -> None:
    acq, windows, events = _run_fake("feed", nan_chunk=100)
    assert acq.windows_skipped == 0 and not events
    assert acq.windows_delivered == acq.windows_emitted == len(windows)
    assert sum(bool(w.flags & WindowFlag.NON_FINITE) for w in windows) > 0
    assert [w.seq for w in windows] == list(range(len(windows)))


class BatchingSource(FakeSource):
    """Delivers exactly ``min_samples`` samples per read (as an LSL inlet does) and logs each read."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(chunk=1, **kwargs)  # type: ignore[arg-type]
        self.read_sizes: list[int] = []

    def read(self, timeout: float = 0.0, min_samples: int = 1) -> Chunk | None:
        first = None
        for _ in range(min_samples):
            chunk = super().read(timeout)
            if chunk is None:
                break
            first = chunk if first is None else Chunk(np.concatenate([first.data, chunk.data]),
                                                      np.concatenate([first.timestamps, chunk.timestamps]))  # fmt: skip
        if first is not None:
            self.read_sizes.append(len(first))
        return first


def test_thread_waits_for_windows_not_samples_and_cuts_the_same_windows() -> None:
    """Sample-by-sample streams are read in batches up to just before each window end."""
    batched, by_sample = BatchingSource(n_chunks=3000), FakeSource(n_chunks=3000, chunk=1)
    results: dict[str, list[tuple[Window, int]]] = {}
    for name, source in (("batched", batched), ("by_sample", by_sample)):
        got: list[tuple[Window, int]] = []

        def on_window(window: Window, source: FakeSource = source, got: list = got) -> None:
            last_read = source.read_sizes[-1] if isinstance(source, BatchingSource) else 1
            got.append((window, last_read))

        acq = AcquisitionThread(source, Config(), on_window=on_window).start()
        assert wait_for(lambda a=acq, s=source: a.samples_received >= s.n_chunks), acq.stats()
        acq.stop()
        results[name] = got
    assert len(results["batched"]) == len(results["by_sample"]) >= 15
    for (a, _), (b, _) in zip(results["batched"], results["by_sample"], strict=True):
        assert a.seq == b.seq and a.t_last == b.t_last
        # same windows up to float rounding: short and long chunks take different (equal)
        # IIR code paths (acquisition.iir.SOSFilter)
        np.testing.assert_allclose(a.data, b.data, rtol=1e-6, atol=1e-5)
    # every window was completed by a one-sample read: no batch waited past a window end
    assert all(last_read == 1 for _, last_read in results["batched"])
    assert len(batched.read_sizes) < 3000 / 10  # about 3 reads per window instead of 62


def test_source_exception_surfaces_on_stop() -> None:
    source = FakeSource(fail_at=20)
    acq = AcquisitionThread(source, Config()).start()
    assert wait_for(lambda: not acq.running)
    assert isinstance(acq.error, RuntimeError)
    with pytest.raises(AcquisitionError, match="device unplugged") as info:
        acq.stop()
    assert isinstance(info.value.__cause__, RuntimeError)
    assert source.closed == 1
    acq.stop()  # reported once; later stops are quiet and close nothing twice
    assert source.closed == 1


def test_callback_exception_surfaces_on_stop() -> None:
    def boom(_window: Window) -> None:
        raise ValueError("mailbox broken")

    acq = AcquisitionThread(FakeSource(), Config(), on_window=boom).start()
    assert wait_for(lambda: not acq.running)
    with pytest.raises(AcquisitionError, match="mailbox broken"):
        acq.stop()


def test_start_twice_is_an_error() -> None:
    acq = AcquisitionThread(FakeSource(n_chunks=1), Config()).start()
    with pytest.raises(RuntimeError, match="already"):
        acq.start()
    acq.stop()


def test_source_from_config_builds_the_registered_kind() -> None:
    assert isinstance(source_from_config(Config()), SimulatorSource)
    assert isinstance(source_from_config(Config(source={"kind": "lsl"})), LSLInletSource)
    assert isinstance(source_from_config(Config(source={"kind": "brainflow"})), BrainFlowSource)
    config = Config()
    object.__setattr__(config.source, "kind", "nope")  # as if validation had been skipped
    with pytest.raises(ConfigError, match="source.kind 'nope' is unknown; choose one of simulate, lsl"):
        source_from_config(config)


def test_a_replay_reads_the_players_numeric_stream_by_source_id() -> None:
    player = SimpleNamespace(
        path=Path("session.xdf"), speed=4.0,
        streams=[SimpleNamespace(channel_format="string", type="Markers"),
                 SimpleNamespace(channel_format="float32", type="EEG")],  # fmt: skip
        source_ids=["rp-markers", "rp-eeg"],
    )
    source = ReplaySource(player, Config().source.lsl)  # type: ignore[arg-type]
    assert isinstance(source, Source) and source.speed == 4.0
    inlet = source.inlet.config
    assert inlet.source_id == "rp-eeg" and inlet.name is None and inlet.type is None
    player.streams, player.source_ids = player.streams[:1], player.source_ids[:1]
    with pytest.raises(StreamError, match="no numeric .EEG. stream, only markers"):
        ReplaySource(player, Config().source.lsl)  # type: ignore[arg-type]


@pytest.mark.parametrize(("sfreq", "phases"), [(500.0, 2), (250.0, 4), (300.0, 2), (1000.0, 1), (256.0, 1)])
def test_every_window_ends_on_the_input_sample_that_completes_it(sfreq: float, phases: int) -> None:
    """No window waits for a later input: phase-shifted grids where one grid cannot do it."""
    config = Config()
    assert window_phases(sfreq, config.window) == phases
    source = FakeSource(n_chunks=int(4 * sfreq), chunk=1, sfreq=sfreq)
    got: list[tuple[Window, float]] = []
    acq = AcquisitionThread(source, config, on_window=lambda w: got.append((w, source.sent))).start()
    assert wait_for(lambda: acq.samples_received >= source.n_chunks), acq.stats()
    acq.stop()
    assert len(got) >= 20 and [w.seq for w, _ in got] == list(range(len(got)))
    hop_s = config.window.hop / config.window.sfreq
    for window, sent in got:
        # the completing sample (the last one sent) is the window's last sample itself
        assert window.t_last == pytest.approx(1000.0 + (sent - 1) / sfreq, abs=1e-9)
        assert window.data.shape == (64, config.window.samples) and window.flags.usable
    ends = np.array([w.t_last for w, _ in got])
    # each grid is shifted by less than one input period: ends move by less than that
    assert np.all(np.abs(np.diff(ends) - hop_s) < 1.0 / sfreq)
    assert ends[phases] - ends[0] == pytest.approx(phases * hop_s, abs=1e-9)  # a grid's own hop
    # each grid is a full-rate resampling of the same signal: the 10 Hz sine of the source
    # (20 µV, plus 5 µV noise) is in every window at the same amplitude
    amplitudes = [np.sqrt(2) * w.data[:, 64:].mean(axis=0).std() for w, _ in got[4:]]
    assert np.allclose(amplitudes, 20.0, rtol=0.15)
