"""The controlled session: the simulator (or a replay) over a real LSL outlet, through the ``Engine``.

The SIMULATED EEG streamer (:class:`brain3d.sim.lsl_stream.SimulationStreamer`, its own
thread) publishes on a fresh ``source_id``; the engine reads it as any LSL headset
(``source.kind = lsl``) with the configuration given (real time, or ``speed`` times
faster: samples are stamped when released, so latencies stay true). With
``source.kind = replay`` the engine replays that recording over LSL instead. The engine writes
its session folder; this module reads ``traces.jsonl`` (one line per window with the
LSL time each stage finished), ``summary.json`` and ``recording.xdf`` back and turns
them into figures:

- per stage (``buffered``, ``preprocessed``, ``inference``, ``description``, ``cloud``,
  ``display_image``, ``display_cloud``): latency from the window's last sample,
  p50/p95/p99/max/mean, ms;
- sample-to-image (= ``inference``) and sample-to-cloud (= ``cloud``);
- jitter: standard deviation of sample-to-image, ms;
- windows behind real time: windows whose image came later than one hop after their
  last sample (the next window was complete before this one was decoded);
- skipped per stage: decoded windows the describer / 3D stage never processed
  (latest-wins), from the traces;
- lost samples: sent (streamer) vs received (engine) vs recorded (XDF read back);
- CPU and memory of this process and its children (slow stages may run in children).

:func:`brain3d_app.bench.conditions.compare_conditions` runs the session in each
condition (stages on, off, and on with a CPU hog) beside its anchors.
"""

from __future__ import annotations

import json
import logging
import math
import shutil
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from brain3d.config import Config
from brain3d.latency import LatencyStats
from brain3d.results import STAGES
from brain3d_app.bench.figures import Section
from brain3d_app.bench.sampling import ResourceSampler, ResourceUsage, add_usage

logger = logging.getLogger(__name__)

#: Longest wait for the slow stages to load their models before streaming, seconds.
STAGE_START_TIMEOUT_S = 180.0


@dataclass
class SessionRun:
    """One controlled session and what it left behind.

    Attributes
    ----------
    session_dir : Path
    slow_stages : bool
    traces : list of dict
        ``traces.jsonl`` lines.
    summary : dict
        ``summary.json`` (empty if the engine wrote none).
    samples_sent : int
    samples_recorded : int or None
        EEG samples in ``recording.xdf`` (None when there is no recording).
    wall_s : float
        Wall seconds the stream ran.
    usage : ResourceUsage or None
    hop_s : float
        Seconds between window starts.
    provider : str
    stream : dict
        What streamed and how punctually.
    push_log : (np.ndarray, np.ndarray) or None
        The sender's due and push time of every chunk (LSL clock, seconds); None for a
        replay (its player keeps none).
    """

    session_dir: Path
    slow_stages: bool
    traces: list[dict[str, Any]]
    summary: dict[str, Any]
    samples_sent: int
    samples_recorded: int | None
    wall_s: float
    usage: ResourceUsage | None
    hop_s: float
    provider: str = ""
    stream: dict[str, Any] = field(default_factory=dict)
    push_log: tuple[np.ndarray, np.ndarray] | None = None


