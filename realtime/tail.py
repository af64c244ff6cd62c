"""Guards of the fast path's latency tail (``config.realtime``), wired by the engine.

Each guard is a knob that was measured on and off (``python -m
brain3d_app.bench.standalone.tail``, ``docs/realtime.md``):

* ``busy_poll_ms`` and ``warm_before_due`` act in the acquisition thread's last read
  before a window is cut (:mod:`acquisition.read_plan`; the warm-up is
  :meth:`realtime.fast_path.FastPath.warm`);
* ``pin_cores`` (Linux, >= 2 allowed CPUs): the acquisition thread, which runs the fast
  path, gets the first allowed CPU; the slow stages' child processes get the others;
* ``reuse_buffers``: the fast path prepares each window into kept buffers
  (:class:`brain3d.normalization.WindowPreparer`) instead of allocating new arrays;
* ``gc_off_hot_path``: objects alive at start are frozen (``gc.freeze``), automatic
  collection is off for the run, and the fast-path thread collects the young
  generations right after each window is published (a full collection every
  :data:`FULL_COLLECT_EVERY` windows), when the next window is a hop away. The
  supervisor collects when no window came for :data:`IDLE_COLLECT_S` (a stalled stream
  must not grow memory). The previous state is restored at stop.
"""

from __future__ import annotations

import gc
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from brain3d.config import RealtimeConfig

if TYPE_CHECKING:
    from acquisition.read_plan import ReadPlanner

logger = logging.getLogger(__name__)

#: Windows between full (generation 2) collections when ``gc_off_hot_path`` is on.
FULL_COLLECT_EVERY = 64
#: Seconds without a window after which the supervisor collects (``gc_off_hot_path``).
IDLE_COLLECT_S = 2.0


def split_cpus(allowed: Iterable[int]) -> tuple[set[int], set[int]] | None:
    """The fast path's CPU and the others' CPUs, or None with fewer than two CPUs."""
    cpus = sorted(set(allowed))
    if len(cpus) < 2:
        return None
    return {cpus[0]}, set(cpus[1:])


def process_threads(pid: int) -> list[int]:
    """Thread ids of process ``pid`` (Linux ``/proc``; just ``pid`` elsewhere).

    ``sched_setaffinity(pid)`` moves only that one thread; a stage's torch and onnxruntime
    threads must each be moved.
    """
    try:
        return sorted(int(tid) for tid in os.listdir(f"/proc/{pid}/task"))
    except OSError:
        return [pid]


