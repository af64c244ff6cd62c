"""``brain3d bench``: run the measurements, write ``results.json``, the PNGs and ``report.md``.

Parts, in order (each can be left out with ``BenchOptions.parts``):

``fastpath``
    onnxruntime (each available execution provider; fp32, int8 and static int8) vs torch eager.
``acquisition``
    ours vs mne-lsl ``StreamLSL`` on one LSL stream, sent vs received vs recorded.
``pipeline``
    SIMULATED EEG over a real LSL outlet through the live ``Engine`` with the slow
    stages on, then off (needs ``realtime.engine``, issue 8).
``sweeps``
    channels, rate and hop (acquisition and fast path).
``generate3d``
    3D point count and sampling steps (needs ``brain3d.generate3d``, issue 7).
``viewer``
    the viewer benchmark's frames per second (``brain3d_app/bench/standalone/viewer.py``'s JSON, issue 9).

A part that fails is reported in ``results.json["errors"]`` and the run goes on. Ctrl-C
stops the run and still writes everything measured so far (``"interrupted": true``).
"""

from __future__ import annotations

import json
import logging
import os
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from brain3d.config import Config
from brain3d.errors import ConfigError
from brain3d.machine import machine_info
from brain3d_app.bench.figures import Section

if TYPE_CHECKING:
    from brain3d_app.bench.sweeps import SweepSettings

logger = logging.getLogger(__name__)

#: Every part, in run order.
PARTS = ("fastpath", "acquisition", "pipeline", "sweeps", "generate3d", "viewer")
#: Packages whose versions the report states.
PACKAGES = ("torch", "onnxruntime", "onnxruntime-gpu", "onnx", "numpy", "scipy", "pylsl", "mne", "mne-lsl", "pyxdf",
            "psutil", "matplotlib", "pyvista")  # fmt: skip
_REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class BenchOptions:
    """What one ``brain3d bench`` run measures and where it writes.

    Attributes
    ----------
    output : Path
        Folder for ``results.json``, the PNGs, ``report.md`` and the engine's sessions.
    duration_s : float
        Seconds of stream data of the pipeline session with slow stages on (the run
        with them off streams half as long, at least 2 s).
    speed : float
        Stream time / wall time of the pipeline session (1 = real time).
    quick : bool
        Seconds instead of minutes: for tests and a first look, not for quoting.
    parts : tuple of str
        Subset of :data:`PARTS`.
    command : str
        The command line, for the report.
    progress : bool
        Show a tqdm progress bar on stderr.
    viewer_json : Path, optional
        The viewer benchmark's JSON (default ``build/bench/viewer.json``; the script is
        run when the file is missing and ``brain3d_app/bench/standalone/viewer.py`` exists).
    load : bool
        Also run the pipeline's ``loaded`` condition (stages on, a CPU hog on the other
        core; :mod:`brain3d_app.bench.conditions`).
    """

    output: Path
    duration_s: float = 60.0
    speed: float = 1.0
    quick: bool = False
    parts: tuple[str, ...] = PARTS
    command: str = "brain3d bench"
    progress: bool = True
    viewer_json: Path | None = None
    load: bool = True

    def __post_init__(self) -> None:
        unknown = [p for p in self.parts if p not in PARTS]
        if unknown:
            raise ConfigError(f"bench parts {unknown} are unknown: choose among {', '.join(PARTS)}")
        if not self.duration_s > 0:
            raise ConfigError(f"bench duration {self.duration_s} s: must be > 0 seconds")
        if not self.speed > 0:
            raise ConfigError(f"bench speed {self.speed}: must be > 0 (1 = real time)")


@dataclass
class BenchRun:
    """A finished (or interrupted) bench run.

    Attributes
    ----------
    folder : Path
    results : dict
        The content of ``results.json``.
    """

    folder: Path
    results: dict[str, Any] = field(default_factory=dict)

    @property
    def report(self) -> Path:
        """``report.md``."""
        return self.folder / "report.md"


class _Progress:
    """tqdm over the parts; labels of the current step as the description."""

    def __init__(self, total: int, enabled: bool) -> None:
        self.bar = None
        if enabled:
            from tqdm import tqdm

            self.bar = tqdm(total=total, desc="bench", unit="part", file=sys.stderr, dynamic_ncols=True)

    def label(self, text: str) -> None:
        if self.bar is not None:
            self.bar.set_postfix_str(text, refresh=True)
        logger.debug("bench: %s", text)

    def done(self, part: str) -> None:
        if self.bar is not None:
            self.bar.update(1)
        logger.info("bench part %s done", part)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _utc() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")


