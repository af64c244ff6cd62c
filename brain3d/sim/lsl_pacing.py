"""Pacing of the SIMULATED EEG stream: when each sample is due, and how punctual pushes were.

:class:`PushSchedule` is the stream's clock: sample ``i`` is stamped ``t0 + i / rate``
on the LSL clock, computed from the sample index (never accumulated), and it sizes the
chunks up to the stream's total. :class:`PushLedger` counts what was pushed and records
each chunk's lateness (push time minus due time) for :class:`PushSummary`. See
:mod:`brain3d.sim.lsl_stream` for the pacing rules.
"""

from __future__ import annotations

import logging
import threading
from array import array
from collections import deque
from dataclasses import dataclass

import numpy as np

from brain3d.latency import LatencyStats

logger = logging.getLogger(__name__)

#: How many recent push latenesses are kept for the percentiles in :class:`PushSummary`.
LATENESS_HISTORY = 100_000
#: Lateness (seconds) above which the streamer warns that it cannot keep up.
BEHIND_WARNING_S = 0.1


@dataclass(frozen=True)
class PushSchedule:
    """When each sample of a stream is due, and how many samples the next chunk has.

    Attributes
    ----------
    t0 : float
        LSL-clock time of sample 0, seconds.
    rate : float
        Samples per LSL-clock second (``sfreq * speed``), Hz.
    chunk_samples : int
        Samples per push (the last chunk may be shorter).
    total : int or None
        Samples in the whole stream; None streams without end.
    """

    t0: float
    rate: float
    chunk_samples: int
    total: int | None

    def time_of(self, sample: int) -> float:
        """LSL-clock time stamp of sample ``sample`` (0 = first), seconds."""
        return self.t0 + sample / self.rate

    def stamps(self, first: int, last: int) -> list[float]:
        """LSL-clock time stamps of samples ``first`` to ``last`` (both included), seconds."""
        return (self.t0 + np.arange(first, last + 1) / self.rate).tolist()

    def chunk_size(self, next_sample: int) -> int:
        """Samples in the chunk that starts at ``next_sample``; 0 or less once all are out."""
        if self.total is None:
            return self.chunk_samples
        return min(self.chunk_samples, self.total - next_sample)


@dataclass(frozen=True)
class PushSummary:
    """Counts and punctuality of the pushes so far.

    Attributes
    ----------
    samples, chunks, markers : int
        EEG samples, EEG chunks and markers pushed.
    last_push : float
        LSL-clock time of the last chunk push, seconds (0 before the first).
    lateness_ms_p50, lateness_ms_p99, lateness_ms_max : float
        Push time minus due time of the chunks, milliseconds (percentiles over the last
        :data:`LATENESS_HISTORY` chunks, 0 without any; max over all).
    late_chunks : int
        Chunks pushed more than :data:`BEHIND_WARNING_S` late.
    """

    samples: int
    chunks: int
    markers: int
    last_push: float
    lateness_ms_p50: float
    lateness_ms_p99: float
    lateness_ms_max: float
    late_chunks: int


class PushLedger:
    """What a streamer pushed and how late, written by the streaming thread.

    The counts are plain attributes (read them from any thread); the lateness history
    is guarded by a lock, so :meth:`summary` may run while streaming. The first chunk
    more than :data:`BEHIND_WARNING_S` late logs a warning.

    Parameters
    ----------
    keep_log : bool
        Also keep every chunk's due and push time (:meth:`log`; 16 bytes per chunk),
        for benchmarks that measure latency from the push of a window's last sample.
    """

    def __init__(self, keep_log: bool = False) -> None:
        self.samples = 0
        self.chunks = 0
        self.markers = 0
        self.last_push = 0.0
        self.late_chunks = 0
        self._lock = threading.Lock()
        self._lateness: deque[float] = deque(maxlen=LATENESS_HISTORY)
        self._lateness_max = 0.0
        self._warned_behind = False
        self._log: tuple[array[float], array[float]] | None = (array("d"), array("d")) if keep_log else None

    def record_marker(self) -> None:
        """Count one pushed marker."""
        self.markers += 1

    def record_chunk(self, n: int, due: float, pushed_at: float) -> None:
        """Count a pushed chunk of ``n`` samples due at ``due`` and pushed at ``pushed_at``.

        Parameters
        ----------
        n : int
            Samples in the chunk.
        due : float
            LSL-clock time its last sample was due, seconds.
        pushed_at : float
            LSL-clock time it was pushed, seconds.
        """
        late = pushed_at - due
        with self._lock:
            self._lateness.append(late)
            self._lateness_max = max(self._lateness_max, late)
            if self._log is not None:
                self._log[0].append(due)
                self._log[1].append(pushed_at)
        if late > BEHIND_WARNING_S:
            self.late_chunks += 1
            if not self._warned_behind:
                self._warned_behind = True
                logger.warning(
                    "SIMULATED EEG push is %.0f ms behind schedule (machine too slow "
                    "or paused); pushing late chunks with their scheduled timestamps",
                    late * 1e3,
                )
        self.samples += n
        self.chunks += 1
        self.last_push = pushed_at

    def log(self) -> tuple[np.ndarray, np.ndarray] | None:
        """Every chunk's due time and push time (LSL clock, seconds), or None without ``keep_log``.

        A chunk's due time is its last sample's timestamp; its push time is when that
        sample, and every sample of the chunk, left this process.
        """
        with self._lock:
            if self._log is None:
                return None
            return np.array(self._log[0], dtype=np.float64), np.array(self._log[1], dtype=np.float64)

    def summary(self) -> PushSummary:
        """Counts and lateness percentiles so far (see :class:`PushSummary`)."""
        with self._lock:
            lateness = np.array(self._lateness, dtype=np.float64) * 1e3
        punctuality = LatencyStats.of(lateness)
        p50, p99 = (punctuality.p50, punctuality.p99) if punctuality.n else (0.0, 0.0)
        return PushSummary(
            samples=self.samples,
            chunks=self.chunks,
            markers=self.markers,
            last_push=self.last_push,
            lateness_ms_p50=float(p50),
            lateness_ms_p99=float(p99),
            lateness_ms_max=float(self._lateness_max * 1e3),
            late_chunks=self.late_chunks,
        )
