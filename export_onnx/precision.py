"""Reduced-precision variants of the exported fast path.

- ``fp16``: weights and activations in half precision, inputs/outputs kept float32
  (``keep_io_types``), for GPU execution providers. Tolerance against torch fp32:
  see :data:`export_onnx.parity.PARITY_TOLERANCE`.
- ``int8``: dynamic INT8 quantisation of the MatMul/Gemm (Linear) weights with
  onnxruntime's quantiser; the convolutions stay fp32. On this CPU the Linear layers
  dominate batch-1 time because their 7 M weights are read from memory every window;
  int8 reads a quarter of that. Its accuracy cost is measured by the benchmark and
  the parity checks, not assumed.
- ``int8_static``: QDQ static quantisation of every convolution and Linear layer
  (weights per channel, activation scales calibrated on SIMULATED windows,
  :mod:`export_onnx.calibration`), after the exact rewrites of :mod:`export_onnx.rewrite`
  that give the decoder's upsampling layers int8 kernels.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path
from typing import Literal, cast

import numpy as np
import onnx

from brain3d.errors import ModelLoadError
from brain3d.registry import PRECISIONS as PRECISION_REGISTRY
from export_onnx.export import INPUT_NAME, quiet_exporter, save_model_atomic
from export_onnx.metadata import METADATA_KEY, parse_metadata, write_metadata
from export_onnx.rewrite import REWRITES_FOR_PRECISION, conv_transpose_to_subpixel

logger = logging.getLogger(__name__)

Precision = Literal["fp32", "fp16", "int8", "int8_static"]
#: Every concrete precision: the names of :data:`brain3d.registry.PRECISIONS` (registration order).
PRECISIONS = cast("tuple[Precision, ...]", PRECISION_REGISTRY.names())
#: What ``onnx.precision: auto`` picks for the provider a session will run on.
AUTO_PRECISION: dict[str, Precision] = {
    "CPUExecutionProvider": "int8_static",
    "CUDAExecutionProvider": "fp32",
    "TensorrtExecutionProvider": "fp32",
}

def variant_path(fp32_path: str | os.PathLike[str], precision: Precision) -> Path:
    """Where the ``precision`` variant of an fp32 graph is kept (beside it)."""
    path = Path(fp32_path)
    return path if precision == "fp32" else path.with_name(f"{path.stem}.{precision}{path.suffix}")


def _retag(model: onnx.ModelProto, precision: Precision, source: str) -> None:
    """Copy the fp32 metadata into a variant with its precision and rewrites updated."""
    props = {p.key: p.value for p in model.metadata_props}
    metadata = parse_metadata(props, source).model_copy(
        update={"precision": precision, "rewrites": REWRITES_FOR_PRECISION.get(precision, ())})
    write_metadata(model, metadata)


def convert_precision(
    fp32_path: str | os.PathLike[str],
    precision: Precision,
    output: str | os.PathLike[str] | None = None,
    *,
    calibration: np.ndarray | None = None,
) -> Path:
    """Write the ``precision`` variant of an exported fp32 graph.

    Parameters
    ----------
    fp32_path : path-like
        Graph written by :func:`export_onnx.export.export_fast_path`.
    precision : {"fp32", "fp16", "int8", "int8_static"}
        Target precision; ``fp32`` returns ``fp32_path`` unchanged. ``int8``: dynamic
        quantisation of the Linear layers (activations quantised per call).
        ``int8_static``: every convolution and Linear layer in int8 (QDQ, weights per
        channel), activation scales fixed from ``calibration``; the decoder's transposed
        convolutions are first rewritten as the sub-pixel convolutions they equal
        (:func:`export_onnx.rewrite.conv_transpose_to_subpixel`), which have int8 kernels.
    output : path-like, optional
        Destination; :func:`variant_path` by default.
    calibration : np.ndarray, optional
        (n_windows, channels, samples) model-ready windows (normalised as the fast path
        normalises them) for ``int8_static``; required for it.

    Returns
    -------
    Path
        The variant's path.
    """
    source = Path(fp32_path)
    if precision == "fp32":
        return source
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
    target = Path(output) if output is not None else variant_path(source, precision)
    fp32 = onnx.load(str(source))
    if METADATA_KEY not in {p.key for p in fp32.metadata_props}:
        raise ModelLoadError(f"{source} has no Brain3D metadata; export it with `brain3d export` first")
    variant = PRECISION_REGISTRY.create(precision, source, fp32, calibration)
    _retag(variant, precision, str(source))
    onnx.checker.check_model(variant)
    save_model_atomic(variant, target)
    logger.info("wrote %s variant %s", precision, target)
    return target


def keep_fp32(source: Path, fp32: onnx.ModelProto, calibration: np.ndarray | None) -> onnx.ModelProto:
    """``fp32``: the exported graph itself (registered in :data:`brain3d.registry.PRECISIONS`)."""
    return fp32


def to_fp16(source: Path, fp32: onnx.ModelProto, calibration: np.ndarray | None) -> onnx.ModelProto:
    """``fp16``: weights and activations in half precision, inputs / outputs kept float32."""
    from onnxruntime.transformers.float16 import convert_float_to_float16
    from onnxruntime.transformers.onnx_model import OnnxModel

    variant = convert_float_to_float16(fp32, keep_io_types=True, disable_shape_infer=False)
    # the converter appends the input casts after their consumers; reorder
    OnnxModel(variant).topological_sort()
    return variant


def to_int8_dynamic(source: Path, fp32: onnx.ModelProto, calibration: np.ndarray | None) -> onnx.ModelProto:
    """``int8``: dynamic quantisation of the Linear layers (activations quantised per call)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with tempfile.TemporaryDirectory() as tmp, quiet_exporter():
        quantized = Path(tmp) / "int8.onnx"
        quantize_dynamic(
            str(source), str(quantized), op_types_to_quantize=["MatMul", "Gemm"],
            weight_type=QuantType.QInt8,
        )
        return onnx.load(str(quantized))


