"""LSLInletSource / MarkerInletSource against real loopback outlets in this process.

LSL stays on this machine: tests/conftest.py sets LSLAPICFG (ResolveScope = machine)
before pylsl loads. Every test uses a fresh random source_id so streams never mix.
"""

from __future__ import annotations

import json
import time
import uuid

import numpy as np
import pytest

from acquisition.base import EventKind
from acquisition.lsl_inlet import (
    LSLInletSource,
    MarkerInletSource,
    TimestampChecker,
    build_predicate,
    parse_channels,
)
from brain3d.channels import STANDARD_64
from brain3d.config import LSLSourceConfig, SimulateSourceConfig
from brain3d.errors import StreamError

pylsl = pytest.importorskip("pylsl")

SFREQ = 500.0
N_CH = 8
LABELS = [f"E{i + 1}" for i in range(N_CH)]


def _sid() -> str:
    return f"test-{uuid.uuid4().hex}"


def _outlet(source_id: str, name: str = "TestEEG", sfreq: float = SFREQ) -> pylsl.StreamOutlet:
    info = pylsl.StreamInfo(name, "EEG", N_CH, sfreq, pylsl.cf_float32, source_id)
    channels = info.desc().append_child("channels")
    for label in LABELS:
        ch = channels.append_child("channel")
        ch.append_child_value("label", label)
        ch.append_child_value("unit", "microvolts")
    return pylsl.StreamOutlet(info, chunk_size=10)


def _config(source_id: str, **kw) -> LSLSourceConfig:
    return LSLSourceConfig(name=None, type="EEG", source_id=source_id, resolve_timeout_s=5.0, **kw)


def _read_all(source: LSLInletSource, until: float, want: int | None = None):
    chunks = []
    n = 0
    while time.monotonic() < until:
        chunk = source.read(timeout=0.05)
        if chunk is not None:
            chunks.append(chunk)
            n += len(chunk)
            if want is not None and n >= want:
                break
    if not chunks:
        return np.empty((0, N_CH), np.float32), np.empty(0)
    return (
        np.concatenate([c.data for c in chunks]),
        np.concatenate([c.timestamps for c in chunks]),
    )


def _push_paced(outlet, n: int = 5) -> None:
    """Push n samples the way a real amplifier does: n / SFREQ seconds apart, in real time."""
    outlet.push_chunk(np.zeros((n, N_CH), np.float32))
    time.sleep(n / SFREQ)


def _push(outlet, t_start: float, n: int, rate: float, first_value: int = 0, chunk: int = 10):
    """Push n samples with explicit stamps t_start + i / rate; sample i's values are i."""
    for start in range(0, n, chunk):
        stop = min(n, start + chunk)
        idx = np.arange(first_value + start, first_value + stop, dtype=np.float32)
        data = np.repeat(idx[:, None], N_CH, axis=1) + np.arange(N_CH, dtype=np.float32) / 100
        stamps = (t_start + np.arange(start, stop) / rate).tolist()
        outlet.push_chunk(np.ascontiguousarray(data), stamps)


def test_predicate_and_quoting() -> None:
    fold = "translate(type, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')"
    assert build_predicate("A", "EEG", None) == f"name='A' and {fold}='eeg'"
    assert build_predicate(None, None, None) == "count(name)>0"
    assert build_predicate("it's", None, None) == 'name="it\'s"'


@pytest.mark.parametrize("sent_type", ["eeg", "Eeg"])
def test_the_type_selector_matches_whatever_case_the_sender_writes(sent_type: str) -> None:
    """mne-lsl's PlayerLSL publishes type 'eeg'; the default selector is 'EEG'."""
    sid = _sid()
    info = pylsl.StreamInfo("CaseEEG", sent_type, N_CH, SFREQ, pylsl.cf_float32, sid)
    outlet = pylsl.StreamOutlet(info)
    source = LSLInletSource(_config(sid))
    try:
        source.open()
        assert source.description.n_channels == N_CH
    finally:
        source.close()
        del outlet


def test_parse_channels_fallbacks() -> None:
    xml = (
        "<info><desc><channels><channel><label>Fz</label><unit>microvolts</unit></channel>"
        "<channel><label></label><unit>microvolts</unit></channel></channels></desc></info>"
    )
    assert parse_channels(xml, 2) == (("Fz", "ch1"), "uV")
    assert parse_channels("<info><desc/></info>", 3) == (("ch0", "ch1", "ch2"), "unknown")
    # header lists the wrong number of channels -> fallback labels
    assert parse_channels(xml, 3)[0] == ("ch0", "ch1", "ch2")