class TailGuards:
    """The ``config.realtime`` guards of one run.

    Parameters
    ----------
    config : RealtimeConfig
    warm : callable, optional
        ``warm(due_in_s)``: the fast path's warm-up (used when ``warm_before_due``).
    reuse_buffers : callable, optional
        ``reuse_buffers(on)``: switches the fast path's kept buffers (``reuse_buffers``).
    set_affinity : callable, optional
        ``set_affinity(pid_or_tid, cpus)`` (default ``os.sched_setaffinity``; tests pass
        a recorder).
    allowed_cpus : callable, optional
        The CPUs this process may use (default ``os.sched_getaffinity(0)``).
    threads_of : callable, optional
        ``threads_of(pid)``: the thread ids of a stage process (default
        :func:`process_threads`).
    """

    def __init__(self, config: RealtimeConfig, *, warm: Callable[[float], bool] | None = None,
                 reuse_buffers: Callable[[bool], None] | None = None,
                 set_affinity: Callable[[int, set[int]], None] | None = None,
                 allowed_cpus: Callable[[], Iterable[int]] | None = None,
                 threads_of: Callable[[int], list[int]] | None = None) -> None:  # fmt: skip
        self.config = config
        self._warm = warm
        self._reuse_buffers = reuse_buffers
        self._set_affinity = set_affinity or getattr(os, "sched_setaffinity", None)
        self._allowed = allowed_cpus or (lambda: os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity")
                                         else range(os.cpu_count() or 1))  # fmt: skip
        self._threads_of = threads_of or process_threads
        self.pinned: dict[str, Any] = {}
        self.collections = 0
        self.collect_s = 0.0
        self._gc_was_enabled: bool | None = None
        self._since_full = 0
        self._last_collect = time.monotonic()
        self._hot: list[int] = []
        self._stage_pids: Callable[[], Iterable[int | None]] = list
        self._reads: ReadPlanner | None = None
        self._lock = threading.Lock()
        self._stopped = False

    def acquisition_kwargs(self) -> dict[str, Any]:
        """``AcquisitionThread`` arguments of the busy poll and the warm-up."""
        on_approach = None
        if self._warm is not None:
            warm = self._warm

            def on_approach(due_in_s: float) -> bool:
                # read at each window: apply() may switch it
                return bool(self.config.warm_before_due and warm(due_in_s))

        return {"busy_poll_s": self.config.busy_poll_ms / 1e3, "on_approach": on_approach}

    def start(self, hot_thread_ids: Iterable[int | None], stage_pids: Callable[[], Iterable[int | None]] = list,
              reads: ReadPlanner | None = None) -> None:  # fmt: skip
        """Pin and turn the collector off, as configured (call once the threads run).

        Parameters
        ----------
        hot_thread_ids : iterable of int
            OS ids of the threads that decode (pinned to the fast path's CPU).
        stage_pids : callable
            The slow stages' process ids, read whenever pinning (a restarted stage has a
            new one).
        reads : ReadPlanner, optional
            The acquisition thread's planner, so that :meth:`apply` can switch the busy
            poll during the run.
        """
        with self._lock:
            self._hot = [t for t in hot_thread_ids if t is not None]
            self._stage_pids = stage_pids
            self._reads = reads
            self._switch(RealtimeConfig(), self.config)

    def apply(self, config: RealtimeConfig) -> None:
        """Switch to ``config`` during the run (the benchmark alternates a knob within one
        session, so that both states see the same machine noise). Ignored after :meth:`stop`."""
        with self._lock:
            if self._stopped:
                return
            old, self.config = self.config, config
            self._switch(old, config)

    def _switch(self, old: RealtimeConfig, new: RealtimeConfig) -> None:
        if self._reads is not None:
            self._reads.busy_poll_s = new.busy_poll_ms / 1e3
        if self._reuse_buffers is not None:
            self._reuse_buffers(new.reuse_buffers)
        if new.pin_cores and not old.pin_cores:
            self._pin()
        elif old.pin_cores and not new.pin_cores:
            self._unpin()
        if new.gc_off_hot_path and not old.gc_off_hot_path:
            self._gc_was_enabled = gc.isenabled()
            gc.freeze()
            gc.disable()
            self._last_collect = time.monotonic()
        elif old.gc_off_hot_path and not new.gc_off_hot_path:
            self._gc_restore()

    def _stage_threads(self) -> list[int]:
        return [tid for pid in self._stage_pids() if pid is not None for tid in self._threads_of(pid)]

    def _pin(self) -> None:
        split = split_cpus(self._allowed())
        if split is None or self._set_affinity is None or not self._hot:
            self.pinned = {"skipped": "fewer than two CPUs allowed, or no sched_setaffinity on this system"}
            logger.warning("realtime.pin_cores: %s; nothing pinned", self.pinned["skipped"])
            return
        hot, others = split
        stage_threads = self._stage_threads()
        try:
            for tid in self._hot:
                self._set_affinity(tid, hot)
            for tid in stage_threads:
                self._set_affinity(tid, others)
        except OSError as exc:  # e.g. a container that forbids it: the run goes on unpinned
            self.pinned = {"skipped": f"sched_setaffinity failed: {exc}"}
            logger.warning("realtime.pin_cores: %s", self.pinned["skipped"])
            return
        self.pinned = {"fast_path_cpus": sorted(hot), "stage_cpus": sorted(others), "stage_threads": len(stage_threads)}
        logger.info("pinned %d fast-path thread(s) to CPU %s and %d stage thread(s) to %s",
                    len(self._hot), sorted(hot), len(stage_threads), sorted(others))

    def _unpin(self) -> None:
        if self._set_affinity is None:
            return
        allowed = set(self._allowed())
        try:
            for tid in [*self._hot, *self._stage_threads()]:
                self._set_affinity(tid, allowed)
        except OSError as exc:
            logger.warning("realtime.pin_cores: unpinning failed: %s", exc)
        self.pinned = {}

    def after_window(self) -> None:
        """Fast-path thread, right after a window was published: collect (``gc_off_hot_path``)."""
        if self._gc_was_enabled is None:
            return
        self._since_full += 1
        full = self._since_full >= FULL_COLLECT_EVERY
        if full:
            self._since_full = 0
        self._collect(2 if full else 1)

    def idle(self) -> None:
        """Supervisor: collect when no window came for :data:`IDLE_COLLECT_S`."""
        if self._gc_was_enabled is not None and time.monotonic() - self._last_collect > IDLE_COLLECT_S:
            self._collect(2)

    def _collect(self, generation: int) -> None:
        started = time.perf_counter()
        gc.collect(generation)
        self.collect_s += time.perf_counter() - started
        self.collections += 1
        self._last_collect = time.monotonic()

    def _gc_restore(self) -> None:
        if self._gc_was_enabled is None:
            return
        gc.unfreeze()
        if self._gc_was_enabled:
            gc.enable()
        self._gc_was_enabled = None

    def stop(self) -> None:
        """Restore the collector's state; later :meth:`apply` calls do nothing."""
        with self._lock:
            self._stopped = True
            self._gc_restore()

    def stats(self) -> dict[str, Any]:
        """The guards' settings and what they did (for ``summary.json``)."""
        return {**self.config.model_dump(), "pinned": self.pinned or None, "gc_collections": self.collections,
                "gc_collect_s": round(self.collect_s, 4)}  # fmt: skip


__all__ = ["FULL_COLLECT_EVERY", "IDLE_COLLECT_S", "TailGuards", "process_threads", "split_cpus"]
