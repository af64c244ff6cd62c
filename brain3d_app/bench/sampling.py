"""CPU and memory of this process (and its children) while a measurement runs, via psutil."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import psutil

from brain3d_app.bench.figures import Section

logger = logging.getLogger(__name__)


@dataclass
class ResourceUsage:
    """CPU and memory over one interval.

    Attributes
    ----------
    wall_s : float
        Interval length, seconds.
    cpu_percent : float
        CPU time of this process and its children / wall time, percent of one core.
    cpu_percent_max : float
        Highest value over the sampling periods, percent of one core.
    rss_mib_max, rss_mib_mean : float
        Resident memory of this process and its children, MiB.
    system_cpu_percent : float
        Whole-machine CPU use, percent of all cores (how noisy the machine was).
    steal_percent : float or None
        CPU time the hypervisor gave to other guests while this VM wanted it, percent of
        all cores (Linux ``steal``; None where not reported). A few percent of steal
        puts multi-millisecond holes into any latency tail on a shared host.
    samples : list of tuple
        ``(t_s, cpu_percent, rss_mib)`` every period, for timelines (``t_s`` from
        ``started_monotonic``, ``time.monotonic`` seconds).
    """

    wall_s: float
    cpu_percent: float
    cpu_percent_max: float
    rss_mib_max: float
    rss_mib_mean: float
    system_cpu_percent: float
    steal_percent: float | None = None
    started_monotonic: float = 0.0
    samples: list[tuple[float, float, float]] = field(default_factory=list)


#: Child processes that are load, not the measured system (the CPU hog): never counted.
NOT_MEASURED_PIDS: set[int] = set()


class ResourceSampler:
    """Sample CPU and RSS of this process tree every ``period_s`` in a daemon thread.

    Use as a context manager; :attr:`usage` is set on exit.
    """

    def __init__(self, period_s: float = 0.25) -> None:
        self.period_s = float(period_s)
        self.process = psutil.Process()
        self.usage: ResourceUsage | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._samples: list[tuple[float, float, float]] = []

    def _tree(self) -> list[psutil.Process]:
        try:
            children = self.process.children(recursive=True)
            return [self.process, *(c for c in children if c.pid not in NOT_MEASURED_PIDS)]
        except psutil.Error:
            return [self.process]

    def _cpu_and_rss(self) -> tuple[float, float]:
        cpu = rss = 0.0
        for proc in self._tree():
            try:
                times = proc.cpu_times()
                cpu += times.user + times.system
                rss += proc.memory_info().rss
            except psutil.Error:  # a child ended between listing and reading
                continue
        return cpu, rss / 2**20

    def _run(self) -> None:
        last_t, last_cpu = self._t0, self._cpu0
        while not self._stop.wait(self.period_s):
            now = time.monotonic()
            cpu, rss = self._cpu_and_rss()
            dt = now - last_t
            # children that ended take their CPU time with them: never report negative use
            percent = max(0.0, 100.0 * (cpu - last_cpu) / dt) if dt > 0 else 0.0
            self._samples.append((now - self._t0, percent, rss))
            last_t, last_cpu = now, cpu

    def __enter__(self) -> ResourceSampler:
        self._t0 = time.monotonic()
        self._cpu0, _ = self._cpu_and_rss()
        psutil.cpu_percent(None)
        self._times0 = psutil.cpu_times()
        self._thread = threading.Thread(target=self._run, name="bench-resources", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2.0)
        wall = time.monotonic() - self._t0
        cpu, rss = self._cpu_and_rss()
        rss_values = [s[2] for s in self._samples] or [rss]
        self.usage = ResourceUsage(
            wall_s=wall,
            # the mean of the periods, not (end - start): children that ended took their CPU time along
            cpu_percent=(sum(s[1] for s in self._samples) / len(self._samples)) if self._samples else (
                max(0.0, 100.0 * (cpu - self._cpu0) / wall) if wall > 0 else 0.0),
            cpu_percent_max=max((s[1] for s in self._samples), default=0.0),
            rss_mib_max=max(rss_values),
            rss_mib_mean=sum(rss_values) / len(rss_values),
            system_cpu_percent=psutil.cpu_percent(None),
            steal_percent=_steal_percent(self._times0, psutil.cpu_times()),
            started_monotonic=self._t0,
            samples=list(self._samples),
        )


def _steal_percent(before: Any, after: Any) -> float | None:
    """Steal time between two ``psutil.cpu_times()``, percent of all CPU time (None: not reported)."""
    if not hasattr(before, "steal"):
        return None
    guest = sum(getattr(after, k, 0.0) - getattr(before, k, 0.0) for k in ("guest", "guest_nice"))
    total = sum(after) - sum(before) - guest  # guest time is already inside user and nice
    return 100.0 * (after.steal - before.steal) / total if total > 0 else None


def add_usage(section: Section, prefix: str, usage: ResourceUsage | None) -> None:
    """Add ``<prefix>.cpu``, ``.cpu_max``, ``.rss_max``, ``.system_cpu`` figures to a Section."""
    if usage is None:
        return
    add = section.add
    add(f"{prefix}.cpu", usage.cpu_percent, "%")
    add(f"{prefix}.cpu_max", usage.cpu_percent_max, "%")
    add(f"{prefix}.rss_max", usage.rss_mib_max, "MiB")
    add(f"{prefix}.system_cpu", usage.system_cpu_percent, "%")
    if usage.steal_percent is not None:
        add(f"{prefix}.steal", usage.steal_percent, "%")