def _targets(sections: dict[str, Section], config: Config) -> list[dict[str, Any]]:
    """The issue's targets beside the figures that measure them."""

    def pick(*candidates: tuple[str, str]) -> tuple[str | None, Any]:
        for sec, name in candidates:
            if sec in sections and sections[sec].value(name) is not None:
                fig = sections[sec].figures[name]
                return f"{sec}: {name}", fig
        return None, None

    g = config.generator3d
    rows = []
    for target, unit, ok, candidates in (
        ("zero lost samples (sent = received = recorded), pipeline", "samples", lambda v: v == 0,
         [("pipeline", "slow_on.samples.lost")]),
        ("zero lost samples (sent = received = recorded), acquisition", "samples", lambda v: v == 0,
         [("acquisition", "samples.lost")]),
        (f"3D >= 5 clouds/s ({g.backend}, {g.n_points} points, {g.steps} steps)", "per_s", lambda v: v >= 5.0,
         _generate3d_candidates(sections, config)),
        ("viewer >= 30 frames/s", "per_s", lambda v: v >= 30.0, [("viewer", "frames_per_s")]),
    ):  # fmt: skip
        where, fig = pick(*candidates)
        note = None
        if where is not None and where.startswith("pipeline") and "slow_on.engine" in sections["pipeline"].missing:
            note = "the engine stopped this session early (see the pipeline section): not a valid figure"
        if fig is not None and fig.device and target.startswith("3D"):
            if where is not None and where.startswith("generate3d_benchmark"):
                steps = sections["generate3d_benchmark"].value("chosen.steps")
                target = f"3D >= 5 clouds/s ({fig.device}, 1024 points, {steps:g} steps: brain3d_app/bench/standalone/generate3d.py)"
            else:
                target = f"3D >= 5 clouds/s ({fig.device}, {g.n_points} points, {g.steps} steps)"
        rows.append({"target": target, "unit": fig.unit if fig else unit, "figure": where,
                     "value": fig.value if fig else None,
                     "met": (bool(ok(fig.value)) if fig and note is None else None),
                     "device": fig.device if fig else None, "note": note})  # fmt: skip
    if "pipeline" in sections:
        from brain3d_app.bench.conditions import condition_targets

        rows += condition_targets(sections["pipeline"])
    return rows


def _generate3d_candidates(sections: dict[str, Section], config: Config) -> list[tuple[str, str]]:
    """Where the 3D rate comes from: the sweep at the configured size, unless it fell back
    to the layout baseline and the diffusion benchmark's JSON was read."""
    g = config.generator3d
    sweep = [("sweep_generate3d", f"points_{g.n_points}.clouds_per_s"), ("sweep_generate3d", f"steps_{g.steps}.clouds_per_s")]
    external = [("generate3d_benchmark", f"chosen.clouds_per_s_threads_{t}") for t in (2, 1)]
    fig = sections.get("sweep_generate3d", Section("", "")).figures.get(sweep[0][1])
    if fig is not None and (fig.device or "").startswith("layout") and "generate3d_benchmark" in sections:
        return external + sweep
    return sweep + external


def _viewer_section(options: BenchOptions, folder: Path) -> Section:
    """Frames per second from the viewer benchmark (issue 9), run here if needed."""
    section = Section("viewer", "Viewer (brain3d_app/bench/standalone/viewer.py, read from its JSON)", device="CPU (VTK, software GL)")
    path = options.viewer_json or (_REPO / "build" / "bench" / "viewer.json")
    if not path.is_file():
        path = folder / "viewer.json"
        cmd = [sys.executable, "-m", "brain3d_app.bench.standalone.viewer", "--json", str(path)]
        if options.quick:
            cmd += ["--seconds", "1", "--points", "1024", "--no-offscreen"]
        logger.info("running %s", shlex.join(cmd))
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
        if done.returncode != 0:
            section.missing["frames_per_s"] = f"{shlex.join(cmd)} failed: {done.stderr.strip()[-300:]}"
            return section
    if not path.is_file():
        section.missing["frames_per_s"] = f"no viewer benchmark JSON at {path}"
        return section
    from brain3d_app.bench.pipeline import _find_number

    data = json.loads(path.read_text(encoding="utf-8"))
    for key in ("frames_per_s", "fps", "render_fps", "frames_per_second"):
        value = _find_number(data, key)
        if value is not None:
            section.add("frames_per_s", value, "per_s")
            section.info = {"from": str(path), "key": key}
            break
    else:
        section.missing["frames_per_s"] = f"{path} has no frames_per_s / fps figure"
    return section


