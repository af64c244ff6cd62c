"""Export of the Brain3D fast path to ONNX, parity checks, and onnxruntime sessions.

Floor 4 of the design: imports ``brain3d`` only, never ``acquisition``, ``realtime``
or ``viewer``.
"""

from export_onnx.export import INPUT_NAME, OUTPUT_NAMES, export_fast_path
from export_onnx.fastpath import (
    LoadedModel,
    configured_precision,
    ensure_exported,
    load_model,
    open_fast_path,
)
from export_onnx.metadata import FastPathMetadata, read_metadata
from export_onnx.parity import (
    PARITY_TOLERANCE,
    ParityReport,
    ParityTolerance,
    check_parity,
    realistic_eeg,
)
from export_onnx.precision import convert_precision, resolve_precision, variant_path
from export_onnx.session import FastPathOutput, FastPathSession, resolve_providers

__all__ = [
    "INPUT_NAME",
    "OUTPUT_NAMES",
    "PARITY_TOLERANCE",
    "FastPathMetadata",
    "FastPathOutput",
    "FastPathSession",
    "LoadedModel",
    "ParityReport",
    "ParityTolerance",
    "check_parity",
    "configured_precision",
    "convert_precision",
    "ensure_exported",
    "export_fast_path",
    "load_model",
    "open_fast_path",
    "read_metadata",
    "realistic_eeg",
    "resolve_precision",
    "resolve_providers",
    "variant_path",
]
