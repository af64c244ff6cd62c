"""Export: graph signature, checker, parity against torch, metadata round trip."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
import torch

from brain3d.config import Config
from brain3d.errors import ModelLoadError
from brain3d.models import Brain3DConfig, state_dict_sha256
from export_onnx import (
    PARITY_TOLERANCE,
    FastPathSession,
    check_parity,
    convert_precision,
    export_fast_path,
    read_metadata,
    realistic_eeg,
)
from export_onnx.calibration import simulated_calibration_windows
from export_onnx.rewrite import SUBPIXEL_REWRITE
from tests.conftest import make_model


def _dims(value_info):
    return [d.dim_param or d.dim_value for d in value_info.type.tensor_type.shape.dim]


def test_graph_has_the_documented_signature_and_passes_the_checker(exported):
    _, path, _ = exported
    graph = onnx.load(str(path))
    onnx.checker.check_model(graph, full_check=True)
    assert [i.name for i in graph.graph.input] == ["eeg"]
    assert [o.name for o in graph.graph.output] == ["latent", "image"]
    eeg, latent, image = graph.graph.input[0], *graph.graph.output
    assert isinstance(_dims(eeg)[0], str) and _dims(eeg)[1:] == [64, 256]
    assert _dims(latent)[1:] == [512]
    assert _dims(image)[1:] == [3, 64, 64]
    assert eeg.type.tensor_type.elem_type == onnx.TensorProto.FLOAT


def test_batch_norm_is_folded_away(exported):
    _, path, _ = exported
    ops = {node.op_type for node in onnx.load(str(path)).graph.node}
    assert "BatchNormalization" not in ops


def test_fp32_parity_on_random_and_realistic_eeg_batch_1_and_8(exported):
    model, path, _ = exported
    report = check_parity(model, path, batch_sizes=(1, 8))
    assert set(report.max_abs_error) == {
        f"{kind}/b{b}/{out}" for kind in ("random", "realistic") for b in (1, 8) for out in ("latent", "image")
    }
    assert report.passed
    assert max(report.max_abs_error.values()) <= 1e-4


def test_parity_detects_a_graph_from_other_weights(exported):
    _, path, _ = exported
    other = make_model(seed=99)
    with pytest.raises(ModelLoadError, match="parity FAILED"):
        check_parity(other, path, batch_sizes=(1,))


def test_dynamic_batch_axis_accepts_any_batch(exported):
    model, path, _ = exported
    session = FastPathSession(path, providers=("cpu",), warmup_runs=0)
    for batch in (1, 3, 8):
        eeg = realistic_eeg(batch, 64, 256, 256.0, seed=batch)
        out = session.run(eeg)
        with torch.inference_mode():
            _, ref_image = model(torch.from_numpy(eeg))
        assert out.latent.shape == (batch, 512) and out.image.shape == (batch, 3, 64, 64)
        np.testing.assert_allclose(out.image, ref_image.numpy(), atol=1e-4)


def test_metadata_round_trips(exported):
    model, path, written = exported
    metadata = read_metadata(path)
    assert metadata == written
    assert list(metadata.channel_names) == list(model.config.channel_names)
    assert metadata.sfreq == 256.0 and metadata.n_times == 256
    assert metadata.normalization == "window_zscore" and metadata.units == "uV"
    assert metadata.weights_sha256 == state_dict_sha256(model.state_dict())
    assert metadata.trained is False and metadata.precision == "fp32"


def test_metadata_fits_the_default_config(exported):
    _, path, _ = exported
    assert read_metadata(path).mismatches(Config()) == []


def test_metadata_mismatches_name_each_difference(exported):
    _, path, _ = exported
    config = Config.model_validate(
        {
            "channels": {"names": [f"E{i}" for i in range(32)]},
            "window": {"sfreq": 250.0, "samples": 512},
            "preprocessing": {"normalization": "none", "bandpass": [0.5, 100.0]},
        }
    )
    problems = " | ".join(read_metadata(path).mismatches(config, weights_sha256="0" * 64))
    for expected in ("channels: model has 64", "has 32", "250.0 Hz", "512", "normalization", "stale export"):
        assert expected in problems


def test_other_channel_counts_and_windows_export(tmp_path):
    model = make_model(Brain3DConfig.for_channels(32, n_times=512, sfreq=500.0), seed=1)
    path = tmp_path / "m32.onnx"
    metadata = export_fast_path(model, path, normalization="none", trained=False)
    assert metadata.n_channels == 32 and metadata.n_times == 512 and metadata.sfreq == 500.0
    assert check_parity(model, path, batch_sizes=(1,)).passed


def test_int8_variant_keeps_metadata_and_stays_within_its_tolerance(exported, tmp_path):
    model, path, _ = exported
    int8 = convert_precision(path, "int8", tmp_path / "m.int8.onnx")
    metadata = read_metadata(int8)
    assert metadata.precision == "int8"
    assert metadata.weights_sha256 == read_metadata(path).weights_sha256
    ops = {node.op_type for node in onnx.load(str(int8)).graph.node}
    assert ops & {"DynamicQuantizeLinear", "MatMulInteger", "DynamicQuantizeMatMul"}
    report = check_parity(model, int8, batch_sizes=(1, 8))
    assert report.tolerance == PARITY_TOLERANCE["int8"]
    assert report.passed


def test_static_int8_variant_quantises_convolutions_from_calibration_windows(exported, tmp_path):
    model, path, _ = exported
    calibration = simulated_calibration_windows(16, 256, 256.0)
    static = convert_precision(path, "int8_static", tmp_path / "m.int8_static.onnx", calibration=calibration)
    metadata = read_metadata(static)
    assert metadata.precision == "int8_static" and metadata.rewrites == (SUBPIXEL_REWRITE,)
    graph = onnx.load(str(static)).graph
    quantized_inputs = {node.output[0] for node in graph.node if node.op_type == "DequantizeLinear"}
    convs = [node for node in graph.node if node.op_type in ("Conv", "ConvTranspose")]
    assert convs and all(node.input[1] in quantized_inputs for node in convs)  # int8 weights, not only Linear
    # the decoder's transposed convolutions became sub-pixel Conv + DepthToSpace (int8 kernels)
    assert not any(node.op_type == "ConvTranspose" for node in graph.node)
    assert sum(node.op_type == "DepthToSpace" for node in graph.node) == 4
    assert check_parity(model, static, batch_sizes=(1, 8)).passed
    with pytest.raises(ValueError, match="calibration windows"):
        convert_precision(path, "int8_static", tmp_path / "none.onnx")


def test_calibration_windows_are_simulated_model_inputs_and_reproducible():
    windows = simulated_calibration_windows(8, 256, 256.0)
    assert windows.shape == (8, 64, 256) and windows.dtype == np.float32
    np.testing.assert_allclose(windows.mean(axis=-1), 0.0, atol=1e-4)  # window z-score, as the fast path
    np.testing.assert_allclose(windows.std(axis=-1), 1.0, atol=1e-3)
    np.testing.assert_array_equal(windows, simulated_calibration_windows(8, 256, 256.0))


def test_fp16_variant_is_half_precision_with_float32_io(exported, tmp_path):
    model, path, _ = exported
    fp16 = convert_precision(path, "fp16", tmp_path / "m.fp16.onnx")
    graph = onnx.load(str(fp16))
    assert graph.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    assert any(init.data_type == onnx.TensorProto.FLOAT16 for init in graph.graph.initializer)
    assert read_metadata(fp16).precision == "fp16"
    # onnxruntime's CPU provider runs fp16 graphs too, so the tolerance is checked here
    assert check_parity(model, fp16, batch_sizes=(1, 8)).passed


def test_converting_a_foreign_graph_is_refused(tmp_path):
    from onnx import TensorProto, helper

    node = helper.make_node("Identity", ["x"], ["y"])
    graph = helper.make_graph(
        [node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])],
    )
    path = tmp_path / "foreign.onnx"
    onnx.save(helper.make_model(graph), str(path))
    with pytest.raises(ModelLoadError, match="no Brain3D metadata"):
        convert_precision(path, "int8")
    with pytest.raises(ModelLoadError, match="brain3d export"):
        read_metadata(path)


def test_spread_relative_bounds_catch_a_zero_latent_and_an_input_blind_image():
    from export_onnx.parity import OutputAgreement

    rng = np.random.default_rng(0)
    latent = 0.3 * rng.standard_normal((8, 512))  # small latents: a zero latent is 'close' in absolute terms
    bounds = PARITY_TOLERANCE["int8_static"]
    near = OutputAgreement.of(latent, latent + 0.01 * rng.standard_normal(latent.shape))
    assert not near.problems(bounds["latent"])
    zero = OutputAgreement.of(latent, np.zeros_like(latent))
    assert zero.max_abs < 1.5 and np.isnan(zero.corr)
    assert any("RMS error 1.000" in p for p in zero.problems(bounds["latent"]))
    image = np.tanh(rng.standard_normal((8, 3, 16, 16)) + 2 * rng.standard_normal((1, 3, 16, 16)))
    blind = OutputAgreement.of(image, np.broadcast_to(image.mean(axis=0), image.shape))
    assert blind.corr > 0.5  # the mean image alone correlates with every image ...
    assert any("input-dependent correlation" in p for p in blind.problems(bounds["image"]))  # ... but not with the input
    single = OutputAgreement.of(image[:1], image[:1])
    assert single.input_corr is None and not single.problems(bounds["image"])
