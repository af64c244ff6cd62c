"""Export of the Brain3D encoder + decoder as one ONNX graph.

The graph has one input ``eeg`` float32 (batch, channels, samples) with a dynamic
batch axis, and two outputs ``latent`` (batch, latent_dim) and ``image``
(batch, 3, H, W). It is exported with torch's dynamo-based exporter (the supported
path in torch 2.x), whose optimiser folds BatchNorm into the preceding (transposed)
convolutions; onnxruntime's graph optimisation fuses the rest at load.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import os
from pathlib import Path

import onnx
import torch

from brain3d.logs import silenced
from brain3d.models import Brain3D, state_dict_sha256
from export_onnx.metadata import FastPathMetadata, write_metadata

logger = logging.getLogger(__name__)

INPUT_NAME = "eeg"
OUTPUT_NAMES = ("latent", "image")


def quiet_exporter() -> contextlib.AbstractContextManager[None]:
    """Silence the export tools' pass-by-pass logs and warnings during one conversion."""
    return silenced(include_root=True)  # onnxruntime's quantiser logs to the root logger


def build_metadata(
    model: Brain3D, *, normalization: str, trained: bool, opset: int, weights_sha256: str | None = None,
    training_data: str = "",
) -> FastPathMetadata:
    """Metadata describing ``model`` as an exported fp32 graph."""
    cfg = model.config
    return FastPathMetadata(
        channel_names=cfg.channel_names,
        sfreq=cfg.sfreq,
        n_times=cfg.n_times,
        latent_dim=cfg.latent_dim,
        image_size=cfg.image_size,
        normalization=normalization,
        weights_sha256=weights_sha256 or state_dict_sha256(model.state_dict()),
        trained=trained,
        training_data=training_data,
        precision="fp32",
        opset=opset,
        torch_version=torch.__version__,
    )


def save_model_atomic(model: onnx.ModelProto, path: str | os.PathLike[str]) -> Path:
    """Write an ONNX model via a temporary file so readers never see half a file."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(target.suffix + ".tmp")
    onnx.save(model, str(tmp))
    os.replace(tmp, target)
    return target


def export_fast_path(
    model: Brain3D,
    path: str | os.PathLike[str],
    *,
    normalization: str,
    trained: bool,
    opset: int = 18,
    weights_sha256: str | None = None,
    training_data: str = "",
) -> FastPathMetadata:
    """Export ``model`` (in eval mode) to ``path`` with its metadata.

    Parameters
    ----------
    model : Brain3D
        The network; it is copied, the caller's module is not changed.
    path : path-like
        Destination ``.onnx`` file.
    normalization : str
        Input normalisation the weights expect (``preprocessing.normalization``).
    trained : bool
        Whether the weights come from a trained checkpoint.
    opset : int
        ONNX opset.
    weights_sha256 : str, optional
        Hash of the source checkpoint; computed from the model when omitted.
    training_data : str
        What trained the weights (:func:`brain3d.models.training_data` of the
        checkpoint, or the UNTRAINED label), carried into the metadata.

    Returns
    -------
    FastPathMetadata
        What was written into the graph.
    """
    module = copy.deepcopy(model).eval()
    metadata = build_metadata(
        module, normalization=normalization, trained=trained, opset=opset, weights_sha256=weights_sha256,
        training_data=training_data,
    )
    # Batch 2 as the example: torch.export specialises sizes 0 and 1, which would pin
    # the batch axis instead of leaving it dynamic.
    example = torch.zeros(2, module.config.n_channels, module.config.n_times)
    batch = torch.export.Dim("batch", min=1, max=4096)
    with quiet_exporter(), torch.no_grad():
        program = torch.onnx.export(
            module,
            (example,),
            dynamo=True,
            input_names=[INPUT_NAME],
            output_names=list(OUTPUT_NAMES),
            dynamic_shapes=({0: batch},),
            opset_version=opset,
            optimize=True,
            verbose=False,
        )
    if program is None:  # the dynamo exporter returns the program; None only from the legacy path
        raise RuntimeError("torch.onnx.export returned no ONNX program; torch >= 2.5 with dynamo=True is needed")
    proto = program.model_proto
    proto.doc_string = (
        "Brain3D Live fast path: EEG window (batch, channels, samples; normalised µV) -> "
        "latent (batch, latent_dim) and image (batch, 3, H, W) in [-1, 1]."
    )
    write_metadata(proto, metadata)
    onnx.checker.check_model(proto, full_check=True)
    save_model_atomic(proto, path)
    logger.info(
        "exported fast path to %s (%d channels x %d samples at %g Hz, image %d px, %s weights)",
        path, metadata.n_channels, metadata.n_times, metadata.sfreq, metadata.image_size,
        "trained" if trained else "UNTRAINED",
    )
    return metadata
