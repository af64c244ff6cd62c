"""A CPU hog on the other core: the "loaded" condition of the pipeline benchmark.

Users run the live pipeline on laptops and lab PCs where something else is busy (a
browser, a stimulus program, an indexer). :class:`CpuHog` stands in for that: a child
process pinned to the last CPU this process may use ("the other core" of a 2-core
machine; the fast path's CPU under ``realtime.pin_cores`` is the first), which spins in
Python and walks a buffer larger than a core's cache, so it takes both CPU time and
cache/memory bandwidth. Its own CPU use is measured and reported, so a report shows
that the load was there.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import time
from typing import Any

from brain3d_app.bench.sampling import NOT_MEASURED_PIDS

logger = logging.getLogger(__name__)

#: Bytes the hog walks through (larger than the L2 of one core, a share of L3).
HOG_BUFFER_BYTES = 16 * 2**20


def hog_cpu(cpu: int | None) -> int | None:
    """The CPU the hog is pinned to: ``cpu``, or the last one this process may use (None:
    no pinning possible, e.g. not Linux)."""
    if cpu is not None:
        return cpu
    if not hasattr(os, "sched_getaffinity"):
        return None
    allowed = sorted(os.sched_getaffinity(0))
    return allowed[-1] if len(allowed) > 1 else None


def _spin(cpu: int | None, stop: Any) -> None:
    """The hog's body: integer work and a cache-sized memory walk until ``stop`` is set."""
    if cpu is not None:
        os.sched_setaffinity(0, {cpu})
    buffer = bytearray(HOG_BUFFER_BYTES)
    stride = 64  # one cache line
    index = 0
    total = 0
    while not stop.is_set():
        for _ in range(2000):
            buffer[index] = (buffer[index] + 1) & 0xFF
            index = (index + stride * 17) % HOG_BUFFER_BYTES
            total += index
    del total


class CpuHog:
    """A spinning child process on one CPU while the ``with`` block runs.

    Parameters
    ----------
    cpu : int, optional
        The CPU (default: :func:`hog_cpu`).

    Attributes
    ----------
    cpu : int or None
    cpu_percent : float or None
        The hog's CPU use over its life, percent of one core (after the block).
    """

    def __init__(self, cpu: int | None = None) -> None:
        self.cpu = hog_cpu(cpu)
        self.cpu_percent: float | None = None
        self._ctx = mp.get_context("spawn")
        self._stop = self._ctx.Event()
        self._process: Any = None
        self._started = 0.0

    def __enter__(self) -> CpuHog:
        self._process = self._ctx.Process(target=_spin, args=(self.cpu, self._stop), name="bench-cpu-hog", daemon=True)
        self._process.start()
        NOT_MEASURED_PIDS.add(self._process.pid)
        self._started = time.monotonic()
        time.sleep(0.3)  # spawned and spinning before the measurement starts
        logger.info("CPU hog started on CPU %s (pid %s)", self.cpu, self._process.pid)
        return self

    def __exit__(self, *_: object) -> None:
        import psutil

        process = self._process
        try:
            times = psutil.Process(process.pid).cpu_times()
            wall = time.monotonic() - self._started
            self.cpu_percent = round(100.0 * (times.user + times.system) / wall, 1) if wall > 0 else None
        except psutil.Error:
            self.cpu_percent = None
        self._stop.set()
        process.join(5)
        if process.is_alive():
            process.terminate()
            process.join(5)
        NOT_MEASURED_PIDS.discard(process.pid)
        logger.info("CPU hog stopped (%s %% of a core)", self.cpu_percent)

    def describe(self) -> dict[str, Any]:
        """What the report says about the hog."""
        return {"cpu": self.cpu, "cpu_percent_of_one_core": self.cpu_percent,
                "what": "a spawned process spinning in Python and walking a 16 MiB buffer, pinned to that CPU"}


__all__ = ["CpuHog", "HOG_BUFFER_BYTES", "hog_cpu"]
