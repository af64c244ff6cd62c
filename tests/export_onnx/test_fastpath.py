"""The fast path from the configuration: load or init, export when stale, refuse mismatches."""

from __future__ import annotations

import pytest

from brain3d.config import load_config
from brain3d.errors import ModelLoadError
from brain3d.models import Brain3DConfig, save_checkpoint
from export_onnx import (
    configured_precision,
    ensure_exported,
    load_model,
    open_fast_path,
    read_metadata,
    resolve_precision,
    variant_path,
)
from tests.conftest import REPO_ROOT, make_model, shipped_weights


def _config(tmp_path, *overrides):
    return load_config(
        REPO_ROOT / "config.yaml",
        overrides=[
            f"model.weights={tmp_path / 'w.safetensors'}",
            f"onnx.path={tmp_path / 'fp.onnx'}",
            "onnx.providers=[cpu]",
            "onnx.warmup_runs=1",
            *overrides,
        ],
    )


def test_without_a_checkpoint_the_model_is_untrained_and_says_so(tmp_path, caplog):
    loaded = load_model(_config(tmp_path))
    assert loaded.trained is False
    assert "UNTRAINED" in caplog.text
    assert loaded.source == "untrained (seed 0)"


def test_export_is_reused_until_the_weights_change(tmp_path):
    config = _config(tmp_path)
    path, parity = ensure_exported(config)
    assert parity is not None and parity.passed
    assert ensure_exported(config)[1] is None  # up to date: not exported again

    trained = make_model(seed=5)
    save_checkpoint(trained, config.model.weights)
    path, parity = ensure_exported(config)
    assert parity is not None  # stale (other weights): exported again
    metadata = read_metadata(path)
    assert metadata.trained is True
    session = open_fast_path(config)
    assert session.metadata.weights_sha256 == metadata.weights_sha256


def test_configured_precision_gets_its_own_graph(tmp_path):
    config = _config(tmp_path, "onnx.precision=int8")
    path, parity = ensure_exported(config)
    assert path == variant_path(config.onnx.path, "int8")
    assert read_metadata(path).precision == "int8" and parity.passed


def test_auto_precision_is_static_int8_on_the_cpu_and_fp32_on_gpu_providers(tmp_path):
    assert resolve_precision("auto", ["CPUExecutionProvider"]) == "int8_static"
    assert resolve_precision("auto", ["CUDAExecutionProvider", "CPUExecutionProvider"]) == "fp32"
    assert resolve_precision("auto", ["TensorrtExecutionProvider", "CUDAExecutionProvider"]) == "fp32"
    assert resolve_precision("fp16", ["CPUExecutionProvider"]) == "fp16"  # an explicit choice stands
    with pytest.raises(ValueError, match="auto or one of fp32, fp16, int8, int8_static"):
        resolve_precision("int4", ["CPUExecutionProvider"])
    config = _config(tmp_path)  # the repository's default is auto; these tests run on the CPU provider
    assert config.onnx.precision == "auto" and configured_precision(config) == "int8_static"
    path, parity = ensure_exported(config)
    assert path == variant_path(config.onnx.path, "int8_static")
    assert read_metadata(path).precision == "int8_static" and parity.passed


def test_static_int8_falls_back_to_dynamic_where_the_simulator_cannot_calibrate(tmp_path):
    names = "[" + ",".join(f"E{i}" for i in range(32)) + "]"
    config = _config(tmp_path, f"channels.names={names}")
    assert configured_precision(config) == "int8"  # auto: the simulator has no 32-channel montage
    explicit = _config(tmp_path, f"channels.names={names}", "onnx.precision=int8_static")
    with pytest.raises(ModelLoadError, match="calibration=your_windows"):
        configured_precision(explicit)


def test_checkpoint_for_other_channels_is_refused(tmp_path):
    config = _config(tmp_path)
    save_checkpoint(make_model(Brain3DConfig.for_channels(32)), config.model.weights)
    with pytest.raises(ModelLoadError, match="does not fit the configuration: channels"):
        load_model(config)


