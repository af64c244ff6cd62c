"""Weights of the point diffusion model in safetensors, with config and hash inside.

Same conventions as :mod:`brain3d.models.checkpoint`: metadata ``generator3d_config``
(the :class:`DenoiserConfig` as JSON), ``weights_sha256`` (over tensor names, dtypes,
shapes and bytes, verified at load) and ``format_version``; nothing is unpickled.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from pathlib import Path

import torch
from pydantic import ValidationError

from brain3d.errors import ModelLoadError
from brain3d.generate3d.denoiser import DenoiserConfig, PointDenoiser
from brain3d.models.checkpoint import (
    load_state_strict,
    read_safetensors,
    state_dict_sha256,
    write_safetensors,
)

logger = logging.getLogger(__name__)

FORMAT_VERSION = "1"
CONFIG_KEY = "generator3d_config"


def save_denoiser(
    model: PointDenoiser,
    path: str | os.PathLike[str],
    extra_metadata: Mapping[str, str] | None = None,
    extra_tensors: Mapping[str, torch.Tensor] | None = None,
) -> str:
    """Write ``model`` (and optional extra tensors, e.g. optimizer moments) atomically.

    Returns
    -------
    str
        The weights hash stored in the metadata (over the model's tensors only).
    """
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    weights_hash = state_dict_sha256(state)
    metadata = dict(extra_metadata or {})
    metadata.update({CONFIG_KEY: model.config.model_dump_json(), "weights_sha256": weights_hash,
                     "format_version": FORMAT_VERSION})
    tensors = dict(state)
    for name, tensor in (extra_tensors or {}).items():
        tensors[f"extra.{name}"] = tensor.detach().cpu().contiguous()
    target = write_safetensors(tensors, path, metadata)
    logger.info("saved 3D diffusion weights %s (sha256 %s)", target, weights_hash[:12])
    return weights_hash


def read_denoiser(
    path: str | os.PathLike[str],
) -> tuple[PointDenoiser, dict[str, str], dict[str, torch.Tensor]]:
    """Build the denoiser from a file's own config and load its verified weights.

    Returns
    -------
    model : PointDenoiser
        In eval mode.
    metadata : dict of str to str
    extra : dict of str to torch.Tensor
        Tensors saved with ``extra_tensors`` (names without the ``extra.`` prefix).

    Raises
    ------
    ModelLoadError
        Missing, truncated or foreign file, bad config, hash mismatch, shape mismatch.
    """
    source = Path(path)
    metadata, tensors = read_safetensors(
        source, what="3D diffusion weights",
        missing_hint="train them with `brain3d train --stage generator3d --ship`, fix generator3d.weights, "
        "or use generator3d.backend=layout",
        corrupt_hint="restore the file from the repository or retrain",
    )
    if CONFIG_KEY not in metadata:
        raise ModelLoadError(
            f"{source} has no '{CONFIG_KEY}' metadata: it is not a 3D diffusion checkpoint "
            "(written by brain3d.generate3d.checkpoint.save_denoiser)"
        )
    try:
        config = DenoiserConfig.model_validate(json.loads(metadata[CONFIG_KEY]))
    except (json.JSONDecodeError, ValidationError) as exc:
        raise ModelLoadError(f"{source} carries an invalid 3D diffusion config: {exc}") from exc
    state = {k: v for k, v in tensors.items() if not k.startswith("extra.")}
    extra = {k[len("extra."):]: v for k, v in tensors.items() if k.startswith("extra.")}
    if metadata.get("weights_sha256") and state_dict_sha256(state) != metadata["weights_sha256"]:
        raise ModelLoadError(
            f"3D diffusion weights {source} are corrupt: the tensors do not match the hash "
            "stored in the file; restore it from the repository or retrain"
        )
    model = PointDenoiser(config)
    load_state_strict(model, state, str(source))
    return model.eval(), metadata, extra
