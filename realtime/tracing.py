"""Latency bookkeeping of a live run: per-stage latencies, ``traces.jsonl`` and the summary.

Every figure is "LSL time of the window's last sample -> the stage's stamp" in
milliseconds (:class:`~brain3d.results.Trace`). A window's trace is written once no slow
stage holds it and it is ``hold_s`` old, so that the viewer's display stamps, which come
after the results, are in it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from brain3d.latency import latency_figures
from brain3d.results import DISPLAY_CLOUD, DISPLAY_IMAGE, STAGES, Trace
from realtime.session import SessionWriter
from realtime.sinks import StageFigures

#: Results per stage that :meth:`LatencyBook.figures` covers (the summary covers all).
STATUS_WINDOW = 1000
#: Stamps the fast path sets on every window.
FAST_PATH_STAGES = ("buffered", "preprocessed", "inference")


class LatencyBook:
    """Latencies per stage (ms) and the traces waiting to be written.

    Parameters
    ----------
    writer : SessionWriter, optional
        Receives each trace (``traces.jsonl``); None keeps figures only.
    hold_s : float
        Age (seconds) after which a trace no stage holds is written.
    """

    def __init__(self, writer: SessionWriter | None, hold_s: float) -> None:
        self.writer = writer
        self.hold_s = hold_s
        self.latencies_ms: dict[str, list[float]] = {s: [] for s in STAGES}
        self.compute_ms: list[float] = []
        self._pending: dict[int, tuple[Trace, float]] = {}
        self._lock = threading.Lock()

    def add_decoded(self, seq: int, trace: Trace, compute_s: float) -> None:
        """A decoded window: its fast-path stamps, the onnxruntime call's duration (s)."""
        self.compute_ms.append(compute_s * 1e3)
        for stage in FAST_PATH_STAGES:
            if stage in trace.stamps:
                self.latencies_ms[stage].append(trace.latency(stage) * 1e3)
        with self._lock:
            self._pending[seq] = (trace, time.monotonic())

    def add(self, stage: str, trace: Trace) -> None:
        """A slow stage's result for the window of ``trace``."""
        self.latencies_ms[stage].append(trace.latency(stage) * 1e3)

    def flush(self, held: Iterable[int] = (), final: bool = False) -> None:
        """Write the traces that are old enough and not ``held`` (all of them when ``final``)."""
        held = set(held)
        now = time.monotonic()
        ready: list[tuple[int, Trace]] = []
        with self._lock:
            for seq, (trace, born) in list(self._pending.items()):
                if final or (now - born > self.hold_s and seq not in held):
                    ready.append((seq, trace))
                    del self._pending[seq]
        for seq, trace in sorted(ready, key=lambda x: x[0]):
            for stage in (DISPLAY_IMAGE, DISPLAY_CLOUD):  # the viewer stamps them after the results
                if stage in trace.stamps:
                    self.latencies_ms[stage].append(trace.latency(stage) * 1e3)
            if self.writer is not None:
                self.writer.trace(seq, trace)

    def count(self, stage: str) -> int:
        """Results of ``stage`` so far."""
        return len(self.latencies_ms[stage])

    def figures(self, stage: str, *, skipped: int = 0, errors: int = 0) -> StageFigures:
        """The status figures of ``stage`` over its latest :data:`STATUS_WINDOW` results."""
        values = self.latencies_ms[stage]
        figures = latency_figures(values[-STATUS_WINDOW:])  # cheap at 4 Hz in long runs
        return StageFigures(count=len(values), p50_ms=figures["p50_ms"], p99_ms=figures["p99_ms"],
                            skipped=skipped, errors=errors)

    def stage_summary(self, stage: str) -> dict[str, float]:
        """``count``, ``p50_ms``, ``p99_ms``, ``max_ms`` over every result of ``stage``."""
        figures = latency_figures(self.latencies_ms[stage])
        return {"count": len(self.latencies_ms[stage]), **{k: figures[k] for k in ("p50_ms", "p99_ms", "max_ms")}}

    def compute_summary(self) -> dict[str, float]:
        """``p50_ms``, ``p99_ms``, ``max_ms`` of the onnxruntime calls."""
        figures = latency_figures(self.compute_ms)
        return {k: figures[k] for k in ("p50_ms", "p99_ms", "max_ms")}


@dataclass
class RunSummary:
    """What one run did (``summary.json``). Latencies in ms on the LSL clock, from the
    window's last sample to each stage's result. ``weights`` names the fast path's weights
    and what trained them, from the checkpoint's own metadata (``trained on ...`` or
    ``UNTRAINED ...``)."""

    session_dir: str
    source: str
    simulated: bool
    provider: str
    precision: str
    trained_weights: bool
    weights: str
    duration_s: float
    windows: int
    windows_unusable: int
    samples_received: int
    stages: dict[str, dict[str, Any]]
    inference_compute_ms: dict[str, float]
    cloud_updates_per_s: float
    stage_modes: dict[str, str]
    backends: dict[str, str]
    identification: dict[str, Any] | None
    events: dict[str, int]
    stopped_by: str
    error: str | None = None
    #: The ``config.realtime`` guards and what they did (:meth:`realtime.tail.TailGuards.stats`).
    realtime: dict[str, Any] = field(default_factory=dict)
    latency_definition: str = "LSL time of the window's last sample -> the stage's result available"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready mapping (NaN, e.g. the percentiles of a stage with no result, becomes None)."""
        return no_nan(asdict(self))


def no_nan(value: Any) -> Any:
    """``value`` with every float NaN (at any depth of dicts and lists) replaced by None."""
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, dict):
        return {k: no_nan(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [no_nan(v) for v in value]
    return value


__all__ = ["FAST_PATH_STAGES", "STATUS_WINDOW", "LatencyBook", "RunSummary", "no_nan"]