def engine_import_error() -> str | None:
    """Why ``realtime.engine.Engine`` cannot be imported (None: it can)."""
    try:
        from realtime.engine import Engine  # noqa: F401
    except ImportError as exc:
        return f"realtime.engine cannot be imported: {type(exc).__name__}: {exc}"
    return None


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Lines of a JSONL file (a torn last line, from a killed run, is ignored)."""
    rows: list[dict[str, Any]] = []
    if not path.is_file():
        return rows
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return rows


def count_recorded_samples(path: Path) -> int | None:
    """Samples of the EEG stream in an XDF recording (pyxdf), None when absent or unreadable."""
    if not path.is_file():
        return None
    try:
        import pyxdf

        streams, _ = pyxdf.load_xdf(str(path), synchronize_clocks=False, dejitter_timestamps=False)
    except Exception as exc:  # a torn file must not end the bench
        logger.warning("cannot read %s: %s", path, exc)
        return None
    eeg = [s for s in streams if str(s["info"]["type"][0]).upper() == "EEG"] or streams
    return int(sum(len(s["time_stamps"]) for s in eeg))


def _find_number(data: Any, *keys: str) -> float | None:
    """First value under any of ``keys`` anywhere in a nested mapping (summary layouts vary)."""
    if isinstance(data, dict):
        for key in keys:
            if key in data and isinstance(data[key], (int, float)) and not isinstance(data[key], bool):
                return float(data[key])
        for value in data.values():
            found = _find_number(value, *keys)
            if found is not None:
                return found
    return None


def _wait_for_stages(engine: Any, timeout_s: float) -> float | None:
    """Wait until every slow stage has built its model (or died); seconds waited, None on timeout.

    Streaming starts after this, so model loading in the stages' processes does not
    compete with the first windows for the CPU.
    """
    started = time.monotonic()
    workers = list(getattr(engine, "workers", {}).values())
    while time.monotonic() - started < timeout_s:
        if all(getattr(w, "ready", True) or getattr(w, "dead", False) for w in workers):
            return round(time.monotonic() - started, 2)
        time.sleep(0.1)
    logger.warning("slow stages not ready after %.0f s; streaming anyway", timeout_s)
    return None


def run_session(
    config: Config,
    session_dir: Path,
    *,
    duration_s: float,
    speed: float = 1.0,
    slow_stages: bool = True,
    tick: Callable[[float], None] | None = None,
    stop_requested: Callable[[], bool] | None = None,
    engine_kwargs: dict[str, Any] | None = None,
    chunk_samples: int = 1,
    on_streaming: Callable[[Any], None] | None = None,
) -> SessionRun:
    """Stream ``duration_s`` seconds of SIMULATED EEG over LSL through the ``Engine``.

    Parameters
    ----------
    config : Config
        Any configuration; ``source`` is replaced by an LSL selector of the bench stream
        (``source.simulate`` sets the simulator) and ``viewer.enabled`` is left as given.
    session_dir : Path
        The engine's session folder (created; an earlier bench session there is replaced).
    duration_s : float
        Seconds of stream data.
    speed : float
        Stream time / wall time.
    slow_stages : bool
        Run the describer and 3D stages.
    tick : callable, optional
        Called with the wall seconds elapsed, about every 0.2 s (progress bars).
    stop_requested : callable, optional
        Ends the session early when it returns True.
    engine_kwargs : dict, optional
        Extra ``Engine`` arguments (e.g. ``stage_mode``, ``stage_factories`` in tests).
    chunk_samples : int
        Samples per LSL push (default 1: each sample leaves when it is due, so the
        figures measure this system and not the sender's block size; a 10 ms block
        would add up to 10 ms before a window's last sample is even sent).
    on_streaming : callable, optional
        Called with the running ``Engine`` once the sender has started (e.g. to switch
        a ``config.realtime`` knob during the session).

    Returns
    -------
    SessionRun
    """
    from realtime.engine import Engine

    tick = tick or (lambda _t: None)
    if session_dir.exists():  # the bench's own folder from an earlier run into the same --output
        shutil.rmtree(session_dir)
    session_dir.mkdir(parents=True)
    if config.source.kind == "replay":
        return _run_replay_session(config, session_dir, duration_s=duration_s, slow_stages=slow_stages, tick=tick,
                                   stop_requested=stop_requested, engine_kwargs=engine_kwargs)  # fmt: skip
    import pylsl

    from brain3d_app.bench.sender import StreamerProcess

    uid = uuid.uuid4().hex[:8]
    streamer = StreamerProcess(
        config.source.simulate, name_prefix=f"Brain3D-Bench-{uid}", source_id=f"brain3d-bench-{uid}",
        speed=speed, max_duration_s=duration_s, wait_for_consumers_s=10.0, chunk_samples=chunk_samples,
        keep_push_log=True,
    )
    streamer.open()
    cfg = streamer.select_in(config)
    engine = Engine(cfg, session_dir=session_dir, slow_stages=slow_stages, **(engine_kwargs or {}))
    marker_inlet = None
    wall_s = 0.0
    sampler = ResourceSampler()
    try:
        engine.start()
    except BaseException:
        streamer.stop()  # the sender process would otherwise outlive a run that never started
        raise
    try:
        stages_ready_s = _wait_for_stages(engine, STAGE_START_TIMEOUT_S)
        # the marker stream's consumer, so the streamer's wait for consumers ends at once
        found = pylsl.resolve_byprop("source_id", streamer.marker_source_id, 1, 5.0)
        if found:
            marker_inlet = pylsl.StreamInlet(found[0])
            marker_inlet.open_stream(5.0)
        with sampler:  # CPU and memory while streaming (model loading excluded)
            started = time.monotonic()
            streamer.start()
            if on_streaming is not None:
                on_streaming(engine)
            while not streamer.join(0.2):
                wall_s = time.monotonic() - started
                tick(wall_s)
                if engine.finished or (stop_requested is not None and stop_requested()):
                    break
            wall_s = time.monotonic() - started
            time.sleep(min(2.0, 0.5 + cfg.window.seconds))  # let the last windows through every stage
    finally:
        try:
            stream_stats = streamer.stop()
        finally:
            engine.stop()
            if marker_inlet is not None:
                marker_inlet.close_stream()
    stream = {"source": "simulator over LSL from its own process (SIMULATED EEG)", "speed": speed, "sfreq_hz": stream_stats.sfreq,
              "lateness_ms_p99": stream_stats.lateness_ms_p99, "late_chunks": stream_stats.late_chunks,
              "markers_pushed": stream_stats.markers_pushed, "slow_stages_ready_after_s": stages_ready_s,
              "chunk_samples": chunk_samples}  # fmt: skip
    push_log = None if stream_stats.push_due is None else (stream_stats.push_due, stream_stats.push_times)
    return _finish(engine, session_dir, slow_stages, int(stream_stats.samples_pushed), wall_s, sampler, cfg, stream,
                   push_log=push_log)


def _finish(engine: Any, session_dir: Path, slow_stages: bool, sent: int, wall_s: float, sampler: ResourceSampler,
            cfg: Config, stream: dict[str, Any],
            push_log: tuple[np.ndarray, np.ndarray] | None = None) -> SessionRun:  # fmt: skip
    summary_path = session_dir / "summary.json"
    summary = json.loads(summary_path.read_text()) if summary_path.is_file() else {}
    return SessionRun(
        session_dir=session_dir, slow_stages=slow_stages,
        traces=read_jsonl(session_dir / "traces.jsonl"), summary=summary, samples_sent=sent,
        samples_recorded=count_recorded_samples(session_dir / "recording.xdf"),
        wall_s=wall_s, usage=sampler.usage, hop_s=cfg.window.hop / cfg.window.sfreq,
        provider=getattr(engine.status, "provider", ""), stream=stream, push_log=push_log,
    )  # fmt: skip


def _run_replay_session(config: Config, session_dir: Path, *, duration_s: float, slow_stages: bool,
                        tick: Callable[[float], None], stop_requested: Callable[[], bool] | None,
                        engine_kwargs: dict[str, Any] | None) -> SessionRun:  # fmt: skip
    """A recording replayed over LSL by the engine's own player (``source.kind = replay``).

    The engine starts the player when it opens, so the slow stages load their models
    while the first windows arrive (unlike the simulator session, which waits).
    ``duration_s`` is wall time here (the replay's speed is ``source.replay.speed``).
    """
    from realtime.engine import Engine

    engine = Engine(config, session_dir=session_dir, slow_stages=slow_stages, **(engine_kwargs or {}))
    sampler = ResourceSampler()
    wall_s = 0.0
    engine.start()
    try:
        with sampler:
            started = time.monotonic()
            while wall_s < duration_s and not engine.finished:
                time.sleep(0.2)
                wall_s = time.monotonic() - started
                tick(wall_s)
                if stop_requested is not None and stop_requested():
                    break
    finally:
        engine.stop()
    player = getattr(engine.source, "player", None)  # acquisition.replay.ReplaySource
    counters = player.counters() if player is not None else None
    name = getattr(getattr(engine.source, "description", None), "name", None)
    pushed = dict(counters.samples_pushed) if counters is not None else {}
    sent = int(pushed.get(name, max(pushed.values(), default=0)))
    replay = config.source.replay
    stream = {"source": f"replay of {replay.path}", "speed": replay.speed, "loops": getattr(counters, "loops", None),
              "samples_pushed_per_outlet": pushed}  # fmt: skip
    return _finish(engine, session_dir, slow_stages, sent, wall_s, sampler, config, stream)


def stage_latencies(traces: list[dict[str, Any]]) -> dict[str, np.ndarray]:
    """Stage -> latencies (ms) over the windows that reached it, in data-path order."""
    out: dict[str, list[float]] = {}
    for row in traces:
        for stage, ms in row.get("latency_ms", {}).items():
            if ms is not None and math.isfinite(ms):
                out.setdefault(stage, []).append(float(ms))
    order = [s for s in STAGES if s in out] + sorted(s for s in out if s not in STAGES)
    return {s: np.asarray(out[s]) for s in order}


def timeline(traces: list[dict[str, Any]], stage: str = "inference") -> dict[str, np.ndarray]:
    """Per-window series for the timeline plot.

    Returns
    -------
    dict
        ``t_s`` (window end, seconds since the first window), ``seq``, ``<stage>_ms`` for
        every stage (NaN where a window did not reach it).
    """
    if not traces:
        return {"t_s": np.empty(0), "seq": np.empty(0)}
    ends = np.array([row["window_end"] for row in traces], dtype=float)
    order = np.argsort(ends)
    rows = [traces[i] for i in order]
    out: dict[str, np.ndarray] = {"t_s": ends[order] - ends[order][0],
                                  "seq": np.array([row["seq"] for row in rows], dtype=float)}  # fmt: skip
    for s in stage_latencies(traces):
        out[f"{s}_ms"] = np.array([row.get("latency_ms", {}).get(s, np.nan) for row in rows], dtype=float)
    return out


def push_times_of(window_ends: np.ndarray, due: np.ndarray, pushed: np.ndarray) -> np.ndarray:
    """When the sender pushed each window's last sample (LSL clock, s; NaN where unknown).

    Parameters
    ----------
    window_ends : np.ndarray
        (windows,) LSL time of each window's last sample (its due time: the sender
        stamps samples with their due time).
    due, pushed : np.ndarray
        (chunks,) due time of each pushed chunk's last sample and its push time, in push
        order: the sample due at ``t`` left in the first chunk due at or after ``t``.
    """
    ends = np.asarray(window_ends, dtype=float)
    if due.size == 0:
        return np.full(ends.shape, np.nan)
    index = np.searchsorted(due, ends - 1e-9, side="left")
    known = index < due.size
    out = np.full(ends.shape, np.nan)
    out[known] = pushed[index[known]]
    return out


def decoded_push_times(run: SessionRun) -> dict[str, np.ndarray]:
    """Per decoded window (LSL clock, s): ``end`` (its last sample's due time), ``buffered``
    (cut; NaN if unstamped), ``inference`` (image) and ``pushed`` (the sender's push of
    that sample; NaN where unknown, all NaN without a push log)."""
    rows = [r for r in run.traces if isinstance(r.get("stamps"), dict) and "inference" in r["stamps"]]
    ends = np.array([r["window_end"] for r in rows], dtype=float)
    return {
        "end": ends,
        "buffered": np.array([r["stamps"].get("buffered", np.nan) for r in rows], dtype=float),
        "inference": np.array([r["stamps"]["inference"] for r in rows], dtype=float),
        "pushed": push_times_of(ends, *run.push_log) if run.push_log is not None else np.full(ends.shape, np.nan),
    }


def add_push_figures(section: Section, prefix: str, run: SessionRun) -> None:
    """``push_to_image`` (push of a window's last sample -> decoded image), ``push_to_window``
    (-> the window cut) and the sender's lateness at window ends, from the sender's push
    log; missing for a replay."""
    if run.push_log is None:
        section.missing[f"{prefix}.push_to_image"] = "the sender kept no push log (a replay)"
        return
    times = decoded_push_times(run)
    ends, buffered, inference, pushed = times["end"], times["buffered"], times["inference"], times["pushed"]
    known = np.isfinite(pushed)
    section.add_latency(f"{prefix}.push_to_image", (inference[known] - pushed[known]) * 1e3,
                        device=run.provider or None)  # fmt: skip
    cut = known & np.isfinite(buffered)
    section.add_latency(f"{prefix}.push_to_window", (buffered[cut] - pushed[cut]) * 1e3)
    section.add_latency(f"{prefix}.sender_lateness_at_window_end", (pushed[known] - ends[known]) * 1e3)


def add_session_figures(section: Section, prefix: str, run: SessionRun) -> None:
    """Figures of one session under ``<prefix>.``."""
    lat = stage_latencies(run.traces)
    backends = run.summary.get("backends") if isinstance(run.summary.get("backends"), dict) else {}
    devices = {"inference": run.provider or None, **{k: str(v) for k, v in backends.items()}}
    for stage, values in lat.items():
        section.add_latency(f"{prefix}.stage.{stage}", values, device=devices.get(stage))
    image = lat.get("inference", np.empty(0))
    section.add_latency(f"{prefix}.sample_to_image", image, device=run.provider or None)
    add_push_figures(section, prefix, run)
    if "cloud" in lat:
        section.add_latency(f"{prefix}.sample_to_cloud", lat["cloud"], device=devices.get("cloud"))
    elif run.slow_stages:
        section.missing[f"{prefix}.sample_to_cloud"] = "no window reached the 3D stage"
    if image.size > 1:
        section.add(f"{prefix}.jitter_std", float(np.std(image)), "ms")
        image_stats = LatencyStats.of(image)
        section.add(f"{prefix}.jitter_p99_minus_p50", image_stats.p99 - image_stats.p50, "ms")
        behind = int(np.sum(image > run.hop_s * 1e3))
        section.add(f"{prefix}.windows_behind_real_time", behind, "count")
        section.add(f"{prefix}.windows_behind_real_time_percent", 100.0 * behind / image.size, "%")
    decoded = int(image.size)
    section.add(f"{prefix}.windows_decoded", decoded, "count")
    engine_stages = run.summary.get("stages", {}) if isinstance(run.summary.get("stages"), dict) else {}
    for stage in ("inference", "description", "cloud"):
        if stage != "inference" and not run.slow_stages:
            continue
        figures = engine_stages.get(stage, {})
        if isinstance(figures.get("skipped"), (int, float)):
            # inputs the stage never took because a newer one replaced them (latest-wins mailbox)
            section.add(f"{prefix}.skipped.{stage}", figures["skipped"], "count")
        if stage != "inference":
            reached = int(lat.get(stage, np.empty(0)).size)
            section.add(f"{prefix}.not_reached.{stage}", decoded - reached, "count")
            if isinstance(figures.get("errors"), (int, float)):
                section.add(f"{prefix}.errors.{stage}", figures["errors"], "count")
        if run.wall_s > 0:
            section.add(f"{prefix}.throughput.{stage}", lat.get(stage, np.empty(0)).size / run.wall_s, "per_s")
    unusable = _find_number(run.summary, "windows_unusable", "windows_skipped")
    if unusable is not None:
        section.add(f"{prefix}.skipped.acquisition_unusable", unusable, "count")
    received = _find_number(run.summary, "samples_received")
    section.add(f"{prefix}.samples.sent", run.samples_sent, "samples")
    if received is not None:
        section.add(f"{prefix}.samples.received", received, "samples")
    else:
        section.missing[f"{prefix}.samples.received"] = "summary.json has no samples_received"
    if run.samples_recorded is not None:
        section.add(f"{prefix}.samples.recorded", run.samples_recorded, "samples")
    else:
        section.missing[f"{prefix}.samples.recorded"] = "no readable recording.xdf in the session folder"
    seen = [v for v in (received, run.samples_recorded) if v is not None]
    if seen:
        section.add(f"{prefix}.samples.lost", run.samples_sent - min(seen), "samples")
    add_usage(section, f"{prefix}.resources", run.usage)