def test_loopback_all_samples_labels_timestamps() -> None:
    sid = _sid()
    outlet = _outlet(sid)
    with LSLInletSource(_config(sid)) as source:
        desc = source.description
        assert desc.channel_names == tuple(LABELS)
        assert desc.sfreq == SFREQ and desc.units == "uV" and desc.source_id == sid
        assert not desc.simulated
        n = 1000
        t0 = pylsl.local_clock()
        _push(outlet, t0, n, SFREQ)
        data, ts = _read_all(source, time.monotonic() + 5, want=n)
        assert data.dtype == np.float32 and ts.dtype == np.float64
        assert data.shape == (n, N_CH)
        np.testing.assert_allclose(data[:, 0], np.arange(n))
        np.testing.assert_allclose(data[:, 3], np.arange(n) + 0.03, atol=1e-4)
        # same machine: clock sync offset is ~0
        np.testing.assert_allclose(ts, t0 + np.arange(n) / SFREQ, atol=1e-3)
        events = source.drain_events()
        assert not [e for e in events if e.kind is not EventKind.RATE_MISMATCH], events
    del outlet


def test_resolve_timeout_lists_visible_streams() -> None:
    sid = _sid()
    outlet = _outlet(sid, name="VisibleOne")
    cfg = LSLSourceConfig(name="NoSuchStream", source_id=_sid(), resolve_timeout_s=0.3)
    with pytest.raises(StreamError) as info:
        LSLInletSource(cfg).open()
    message = str(info.value)
    assert "NoSuchStream" in message
    assert "VisibleOne" in message and sid in message and f"channels={N_CH}" in message
    assert "source.lsl" in message  # how to select one
    del outlet


def test_marker_stream_is_not_eeg() -> None:
    sid = _sid()
    info = pylsl.StreamInfo("M", "EEG", 1, 0, pylsl.cf_string, sid)
    outlet = pylsl.StreamOutlet(info)
    with pytest.raises(StreamError, match="strings"):
        LSLInletSource(_config(sid)).open()
    del outlet


def test_stream_loss_and_restore() -> None:
    sid = _sid()
    outlet = _outlet(sid)
    source = LSLInletSource(_config(sid, stall_timeout_s=0.3))
    source.open()
    try:
        # stream 0.4 s of real-time data
        t_end = pylsl.local_clock() + 0.4
        while pylsl.local_clock() < t_end:
            _push_paced(outlet)
            source.read(timeout=0.0)
        _read_all(source, time.monotonic() + 0.1)
        last_ts = source._checker.last_timestamp
        del outlet  # sender disappears
        pause_start = pylsl.local_clock()
        lost = []
        while pylsl.local_clock() - pause_start < 0.8:
            source.read(timeout=0.02)
            lost += source.drain_events()
        assert [e.kind for e in lost] == [EventKind.STREAM_LOST]  # once only
        assert 0.3 <= lost[0].detail["stalled_s"] < 1.0  # stall timeout, not liblsl timeouts
        assert source.lost
        # sender comes back with the same source_id; liblsl recover=True reconnects
        outlet = _outlet(sid)
        restored_at = pylsl.local_clock()
        events = []
        first = None
        while pylsl.local_clock() - restored_at < 15 and first is None:
            _push_paced(outlet)
            chunk = source.read(timeout=0.0)
            if chunk is not None:
                first = chunk.timestamps[0]
        events = source.drain_events()
        assert first is not None, "stream never came back"
        kinds = [e.kind for e in events]
        assert kinds[0] is EventKind.STREAM_RESTORED
        assert EventKind.CLOCK_JUMP not in kinds
        gap = events[0].detail["gap_s"]
        assert gap == pytest.approx(first - last_ts, abs=1e-6)
        # gap covers the pause (plus liblsl's reconnect time)
        assert restored_at - last_ts - 0.05 <= gap <= pylsl.local_clock() - last_ts + 0.05
        assert not source.lost
    finally:
        source.close()


@pytest.mark.parametrize("jump", [5.0, -5.0])
def test_clock_jump(jump: float) -> None:
    sid = _sid()
    outlet = _outlet(sid)
    with LSLInletSource(_config(sid)) as source:
        t0 = pylsl.local_clock()
        _push(outlet, t0, 100, SFREQ)
        _push(outlet, t0 + 100 / SFREQ + jump, 100, SFREQ, first_value=100)
        data, ts = _read_all(source, time.monotonic() + 5, want=200)
        assert data.shape[0] == 200  # nothing dropped, no crash
        events = source.drain_events()
        jumps = [e for e in events if e.kind is EventKind.CLOCK_JUMP]
        assert len(jumps) == 1, events
        assert jumps[0].detail["jump_s"] == pytest.approx(jump, abs=1e-3)
        assert not [e for e in events if e.kind is EventKind.NON_MONOTONIC]
        # new timeline kept as stamped
        assert ts[100] == pytest.approx(t0 + 100 / SFREQ + jump, abs=1e-3)
    del outlet


