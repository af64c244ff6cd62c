"""Viewer speed: frames per second while clouds stream in, and cloud-ready -> frame-shown.

Runs the real :class:`viewer.LiveWindow` (Qt + VTK, Mesa's software rasteriser) under
Xvfb (started here when there is no ``DISPLAY``), fed by a thread that plays the engine:
coloured point clouds of simulated scenes (``brain3d.sim``, 1024 and 4096 points),
decoded images at 16 Hz and engine status at 4 Hz, through the sink methods.

Figures, per point count:

- ``window.frames_per_s``: frames drawn per second with the redraw cap lifted
  (``max_fps=1000``) while a new cloud arrives every 2 ms, so every frame draws a new
  cloud (latest-wins drops the rest);
- ``window_capped``: the configured cap (``viewer.max_fps``, 30) with clouds at 10 Hz:
  ``latency_ms`` p50/p99 from the cloud's ``"cloud"`` stamp (set when handed to the
  sink) to its ``"display_cloud"`` stamp (after the frame was rendered), LSL clock;
- ``cpu_ms_per_frame``: CPU time of this process (all threads) plus Xvfb per frame,
  a figure that depends less on what else the machine runs than frames per second;
- ``offscreen.frames_per_s``: the headless renderer (EGL/OSMesa or X offscreen), frames
  rendered, read back and written as PNG per second, cap lifted.

The headline ``frames_per_s`` (first key) is the window's with 4096 points and the
configured drawing options. Prints JSON; asserts nothing (the target is 30 frames/s).

Usage::

    .venv/bin/python -m brain3d_app.bench.standalone.viewer --json build/bench/viewer.json
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("LSLAPICFG", str(Path(__file__).resolve().parents[3] / "tests" / "lsl_api.cfg"))

import numpy as np  # noqa: E402

from brain3d.clock import lsl_clock  # noqa: E402
from brain3d.config import ViewerConfig, load_config  # noqa: E402
from brain3d.latency import latency_figures  # noqa: E402
from brain3d.machine import machine_info  # noqa: E402
from brain3d.pointcloud import PointCloud  # noqa: E402
from brain3d.results import Cloud, Decoded, Trace  # noqa: E402
from brain3d.sim.scenes import generate_scene  # noqa: E402
from realtime.sinks import EngineStatus, StageFigures  # noqa: E402

logger = logging.getLogger("benchmarks.viewer")


def _scenes(n_points: int, count: int = 8) -> list[tuple[PointCloud, Any, np.ndarray]]:
    out = []
    for seed in range(count):
        scene = generate_scene(seed, n_points=n_points)
        colors = np.clip(np.asarray(scene.colors) * 255, 0, 255).astype(np.uint8)
        out.append((PointCloud(scene.points, colors, "simulator"), scene.description, scene.image))
    return out


class Feeder(threading.Thread):
    """Plays the engine: clouds every ``cloud_period_s``, images at 16 Hz, status at 4 Hz."""

    def __init__(self, sink: Any, scenes: list, cloud_period_s: float) -> None:
        super().__init__(name="feeder", daemon=True)
        self.sink, self.scenes, self.period = sink, scenes, cloud_period_s
        self.stop_event = threading.Event()
        self.clouds: list[Cloud] = []

    def run(self) -> None:
        seq, next_image, next_status, start = 0, 0.0, 0.0, time.monotonic()
        while not self.stop_event.is_set():
            now = time.monotonic()
            cloud, description, image = self.scenes[seq % len(self.scenes)]
            trace = Trace(lsl_clock())
            trace.mark("cloud", lsl_clock())
            item = Cloud(seq, cloud, description, trace)
            self.clouds.append(item)
            self.sink.on_cloud(item)
            if now >= next_image:
                self.sink.on_decoded(Decoded(seq, np.zeros(512, np.float32), image, Trace(lsl_clock()), True))
                next_image = now + 1 / 16
            if now >= next_status:
                self.sink.on_status(EngineStatus(
                    "benchmark feeder (SIMULATED scenes)", True, "ok", 256.0, now - start, seq,
                    {"inference": StageFigures(seq, 12.0, 20.0, 0, 0), "cloud": StageFigures(seq, 300.0, 420.0, 0, 0)},
                    "CPUExecutionProvider",
                ))
                next_status = now + 0.25
            seq += 1
            self.stop_event.wait(self.period)


def _latencies(clouds: list[Cloud], since: float) -> dict[str, float | int]:
    values = np.array([
        (c.trace.stamps["display_cloud"] - c.trace.stamps["cloud"]) * 1e3
        for c in clouds if "display_cloud" in c.trace.stamps and c.trace.stamps["cloud"] >= since
    ])
    if values.size == 0:
        return {"n": 0}
    return latency_figures(values)


_XVFB_PID: int | None = None


def _cpu_s() -> float:
    """CPU seconds of this process (all threads: Qt, VTK, Mesa's llvmpipe) plus Xvfb's."""
    import psutil

    total = sum(psutil.Process().cpu_times()[:2])
    if _XVFB_PID is not None:
        try:
            total += sum(psutil.Process(_XVFB_PID).cpu_times()[:2])
        except psutil.Error:
            pass
    return total


def measure_window(config: ViewerConfig, scenes: list, seconds: float, cloud_period_s: float) -> dict[str, Any]:
    """Frames per second and display latency of the live window for ``seconds`` (after 1 s warm-up)."""
    from viewer.live import LiveWindow

    window = LiveWindow(config, on_close=lambda: None, title="Brain3D Live - benchmark")
    feeder = Feeder(window, scenes, cloud_period_s)
    marks: dict[str, float] = {}
    start = time.monotonic()

    def until() -> bool:
        now = time.monotonic()
        if "t0" not in marks and now - start >= 1.0:
            marks.update(t0=now, f0=window.frames, lsl0=lsl_clock(), cpu0=_cpu_s())
        return "t0" in marks and now - marks["t0"] >= seconds

    feeder.start()
    try:
        window.run(until=until)
    finally:
        feeder.stop_event.set()
        feeder.join()
    elapsed = time.monotonic() - marks["t0"]
    frames = window.frames - int(marks["f0"])
    cpu = _cpu_s() - marks["cpu0"]
    window.close()
    shown = [c for c in feeder.clouds if "display_cloud" in c.trace.stamps and c.trace.stamps["cloud"] >= marks["lsl0"]]
    return {
        "frames_per_s": frames / elapsed,
        "cpu_ms_per_frame": cpu / max(frames, 1) * 1e3,
        "clouds_shown_per_s": len(shown) / elapsed,
        "clouds_sent_per_s": sum(c.trace.stamps["cloud"] >= marks["lsl0"] for c in feeder.clouds) / elapsed,
        "latency_ms": _latencies(feeder.clouds, marks["lsl0"]),
        "seconds": elapsed,
    }


def measure_offscreen(config: ViewerConfig, scenes: list, seconds: float) -> dict[str, Any]:
    """Frames rendered + read back + written as PNG per second by the headless renderer."""
    from viewer.offscreen import OffscreenRenderer

    with tempfile.TemporaryDirectory() as tmp:
        renderer = OffscreenRenderer(config, Path(tmp))
        feeder = Feeder(renderer, scenes, 0.002)
        feeder.start()
        time.sleep(1.0)
        f0, t0, lsl0 = renderer.figures.frames, time.monotonic(), lsl_clock()
        time.sleep(seconds)
        frames, elapsed = renderer.figures.frames - f0, time.monotonic() - t0
        feeder.stop_event.set()
        feeder.join()
        renderer.close()
    return {"frames_per_s": frames / elapsed, "latency_ms": _latencies(feeder.clouds, lsl0), "seconds": elapsed}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", type=Path, default=None, help="write the figures here")
    parser.add_argument("--seconds", type=float, default=5.0, help="measuring time per figure (default 5)")
    parser.add_argument("--points", type=int, nargs="+", default=[1024, 4096])
    parser.add_argument("--no-offscreen", action="store_true", help="skip the headless renderer")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")

    from viewer.display import VirtualDisplay, has_display

    xvfb = None
    if not has_display():
        global _XVFB_PID
        xvfb = VirtualDisplay()
        xvfb.start()
        _XVFB_PID = xvfb.pid
        xvfb.stop_after_exit()  # Qt aborts if its X server vanishes before the process ends
    os.environ.setdefault("QT_QPA_PLATFORM", "xcb")

    base = load_config().viewer
    uncapped = base.model_copy(update={"max_fps": 1000.0, "morph_s": 0.0})
    figures: dict[str, Any] = {}
    for n in args.points:
        scenes = _scenes(n)
        entry: dict[str, Any] = {
            "window": measure_window(uncapped, scenes, args.seconds, 0.002),
            "window_capped": measure_window(base.model_copy(update={"morph_s": 0.0}), scenes, args.seconds, 0.1),
        }
        if base.spheres:
            flat = uncapped.model_copy(update={"spheres": False})
            entry["window_flat_points"] = measure_window(flat, scenes, args.seconds, 0.002)
        if not args.no_offscreen:
            entry["offscreen"] = measure_offscreen(
                base.model_copy(update={"offscreen_fps": 1000.0, "movie": "none", "morph_s": 0.0}), scenes, args.seconds
            )
        figures[str(n)] = entry
        print(f"{n} points: window {entry['window']['frames_per_s']:.1f} frames/s, capped latency "
              f"p50 {entry['window_capped']['latency_ms'].get('p50_ms', float('nan')):.1f} ms "
              f"p99 {entry['window_capped']['latency_ms'].get('p99_ms', float('nan')):.1f} ms", file=sys.stderr)
    headline = str(max(args.points))
    result = {
        "frames_per_s": figures[headline]["window"]["frames_per_s"],
        "headline": f"live window, {headline} points, uncapped redraws, Xvfb + Mesa (llvmpipe)",
        "target_frames_per_s": 30.0,
        "points": figures,
        "config": {**base.model_dump(mode="json")},
        "display": "Xvfb (started by the benchmark)" if xvfb is not None else os.environ.get("DISPLAY", ""),
        "load_average_1min": os.getloadavg()[0],
        "machine": machine_info(packages=("vtk", "pyvista", "pyvistaqt", "PySide6-Essentials", "numpy")),
    }
    text = json.dumps(result, indent=2, default=str)
    print(text)
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
