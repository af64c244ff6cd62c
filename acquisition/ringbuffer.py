"""A fixed-size ring buffer of multichannel samples with their LSL timestamps.

One class, :class:`RingBuffer`: ``(capacity, n_channels)`` float32 samples plus
``(capacity,)`` float64 timestamps, allocated once. Samples are addressed by their
*absolute* index (0 for the first sample ever written, counting up for the whole run),
so a reader asks for "samples 1024..1279" and gets exactly those or a clear error.

Overflow is never silent. The reader declares how far it has consumed with
:meth:`RingBuffer.release`; a write that overwrites samples the reader has not
released counts them in :attr:`RingBuffer.overflowed_samples`, logs a warning
(rate-limited, with the running total) and moves the reader's position past the lost
samples. A buffer used only for "the latest N samples" (a display) passes
``track_reader=False``: overwriting old samples is then its job, not a loss.

Unlike a buffer that is rolled (``np.roll``) on every write, writes and reads here are
at most two numpy slice copies each (one on each side of the wrap point); nothing is
allocated per sample or per write.

Threading: one writer thread and one reader thread may share a buffer. Every method
that touches the arrays or counters holds one internal :class:`threading.Lock` for the
duration of its slice copies (microseconds), so a reader never sees a half-written
chunk and the counters are always consistent with the data.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import NamedTuple

import numpy as np

from brain3d.errors import StreamError

logger = logging.getLogger(__name__)

#: Seconds between two overflow warnings of one buffer (the counter is always exact).
OVERFLOW_LOG_INTERVAL_S = 5.0


class BufferRangeError(StreamError, IndexError):
    """Samples asked for are no longer (overwritten) or not yet in the ring buffer."""


class Segment(NamedTuple):
    """Samples read from a :class:`RingBuffer`.

    Attributes
    ----------
    start : int
        Absolute index of the first sample.
    data : np.ndarray
        (n_samples, n_channels) float32.
    timestamps : np.ndarray
        (n_samples,) float64, LSL clock seconds.
    """

    start: int
    data: np.ndarray
    timestamps: np.ndarray


class RingBuffer:
    """Preallocated ring of ``(samples, channels)`` float32 data and float64 timestamps.

    Parameters
    ----------
    capacity : int
        Samples held (the most recent ``capacity`` samples are readable).
    n_channels : int
        Channels per sample.
    name : str
        Used in log messages and errors (e.g. the stream name).
    track_reader : bool
        When True (default) overwriting samples at or after the reader's position
        (:meth:`release`) is an overflow: counted, logged, and the reader's position
        skips the lost samples. When False the buffer only keeps "the latest
        ``capacity`` samples" and never reports overflow.

    Attributes
    ----------
    overflowed_samples : int
        Samples overwritten (or never stored, for chunks larger than the buffer)
        before the reader released them.
    overflow_events : int
        Writes that caused an overflow.
    """

    def __init__(self, capacity: int, n_channels: int, *, name: str = "ring", track_reader: bool = True) -> None:
        if capacity < 1 or n_channels < 1:
            raise ValueError(
                f"ring buffer {name!r}: capacity ({capacity}) and n_channels ({n_channels}) must be >= 1"
            )
        self.name = name
        self.capacity = int(capacity)
        self.n_channels = int(n_channels)
        self.track_reader = track_reader
        self._data = np.zeros((self.capacity, self.n_channels), dtype=np.float32)
        self._times = np.full(self.capacity, np.nan, dtype=np.float64)
        self._written = 0  # absolute index of the next sample to write
        self._reader = 0  # absolute index of the oldest sample the reader still needs
        self._lock = threading.Lock()
        self.overflowed_samples = 0
        self.overflow_events = 0
        self._last_overflow_log = -np.inf
        self._unlogged_overflow = 0

    # ------------------------------------------------------------------ counters
    @property
    def total_written(self) -> int:
        """Samples written since creation (absolute index of the next sample)."""
        return self._written

    @property
    def oldest_index(self) -> int:
        """Absolute index of the oldest sample still readable."""
        return max(0, self._written - self.capacity)

    @property
    def available(self) -> int:
        """Samples currently readable (``min(total_written, capacity)``)."""
        return min(self._written, self.capacity)

    @property
    def reader_index(self) -> int:
        """Absolute index of the oldest sample the reader has not released."""
        return self._reader

    # --------------------------------------------------------------------- write
    def write(self, data: np.ndarray, timestamps: np.ndarray) -> int:
        """Append samples.

        Parameters
        ----------
        data : np.ndarray
            (n_samples, n_channels), converted to float32 on copy.
        timestamps : np.ndarray
            (n_samples,) LSL clock seconds.

        Returns
        -------
        int
            Samples lost to overflow by this write (0 normally).

        Notes
        -----
        A chunk larger than the buffer keeps only its last ``capacity`` samples;
        the earlier ones count as overflow if the reader had not released them.
        """
        data = np.asarray(data)
        timestamps = np.asarray(timestamps)
        n = len(timestamps)
        if data.ndim != 2 or data.shape[1] != self.n_channels or data.shape[0] != n:
            raise StreamError(
                f"ring buffer {self.name!r}: data of shape {data.shape} with {n} timestamps "
                f"does not fit (n_samples, {self.n_channels}) with n_samples == len(timestamps); "
                "pass samples as rows and one timestamp per sample"
            )
        if n == 0:
            return 0
        with self._lock:
            start = self._written
            end = start + n
            keep = min(n, self.capacity)
            src0 = n - keep  # rows of the chunk that are stored
            pos = (end - keep) % self.capacity
            first = min(keep, self.capacity - pos)
            self._data[pos : pos + first] = data[src0 : src0 + first]
            self._times[pos : pos + first] = timestamps[src0 : src0 + first]
            if first < keep:
                rest = keep - first
                self._data[:rest] = data[src0 + first :]
                self._times[:rest] = timestamps[src0 + first :]
            self._written = end
            lost = 0
            if self.track_reader:
                oldest = end - self.capacity
                if oldest > self._reader:
                    lost = oldest - self._reader
                    self._reader = oldest
                    self.overflowed_samples += lost
                    self.overflow_events += 1
        if lost:
            self._log_overflow(lost)
        return lost

    def _log_overflow(self, lost: int) -> None:
        self._unlogged_overflow += lost
        now = time.monotonic()
        if now - self._last_overflow_log >= OVERFLOW_LOG_INTERVAL_S:
            logger.warning(
                "ring buffer %r overflow: the reader fell behind and %d samples were overwritten "
                "unread (%d in total); read faster or make the buffer larger",
                self.name, self._unlogged_overflow, self.overflowed_samples,
            )
            self._last_overflow_log = now
            self._unlogged_overflow = 0

    # ---------------------------------------------------------------------- read
    def read(
        self,
        start: int,
        n: int,
        *,
        out: np.ndarray | None = None,
        out_timestamps: np.ndarray | None = None,
    ) -> Segment:
        """Copy samples ``start .. start + n - 1`` (absolute indices).

        Parameters
        ----------
        start : int
            Absolute index of the first sample.
        n : int
            Number of samples.
        out, out_timestamps : np.ndarray, optional
            Preallocated (n, n_channels) float32 and (n,) float64 arrays to copy into
            (no allocation when given).

        Returns
        -------
        Segment

        Raises
        ------
        BufferRangeError
            If some of the samples were already overwritten or are not written yet.
        """
        with self._lock:
            return self._read_locked(start, n, out, out_timestamps)

    def _read_locked(
        self, start: int, n: int, out: np.ndarray | None, out_timestamps: np.ndarray | None
    ) -> Segment:
        oldest = max(0, self._written - self.capacity)
        if start < oldest or n < 0 or start + n > self._written:
            raise BufferRangeError(
                f"ring buffer {self.name!r}: samples {start}..{start + n - 1} are not readable; "
                f"it holds {oldest}..{self._written - 1} "
                + (
                    "(they were overwritten: read sooner or enlarge the buffer)"
                    if start < oldest
                    else "(not written yet: wait for total_written to reach start + n)"
                )
            )
        data = out if out is not None else np.empty((n, self.n_channels), dtype=np.float32)
        times = out_timestamps if out_timestamps is not None else np.empty(n, dtype=np.float64)
        pos = start % self.capacity
        first = min(n, self.capacity - pos)
        data[:first] = self._data[pos : pos + first]
        times[:first] = self._times[pos : pos + first]
        if first < n:
            data[first:n] = self._data[: n - first]
            times[first:n] = self._times[: n - first]
        return Segment(start, data, times)

    def latest(self, n: int) -> Segment:
        """Copy the most recent ``n`` samples (``n <= available``)."""
        with self._lock:
            return self._read_locked(self._written - n, n, None, None)

    def release(self, index: int) -> None:
        """Tell the buffer the reader no longer needs samples before ``index``."""
        with self._lock:
            self._reader = max(self._reader, int(index))

    def clear(self) -> None:
        """Forget everything (counters included)."""
        with self._lock:
            self._written = 0
            self._reader = 0
            self._times.fill(np.nan)
            self.overflowed_samples = 0
            self.overflow_events = 0
