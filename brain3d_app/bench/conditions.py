"""The pipeline benchmark's conditions, each beside its anchors, and their targets.

A condition is one engine session (:func:`brain3d_app.bench.pipeline.run_session`):

``slow_on``
    quiet machine, describer and 3D stages running;
``slow_off``
    quiet machine, fast path only (idle cores: wake-up and cache-cold penalties show here);
``loaded``
    stages running and a :class:`~brain3d_app.bench.load.CpuHog` on the other core
    (``brain3d bench --load``, on by default).

Before each session, under the same load, the anchors are measured
(:mod:`brain3d_app.bench.anchors`): mne-lsl push -> data on the same stream shape and
the fast path back to back. :func:`condition_targets` turns the figures into the
issue-19 targets, one row per condition and target, with a verdict.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from brain3d.config import Config
from brain3d_app.bench.figures import Section
from brain3d_app.bench.pipeline import SessionRun, add_session_figures, run_session

logger = logging.getLogger(__name__)

#: Quiet push -> image p99 target, ms (this machine kind: 2 cores, CPU).
QUIET_PUSH_TO_IMAGE_P99_MS = 5.0
#: Most CPU the latency-tail guards may spin, percent of one core.
MAX_SPIN_PERCENT = 15.0


@dataclass(frozen=True)
class Condition:
    """One pipeline session's setting.

    Attributes
    ----------
    key : str
        Figure prefix (``slow_on``, ``slow_off``, ``loaded``).
    slow_stages : bool
    loaded : bool
        A CPU hog runs on the other core during the anchors and the session.
    seconds : float
        Seconds of stream data.
    """

    key: str
    slow_stages: bool
    loaded: bool
    seconds: float

    @property
    def label(self) -> str:
        """Words for reports."""
        stages = "stages on" if self.slow_stages else "stages off"
        return f"{stages}, CPU hog on the other core" if self.loaded else f"{stages}, quiet"


def plan_conditions(duration_s: float, off_duration_s: float, load: bool) -> list[Condition]:
    """Stages on and off (quiet), then stages on with a CPU hog when ``load``."""
    plan = [Condition("slow_on", True, False, duration_s), Condition("slow_off", False, False, off_duration_s)]
    if load:
        plan.append(Condition("loaded", True, True, duration_s))
    return plan


@contextlib.contextmanager
def _load(condition: Condition, info: dict[str, Any]) -> Iterator[None]:
    if not condition.loaded:
        yield
        return
    from brain3d_app.bench.load import CpuHog

    hog = CpuHog()
    with hog:
        yield
    info["cpu_hog"] = hog.describe()


def add_guard_figures(section: Section, prefix: str, run: SessionRun) -> None:
    """CPU the latency-tail guards spent (percent of one core over the session's wall time)."""
    guards = run.summary.get("realtime") if isinstance(run.summary.get("realtime"), dict) else None
    if not guards or run.wall_s <= 0:
        section.missing[f"{prefix}.guards"] = "summary.json has no realtime guard figures"
        return
    spin = (guards.get("busy_poll") or {}).get("spin_s", 0.0) or 0.0
    section.add(f"{prefix}.guards.busy_poll_cpu", 100.0 * spin / run.wall_s, "%")
    section.add(f"{prefix}.guards.warm_up_cpu", 100.0 * (guards.get("warm_s") or 0.0) / run.wall_s, "%")
    section.add(f"{prefix}.guards.gc_collect_cpu", 100.0 * (guards.get("gc_collect_s") or 0.0) / run.wall_s, "%")


def compare_conditions(
    config: Config,
    out_dir: Path,
    conditions: list[Condition],
    *,
    speed: float = 1.0,
    anchor_s: float = 20.0,
    tick: Callable[[str, float], None] | None = None,
    stop_requested: Callable[[], bool] | None = None,
    engine_kwargs: dict[str, Any] | None = None,
) -> tuple[Section, dict[str, SessionRun]]:
    """Each condition's anchors and engine session; figures under ``<key>.``.

    Parameters
    ----------
    anchor_s : float
        Seconds of stream the mne-lsl anchor reads per condition (0: no anchors).

    Returns
    -------
    section : Section
        Per condition: :func:`~brain3d_app.bench.pipeline.add_session_figures`,
        ``anchor.mne_push_to_data.*``, ``anchor.back_to_back.*``, ``guards.*``; and
        ``ratio.sample_to_image_<q>_on_over_off``.
    runs : dict
        Condition key -> :class:`SessionRun` (for plots).
    """
    tick = tick or (lambda _label, _t: None)
    if config.source.kind == "replay":
        title = (f"Pipeline: replay of {config.source.replay.path} over LSL through the engine "
                 f"(speed {config.source.replay.speed:g})")  # fmt: skip
    else:
        title = f"Pipeline: SIMULATED EEG over LSL through the engine (speed {speed:g})"
    section = Section("pipeline", title)
    section.info["conditions"] = {c.key: {"label": c.label, "seconds": c.seconds} for c in conditions}
    runs: dict[str, SessionRun] = {}
    for condition in conditions:
        key = condition.key
        if stop_requested is not None and stop_requested():
            section.missing[key] = "interrupted before this run"
            continue
        info: dict[str, Any] = {"label": condition.label}
        try:
            with _load(condition, info):
                if anchor_s > 0 and config.source.kind != "replay":
                    tick(f"{key} anchors", 0.0)
                    from brain3d_app.bench.anchors import measure_compute, measure_transport

                    measure_transport(section, key, config, anchor_s, speed=speed)
                    measure_compute(section, key, config)
                run = run_session(config, out_dir / f"session-{key}", duration_s=condition.seconds, speed=speed,
                                  slow_stages=condition.slow_stages, tick=lambda t, k=key: tick(k, t),
                                  stop_requested=stop_requested, engine_kwargs=engine_kwargs)  # fmt: skip
        except Exception as exc:  # one failed run must not lose the others
            logger.exception("pipeline session %s failed", key)
            section.missing[key] = f"{type(exc).__name__}: {exc}"
            continue
        runs[key] = run
        add_session_figures(section, key, run)
        add_guard_figures(section, key, run)
        if run.summary.get("error"):
            section.missing[f"{key}.engine"] = f"the engine stopped the run: {run.summary['error']}"
        section.info[key] = {**info, "session_dir": str(run.session_dir), "wall_s": round(run.wall_s, 2),
                             "stream": run.stream, "provider": run.provider,
                             **{k: run.summary.get(k) for k in ("source", "precision", "trained_weights", "stage_modes",
                                                                "backends", "events", "stopped_by", "error",
                                                                "inference_compute_ms", "realtime")}}  # fmt: skip
    _on_off_ratios(section, runs)
    providers = sorted({r.provider for r in runs.values() if r.provider})
    section.device = ", ".join(providers) or "CPU"
    section.info["what"] = (
        "latency = LSL time a stage finished - LSL time of the window's last sample (its due time: the sender "
        "stamps samples when they are due); push_to_image / push_to_window = image / window cut - the time the "
        "sender actually pushed that sample (its push log), i.e. what this process controls (the headline); "
        "sender_lateness_at_window_end = push - due, the part of sample_to_image the sender adds; the stream "
        "goes over a real LSL outlet from the sender's own process. Anchors (anchor.*) are measured under the "
        "same condition right before the session: mne-lsl push -> data on the same stream shape, and the fast "
        "path back to back")  # fmt: skip
    return section, runs


def _on_off_ratios(section: Section, runs: dict[str, SessionRun]) -> None:
    failed = [key for key, run in runs.items() if run.summary.get("error")]
    for q in ("p50", "p99"):
        on = section.value(f"slow_on.sample_to_image.{q}")
        off = section.value(f"slow_off.sample_to_image.{q}")
        if failed:
            section.missing[f"ratio.sample_to_image_{q}_on_over_off"] = f"the engine stopped {', '.join(failed)} early"
        elif on and off:
            section.add(f"ratio.sample_to_image_{q}_on_over_off", on / off, "ratio")


def condition_targets(section: Section) -> list[dict[str, Any]]:
    """The issue-19 targets, one row per condition and target (``met`` None: not measured).

    Rows: push -> window p99 <= mne-lsl push -> data p99; push -> image p99 <= mne-lsl
    p99 + back-to-back p99; quiet conditions: push -> image p99 <= 5 ms; every
    condition: busy-poll spinning < 15 % of a core. A session the engine stopped early
    (``<key>.engine`` missing) gets no verdict.
    """
    planned = list(section.info.get("conditions") or {})  # a condition that failed still gets its rows
    keys = planned or [k for k in ("slow_on", "slow_off", "loaded") if any(n.startswith(f"{k}.") for n in section.figures)]
    rows: list[dict[str, Any]] = []
    for key in keys:
        def value(name: str, key: str = key) -> float | None:
            return section.value(f"{key}.{name}")

        label = (section.info.get("conditions") or {}).get(key, {}).get("label", key)
        window, image = value("push_to_window.p99"), value("push_to_image.p99")
        mne, b2b = value("anchor.mne_push_to_data.p99"), value("anchor.back_to_back.p99")
        spin = value("guards.busy_poll_cpu")
        bound = None if mne is None or b2b is None else mne + b2b
        mine = [
            _row(f"[{label}] push -> window p99 <= mne-lsl push -> data p99", "ms", window, mne,
                 f"{key}.push_to_window.p99 vs {key}.anchor.mne_push_to_data.p99"),
            _row(f"[{label}] push -> image p99 <= mne-lsl p99 + back-to-back p99", "ms", image, bound,
                 f"{key}.push_to_image.p99 vs {key}.anchor.mne_push_to_data.p99 + {key}.anchor.back_to_back.p99"),
        ]  # fmt: skip
        if key != "loaded":
            mine.append(_row(f"[{label}] push -> image p99 <= {QUIET_PUSH_TO_IMAGE_P99_MS:g} ms", "ms", image,
                             QUIET_PUSH_TO_IMAGE_P99_MS, f"{key}.push_to_image.p99"))  # fmt: skip
        mine.append(_row(f"[{label}] busy-poll spinning < {MAX_SPIN_PERCENT:g} % of one core", "%", spin,
                         MAX_SPIN_PERCENT, f"{key}.guards.busy_poll_cpu", strict=True))  # fmt: skip
        if f"{key}.engine" in section.missing:
            for row in mine:
                row["met"], row["note"] = None, "the engine stopped this session early: not a valid figure"
        rows += mine
    return rows


def _row(target: str, unit: str, value: float | None, limit: float | None, figure: str,
         strict: bool = False) -> dict[str, Any]:  # fmt: skip
    met = None if value is None or limit is None else (value < limit if strict else value <= limit)
    note = "not measured" if value is None else (None if limit is not None else "anchor not measured")
    return {"target": target, "unit": unit, "figure": f"pipeline: {figure}", "value": value,
            "limit": None if limit is None else round(limit, 4), "met": met, "device": None, "note": note}  # fmt: skip


__all__ = ["Condition", "add_guard_figures", "compare_conditions", "condition_targets", "plan_conditions"]
