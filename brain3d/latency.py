"""Latency statistics: the one place where percentiles of latency samples are computed.

The engine's summary, the benchmarks and the per-stage benches each write their own
keys (``p50_ms`` in ``summary.json``, ``p50`` in bench sections, ...); they all take
their numbers from :class:`LatencyStats` and only choose names with :meth:`LatencyStats.pick`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

#: Percentiles every :class:`LatencyStats` carries.
PERCENTILES = (50, 90, 95, 99)


@dataclass(frozen=True)
class LatencyStats:
    """Summary of latency samples (one unit throughout, usually milliseconds).

    Attributes
    ----------
    n : int
        Finite samples summarised (non-finite ones are left out).
    p50, p90, p95, p99, max, mean : float
        NaN when ``n`` is 0.
    """

    n: int
    p50: float
    p90: float
    p95: float
    p99: float
    max: float
    mean: float

    @classmethod
    def of(cls, samples: Iterable[float] | np.ndarray) -> LatencyStats:
        """Summarise ``samples`` (any iterable of numbers; NaN/Inf are dropped)."""
        values = np.asarray(samples if isinstance(samples, np.ndarray) else list(samples), dtype=float).ravel()
        values = values[np.isfinite(values)]
        if values.size == 0:
            return cls(0, *(math.nan,) * 6)
        p50, p90, p95, p99 = (float(v) for v in np.percentile(values, PERCENTILES))
        return cls(int(values.size), p50, p90, p95, p99, float(values.max()), float(values.mean()))

    def pick(self, *names: str, suffix: str = "", digits: int | None = None) -> dict[str, float | int]:
        """Chosen figures as a mapping, e.g. ``pick("p50", "p99", suffix="_ms")`` -> ``{"p50_ms": ...}``.

        Parameters
        ----------
        *names : str
            Attribute names, in the order wanted; ``"n"`` keeps its name and stays an int.
        suffix : str
            Appended to every name but ``n`` (a unit, ``"_ms"``).
        digits : int, optional
            Round the figures (not ``n``) to this many decimals.
        """
        out: dict[str, float | int] = {}
        for name in names:
            value = getattr(self, name)
            if name == "n":
                out["n"] = int(value)
            else:
                out[f"{name}{suffix}"] = round(float(value), digits) if digits is not None else float(value)
        return out
