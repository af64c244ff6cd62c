"""Latency statistics: one computation, each caller's own names."""

from __future__ import annotations

import math

import numpy as np
import pytest

from brain3d.latency import LatencyStats


def test_percentiles_match_numpy_and_non_finite_samples_are_left_out() -> None:
    samples = np.arange(1.0, 101.0)
    stats = LatencyStats.of([*samples, float("nan"), float("inf")])
    assert stats.n == 100
    for q in (50, 90, 95, 99):
        assert getattr(stats, f"p{q}") == pytest.approx(np.percentile(samples, q))
    assert stats.max == 100.0 and stats.mean == pytest.approx(50.5)


def test_no_samples_give_nan_figures_and_n_zero() -> None:
    stats = LatencyStats.of([])
    assert stats.n == 0 and all(math.isnan(v) for v in (stats.p50, stats.p99, stats.max, stats.mean))


def test_pick_names_the_figures_as_each_caller_writes_them() -> None:
    stats = LatencyStats.of([1.0, 2.0, 3.0, 4.0])
    assert stats.pick("n", "p50", "max", suffix="_ms") == {"n": 4, "p50_ms": 2.5, "max_ms": 4.0}
    assert stats.pick("p99", digits=1) == {"p99": 4.0}
    assert list(stats.pick("p50", "p95", "p99", "max")) == ["p50", "p95", "p99", "max"]


def test_latency_figures_use_one_key_scheme_with_the_unit():
    from brain3d.latency import latency_figures

    figures = latency_figures([1.0, 2.0, 3.0, 4.0, float("nan")], digits=2)
    assert list(figures) == ["n", "p50_ms", "p90_ms", "p95_ms", "p99_ms", "max_ms", "mean_ms"]
    assert figures["n"] == 4 and figures["p50_ms"] == 2.5 and figures["max_ms"] == 4.0


def test_old_files_without_the_unit_in_the_keys_read_as_the_new_scheme():
    from brain3d.latency import read_latency_figures

    old = {"n": 3, "p50": 1.5, "p99": 2.0, "max": 2.5, "note": "x"}
    new = {"n": 3, "p50_ms": 1.5, "p99_ms": 2.0, "max_ms": 2.5}
    assert read_latency_figures(old) == read_latency_figures(new) == new
