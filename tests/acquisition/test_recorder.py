"""Recorder: raw XDF round trip, overflow reporting, crash safety, LSL recording."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from pathlib import Path

import numpy as np
import pytest
import pyxdf

from acquisition.base import StreamDescription
from acquisition.recorder import Recorder, StreamSelector, record_streams
from brain3d.errors import StreamError

REPO = Path(__file__).resolve().parents[2]


def _load(path: Path) -> dict[str, dict]:
    streams, _ = pyxdf.load_xdf(str(path), synchronize_clocks=False, dejitter_timestamps=False)
    return {s["info"]["name"][0]: s for s in streams}


def test_round_trip_three_streams_identical(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    path = tmp_path / "recording.xdf"
    labels = tuple(f"E{i}" for i in range(64))
    desc = StreamDescription("EEG64", "EEG", "amp-1", labels, 500.0, units="uV")
    eeg_chunks, eeg_ts, int_chunks, int_ts, marks, mark_ts = [], [], [], [], [], []
    with Recorder(path, flush_interval_s=0.2) as rec:
        eeg = rec.add_stream(desc)
        aux = rec.add_stream(
            name="Aux",
            type="AUX",
            channel_count=3,
            nominal_srate=100.0,
            channel_format="int16",
            source_id="aux-1",
        )
        mk = rec.add_stream(
            name="Markers",
            type="Markers",
            channel_count=1,
            nominal_srate=0.0,
            channel_format="string",
        )
        t = 1234.5
        for k in range(20):
            n = int(rng.integers(1, 60))
            x = rng.normal(0, 50, (n, 64)).astype(np.float32)
            ts = t + np.arange(n) / 500.0 + rng.normal(0, 1e-4, n)  # jitter kept as is
            t += n / 500.0
            assert rec.push(eeg, x, ts)
            eeg_chunks.append(x)
            eeg_ts.append(ts)
            y = rng.integers(-32768, 32767, (5, 3)).astype(np.int16)
            yts = ts[0] + np.arange(5) / 100.0
            assert rec.push(aux, y, yts)
            int_chunks.append(y)
            int_ts.append(yts)
            if k % 4 == 0:
                s = f"stim {k} ünïcode"
                assert rec.push_markers(mk, [s], [ts[0]])
                marks.append(s)
                mark_ts.append(ts[0])
        rec.push_clock_offset(eeg, 1240.0, -0.002)
    stats = rec.stats()
    assert stats.total_dropped == 0 and stats.error is None and stats.fsyncs >= 1

    got = _load(path)
    e = got["EEG64"]
    assert e["time_series"].dtype == np.float32
    np.testing.assert_array_equal(e["time_series"], np.concatenate(eeg_chunks))
    np.testing.assert_array_equal(e["time_stamps"], np.concatenate(eeg_ts))
    assert e["info"]["nominal_srate"][0] == "500.0" and e["info"]["source_id"][0] == "amp-1"
    chans = e["info"]["desc"][0]["channels"][0]["channel"]
    assert [c["label"][0] for c in chans] == list(labels)
    assert int(e["footer"]["info"]["sample_count"][0]) == len(np.concatenate(eeg_ts))
    assert e["footer"]["info"]["clock_offsets"][0]["offset"][0]["value"][0] == "-0.002"
    a = got["Aux"]
    assert a["time_series"].dtype == np.int16
    np.testing.assert_array_equal(a["time_series"], np.concatenate(int_chunks))
    np.testing.assert_array_equal(a["time_stamps"], np.concatenate(int_ts))
    m = got["Markers"]
    assert [v[0] for v in m["time_series"]] == marks
    np.testing.assert_array_equal(m["time_stamps"], mark_ts)


def test_overflow_is_counted_logged_and_in_footer(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "recording.xdf"
    with caplog.at_level(logging.WARNING, logger="acquisition.recorder"):
        with Recorder(path, max_pending_bytes=1000) as rec:
            sid = rec.add_stream(name="Big", channel_count=64, nominal_srate=1000.0)
            assert rec.push(sid, np.zeros((2, 64)), [1.0, 1.001])  # 528 bytes: fits
            accepted = rec.push(
                sid, np.zeros((100, 64)), np.arange(100) / 1000.0 + 2.0
            )  # 26 kB: dropped
    assert accepted is False
    assert rec.stats().samples_dropped == {sid: 100}
    assert any("dropped 100 samples" in r.getMessage() for r in caplog.records)
    s = _load(path)["Big"]
    assert len(s["time_stamps"]) == 2
    assert s["footer"]["info"]["dropped_samples"] == ["100"]


def test_bad_input_and_closed_recorder_errors(tmp_path: Path) -> None:
    with pytest.raises(StreamError, match="does not exist"):
        Recorder(tmp_path / "missing" / "recording.xdf")
    rec = Recorder(tmp_path / "r.xdf")
    sid = rec.add_stream(name="X", channel_count=2)
    with pytest.raises(ValueError, match="2 channels"):
        rec.push(sid, np.zeros((3, 5)), np.zeros(3))
    with pytest.raises(TypeError, match="push_markers"):
        mk = rec.add_stream(name="M", channel_count=1, channel_format="string")
        rec.push(mk, np.zeros((1, 1)), [0.0])
    rec.close()
    with pytest.raises(StreamError, match="closed"):
        rec.push(sid, np.zeros((1, 2)), [0.0])


_CHILD = textwrap.dedent(
    """
    import sys, time
    import numpy as np
    sys.path.insert(0, {repo!r})
    from acquisition.recorder import Recorder
    rec = Recorder({path!r}, flush_interval_s=0.5)
    eeg = rec.add_stream(name="EEG", type="EEG", channel_count=8, nominal_srate=250.0)
    mk = rec.add_stream(name="Markers", type="Markers", channel_count=1, channel_format="string")
    t0 = time.time()
    print(repr(t0), flush=True)
    i = m = 0
    while True:
        now = time.time()
        n = int((now - t0) * 250) + 1 - i  # samples due: sample k is stamped t0 + k / 250
        if n > 0:
            k = np.arange(i, i + n)
            rec.push(eeg, np.repeat(k[:, None], 8, 1).astype(np.float32), t0 + k / 250.0)
            i += n
        if now - t0 >= m * 0.2:
            rec.push_markers(eeg + 1, [f"m{{m}}"], [t0 + m * 0.2])
            m += 1
        time.sleep(0.01)
    """
)


def test_pushing_samples_does_not_wake_the_writer_for_each_push(tmp_path: Path) -> None:
    """A sample-by-sample stream is written in batches, and all of it reaches the file."""
    rec = Recorder(tmp_path / "r.xdf", write_interval_s=0.1)
    sid = rec.add_stream(name="EEG", channel_count=4, nominal_srate=500.0, channel_format="float32")
    writes = 0
    write_chunks = rec._writer.write_chunks

    def counting(chunks: list[bytes]) -> None:
        nonlocal writes
        writes += 1
        write_chunks(chunks)

    rec._writer.write_chunks = counting  # type: ignore[method-assign]
    n = 300
    for i in range(n):  # 0.3 s of 1 kHz pushes
        rec.push(sid, np.full((1, 4), i, dtype=np.float32), np.array([i / 1000.0]))
        time.sleep(0.001)
    stats = rec.close()
    assert stats.samples_written[sid] == n
    assert writes <= 12  # ~4 timed batches + close, never one write per push
    eeg = _load(tmp_path / "r.xdf")["EEG"]
    np.testing.assert_array_equal(eeg["time_series"][:, 0], np.arange(n, dtype=np.float32))


@pytest.mark.parametrize("flush_interval_s", [0.25, 0.5])
def test_fsync_runs_at_least_every_flush_interval_while_recording(tmp_path: Path, flush_interval_s: float) -> None:
    """Periodic fsync, not only at close: a power cut loses at most one flush interval."""
    rec = Recorder(tmp_path / "r.xdf", flush_interval_s=flush_interval_s)
    sid = rec.add_stream(name="EEG", channel_count=4, nominal_srate=500.0, channel_format="float32")
    syncs: list[float] = []
    sync = rec._writer.sync

    def timed_sync() -> None:
        syncs.append(time.monotonic())
        sync()

    rec._writer.sync = timed_sync  # type: ignore[method-assign]
    started = time.monotonic()
    i = 0
    while time.monotonic() - started < 2.5:  # 2.5 s of 10-sample chunks at 500 Hz
        rec.push(sid, np.full((10, 4), i, dtype=np.float32), i / 50.0 + np.arange(10) / 500.0)
        i += 1
        time.sleep(0.02)
    last_push = time.monotonic()
    rec.close()
    during = [t for t in syncs if t <= last_push]
    assert len(during) >= int(2.5 / flush_interval_s) - 1, syncs
    gaps = np.diff([started, *during, last_push])
    assert gaps.max() <= flush_interval_s, f"longest time without fsync {gaps.max():.3f} s: {np.round(gaps, 3)}"


def test_sigkill_loses_at_most_the_last_second(tmp_path: Path) -> None:
    path = tmp_path / "recording.xdf"
    env = dict(os.environ, LSLAPICFG=str(REPO / "tests" / "lsl_api.cfg"))
    proc = subprocess.Popen(
        [sys.executable, "-c", _CHILD.format(repo=str(REPO), path=str(path))],
        stdout=subprocess.PIPE,
        env=env,
        text=True,
    )
    try:
        t0 = float(proc.stdout.readline())
        time.sleep(2.5)
        kill_time = time.time()
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL

    got = _load(path)  # no footers: pyxdf must still read the file
    assert "footer" not in got["EEG"]
    values, stamps = got["EEG"]["time_series"], got["EEG"]["time_stamps"]
    n = len(stamps)
    # a contiguous prefix 0..n-1, values and timestamps exactly as pushed
    np.testing.assert_array_equal(values[:, 0], np.arange(n))
    np.testing.assert_array_equal(stamps, t0 + np.arange(n) / 250.0)
    # everything stamped (= pushed, paced in real time) more than 1 s before the kill is there
    must_have = int(np.sum(t0 + np.arange(int(3 * 250)) / 250.0 < kill_time - 1.0))
    assert n >= must_have >= 250
    lost_s = kill_time - stamps[-1]
    marks = [v[0] for v in got["Markers"]["time_series"]]
    assert marks == [f"m{j}" for j in range(len(marks))] and len(marks) >= 7
    print(f"SIGKILL test: {n} samples kept, last one {lost_s:.3f} s before the kill")


# ---------------------------------------------------------------- record_streams
def test_record_streams_from_lsl(tmp_path: Path) -> None:
    import pylsl

    tag = uuid.uuid4().hex[:8]
    eeg_info = pylsl.StreamInfo(f"rec-eeg-{tag}", "EEG", 4, 200.0, "float32", f"rec-eeg-{tag}")
    ch = eeg_info.desc().append_child("channels")
    for label in ("C3", "Cz", "C4", "Pz"):
        ch.append_child("channel").append_child_value("label", label)
    mk_info = pylsl.StreamInfo(f"rec-mk-{tag}", "Markers", 1, 0.0, "string", f"rec-mk-{tag}")
    eeg_out, mk_out = pylsl.StreamOutlet(eeg_info), pylsl.StreamOutlet(mk_info)
    stop = threading.Event()
    t0 = pylsl.local_clock()

    def pusher() -> None:
        i = 0
        while not stop.is_set():
            n = int((pylsl.local_clock() - t0) * 200) + 1 - i
            if n > 0:
                k = np.arange(i, i + n)
                eeg_out.push_chunk(
                    np.repeat(k[:, None], 4, 1).astype(np.float32), (t0 + k / 200.0).tolist()
                )
                if i // 40 != (i + n) // 40:
                    mk_out.push_sample([f"mark {i + n}"], t0 + (i + n - 1) / 200.0)
                i += n
            time.sleep(0.005)

    th = threading.Thread(target=pusher, daemon=True)
    th.start()
    try:
        path = tmp_path / "recording.xdf"
        summary = record_streams(
            [{"name": f"rec-eeg-{tag}"}, StreamSelector(type="Markers", source_id=f"rec-mk-{tag}")],
            path,
            duration_s=1.5,
            resolve_timeout_s=5.0,
        )
        with pytest.raises(StreamError, match="no LSL stream matches.*nope"):
            record_streams(
                [{"name": f"nope-{tag}"}], tmp_path / "x.xdf", 1.0, resolve_timeout_s=0.3
            )
    finally:
        stop.set()
        th.join(2)
    assert sorted(summary.streams.values()) == [f"rec-eeg-{tag}", f"rec-mk-{tag}"]
    got = _load(path)
    e = got[f"rec-eeg-{tag}"]
    k = e["time_series"][:, 0].astype(int)
    assert len(k) >= 150  # ~1.5 s at 200 Hz, minus connection time
    np.testing.assert_array_equal(k, np.arange(k[0], k[0] + len(k)))  # no gap, no duplicate
    np.testing.assert_allclose(
        e["time_stamps"], t0 + k / 200.0, atol=1e-9
    )  # raw, not post-processed
    assert [c["label"][0] for c in e["info"]["desc"][0]["channels"][0]["channel"]] == [
        "C3",
        "Cz",
        "C4",
        "Pz",
    ]
    assert len(e["clock_times"]) >= 1  # one ClockOffset at the start
    assert len(got[f"rec-mk-{tag}"]["time_series"]) >= 3


def test_power_loss_tail_is_repairable(tmp_path: Path) -> None:
    """A tail cut mid-chunk (power loss after the last fsync) is trimmed, then readable."""
    from acquisition.xdf_writer import complete_length, repair_truncated

    full = tmp_path / "full.xdf"
    with Recorder(full) as rec:
        a = rec.add_stream(name="EEG", channel_count=4, nominal_srate=100.0)
        m = rec.add_stream(name="M", channel_count=1, channel_format="string")
        for k in range(10):
            rec.push(a, np.full((10, 4), k, np.float32), k + np.arange(10) / 100.0)
            rec.push_markers(m, [f"x{k}"], [k + 0.05])
    data = full.read_bytes()
    assert complete_length(full) == len(data)
    cut_path = tmp_path / "cut.xdf"
    logging.getLogger("pyxdf").setLevel(logging.CRITICAL)
    header_end = data.index(b"<name>M</name>") + 200  # past both stream headers
    for cut in range(header_end, len(data), 23):
        cut_path.write_bytes(data[:cut])
        repair_truncated(cut_path)
        got = _load(cut_path)
        t = got["EEG"]["time_stamps"]
        np.testing.assert_array_equal(got["EEG"]["time_series"][:, 0], np.floor(t + 1e-9))
