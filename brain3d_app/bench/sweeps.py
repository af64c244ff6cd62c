"""Scaling sweeps: how latency and CPU grow with channels, rate, hop, and 3D points/steps.

Channels (32, 64, 128) and rate (250, 500, 1000 Hz): our acquisition alone (read,
preprocess to the model rate, window) on a freshly published real LSL stream at real
time; latency is push of a window's last raw sample -> window buffered. Hop: the same
plus the fast path decoding every window in the acquisition thread, so latency is
push -> decoded image and CPU is that thread's. 3D: ``generate3d.build_generator``
with the configured backend at each point count and step count, when that package is
installed. Every point records its figures under ``<sweep>_<value>.<figure>``.
"""

from __future__ import annotations

import importlib.util
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from brain3d.config import Config
from brain3d_app.bench.acquisition import AcquisitionSettings, measure_ours
from brain3d_app.bench.figures import Section
from brain3d_app.bench.sampling import ResourceSampler

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SweepSettings:
    """What the sweeps vary and how long each point streams.

    Attributes
    ----------
    channels : tuple of int
    rates_hz : tuple of float
    hops : tuple of int
        Window hops, samples at the model rate.
    points : tuple of int
        3D point counts.
    steps : tuple of int
        3D sampling steps.
    seconds : float
        Seconds of stream (real time) per acquisition point.
    clouds : int
        Clouds generated per 3D point (after one warm-up cloud).
    """

    channels: tuple[int, ...] = (32, 64, 128)
    rates_hz: tuple[float, ...] = (250.0, 500.0, 1000.0)
    hops: tuple[int, ...] = (16, 32, 64)
    points: tuple[int, ...] = (256, 1024, 4096)
    steps: tuple[int, ...] = (5, 10, 25)
    seconds: float = 8.0
    clouds: int = 5


def _acq_point(section: Section, key: str, settings: AcquisitionSettings, config: Config,
               on_window: Callable[[object], None] | None = None, latency: str = "push_to_window_ms") -> None:  # fmt: skip
    result = measure_ours(settings, config, on_window=on_window)
    name = "push_to_image" if latency == "push_to_done_ms" else "push_to_window"
    section.add_latency(f"{key}.{name}", result[latency])
    section.add(f"{key}.reader_cpu", result["reader_cpu_percent"], "%")
    section.add(f"{key}.process_cpu", result["process_cpu_percent"], "%")
    section.add(f"{key}.samples_lost", result["samples_sent"] - result["samples_received"], "samples")
    section.add(f"{key}.windows", result["windows"], "count")


def sweep_acquisition(
    config: Config, sweeps: SweepSettings, *, tick: Callable[[str], None] | None = None
) -> Section:
    """Channels and rate sweeps of our acquisition (no model), real time, real LSL."""
    tick = tick or (lambda _label: None)
    section = Section("sweep_acquisition", "Scaling: acquisition vs channels and sampling rate", device="CPU")
    base = AcquisitionSettings(minutes=sweeps.seconds / 60, speed=1.0, rate=1000.0, channels=64, chunk=10)
    for n in sweeps.channels:
        _acq_point(section, f"channels_{n}", replace(base, channels=n), config)
        tick(f"sweep channels {n}")
    for rate in sweeps.rates_hz:
        chunk = max(1, round(rate * 0.01))  # 10 ms chunks at every rate
        _acq_point(section, f"rate_{rate:g}", replace(base, rate=rate, chunk=chunk), config)
        tick(f"sweep rate {rate:g} Hz")
    section.info = {
        "what": "push of a window's last raw sample -> window buffered (read, resample, filter, window); "
                "real-time LSL stream published in this process, 10 ms chunks",
        "channels": list(sweeps.channels), "rates_hz": list(sweeps.rates_hz),
        "fixed": {"rate_hz_for_channels": 1000.0, "channels_for_rates": 64},
        "seconds_per_point": sweeps.seconds,
        "cpu": "reader_cpu = acquisition thread, percent of one core",
    }  # fmt: skip
    return section