def test_non_monotonic_restamped() -> None:
    checker = TimestampChecker(100.0)
    ts = np.array([1.00, 1.01, 1.02, 1.015, 1.03, 1.04])
    fixed, events = checker.check(ts, now=2.0)
    assert [e.kind for e in events] == [EventKind.NON_MONOTONIC]
    assert events[0].detail["count"] == 1
    np.testing.assert_allclose(fixed, [1.00, 1.01, 1.02, 1.025, 1.03, 1.04])
    # across chunk boundary
    fixed, events = checker.check(np.array([1.035, 1.05]), now=2.0)
    assert events[0].detail["total"] == 2
    np.testing.assert_allclose(fixed, [1.045, 1.05])
    # run at the end of a chunk continues by 1 / sfreq
    fixed, events = checker.check(np.array([1.06, 1.03, 1.04]), now=2.0)
    np.testing.assert_allclose(fixed, [1.06, 1.07, 1.08])
    assert events[0].detail["count"] == 2
    assert events[0].detail["max_backstep_s"] == pytest.approx(0.03)


def test_rate_mismatch() -> None:
    sid_bad, sid_ok = _sid(), _sid()
    bad, ok = _outlet(sid_bad), _outlet(sid_ok)
    with LSLInletSource(_config(sid_bad)) as src_bad, LSLInletSource(_config(sid_ok)) as src_ok:
        t0 = pylsl.local_clock() - 6
        _push(bad, t0, 2400, 400.0, chunk=40)  # 6 s of data stamped at 400 Hz
        _push(ok, t0, 3000, SFREQ, chunk=40)  # 6 s at 500 Hz
        _read_all(src_bad, time.monotonic() + 5, want=2400)
        _read_all(src_ok, time.monotonic() + 5, want=3000)
        events = [e for e in src_bad.drain_events() if e.kind is EventKind.RATE_MISMATCH]
        assert len(events) == 1  # once per episode
        assert events[0].detail["nominal_hz"] == SFREQ
        assert events[0].detail["effective_hz"] == pytest.approx(400.0, rel=1e-3)
        assert src_bad.effective_rate == pytest.approx(400.0, rel=1e-3)
        assert not src_ok.drain_events()
        assert src_ok.effective_rate == pytest.approx(SFREQ, rel=1e-3)
    del bad, ok


def test_markers_from_simulation_streamer() -> None:
    from brain3d.sim.lsl_stream import SimulationStreamer

    sid = _sid()
    config = SimulateSourceConfig(sfreq=250.0, seed=3)
    streamer = SimulationStreamer(
        config, name_prefix=f"T{sid[-6:]}", source_id=sid, onset_interval_s=0.25, max_duration_s=1.5
    )
    streamer.open()
    eeg = LSLInletSource(_config(sid))
    markers = MarkerInletSource(source_id=f"{sid}-markers", resolve_timeout_s=5.0)
    with eeg, markers:
        assert eeg.description.channel_names == tuple(STANDARD_64)
        assert eeg.description.simulated
        streamer.start()
        streamer.join(5.0)
        stamps, texts = [], []
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline and len(texts) < streamer.markers_pushed:
            ts, got = markers.read(timeout=0.1)
            stamps += ts.tolist()
            texts += got
        streamer.stop()
    assert streamer.markers_pushed >= 4
    assert len(texts) == streamer.markers_pushed
    for t, text in zip(stamps, texts, strict=True):
        marker = json.loads(text)
        assert marker["event"] == "stimulus" and marker["simulated"] is True
        assert "description" in marker and isinstance(marker["scene_seed"], int)
        assert t == pytest.approx(streamer.sample_time(marker["sample"]), abs=1e-3)


def test_unrecoverable_stream_ends() -> None:
    name = f"NoSid-{uuid.uuid4().hex[:8]}"
    outlet = pylsl.StreamOutlet(pylsl.StreamInfo(name, "EEG", 4, SFREQ, pylsl.cf_float32, ""))
    source = LSLInletSource(LSLSourceConfig(name=name, stall_timeout_s=0.3))
    with source:
        outlet.push_chunk(np.zeros((5, 4), np.float32))
        assert source.read(timeout=2.0) is not None
        del outlet
        kinds: list[EventKind] = []
        deadline = time.monotonic() + 5
        while EventKind.END_OF_STREAM not in kinds and time.monotonic() < deadline:
            assert source.read(timeout=0.05) is None
            kinds += [e.kind for e in source.drain_events()]
        assert kinds == [EventKind.STREAM_LOST, EventKind.END_OF_STREAM]
        assert source.read(timeout=0.0) is None  # ended: no crash, no data


def test_mne_lsl_unit_exponents_are_read_as_powers_of_ten_of_volts() -> None:
    """mne-lsl writes each channel's unit as an exponent: '0' is volts, '-6' microvolts."""
    xml = ("<info><desc><channels><channel><label>Fz</label><unit>0</unit></channel>"
           "<channel><label>Cz</label><unit>0</unit></channel></channels></desc></info>")
    assert parse_channels(xml, 2) == (("Fz", "Cz"), "V")
    assert parse_channels(xml.replace(">0<", ">-6<"), 2)[1] == "uV"