#: What every ``results.json`` says about how to read its figures.
NOTES = (
    "Latency = LSL time a stage finished - LSL time of the window's last sample (one clock).",
    "Steady-state acquisition figures leave out samples pushed in the first second (liblsl clock sync).",
    "Ratios compare figures measured in this run on this machine; absolute figures vary with load.",
    "mne-lsl ships its own liblsl, whose clock origin differs from pylsl's: its latencies are converted "
    "with its clock-sync offset and are indicative.",
    "Engine sessions: the simulator pushes every sample when it is due (1-sample chunks), so sample-to-X "
    "measures this system, not the sender's block size. Streaming starts once the slow stages have "
    "loaded their models; the engine may log the stream as stalled during that wait.",
    "Windows behind real time: windows whose image came more than one hop after their last sample.",
)


def _initial_results(config: Config, options: BenchOptions) -> dict[str, Any]:
    """The ``results`` mapping before any part ran: run, machine and configuration."""
    return {
        "benchmark": "brain3d bench", "schema": 1, "command": options.command, "started_utc": _utc(),
        "options": {**{k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(options).items()}},
        "machine": machine_info(packages=PACKAGES),
        "load_average_before": [round(x, 2) for x in os.getloadavg()],
        "config": config.model_dump(mode="json"), "config_yaml": config.to_yaml(),
        "sections": {}, "errors": {}, "skipped_parts": {}, "interrupted": False, "complete": False,
        "notes": list(NOTES),
    }  # fmt: skip


def _sweep_settings(quick: bool) -> SweepSettings:
    """The sweeps' grid: one point per sweep when ``quick`` (shows every sweep runs, no trend)."""
    from brain3d_app.bench.sweeps import SweepSettings

    return SweepSettings(channels=(32,), rates_hz=(250.0,), hops=(32,), points=(256,), steps=(2,),
                         seconds=1.5, clouds=2) if quick else SweepSettings()  # fmt: skip


def _external_generate3d_section() -> Section | None:
    """The 3D diffusion benchmark's figures, if ``build/bench/generate3d.json`` exists."""
    path = _REPO / "build" / "bench" / "generate3d.json"  # brain3d_app/bench/standalone/generate3d.py (issue 7), if it was run
    if not path.is_file():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    chosen = data.get("chosen") or {}
    sec = Section("generate3d_benchmark", "3D diffusion (brain3d_app/bench/standalone/generate3d.py, read from its JSON)",
                  device="diffusion, CPU")  # fmt: skip
    if "steps" in chosen:
        sec.add("chosen.steps", chosen["steps"], "steps")
    for key, value in chosen.items():
        if key.startswith("clouds_per_s_threads_"):
            sec.add(f"chosen.{key}", value, "per_s", device=f"diffusion, CPU, {key.rsplit('_', 1)[1]} threads")
    sec.info = {"from": str(path), "chosen": chosen, "machine": data.get("machine")}
    if not sec.figures:
        sec.missing["chosen"] = f"{path} has no 'chosen' entry (run without 100 steps?)"
    return sec


