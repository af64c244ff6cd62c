"""What the engine hands results to: the :class:`Sink` protocol and :class:`EngineStatus`.

Sinks are the viewer (live window or offscreen renderer), the session folder writer
and the LSL outputs. The engine calls them from its own threads, so a sink must return
quickly (store the newest item and render or write elsewhere); a sink that raises is
reported as a stage error and detached, never allowed to stop acquisition.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from brain3d.results import Cloud, Decoded, Described

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class StageFigures:
    """Latency of one stage so far, milliseconds from the window's last sample (LSL clock).

    Attributes
    ----------
    count : int
        Results produced.
    p50_ms, p99_ms : float
        Percentiles of "last sample of the window -> this stage's result" (NaN before any).
    skipped : int
        Inputs this stage never processed because a newer one replaced them (latest-wins).
    errors : int
        Inputs on which the stage raised.
    """

    count: int = 0
    p50_ms: float = float("nan")
    p99_ms: float = float("nan")
    skipped: int = 0
    errors: int = 0


@dataclass(frozen=True)
class EngineStatus:
    """A snapshot of the running engine, for heads-up displays and progress bars.

    Attributes
    ----------
    source : str
        Human-readable source name (says SIMULATED EEG when it is).
    simulated : bool
    stream : str
        ``"ok"``, ``"stalled"``, ``"behind"`` (falling behind real time) or ``"stopped"``.
    sfreq : float
        Nominal rate of the source, Hz.
    elapsed_s : float
        Seconds since the engine started.
    windows : int
        Windows decoded by the fast path.
    stages : dict of str to StageFigures
        Keys among ``"inference"``, ``"description"``, ``"cloud"``, ``"display_image"``,
        ``"display_cloud"``.
    provider : str
        Execution provider of the fast path (e.g. ``"CPUExecutionProvider"``).
    weights : str
        The fast path's weights and what trained them (``trained on ...`` or
        ``UNTRAINED ...``), from the graph's metadata.
    """

    source: str
    simulated: bool
    stream: str
    sfreq: float
    elapsed_s: float
    windows: int
    stages: dict[str, StageFigures] = field(default_factory=dict)
    provider: str = ""
    weights: str = ""


@runtime_checkable
class Sink(Protocol):
    """Receives results. Every method must return within about a millisecond."""

    def on_decoded(self, item: Decoded) -> None:
        """A window was decoded (every window; called on the fast-path thread)."""

    def on_described(self, item: Described) -> None:
        """A description is ready."""

    def on_cloud(self, item: Cloud) -> None:
        """A point cloud is ready."""

    def on_status(self, status: EngineStatus) -> None:
        """Periodic status (a few times per second)."""

    def close(self) -> None:
        """The run ended: flush and release resources (may block briefly)."""


class SinkSet:
    """The sinks of one run: every result goes to each; a sink that raises is detached.

    Parameters
    ----------
    on_error : callable
        ``on_error(sink_name, method, exc)`` when a sink raised (it is detached; the run
        goes on).
    """

    def __init__(self, on_error: Callable[[str, str, BaseException], None]) -> None:
        self.on_error = on_error
        self.active: list[Sink] = []
        self._every: list[Sink] = []
        self._lock = threading.Lock()  # two threads may see the same sink fail

    def add(self, sink: Sink) -> None:
        """Send results to ``sink`` from now on."""
        self.active.append(sink)
        self._every.append(sink)

    def dispatch(self, method: str, item: Any) -> None:
        """Call ``sink.<method>(item)`` on every active sink."""
        for sink in list(self.active):
            try:
                getattr(sink, method)(item)
            except Exception as exc:  # noqa: BLE001 - a bad sink is detached, never fatal
                with self._lock:
                    if sink not in self.active:
                        continue  # another thread detached it already
                    self.active.remove(sink)
                logger.exception("sink %s failed in %s; detached", type(sink).__name__, method)
                self.on_error(type(sink).__name__, method, exc)

    def close(self, *, keep: tuple[object, ...] = ()) -> None:
        """Close every sink ever added (detached ones too), except those in ``keep``."""
        for sink in self._every:
            if any(sink is k for k in keep):
                continue
            try:
                sink.close()
            except Exception:  # noqa: BLE001 - every sink gets closed
                logger.exception("closing sink %s failed", type(sink).__name__)
