"""The results schema of ``brain3d bench``: every figure is a number with its unit.

A :class:`Section` groups the figures of one measurement (fast path, acquisition,
pipeline, a sweep) with the device or execution provider that produced them and
free-form ``info`` (settings, counts that are not figures). Figure names are flat
dotted strings (``"ort_cpu_fp32_1t.p99"``) so reports and tests can walk them.
Non-finite values are never stored: a measurement that produced no number is listed
in ``Section.missing`` with the reason instead.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from brain3d.latency import LatencyStats

#: Units a figure may have (the report and the tests rely on this list).
UNITS = ("ms", "s", "%", "MiB", "count", "ratio", "Hz", "per_s", "samples", "channels", "points", "steps")

#: Percentiles reported for every latency distribution.
PERCENTILES = (50, 95, 99)


@dataclass(frozen=True)
class Figure:
    """One measured number.

    Attributes
    ----------
    value : float
        Finite.
    unit : str
        One of :data:`UNITS`.
    device : str, optional
        Device or execution provider that produced it, when it differs from the
        section's (e.g. ``"CUDAExecutionProvider"`` inside the fast-path section).
    """

    value: float
    unit: str
    device: str | None = None

    def __post_init__(self) -> None:
        if self.unit not in UNITS:
            raise ValueError(f"unit {self.unit!r} is not one of {UNITS}")
        if not math.isfinite(self.value):
            raise ValueError(f"figure value {self.value!r} is not finite")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready mapping ``{"value", "unit"[, "device"]}``."""
        out: dict[str, Any] = {"value": self.value, "unit": self.unit}
        if self.device is not None:
            out["device"] = self.device
        return out


@dataclass
class Section:
    """The figures of one measurement.

    Attributes
    ----------
    name : str
        Key in ``results.json`` (``"fastpath"``, ``"acquisition"``, ...).
    title : str
        Heading in the report.
    device : str
        What produced the figures (``"CPU (AMD EPYC, 2 cores)"``, an execution provider).
    figures : dict of str to Figure
    info : dict
        Settings and non-figure facts (JSON-ready).
    missing : dict of str to str
        Figures that could not be measured -> why.
    """

    name: str
    title: str
    device: str = ""
    figures: dict[str, Figure] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)

    def add(self, name: str, value: float | int | None, unit: str, *, device: str | None = None) -> None:
        """Store ``value`` as figure ``name``; a None or non-finite value goes to ``missing``."""
        if value is None or not math.isfinite(float(value)):
            self.missing[name] = "no finite value measured"
            return
        self.figures[name] = Figure(round(float(value), 4), unit, device)

    def add_latency(self, prefix: str, samples_ms: Iterable[float] | np.ndarray, *, device: str | None = None) -> None:
        """Add ``<prefix>.p50/p95/p99/max/mean`` (ms) and ``<prefix>.n`` of a latency sample."""
        stats = LatencyStats.of(samples_ms)
        self.add(f"{prefix}.n", stats.n, "count")
        if stats.n == 0:
            self.missing[prefix] = "no samples"
            return
        for name, value in stats.pick(*(f"p{q}" for q in PERCENTILES), "max", "mean").items():
            self.add(f"{prefix}.{name}", value, "ms", device=device)

    def value(self, name: str) -> float | None:
        """The value of figure ``name``, or None when it was not measured."""
        fig = self.figures.get(name)
        return None if fig is None else fig.value

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready mapping."""
        return {
            "title": self.title, "device": self.device,
            "figures": {k: f.to_dict() for k, f in self.figures.items()},
            "info": self.info, "missing": self.missing,
        }

    @classmethod
    def from_dict(cls, name: str, data: Mapping[str, Any]) -> Section:
        """Inverse of :meth:`to_dict`."""
        figures = {k: Figure(float(v["value"]), str(v["unit"]), v.get("device")) for k, v in data["figures"].items()}
        return cls(name, data["title"], data.get("device", ""), figures, dict(data.get("info", {})),
                   dict(data.get("missing", {})))  # fmt: skip