class _BenchParts:
    """The parts of one bench run, and the results, sections and plots they fill in."""

    def __init__(self, config: Config, options: BenchOptions, folder: Path,
                 engine_kwargs: dict[str, Any] | None) -> None:  # fmt: skip
        self.config = config
        self.options = options
        self.folder = folder
        self.engine_kwargs = engine_kwargs
        self.quick = options.quick
        self.results = _initial_results(config, options)
        self.sections: dict[str, Section] = {}
        self.sweep_settings = _sweep_settings(options.quick)
        self.progress = _Progress(len(options.parts), options.progress)
        self.stop = threading.Event()
        self.current = ""
        self.runners: dict[str, Callable[[], None]] = {
            "fastpath": self.fastpath, "acquisition": self.acquisition, "pipeline": self.pipeline,
            "sweeps": self.sweeps, "generate3d": self.generate3d, "viewer": self.viewer,
        }  # fmt: skip

    def save(self) -> None:
        """Write ``results.json`` (without the private ``_`` keys) and ``report.md``."""
        from brain3d_app.bench.report import write_report

        results = self.results
        results["sections"] = {name: {**s.to_dict(), "plots": results.get("_plots", {}).get(name, [])}
                               for name, s in self.sections.items()}  # fmt: skip
        results["targets"] = _targets(self.sections, self.config)
        results["finished_utc"] = _utc()
        results["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
        public = {k: v for k, v in results.items() if not k.startswith("_")}
        (self.folder / "results.json").write_text(json.dumps(public, indent=1, default=str), encoding="utf-8")
        write_report(self.folder)

    def add_plot(self, section: str, path: Path | None) -> None:
        """Remember the PNG ``path`` (if one was written) as a plot of ``section``."""
        if path is not None:
            self.results.setdefault("_plots", {}).setdefault(section, []).append(path.name)

    def fastpath(self) -> None:
        """onnxruntime vs torch eager."""
        from brain3d_app.bench import plots
        from brain3d_app.bench.fastpath import measure_fastpath

        quick = self.quick
        sec = measure_fastpath(self.config, runs=20 if quick else 1000, warmup=5 if quick else 50,
                               threads=(1,) if quick else (1, 2), int8=not quick, budget_s=None if quick else 20.0,
                               tick=self.progress.label)  # fmt: skip
        self.sections["fastpath"] = sec
        self.add_plot("fastpath", plots.plot_fastpath(sec, self.folder / "fastpath.png"))

    def acquisition(self) -> None:
        """Ours vs mne-lsl on one LSL stream."""
        from brain3d_app.bench.acquisition import AcquisitionSettings, compare_acquisition

        settings = AcquisitionSettings(minutes=2 / 60, speed=1.0) if self.quick else AcquisitionSettings(minutes=2.0, speed=4.0)
        self.progress.label(f"acquisition: {settings.minutes:g} min of data at speed {settings.speed:g}")
        self.sections["acquisition"] = compare_acquisition(settings, self.config)

    def pipeline(self) -> None:
        """The engine session with the slow stages on, then off."""
        from brain3d_app.bench import plots
        from brain3d_app.bench.conditions import compare_conditions, plan_conditions
        from brain3d_app.bench.pipeline import engine_import_error, stage_latencies, timeline

        problem = engine_import_error()
        if problem is not None:
            self.results["errors"]["pipeline"] = problem  # a broken engine is a failed part, never a skip
            return
        duration, folder = self.options.duration_s, self.folder
        plan = plan_conditions(duration, max(duration / 2, min(duration, 2.0)), self.options.load)
        sec, runs = compare_conditions(self.config, folder, plan, speed=self.options.speed,
                                       anchor_s=3.0 if self.quick else 20.0,
                                       tick=lambda k, t: self.progress.label(f"pipeline {k}: {t:.0f} s"),
                                       engine_kwargs=self.engine_kwargs, stop_requested=self.stop.is_set)  # fmt: skip
        self.sections["pipeline"] = sec
        labels = {c.key: c.label for c in plan}
        for key, run in runs.items():
            lat = stage_latencies(run.traces)
            self.add_plot("pipeline", plots.plot_stage_latency(lat, folder / f"pipeline_{key}_latency.png",
                                                               f"Stage latency, {labels[key]}"))  # fmt: skip
            self.add_plot("pipeline", plots.plot_timeline(timeline(run.traces), run.hop_s * 1e3,
                                                          folder / f"pipeline_{key}_timeline.png",
                                                          f"Latency over the run, {labels[key]}"))  # fmt: skip

    def sweeps(self) -> None:
        """Channels, rate and hop sweeps (acquisition and fast path)."""
        from brain3d_app.bench import plots
        from brain3d_app.bench.sweeps import sweep_acquisition, sweep_hop

        sweeps, folder = self.sweep_settings, self.folder
        acq = sweep_acquisition(self.config, sweeps, tick=self.progress.label)
        self.sections["sweep_acquisition"] = acq
        self.add_plot("sweep_acquisition", plots.plot_sweep(acq, folder / "sweep_acquisition.png", [
            ("channels", sweeps.channels, "push_to_window", "reader_cpu", "channels"),
            ("rate", sweeps.rates_hz, "push_to_window", "reader_cpu", "sampling rate (Hz)"),
        ]))  # fmt: skip
        hop = sweep_hop(self.config, sweeps, tick=self.progress.label)
        self.sections["sweep_hop"] = hop
        self.add_plot("sweep_hop", plots.plot_sweep(hop, folder / "sweep_hop.png", [
            ("hop", sweeps.hops, "push_to_image", "reader_cpu", "hop (samples at the model rate)"),
        ]))  # fmt: skip

    def generate3d(self) -> None:
        """The diffusion benchmark's JSON (if any), then the 3D points and steps sweep."""
        from brain3d_app.bench import plots
        from brain3d_app.bench.sweeps import generate3d_available, sweep_generate3d

        external = _external_generate3d_section()
        if external is not None:
            self.sections["generate3d_benchmark"] = external
        if not generate3d_available():
            self.results["skipped_parts"]["generate3d"] = "brain3d.generate3d.build_generator (issue 7) is not available"
            return
        sweeps = self.sweep_settings
        sec = sweep_generate3d(self.config, sweeps, tick=self.progress.label)
        self.sections["sweep_generate3d"] = sec
        self.add_plot("sweep_generate3d", plots.plot_sweep(sec, self.folder / "sweep_generate3d.png", [
            ("points", sweeps.points, "per_cloud", "cpu", "points per cloud"),
            ("steps", sweeps.steps, "per_cloud", "cpu", "sampling steps"),
        ]))  # fmt: skip

    def viewer(self) -> None:
        """The viewer benchmark's frames per second."""
        self.sections["viewer"] = _viewer_section(self.options, self.folder)

    def on_sigint(self, _signum: int, _frame: Any) -> None:
        """Ctrl-C: end an engine session early the first time, otherwise stop at once."""
        # first Ctrl-C during an engine session ends it early and keeps its figures;
        # otherwise (or a second time) stop at once: what was measured so far is written
        if self.current == "pipeline" and not self.stop.is_set():
            self.stop.set()
            logger.warning("Ctrl-C: ending the engine session early (again to stop at once)")
            return
        self.stop.set()
        raise KeyboardInterrupt

    def run_part(self, part: str) -> None:
        """Run one part, keep its error (if any) and wall time, save the results so far."""
        results = self.results
        self.current = part
        self.progress.label(part)
        part_started = time.monotonic()
        try:
            self.runners[part]()
        except KeyboardInterrupt:
            raise
        except Exception as exc:  # one failing part must not lose the others
            logger.exception("bench part %s failed", part)
            results["errors"][part] = f"{type(exc).__name__}: {exc}"
        results.setdefault("part_wall_s", {})[part] = round(time.monotonic() - part_started, 1)
        self.progress.done(part)
        self.save()

    def run_all(self) -> None:
        """Run every chosen part in order; Ctrl-C marks the run interrupted, results are saved."""
        previous = None
        if threading.current_thread() is threading.main_thread():
            previous = signal.signal(signal.SIGINT, self.on_sigint)
        started = time.monotonic()
        try:
            for part in self.options.parts:
                if self.stop.is_set():
                    raise KeyboardInterrupt
                self.run_part(part)
            if self.stop.is_set():
                raise KeyboardInterrupt
            self.results["complete"] = not self.results["errors"]
        except KeyboardInterrupt:
            self.results["interrupted"] = True
            logger.warning("bench interrupted: writing what was measured so far")
        finally:
            if previous is not None:
                signal.signal(signal.SIGINT, previous)
            self.progress.close()
            self.results["wall_s"] = round(time.monotonic() - started, 1)
            self.save()


def run_bench(config: Config, options: BenchOptions, *, engine_kwargs: dict[str, Any] | None = None) -> BenchRun:
    """Run the parts in ``options``; write ``results.json``, PNGs and ``report.md``.

    Parameters
    ----------
    config : Config
        The configuration every part runs with (fast path graph, window, stages).
    options : BenchOptions
    engine_kwargs : dict, optional
        Extra ``realtime.engine.Engine`` arguments for the pipeline sessions (tests use
        ``stage_mode="thread"`` and small fake stages through ``stage_factories``).

    Returns
    -------
    BenchRun
        Also when interrupted with Ctrl-C (``results["interrupted"]`` is then True).
    """
    folder = options.output.resolve()
    folder.mkdir(parents=True, exist_ok=True)
    parts = _BenchParts(config, options, folder, engine_kwargs)
    parts.run_all()
    return BenchRun(folder, {k: v for k, v in parts.results.items() if not k.startswith("_")})