def test_stale_graph_for_another_window_is_re_exported(tmp_path):
    ensure_exported(_config(tmp_path))
    config = _config(tmp_path, "window.samples=512")
    path, parity = ensure_exported(config)
    assert parity is not None and read_metadata(path).n_times == 512


def test_explicit_graph_that_disagrees_with_the_config_is_refused(tmp_path):
    path, _ = ensure_exported(_config(tmp_path))
    with pytest.raises(ModelLoadError, match="window: model 256 samples, window.samples 512"):
        open_fast_path(_config(tmp_path, "window.samples=512"), path=path)


def test_static_int8_graph_built_without_the_current_rewrites_is_re_exported(tmp_path):
    config = _config(tmp_path)
    path, _ = ensure_exported(config)
    # an int8_static variant as an older version wrote it: same weights, no sub-pixel rewrite
    import onnx

    from export_onnx.metadata import write_metadata

    graph = onnx.load(str(path))
    write_metadata(graph, read_metadata(path).model_copy(update={"rewrites": ()}))
    onnx.save(graph, str(path))
    assert "stale export" in " ".join(read_metadata(path).mismatches(config))
    path, parity = ensure_exported(config)
    assert parity is not None and read_metadata(path).rewrites == ("conv_transpose_k4s2p1_to_subpixel",)


@pytest.mark.parametrize("precision", ["auto", "int8"])
def test_the_graph_a_run_opens_agrees_with_the_shipped_weights(precision):
    """The session ``brain3d run`` uses (shipped weights; auto = int8_static on the CPU), checked
    against torch on held-out SIMULATED windows as the live path prepares them, with bounds
    relative to each output's spread and correlations (export_onnx.parity.PARITY_TOLERANCE)."""
    from export_onnx import check_parity
    from export_onnx.calibration import simulated_calibration_windows

    config = load_config(overrides=["onnx.providers=[cpu]", "onnx.warmup_runs=1", f"onnx.precision={precision}"])
    shipped_weights(config.model.weights)
    session = open_fast_path(config)
    assert session.metadata.precision == ("int8_static" if precision == "auto" else "int8")
    windows = simulated_calibration_windows(32, config.window.samples, config.window.sfreq, seed=12345)
    report = check_parity(load_model(config).model, session, batch_sizes=(8,), inputs={"simulated": windows},
                          raise_on_failure=False)
    assert report.passed, report.summary()
    simulated = {key: a for key, a in report.agreement.items() if key.startswith("simulated/")}
    # the shipped decoder's outputs depend on the input: the input-dependent part is checked too
    assert len(simulated) == 2 and all(a.input_corr is not None for a in simulated.values()), report.summary()


def test_the_graph_carries_the_checkpoints_own_data_label_and_untrained_says_so(tmp_path):
    config = _config(tmp_path, "onnx.precision=fp32")
    path, _ = ensure_exported(config)  # no checkpoint: a seeded random init
    metadata = read_metadata(path)
    assert not metadata.trained and metadata.weights_label.startswith("UNTRAINED: random initialisation (seed 0)")

    save_checkpoint(make_model(seed=5), config.model.weights, {"data": "recorded EEG: lab-7 (1200 trials)"})
    path, _ = ensure_exported(config)
    assert read_metadata(path).training_data == "recorded EEG: lab-7 (1200 trials)"
    assert open_fast_path(config).metadata.weights_label == "trained on recorded EEG: lab-7 (1200 trials)"

    # same tensors, relabelled checkpoint: the graph would name its weights wrongly, so it is re-exported
    save_checkpoint(make_model(seed=5), config.model.weights, {"data": "recorded EEG: lab-8"})
    path, parity = ensure_exported(config)
    assert parity is not None and read_metadata(path).training_data == "recorded EEG: lab-8"