def sweep_hop(config: Config, sweeps: SweepSettings, *, tick: Callable[[str], None] | None = None) -> Section:
    """Hop sweep: acquisition + fast path per window, push -> decoded image."""
    from brain3d.normalization import prepare_windows
    from export_onnx import open_fast_path

    tick = tick or (lambda _label: None)
    session = open_fast_path(config)
    section = Section("sweep_hop", "Scaling: acquisition + fast path vs hop", device=session.provider)
    prep = config.preprocessing
    base = AcquisitionSettings(minutes=sweeps.seconds / 60, speed=1.0, rate=1000.0, channels=64, chunk=10)

    def decode(window: object) -> None:
        session.run(prepare_windows(window.data, prep.reference, prep.normalization))  # type: ignore[attr-defined]

    for hop in sweeps.hops:
        cfg = config.model_copy(deep=True)
        cfg.window.hop = hop
        _acq_point(section, f"hop_{hop}", base, cfg, on_window=decode, latency="push_to_done_ms")
        section.add(f"hop_{hop}.windows_per_s", cfg.window.sfreq / hop, "per_s")
        tick(f"sweep hop {hop}")
    section.info = {
        "what": "push of a window's last raw sample -> decoded image, acquisition and fast path in one thread; "
                "64 ch at 1000 Hz, real time",
        "hops": list(sweeps.hops), "model_rate_hz": config.window.sfreq, "seconds_per_point": sweeps.seconds,
        "provider": session.provider,
    }  # fmt: skip
    return section


def generate3d_available() -> bool:
    """Whether ``brain3d.generate3d`` provides ``build_generator`` (issue 7)."""
    if importlib.util.find_spec("brain3d.generate3d") is None:
        return False
    try:
        import brain3d.generate3d as g3d
    except Exception as exc:  # a half-written package must not stop the bench
        logger.warning("brain3d.generate3d cannot be imported: %s", exc)
        return False
    return hasattr(g3d, "build_generator")


def sweep_generate3d(
    config: Config, sweeps: SweepSettings, *, tick: Callable[[str], None] | None = None
) -> Section:
    """Point count and sampling steps of the configured 3D generator: ms per cloud, clouds/s, CPU."""
    from brain3d.generate3d import build_generator
    from brain3d.sim.scenes import generate_scene

    tick = tick or (lambda _label: None)
    section = Section("sweep_generate3d", f"Scaling: 3D generation ({config.generator3d.backend}) vs points and steps",
                      device="CPU")  # fmt: skip
    scenes = [generate_scene(seed) for seed in range(sweeps.clouds + 1)]
    base = config.generator3d
    used: set[str] = set()
    grid: list[tuple[str, int, int]] = [(f"points_{n}", n, base.steps) for n in sweeps.points]
    grid += [(f"steps_{s}", base.n_points, s) for s in sweeps.steps]
    for key, n_points, steps in grid:
        cfg = config.model_copy(deep=True)
        cfg.generator3d.n_points = n_points
        cfg.generator3d.steps = steps
        generator = build_generator(cfg)
        try:
            generator.generate(scenes[0].description, scenes[0].image, seed=0)  # warm-up
            times: list[float] = []
            with ResourceSampler() as sampler:
                for i, scene in enumerate(scenes[1:]):
                    start = time.perf_counter()
                    generator.generate(scene.description, scene.image, seed=i)
                    times.append((time.perf_counter() - start) * 1e3)
            # the generator actually built (a backend may fall back, e.g. diffusion -> layout without weights)
            name = str(getattr(generator, "name", type(generator).__name__))
            used.add(name)
            section.add_latency(f"{key}.per_cloud", np.asarray(times), device=f"{name}, CPU")
            section.add(f"{key}.clouds_per_s", 1e3 / float(np.mean(times)), "per_s", device=f"{name}, CPU")
            if sampler.usage is not None:
                section.add(f"{key}.cpu", sampler.usage.cpu_percent, "%")
                section.add(f"{key}.rss_max", sampler.usage.rss_mib_max, "MiB")
        finally:
            generator.close()
        tick(f"sweep 3D {key}")
    section.device = ", ".join(sorted(used)) + " (CPU)"
    section.title = f"Scaling: 3D generation ({section.device}) vs points and steps"
    if used and all(n.startswith("layout") for n in used):
        section.missing["steps"] = "the layout baseline ran (configured backend unavailable): steps have no effect"
    section.info.update({"generators_used": sorted(used), "points": list(sweeps.points), "steps": list(sweeps.steps), "clouds_per_point": sweeps.clouds,
                         "fixed": {"steps_for_points": base.steps, "points_for_steps": base.n_points},
                         "backend": base.backend})  # fmt: skip
    return section


def sweep_values(section: Section, prefix: str, values: Sequence[object], figure: str) -> list[float | None]:
    """``section.value(f"{prefix}_{v}.{figure}")`` for each swept value (for plots and tables)."""
    return [section.value(f"{prefix}_{v:g}.{figure}" if isinstance(v, float) else f"{prefix}_{v}.{figure}") for v in values]
