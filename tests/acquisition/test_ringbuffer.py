"""RingBuffer: wrap-around, overflow accounting, large chunks, absolute indexing, threads."""

from __future__ import annotations

import logging
import threading
import time

import numpy as np
import pytest

from acquisition.ringbuffer import BufferRangeError, RingBuffer
from brain3d.errors import StreamError


def ramp(start: int, n: int, n_channels: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Samples whose value encodes (index, channel) and timestamps = index / 100."""
    idx = np.arange(start, start + n)
    data = (idx[:, None] * 10 + np.arange(n_channels)[None, :]).astype(np.float32)
    return data, idx / 100.0


def test_wrap_around_reads_back_every_sample() -> None:
    ring = RingBuffer(7, 3)
    written = 0
    for n in (3, 3, 3, 2, 5, 1, 6, 4):
        ring.write(*ramp(written, n))
        written += n
        seg = ring.latest(min(written, 7))
        expected, times = ramp(written - len(seg.data), len(seg.data))
        np.testing.assert_array_equal(seg.data, expected)
        np.testing.assert_array_equal(seg.timestamps, times)
        assert seg.start == written - len(seg.data)
        ring.release(written)
    assert ring.total_written == written
    assert ring.overflowed_samples == 0
    # read by absolute index across the wrap point
    seg = ring.read(written - 5, 4)
    np.testing.assert_array_equal(seg.data, ramp(written - 5, 4)[0])


def test_read_into_preallocated_arrays() -> None:
    ring = RingBuffer(8, 3)
    ring.write(*ramp(0, 10))
    out = np.empty((4, 3), np.float32)
    out_t = np.empty(4)
    seg = ring.read(5, 4, out=out, out_timestamps=out_t)
    assert seg.data is out and seg.timestamps is out_t
    np.testing.assert_array_equal(out, ramp(5, 4)[0])


def test_overflow_is_counted_logged_and_reader_skips(caplog: pytest.LogCaptureFixture) -> None:
    ring = RingBuffer(10, 3, name="test-stream")
    ring.write(*ramp(0, 8))
    ring.release(4)  # the reader needs samples 4.. onwards
    with caplog.at_level(logging.WARNING, logger="acquisition.ringbuffer"):
        lost = ring.write(*ramp(8, 9))  # total 17: oldest kept = 7, so 4..6 are lost
    assert lost == 3
    assert ring.overflowed_samples == 3 and ring.overflow_events == 1
    assert ring.reader_index == 7
    assert "overflow" in caplog.text and "test-stream" in caplog.text
    with pytest.raises(BufferRangeError, match="overwritten"):
        ring.read(4, 3)
    np.testing.assert_array_equal(ring.read(7, 10).data, ramp(7, 10)[0])


def test_chunk_larger_than_capacity_keeps_the_latest() -> None:
    ring = RingBuffer(5, 3)
    lost = ring.write(*ramp(0, 12))
    assert ring.total_written == 12
    assert lost == 7 and ring.overflowed_samples == 7
    seg = ring.latest(5)
    assert seg.start == 7
    np.testing.assert_array_equal(seg.data, ramp(7, 5)[0])
    np.testing.assert_array_equal(seg.timestamps, ramp(7, 5)[1])
    # and again, starting mid-buffer
    ring.release(12)
    ring.write(*ramp(12, 2))
    ring.write(*ramp(14, 11))
    np.testing.assert_array_equal(ring.latest(5).data, ramp(20, 5)[0])
    assert ring.overflowed_samples == 7 + 8


def test_display_buffer_without_reader_never_overflows() -> None:
    ring = RingBuffer(4, 3, track_reader=False)
    for i in range(10):
        ring.write(*ramp(i * 3, 3))
    assert ring.overflowed_samples == 0
    np.testing.assert_array_equal(ring.latest(4).data, ramp(26, 4)[0])


def test_bad_requests_are_clear_errors() -> None:
    ring = RingBuffer(5, 3)
    ring.write(*ramp(0, 3))
    with pytest.raises(BufferRangeError, match="not written yet"):
        ring.read(2, 2)
    with pytest.raises(StreamError, match="n_samples"):
        ring.write(np.zeros((3, 2), np.float32), np.zeros(3))
    with pytest.raises(StreamError):
        ring.write(np.zeros((3, 3), np.float32), np.zeros(4))
    with pytest.raises(ValueError):
        RingBuffer(0, 3)


def test_one_writer_one_reader_threads_see_consistent_samples() -> None:
    ring = RingBuffer(64, 2)
    total = 5_000
    errors: list[str] = []
    stop = threading.Event()  # set by a failing reader and at the end: no thread outlives the test

    def writer() -> None:
        rng = np.random.default_rng(0)
        done = 0
        while done < total and not stop.is_set():
            n = int(min(rng.integers(1, 20), total - done))
            if ring.total_written - ring.reader_index + n > ring.capacity:
                time.sleep(1e-5)  # wait for the reader (no overflow in this test)
                continue
            ring.write(*ramp(done, n, 2))
            done += n

    def reader() -> None:
        nxt = 0
        while nxt < total and not stop.is_set():
            avail = ring.total_written - nxt
            if avail <= 0:
                time.sleep(1e-5)
                continue
            seg = ring.read(nxt, avail)
            if not np.array_equal(seg.data, ramp(nxt, avail, 2)[0]):
                errors.append(f"bad data at {nxt}")
                stop.set()
                return
            nxt += avail
            ring.release(nxt)

    threads = [threading.Thread(target=writer, daemon=True), threading.Thread(target=reader, daemon=True)]
    for th in threads:
        th.start()
    deadline = time.monotonic() + 20
    for th in threads:
        th.join(timeout=max(0.0, deadline - time.monotonic()))
    stop.set()
    assert not any(th.is_alive() for th in threads), "writer or reader still running after 20 s"
    assert not errors
    assert ring.total_written == total and ring.overflowed_samples == 0
