"""The session folder of one run, written by a sink with its own writer thread.

::

    <output.dir>/<UTC time>-<source>/
      recording.xdf         raw streams as received (the acquisition recorder writes it)
      events.jsonl          one JSON line per event: {"time", "event", "origin", ...detail}
      traces.jsonl          one JSON line per window: {"seq", "window_end", "latency_ms", "stamps"}
      images/<seq:08d>.png  decoded images (every window)
      descriptions/<seq:08d>.json
      clouds/<seq:08d>.ply
      frames/               offscreen renders (the viewer writes them)
      summary.json          :class:`realtime.engine.RunSummary`
      config.yaml           the resolved configuration of the run

Sink calls only queue work (a bounded queue; a full queue drops the file and counts it,
reported at close as a ``writer_dropped`` event), so they return in microseconds; the
writer thread encodes PNG / JSON / PLY. Event lines are flushed as they are written, so
a killed run keeps its events up to the last second.
"""

from __future__ import annotations

import json
import logging
import math
import queue
import re
import threading
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from brain3d.clock import lsl_clock
from brain3d.errors import ConfigError
from brain3d.pointcloud import PointCloud
from brain3d.results import Cloud, Decoded, Described, Trace
from realtime.sinks import EngineStatus

logger = logging.getLogger(__name__)

#: Most write jobs waiting before new ones are dropped (and counted).
MAX_PENDING_WRITES = 512
#: Files whose presence means a folder already holds a run.
RUN_FILES = ("events.jsonl", "traces.jsonl", "summary.json")


def new_session_dir(output_dir: str | Path, source: str, now: datetime | None = None) -> Path:
    """Create ``<output_dir>/<UTC time>-<source>/`` (unique; suffix ``-2``, ``-3``... if taken)."""
    stamp = (now or datetime.now(timezone.utc)).strftime("%Y%m%dT%H%M%SZ")
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", source) or "source"
    base = Path(output_dir) / f"{stamp}-{safe}"
    path, n = base, 1
    while True:
        try:
            path.mkdir(parents=True, exist_ok=False)
            return path
        except FileExistsError:
            n += 1
            path = base.with_name(f"{base.name}-{n}")


def trace_record(seq: int, trace: Trace) -> dict[str, Any]:
    """One ``traces.jsonl`` line: ``{"seq", "window_end", "latency_ms": {stage: ms}, "stamps": {stage: t}}``."""
    return {
        "seq": int(seq),
        "window_end": float(trace.window_end),
        "latency_ms": {k: round(v, 4) for k, v in trace.latencies_ms().items()},
        "stamps": {k: float(v) for k, v in trace.stamps.items()},
    }


def _json_default(value: Any) -> Any:
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, float) and math.isnan(value):
        return None
    return str(value)


def write_ply(cloud: PointCloud, path: Path) -> None:
    """Save a point cloud as PLY: :func:`brain3d.generate3d.save_ply` when present, else trimesh."""
    try:
        from brain3d.generate3d import save_ply
    except ImportError:
        import trimesh

        colors = np.concatenate([cloud.colors, np.full((len(cloud.colors), 1), 255, np.uint8)], axis=1)
        trimesh.PointCloud(cloud.points, colors=colors).export(path)
        return
    save_ply(cloud, path)


