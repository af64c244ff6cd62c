"""A short ``brain3d bench`` run: report structure, every figure finite with its unit.

No timing assertions: only that each figure was measured, is finite and has a unit.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from brain3d.config import load_config
from brain3d_app.bench import UNITS, BenchOptions, run_bench
from brain3d_app.cli import main
from tests.fakes import FAKE_STAGES


def _config(tmp_path: Path, *extra: str):
    return load_config(overrides=[
        f"onnx.path={tmp_path / 'fastpath.onnx'}",
        f"model.weights={tmp_path / 'no-weights.safetensors'}",  # seeded untrained model: export in tmp
        f"output.dir={tmp_path / 'sessions'}",
        "onnx.warmup_runs=2",
        *extra,
    ])


@pytest.fixture(scope="module")
def onnx_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder whose fastpath.onnx is exported once for this module's engine runs."""
    from export_onnx import export_fast_path, load_model

    folder = tmp_path_factory.mktemp("bench-onnx")
    config = _config(folder)
    loaded = load_model(config)  # seeded, untrained: no parity check needed for timing tests
    export_fast_path(loaded.model, config.onnx.path, normalization=config.preprocessing.normalization,
                     trained=False, opset=config.onnx.opset, weights_sha256=loaded.weights_sha256)
    return folder


def _viewer_json(tmp_path: Path) -> Path:
    path = tmp_path / "viewer.json"
    path.write_text(json.dumps({"benchmark": "viewer", "frames_per_s": 42.0}))
    return path


def _every_figure(results: dict):
    for name, section in results["sections"].items():
        for figure_name, figure in section["figures"].items():
            yield name, figure_name, figure


@pytest.mark.slow
def test_quick_bench_writes_results_plots_and_report_with_finite_figures(tmp_path: Path, onnx_dir: Path) -> None:
    options = BenchOptions(output=tmp_path / "bench", duration_s=2.0, quick=True, progress=False,
                           parts=("fastpath", "acquisition", "pipeline", "sweeps", "viewer"),
                           viewer_json=_viewer_json(tmp_path))
    run = run_bench(_config(onnx_dir), options, engine_kwargs=FAKE_STAGES)
    results = json.loads((run.folder / "results.json").read_text())
    assert results["errors"] == {}
    assert results["complete"] is True and results["interrupted"] is False
    assert {"machine", "config", "config_yaml", "command", "targets", "sections"} <= set(results)
    assert set(results["sections"]) == {"fastpath", "acquisition", "pipeline", "sweep_acquisition", "sweep_hop",
                                        "viewer"}
    for section, name, figure in _every_figure(results):
        assert math.isfinite(figure["value"]), (section, name)
        assert figure["unit"] in UNITS, (section, name)
    figures = {s: set(d["figures"]) for s, d in results["sections"].items()}
    assert {"ort_cpu_fp32_1t.p99", "torch_eager_1t.p50", "speedup_vs_torch_fp32_1t"} <= figures["fastpath"]
    assert {"samples.sent", "samples.received", "samples.recorded", "samples.lost",
            "ours.push_to_window.p99"} <= figures["acquisition"]
    assert {"slow_on.sample_to_image.p99", "slow_on.sample_to_cloud.p99", "slow_on.stage.description.p50",
            "slow_on.jitter_std", "slow_on.windows_behind_real_time", "slow_on.samples.lost",
            "slow_on.resources.cpu", "slow_on.resources.rss_max", "slow_off.sample_to_image.p99",
            "ratio.sample_to_image_p99_on_over_off"} <= figures["pipeline"]
    assert {"channels_32.push_to_window.p50", "rate_250.reader_cpu"} <= figures["sweep_acquisition"]
    assert {"hop_32.push_to_image.p99"} <= figures["sweep_hop"]
    assert results["sections"]["viewer"]["figures"]["frames_per_s"] == {"value": 42.0, "unit": "per_s"}
    assert results["sections"]["fastpath"]["figures"]["ort_cpu_fp32_1t.p50"]["device"] == "CPUExecutionProvider"
    targets = [t["target"] for t in results["targets"]]
    assert len(targets) == 4 + 4 + 4 + 3  # the generic four, then per condition (no absolute target when loaded)
    for label in ("stages on, quiet", "stages off, quiet", "stages on, CPU hog on the other core"):
        assert sum(t.startswith(f"[{label}]") for t in targets) >= 3, label
    for key in ("slow_on", "slow_off", "loaded"):
        assert {f"{key}.push_to_image.p99", f"{key}.push_to_window.p99", f"{key}.anchor.mne_push_to_data.p99",
                f"{key}.anchor.back_to_back.p99", f"{key}.guards.busy_poll_cpu"} <= figures["pipeline"], key
    assert results["sections"]["pipeline"]["info"]["loaded"]["cpu_hog"]["cpu_percent_of_one_core"] > 10
    report = run.report.read_text()
    for heading in ("# Brain3D Live latency benchmark", "## Targets", "## Fast path", "## Acquisition",
                    "## Pipeline", "## Scaling", "## Configuration"):
        assert heading in report
    pngs = [p for d in results["sections"].values() for p in d["plots"]]
    assert "pipeline_slow_on_latency.png" in pngs and "pipeline_slow_on_timeline.png" in pngs
    for png in pngs:
        assert (run.folder / png).read_bytes()[:4] == b"\x89PNG"
        assert f"]({png})" in report


