"""Targets beside figures, and option validation, without measuring anything."""

from __future__ import annotations

from pathlib import Path

import pytest

from brain3d.config import load_config
from brain3d.errors import ConfigError
from brain3d_app.bench.figures import Section
from brain3d_app.bench.runner import BenchOptions, _targets


def _by_target(rows: list[dict]) -> dict[str, dict]:
    return {row["target"].split(" (")[0]: row for row in rows}


def test_targets_prefer_the_diffusion_benchmark_when_the_sweep_fell_back_to_layout() -> None:
    sweep = Section("sweep_generate3d", "S")
    sweep.add("points_1024.clouds_per_s", 2000.0, "per_s", device="layout, CPU")
    external = Section("generate3d_benchmark", "E")
    external.add("chosen.steps", 10, "steps")
    external.add("chosen.clouds_per_s_threads_2", 4.0, "per_s", device="diffusion, CPU, 2 threads")
    rows = _by_target(_targets({"sweep_generate3d": sweep, "generate3d_benchmark": external}, load_config()))
    row = rows["3D >= 5 clouds/s"]
    assert row["value"] == 4.0 and row["met"] is False
    assert "diffusion" in row["target"] and "10 steps" in row["target"]


def test_targets_use_the_sweep_when_it_ran_the_configured_backend() -> None:
    sweep = Section("sweep_generate3d", "S")
    sweep.add("points_1024.clouds_per_s", 7.0, "per_s", device="diffusion, CPU")
    rows = _by_target(_targets({"sweep_generate3d": sweep}, load_config()))
    assert rows["3D >= 5 clouds/s"]["met"] is True
    assert rows["viewer >= 30 frames/s"]["met"] is None  # not measured: no verdict


def test_a_session_the_engine_stopped_gives_no_verdict() -> None:
    pipeline = Section("pipeline", "P")
    pipeline.info["conditions"] = {"slow_on": {"label": "stages on, quiet"}}
    pipeline.add("slow_on.push_to_image.p99", 3.0, "ms")
    pipeline.add("slow_on.samples.lost", 0, "samples")
    pipeline.missing["slow_on.engine"] = "the engine stopped the run: describer failed"
    rows = _by_target(_targets({"pipeline": pipeline}, load_config()))
    row = rows["[stages on, quiet] push -> image p99 <= 5 ms"]
    assert row["value"] == 3.0 and row["met"] is None and "stopped" in row["note"]
    lost = next(r for r in _targets({"pipeline": pipeline}, load_config()) if r["target"].endswith(", pipeline"))
    assert lost["value"] == 0 and lost["met"] is None


@pytest.mark.parametrize("kwargs", [{"parts": ("fastpath", "nope")}, {"duration_s": 0.0}, {"speed": -1.0}])
def test_bench_options_reject_impossible_values(kwargs: dict) -> None:
    with pytest.raises(ConfigError):
        BenchOptions(output=Path("x"), **kwargs)
