"""Latency statistics: the one place where percentiles of latency samples are computed.

One key scheme wherever figures are written as a mapping (``summary.json``, the status,
the per-stage and standalone bench JSON): :func:`latency_figures` gives ``n``,
``p50_ms``, ``p90_ms``, ``p95_ms``, ``p99_ms``, ``max_ms``, ``mean_ms``. The bench
report's sections (``brain3d_app.bench.figures.Section``) store each figure with its
unit as a field instead, so their names carry no unit (``<prefix>.p99``, unit ``ms``). :func:`read_latency_figures` also reads files written before
that scheme (``p50`` without the unit) so that old results stay comparable.
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


#: Figures of :func:`latency_figures`, in order (``n`` plus these with the ``_ms`` suffix).
FIGURE_NAMES = ("p50", "p90", "p95", "p99", "max", "mean")


def latency_figures(samples_ms: Iterable[float] | np.ndarray, digits: int | None = None) -> dict[str, float]:
    """The figures of latency samples in milliseconds, in the one key scheme.

    Parameters
    ----------
    samples_ms : iterable of float
        Latencies, ms (NaN/Inf are dropped).
    digits : int, optional
        Round the figures (not ``n``) to this many decimals.

    Returns
    -------
    dict
        ``{"n": count, "p50_ms", "p90_ms", "p95_ms", "p99_ms", "max_ms", "mean_ms"}`` (NaN
        when there are no samples).
    """
    return LatencyStats.of(samples_ms).pick("n", *FIGURE_NAMES, suffix="_ms", digits=digits)


def read_latency_figures(mapping: dict[str, object]) -> dict[str, float]:
    """Figures from a written mapping, in the one key scheme, whichever scheme wrote them.

    ``{"p50": 1.2, "p99": 3.4}`` (older bench files) and ``{"p50_ms": 1.2, ...}`` both give
    ``{"p50_ms": 1.2, "p99_ms": 3.4}``; missing figures stay missing.
    """
    out: dict[str, float] = {}
    if isinstance(mapping.get("n"), (int, float)):
        out["n"] = mapping["n"]  # type: ignore[assignment]
    for name in FIGURE_NAMES:
        for key in (f"{name}_ms", name):
            value = mapping.get(key)
            if isinstance(value, (int, float)):
                out[f"{name}_ms"] = float(value)
                break
    return out