def test_ctrl_c_writes_what_was_measured_so_far(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import brain3d_app.bench.fastpath

    def interrupted(*_args: object, **_kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(brain3d_app.bench.fastpath, "measure_fastpath", interrupted)
    options = BenchOptions(output=tmp_path / "bench", quick=True, progress=False,
                           parts=("viewer", "fastpath", "acquisition"), viewer_json=_viewer_json(tmp_path))
    run = run_bench(_config(tmp_path), options)
    results = json.loads((run.folder / "results.json").read_text())
    assert results["interrupted"] is True and results["complete"] is False
    assert set(results["sections"]) == {"viewer"}
    assert "interrupted (Ctrl-C)" in run.report.read_text()


def test_cli_bench_runs_the_chosen_parts_and_prints_the_targets(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "bench"
    code = main(["bench", "--parts", "viewer", "--viewer-json", str(_viewer_json(tmp_path)), "--output", str(out),
                 "--no-progress", "--update-docs", str(tmp_path / "docs" / "benchmarks.md")])
    assert code == 0
    printed = capsys.readouterr().out
    assert "viewer >= 30 frames/s: 42 per_s (met)" in printed
    assert (out / "report.md").is_file() and (tmp_path / "docs" / "benchmarks.md").is_file()


def test_cli_bench_rejects_unknown_parts(tmp_path: Path) -> None:
    assert main(["bench", "--parts", "nonsense", "--output", str(tmp_path), "--no-progress"]) == 2


@pytest.mark.slow
def test_replayed_recording_goes_through_the_engine_and_gives_finite_figures(tmp_path: Path, onnx_dir: Path) -> None:
    import mne
    import numpy as np

    from brain3d.channels import STANDARD_64
    from brain3d_app.bench.figures import Section
    from brain3d_app.bench.pipeline import add_session_figures, run_session

    sfreq, seconds = 500.0, 4.0
    rng = np.random.default_rng(0)
    info = mne.create_info(list(STANDARD_64), sfreq, "eeg")
    raw = mne.io.RawArray(rng.normal(0, 10e-6, (64, int(sfreq * seconds))), info, verbose="error")
    path = tmp_path / "rec_raw.fif"
    raw.save(path, verbose="error")
    config = _config(onnx_dir, "source.kind=replay", f"source.replay.path={path}")
    run = run_session(config, tmp_path / "session", duration_s=seconds + 1.0, slow_stages=False)
    section = Section("pipeline", "P")
    add_session_figures(section, "replay", run)
    assert run.samples_sent == int(sfreq * seconds)
    assert section.value("replay.windows_decoded") > 0
    assert "replay.sample_to_image.p99" in section.figures and "replay.samples.lost" in section.figures
    assert all(np.isfinite(f.value) and f.unit in UNITS for f in section.figures.values())