class SessionWriter:
    """A :class:`~realtime.sinks.Sink` that fills the session folder.

    Parameters
    ----------
    path : Path
        The session folder (created if missing).
    config_yaml : str, optional
        Written as ``config.yaml``.
    images, descriptions, clouds : bool
        Which outputs to save.
    """

    def __init__(self, path: Path, *, config_yaml: str | None = None, images: bool = True,
                 descriptions: bool = True, clouds: bool = True) -> None:
        self.path = Path(path)
        held = [name for name in RUN_FILES if (self.path / name).exists()]
        if held:
            raise ConfigError(
                f"session folder {self.path} already holds a run ({', '.join(held)}); a second run would mix "
                "its traces and events with the first. Choose a new folder (or let the engine create one under "
                "output.dir), or move the old run away"
            )
        for sub in ("images", "descriptions", "clouds", "frames"):
            (self.path / sub).mkdir(parents=True, exist_ok=True)
        if config_yaml is not None:
            (self.path / "config.yaml").write_text(config_yaml)
        self.save_images, self.save_descriptions, self.save_clouds = images, descriptions, clouds
        self._events = open(self.path / "events.jsonl", "a", buffering=1, encoding="utf-8")  # noqa: SIM115
        self._traces = open(self.path / "traces.jsonl", "a", buffering=1, encoding="utf-8")  # noqa: SIM115
        self._queue: queue.Queue[Callable[[], object] | None] = queue.Queue(MAX_PENDING_WRITES)
        self._lock = threading.Lock()
        self.dropped = 0
        self.written = 0
        self.failed = 0
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="session-writer", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------------- sink
    def on_decoded(self, item: Decoded) -> None:
        if self.save_images:
            self._submit(lambda: _write_png(item.image, self.path / "images" / f"{item.seq:08d}.png"))

    def on_described(self, item: Described) -> None:
        if self.save_descriptions:
            record = {"seq": item.seq, "window_end": item.trace.window_end,
                      "description": item.description.model_dump(mode="json"), "problems": list(item.problems)}
            self._submit(lambda: (self.path / "descriptions" / f"{item.seq:08d}.json").write_text(
                json.dumps(record, indent=1, default=_json_default)))

    def on_cloud(self, item: Cloud) -> None:
        if self.save_clouds:
            self._submit(lambda: write_ply(item.cloud, self.path / "clouds" / f"{item.seq:08d}.ply"))

    def on_status(self, status: EngineStatus) -> None:
        """Status is not written per tick (the summary and events hold what matters)."""

    # ------------------------------------------------------------ event / trace
    def event(self, kind: str, time_lsl: float, origin: str, detail: dict[str, Any] | None = None) -> None:
        """Append one line to ``events.jsonl`` (written at once, from any thread)."""
        line = json.dumps({"time": time_lsl, "event": kind, "origin": origin, **(detail or {})},
                          default=_json_default)
        with self._lock:
            if not self._events.closed:
                self._events.write(line + "\n")

    def trace(self, seq: int, trace: Trace) -> None:
        """Append one line to ``traces.jsonl`` (from any thread)."""
        line = json.dumps(trace_record(seq, trace), default=_json_default)
        with self._lock:
            if not self._traces.closed:
                self._traces.write(line + "\n")

    def write_json(self, name: str, data: dict[str, Any]) -> Path:
        """Write ``<session>/<name>`` as indented JSON (e.g. ``summary.json``); returns its path."""
        path = self.path / name
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(json.dumps(data, indent=2, default=_json_default))
        tmp.replace(path)
        return path

    # --------------------------------------------------------------- writer
    def _submit(self, job: Callable[[], object]) -> None:
        if self._closed:
            return
        try:
            self._queue.put_nowait(job)
        except queue.Full:
            self.dropped += 1
            if self.dropped == 1:
                logger.warning("session writer: %d writes pending; dropping files (disk too slow?)",
                               MAX_PENDING_WRITES)

    def _run(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            try:
                job()
                self.written += 1
            except Exception:  # noqa: BLE001 - a failed file must not stop the run
                self.failed += 1
                logger.exception("session writer: writing a file failed")

    @property
    def closed(self) -> bool:
        """True after :meth:`close`."""
        return self._closed

    def close(self, timeout: float = 30.0) -> None:
        """Write what is queued, then close the files (idempotent)."""
        if self._closed:
            return
        self._closed = True
        started = time.monotonic()
        while True:
            try:
                self._queue.put(None, timeout=0.5)
                break
            except queue.Full:
                if time.monotonic() - started > timeout:
                    break
        self._thread.join(max(0.0, timeout - (time.monotonic() - started)))
        if self.dropped or self.failed:
            self.event("writer_dropped", lsl_clock(), "session",
                       {"dropped": self.dropped, "failed": self.failed})
        with self._lock:
            self._events.close()
            self._traces.close()


def _write_png(image: np.ndarray, path: Path) -> None:
    from PIL import Image

    Image.fromarray(np.ascontiguousarray(image, dtype=np.uint8), mode="RGB").save(path, optimize=False)
