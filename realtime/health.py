"""Health of a live run: the event log and the checks the supervisor thread runs.

* :class:`EventLog` counts events per kind and writes each one to ``events.jsonl``.
* :class:`HealthMonitor` turns what it observes into events: the stream stalled or
  resumed (no window for ``stall_s``), the fast path falling behind real time and
  catching up, a slow stage stuck on one input while newer ones wait (and, in a child
  process, killed after ``kill_stuck_s`` so that it restarts), the acquisition thread
  failing or its source ending.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from realtime.session import SessionWriter
from realtime.stages import StageWorker

logger = logging.getLogger(__name__)

#: Seconds the lag must stay under ``behind_s`` before "caught_up" is reported.
CAUGHT_UP_AFTER_S = 2.0


@dataclass(frozen=True)
class HealthSettings:
    """Thresholds of the health checks, seconds.

    Attributes
    ----------
    stall_s : float
        No window for this long (while the source should deliver) = stream stalled.
    behind_s : float
        A window reaching the fast path this long after its last sample = falling
        behind real time.
    stuck_s : float
        A slow stage busy with one input this long while newer inputs wait = stuck.
    kill_stuck_s : float
        A stuck stage in a child process is killed (and restarted) after this long.
    status_interval_s : float
        Period of ``on_status`` calls.
    trace_hold_s : float
        A window's trace is written once no stage holds it and it is this old (later
        display stamps are then not recorded).
    """

    stall_s: float = 2.0
    behind_s: float = 0.5
    stuck_s: float = 30.0
    kill_stuck_s: float = 120.0
    status_interval_s: float = 0.25
    trace_hold_s: float = 2.0


class EventLog:
    """Events of one run: counted per kind, each written to ``events.jsonl`` once a writer is set.

    Parameters
    ----------
    clock : callable
        LSL clock, for events without their own time.
    """

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.writer: SessionWriter | None = None
        self._counts: dict[str, int] = {}
        self._lock = threading.Lock()

    def __call__(self, kind: str, origin: str, detail: dict[str, Any] | None = None, when: float | None = None) -> None:
        """Record one event (``when``: its LSL time, default now)."""
        with self._lock:
            self._counts[kind] = self._counts.get(kind, 0) + 1
        if self.writer is not None:
            self.writer.event(kind, self.clock() if when is None else when, origin, detail)

    @property
    def counts(self) -> dict[str, int]:
        """Events so far per kind."""
        with self._lock:
            return dict(self._counts)


class Acquisition(Protocol):
    """What the monitor reads of :class:`acquisition.pipeline.AcquisitionThread`."""

    @property
    def running(self) -> bool: ...

    @property
    def error(self) -> BaseException | None: ...

    @property
    def ended(self) -> bool: ...


class HealthMonitor:
    """Stream, lag and stage checks; reports through an :class:`EventLog`.

    Parameters
    ----------
    settings : HealthSettings
    events : EventLog
    fatal : callable
        ``fatal(message)`` ends the run with an error.
    request_stop : callable
        ``request_stop(reason)`` ends the run normally (end of stream).
    clock : callable
        LSL clock (the stages' ``busy_since`` is on it).
    """

    def __init__(self, settings: HealthSettings, events: EventLog, *, fatal: Callable[[str], None],
                 request_stop: Callable[[str], None], clock: Callable[[], float]) -> None:  # fmt: skip
        self.settings = settings
        self.events = events
        self.fatal = fatal
        self.request_stop = request_stop
        self.clock = clock
        self.stream_state = "ok"
        self.last_window_mono: float | None = None
        self._behind_since: float | None = None
        self._last_lag_ok_mono = 0.0
        self._stuck_reported: dict[str, float] = {}

    def window_arrived(self) -> None:
        """A window was cut (acquisition thread)."""
        self.last_window_mono = time.monotonic()

    def check_lag(self, lag: float) -> None:
        """The fast path took a window ``lag`` seconds after its last sample."""
        now = time.monotonic()
        if lag > self.settings.behind_s:
            self._last_lag_ok_mono = 0.0
            if self._behind_since is None:
                self._behind_since = now
                self.stream_state = "behind"
                self.events("falling_behind", "engine", {"lag_s": round(lag, 4), "threshold_s": self.settings.behind_s})
        elif self._behind_since is not None:
            if not self._last_lag_ok_mono:
                self._last_lag_ok_mono = now
            elif now - self._last_lag_ok_mono > CAUGHT_UP_AFTER_S:
                self.events("caught_up", "engine", {"behind_for_s": round(now - self._behind_since, 3)})
                self._behind_since = None
                self.stream_state = "ok"

    def check_stream(self, now: float, acquisition: Acquisition | None, finished: bool) -> None:
        """Acquisition failed or ended; no window for ``stall_s`` (monotonic ``now``)."""
        if acquisition is not None and not acquisition.running and not finished:
            if acquisition.error is not None:
                self.fatal(f"acquisition failed: {type(acquisition.error).__name__}: {acquisition.error}")
            elif acquisition.ended:  # the source's end_of_stream event is in events.jsonl already
                self.request_stop("end of stream")
            return
        last = self.last_window_mono
        if last is None:
            return
        silent = now - last
        if silent > self.settings.stall_s and self.stream_state != "stalled":
            self.stream_state = "stalled"
            self.events("stream_stalled", "engine", {"no_window_for_s": round(silent, 3)})
        elif silent <= self.settings.stall_s and self.stream_state == "stalled":
            self.stream_state = "ok"
            self.events("stream_resumed", "engine", {})

    def check_stages(self, workers: Mapping[str, StageWorker]) -> None:
        """Report a stage stuck on one input; kill a stuck child process so that it restarts."""
        now = self.clock()
        for name, worker in workers.items():
            busy = worker.busy_since
            if busy is None:
                self._stuck_reported.pop(name, None)
                continue
            busy_for = now - busy
            if busy_for > self.settings.stuck_s and worker.inbox.pending and self._stuck_reported.get(name) != busy:
                self._stuck_reported[name] = busy
                self.events("stage_stuck", name, {"stage": name, "busy_for_s": round(busy_for, 3),
                                                  "seq": worker.current_seq})
            if busy_for > self.settings.kill_stuck_s and worker.mode == "process":
                logger.error("%s: stuck for %.0f s; killing its worker process", name, busy_for)
                worker.runner.kill()


def held_by(workers: Iterable[StageWorker]) -> set[int]:
    """Window sequence numbers some stage still works on (their traces wait)."""
    held: set[int] = set()
    for worker in workers:
        held |= worker.holding()
    return held


__all__ = ["EventLog", "HealthMonitor", "HealthSettings", "held_by"]
