"""The results schema: every stored figure is a finite number with a known unit."""

from __future__ import annotations

import math

import numpy as np
import pytest

from brain3d_app.bench.figures import UNITS, Figure, Section


def test_figure_rejects_non_finite_values_and_unknown_units() -> None:
    with pytest.raises(ValueError, match="not finite"):
        Figure(math.nan, "ms")
    with pytest.raises(ValueError, match="unit"):
        Figure(1.0, "furlongs")
    assert Figure(1.5, "ms", "CPUExecutionProvider").to_dict() == {"value": 1.5, "unit": "ms",
                                                                   "device": "CPUExecutionProvider"}


def test_section_moves_unmeasured_values_to_missing() -> None:
    section = Section("x", "X")
    section.add("a", float("inf"), "ms")
    section.add("b", None, "count")
    section.add("c", 3, "count")
    assert set(section.figures) == {"c"}
    assert set(section.missing) == {"a", "b"}


def test_add_latency_reports_percentiles_in_ms_and_the_count() -> None:
    section = Section("x", "X")
    section.add_latency("stage", np.arange(1, 101, dtype=float), device="dev")
    assert section.value("stage.p50") == pytest.approx(50.5)
    assert section.value("stage.p99") == pytest.approx(99.01)
    assert section.value("stage.max") == 100
    assert section.value("stage.n") == 100
    assert section.figures["stage.p95"].unit == "ms"
    assert section.figures["stage.p95"].device == "dev"
    assert section.figures["stage.n"].unit == "count"


def test_add_latency_of_nothing_is_missing_not_nan() -> None:
    section = Section("x", "X")
    section.add_latency("stage", np.array([np.nan]))
    assert "stage" in section.missing
    assert all(math.isfinite(f.value) for f in section.figures.values())


def test_section_round_trips_through_json_mapping() -> None:
    section = Section("x", "X", device="CPU", info={"k": 1})
    section.add("r", 2.0, "ratio", device="d")
    again = Section.from_dict("x", section.to_dict())
    assert again == section
    assert all(f.unit in UNITS for f in again.figures.values())