def to_int8_static(source: Path, fp32: onnx.ModelProto, calibration: np.ndarray | None) -> onnx.ModelProto:
    """``int8_static``: QDQ int8 of every convolution and Linear layer, scales from ``calibration``.

    Raises
    ------
    ValueError
        No calibration windows.
    """
    if calibration is None or len(calibration) == 0:
        raise ValueError("int8_static needs calibration windows (n_windows, channels, samples)")
    return _quantize_static(source, np.asarray(calibration, dtype=np.float32))


def _quantize_static(source: Path, calibration: np.ndarray) -> onnx.ModelProto:
    """QDQ int8 graph of ``source``: weights per channel (int8), activations per tensor (uint8)."""
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class _Windows(CalibrationDataReader):
        def __init__(self) -> None:
            self._next = 0

        def get_next(self) -> dict[str, np.ndarray] | None:
            if self._next >= len(calibration):
                return None
            self._next += 1
            return {INPUT_NAME: calibration[self._next - 1 : self._next]}

    with tempfile.TemporaryDirectory() as tmp, quiet_exporter():
        rewritten, prepared = Path(tmp) / "rewritten.onnx", Path(tmp) / "prepared.onnx"
        quantized = Path(tmp) / "int8_static.onnx"
        fp32 = onnx.load(str(source))
        conv_transpose_to_subpixel(fp32)
        onnx.save(fp32, str(rewritten))
        quant_pre_process(str(rewritten), str(prepared), skip_symbolic_shape=True)
        quantize_static(
            str(prepared), str(quantized), _Windows(), quant_format=QuantFormat.QDQ, per_channel=True,
            activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
        )
        return onnx.load(str(quantized))


def resolve_precision(requested: str, providers: list[str] | tuple[str, ...]) -> Precision:
    """The concrete precision for ``onnx.precision`` and the providers a session will use.

    Parameters
    ----------
    requested : {"auto", "fp32", "fp16", "int8", "int8_static"}
        Config ``onnx.precision``.
    providers : sequence of str
        onnxruntime provider names in the order the session will try them
        (:func:`~export_onnx.session.resolve_providers`); the first one decides ``auto``.

    Returns
    -------
    {"fp32", "fp16", "int8", "int8_static"}
        ``auto`` becomes int8_static on the CPU provider (int8 convolutions as well as
        Linear layers; held-out simulated identification unchanged, top-1 0.539 /
        top-5 0.841 against 0.538 / 0.840 for fp32; callers that cannot calibrate fall
        back to int8, see :func:`export_onnx.fastpath.configured_precision`) and fp32 on GPU
        providers (on an H200 fp16 was slower, 0.63 vs 0.38 ms p50, as the graph is too
        small for half precision to pay for its casts; ``docs/gpu.md``).
    """
    if requested != "auto":
        if requested not in PRECISIONS:
            raise ValueError(f"precision must be auto or one of {', '.join(PRECISIONS)}, not {requested!r}")
        return requested
    first = providers[0] if providers else "CPUExecutionProvider"
    return AUTO_PRECISION.get(first, "fp32")
