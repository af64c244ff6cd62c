"""onnxruntime sessions: providers, input and output checks, load errors."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from brain3d.errors import BackendError, InputError, ModelLoadError, ModelOutputError
from export_onnx import FastPathSession, resolve_providers
from export_onnx import session as session_module


@pytest.fixture(scope="module")
def session(exported):
    return FastPathSession(exported[1], providers=("cpu",), warmup_runs=2)


def test_providers_keep_order_and_fall_back_to_cpu():
    gpu_build = ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"]
    assert resolve_providers(["tensorrt", "cuda", "cpu"], gpu_build) == gpu_build
    assert resolve_providers(["cuda", "cpu"], gpu_build) == gpu_build[1:]
    assert resolve_providers(["tensorrt", "cuda", "cpu"], ["CPUExecutionProvider"]) == ["CPUExecutionProvider"]
    # CPU is always the safety net, even when not requested
    assert resolve_providers(["cuda"], ["CPUExecutionProvider"]) == ["CPUExecutionProvider"]


def test_fallback_is_logged_once(caplog, monkeypatch):
    monkeypatch.setattr(session_module, "_logged_fallbacks", set())
    with caplog.at_level(logging.WARNING, logger="export_onnx.session"):
        for _ in range(3):
            resolve_providers(["tensorrt", "cuda", "cpu"], ["CPUExecutionProvider"])
    warnings = [r for r in caplog.records if "not available" in r.getMessage()]
    assert len(warnings) == 1
    assert "tensorrt, cuda" in warnings[0].getMessage()


def test_gpu_provider_whose_libraries_cannot_load_is_skipped_with_the_reason(caplog, monkeypatch):
    gpu_build = ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"]
    reason = "libnvinfer.so.10: cannot open shared object file: No such file or directory"
    monkeypatch.setattr(session_module, "_logged_fallbacks", set())
    monkeypatch.setattr(
        session_module, "provider_library_problem",
        lambda provider: reason if provider == "TensorrtExecutionProvider" else None,
    )
    with caplog.at_level(logging.WARNING, logger="export_onnx.session"):
        chosen = resolve_providers(["tensorrt", "cuda", "cpu"], gpu_build)
    assert chosen == ["CUDAExecutionProvider", "CPUExecutionProvider"]
    (warning,) = [r.getMessage() for r in caplog.records]
    assert "libnvinfer.so.10" in warning and "drop tensorrt from onnx.providers" in warning


@pytest.fixture
def fake_provider_library(tmp_path, monkeypatch):
    """An onnxruntime package folder holding a (fake) CUDA provider library."""
    (tmp_path / "capi").mkdir()
    (tmp_path / "capi" / "libonnxruntime_providers_cuda.so").write_bytes(b"not loaded for real")
    monkeypatch.setattr(session_module.ort, "__file__", str(tmp_path / "__init__.py"))
    session_module.provider_library_problem.cache_clear()
    yield
    session_module.provider_library_problem.cache_clear()


def _loader_raising(message):
    def load(path):
        raise OSError(message)
    return load


def test_missing_dependency_of_a_provider_library_is_reported(fake_provider_library, monkeypatch):
    message = "libcudnn.so.9: cannot open shared object file: No such file or directory"
    monkeypatch.setattr(session_module.ctypes, "CDLL", _loader_raising(message))
    assert session_module.provider_library_problem("CUDAExecutionProvider") == message


def test_other_loader_errors_and_absent_libraries_are_left_to_onnxruntime(fake_provider_library, monkeypatch):
    monkeypatch.setattr(session_module.ctypes, "CDLL", _loader_raising("undefined symbol: OrtGetApiBase"))
    assert session_module.provider_library_problem("CUDAExecutionProvider") is None
    # TensorRT's library is not in this fake package, the CPU provider has none
    assert session_module.provider_library_problem("TensorrtExecutionProvider") is None
    assert session_module.provider_library_problem("CPUExecutionProvider") is None


def test_unknown_provider_is_refused():
    with pytest.raises(BackendError, match="unknown execution provider"):
        resolve_providers(["gpu"], ["CPUExecutionProvider"])


def test_session_uses_cpu_here_and_reads_metadata(session):
    assert session.provider == "CPUExecutionProvider"
    assert session.input_shape == (64, 256)
    assert session.metadata.normalization == "window_zscore"


def test_single_window_and_batch_are_accepted(session):
    window = np.zeros((64, 256), dtype=np.float32)
    assert session.run(window).image.shape == (1, 3, 64, 64)
    assert session.run(np.stack([window] * 4)).latent.shape == (4, 512)


@pytest.mark.parametrize(
    ("array", "match"),
    [
        (np.zeros((64, 256), dtype=np.float64), "must be float32"),
        (np.zeros((63, 256), dtype=np.float32), r"shape \(63, 256\).*channels=64"),
        (np.zeros((64, 255), dtype=np.float32), "samples=256"),
        (np.zeros((1, 1, 64, 256), dtype=np.float32), "shape"),
        (np.zeros((0, 64, 256), dtype=np.float32), "empty"),
    ],
)
def test_wrong_shape_or_dtype_is_explained_before_onnxruntime(session, array, match):
    with pytest.raises(InputError, match=match):
        session.run(array)


def test_non_array_input_is_refused(session):
    with pytest.raises(InputError, match="numpy array"):
        session.run([[0.0] * 256] * 64)


def test_non_finite_input_names_the_channels(session):
    window = np.zeros((64, 256), dtype=np.float32)
    window[28, 10] = np.nan  # Oz
    window[0, 3] = np.inf  # Fp1
    with pytest.raises(InputError, match=r"\['Fp1', 'Oz'\]"):
        session.run(window)


def test_malformed_model_output_is_caught(session, monkeypatch):
    monkeypatch.setattr(
        session, "_run_unchecked",
        lambda batch: [np.zeros((1, 512), np.float32), np.full((1, 3, 64, 64), np.nan, np.float32)],
    )
    with pytest.raises(ModelOutputError, match="NaN/Inf in image"):
        session.run(np.zeros((64, 256), np.float32))
    monkeypatch.setattr(
        session, "_run_unchecked",
        lambda batch: [np.zeros((1, 256), np.float32), np.zeros((1, 3, 64, 64), np.float32)],
    )
    with pytest.raises(ModelOutputError, match="latent of shape"):
        session.run(np.zeros((64, 256), np.float32))


def test_missing_and_corrupt_graphs_are_clear(tmp_path):
    with pytest.raises(ModelLoadError, match="does not exist"):
        FastPathSession(tmp_path / "absent.onnx")
    corrupt = tmp_path / "corrupt.onnx"
    corrupt.write_bytes(b"\x08\x07garbage" * 100)
    with pytest.raises(ModelLoadError, match="cannot load"):
        FastPathSession(corrupt, providers=("cpu",))


def test_truncated_graph_is_refused(exported, tmp_path):
    data = exported[1].read_bytes()
    truncated = tmp_path / "truncated.onnx"
    truncated.write_bytes(data[: len(data) // 3])
    with pytest.raises(ModelLoadError):
        FastPathSession(truncated, providers=("cpu",))
