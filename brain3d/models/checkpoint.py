"""Checkpoints in safetensors, carrying the architecture config and a weights hash.

Nothing here unpickles: safetensors stores raw tensors plus string metadata. A
checkpoint's metadata holds ``brain3d_config`` (the :class:`Brain3DConfig` as JSON),
``weights_sha256`` (over tensor names, dtypes, shapes and bytes) and
``format_version``. Loading verifies the hash, so bit rot inside the tensor data is
caught, not only a broken header.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Mapping
from pathlib import Path

import torch
from pydantic import ValidationError
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from brain3d.errors import ModelLoadError
from brain3d.models.brain3d import Brain3D
from brain3d.models.config import Brain3DConfig

logger = logging.getLogger(__name__)

CHECKPOINT_FORMAT_VERSION = "1"
#: Checkpoint metadata key saying what data trained the weights (simulated, or which
#: recording / data set); every output that shows the weights reads it from here.
DATA_KEY = "data"
#: The label of a checkpoint that does not say what trained it.
UNKNOWN_TRAINING_DATA = "unknown data (the checkpoint does not say what trained it)"


def training_data(metadata: Mapping[str, str]) -> str:
    """What trained a checkpoint, from its own metadata.

    ``data`` when the checkpoint states it (every checkpoint this product writes does),
    else the provenance of the store it was trained on (``train_store``), else
    :data:`UNKNOWN_TRAINING_DATA`; never an assumption.
    """
    return metadata.get(DATA_KEY) or metadata.get("train_store") or UNKNOWN_TRAINING_DATA


def untrained_label(seed: int) -> str:
    """The data label of a seeded random initialisation (no checkpoint)."""
    return f"UNTRAINED: random initialisation (seed {seed}), no checkpoint"


def weights_label(trained: bool, data: str) -> str:
    """One line for every output that names the weights (CLI, summary, LSL, viewer).

    Parameters
    ----------
    trained : bool
        False for a random initialisation.
    data : str
        :func:`training_data` of the checkpoint, or :func:`untrained_label`.
    """
    if not trained:
        label = data if data.upper().startswith("UNTRAINED") else f"UNTRAINED ({data})"
        return f"{label}: decoded images are meaningless"
    return f"trained on {data}"


def write_safetensors(
    tensors: Mapping[str, torch.Tensor], path: str | os.PathLike[str], metadata: Mapping[str, str],
) -> Path:
    """Write tensors and metadata to a safetensors file atomically; returns the path.

    The one writer of the product's weight files: folders are created, and the file is
    written beside the target and renamed over it, so a crash never leaves a half-written
    file.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(target.suffix + ".tmp")
    save_file(dict(tensors), str(tmp), metadata=dict(metadata))
    os.replace(tmp, target)
    return target


def read_safetensors(
    path: str | os.PathLike[str], *, what: str, missing_hint: str, corrupt_hint: str,
) -> tuple[dict[str, str], dict[str, torch.Tensor]]:
    """Read a safetensors file's metadata and tensors, or fail with a clear ``ModelLoadError``.

    The one reader of the product's weight files (fast path, describer head, 3D model).

    Parameters
    ----------
    path : path-like
        The file.
    what : str
        What the file is, for messages (e.g. ``"checkpoint"``, ``"3D diffusion weights"``).
    missing_hint, corrupt_hint : str
        What the user should do when the file is missing / cannot be read.

    Returns
    -------
    metadata : dict of str to str
    tensors : dict of str to torch.Tensor

    Raises
    ------
    ModelLoadError
        Missing file, or not readable as safetensors (truncated, corrupt, foreign).
    """
    source = Path(path)
    if not source.is_file():
        raise ModelLoadError(f"{what} not found: {source} does not exist; {missing_hint}")
    try:
        with safe_open(str(source), framework="pt") as handle:
            metadata = dict(handle.metadata() or {})
            tensors = {name: handle.get_tensor(name) for name in handle.keys()}
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise ModelLoadError(
            f"{what} {source} is corrupt or truncated and cannot be read as safetensors ({exc}); {corrupt_hint}"
        ) from exc
    return metadata, tensors


def state_dict_sha256(state: Mapping[str, torch.Tensor]) -> str:
    """Hash of a state dict: names, dtypes, shapes and bytes, in sorted name order."""
    digest = hashlib.sha256()
    for name in sorted(state):
        tensor = state[name].detach().cpu().contiguous()
        digest.update(f"{name}|{tensor.dtype}|{tuple(tensor.shape)}|".encode())
        # reshape(-1) first: a 0-d tensor cannot be viewed as bytes directly
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def save_checkpoint(
    model: Brain3D,
    path: str | os.PathLike[str],
    extra_metadata: Mapping[str, str] | None = None,
    *,
    dtype: torch.dtype | None = None,
) -> str:
    """Write ``model`` to a safetensors file.

    Parameters
    ----------
    model : Brain3D
        The network; its config is stored with the weights.
    path : path-like
        Destination ``.safetensors`` file (folders are created).
    extra_metadata : mapping of str to str, optional
        More metadata (e.g. training command, data description).
    dtype : torch.dtype, optional
        Store floating-point tensors in this type (``torch.float16`` halves a shipped
        file); loading casts them back to the model's type.

    Returns
    -------
    str
        The weights hash written into the metadata.
    """
    state = {
        k: (v.to(dtype) if dtype is not None and v.is_floating_point() else v).detach().cpu().contiguous()
        for k, v in model.state_dict().items()
    }
    weights_hash = state_dict_sha256(state)
    metadata = dict(extra_metadata or {})
    metadata.update(
        brain3d_config=model.config.model_dump_json(),
        weights_sha256=weights_hash,
        format_version=CHECKPOINT_FORMAT_VERSION,
    )
    target = write_safetensors(state, path, metadata)
    logger.info("saved checkpoint %s (sha256 %s)", target, weights_hash[:12])
    return weights_hash


def read_checkpoint(
    path: str | os.PathLike[str],
) -> tuple[Brain3DConfig, dict[str, torch.Tensor], dict[str, str]]:
    """Read and verify a checkpoint without building a model.

    Returns
    -------
    config : Brain3DConfig
    state : dict of str to torch.Tensor
    metadata : dict of str to str

    Raises
    ------
    ModelLoadError
        Missing file, not safetensors, truncated, no/invalid config, hash mismatch.
    """
    source = Path(path)
    metadata, state = read_safetensors(
        source, what="checkpoint",
        missing_hint="train one with `brain3d train` or fix model.weights in config.yaml",
        corrupt_hint="restore it from the repository or retrain",
    )
    raw_config = metadata.get("brain3d_config")
    if raw_config is None:
        raise ModelLoadError(
            f"checkpoint {source} has no 'brain3d_config' metadata; it was not written by "
            "brain3d.models.save_checkpoint"
        )
    try:
        config = Brain3DConfig.model_validate(json.loads(raw_config))
    except (json.JSONDecodeError, ValidationError) as exc:
        raise ModelLoadError(f"checkpoint {source} carries an invalid model config: {exc}") from exc
    expected_hash = metadata.get("weights_sha256")
    if expected_hash is not None and state_dict_sha256(state) != expected_hash:
        raise ModelLoadError(
            f"checkpoint {source} is corrupt: its tensors do not match the weights hash "
            "stored in it; restore it from the repository or retrain"
        )
    return config, state, metadata


def load_state_strict(model: torch.nn.Module, state: Mapping[str, torch.Tensor], source: str) -> None:
    """Load ``state`` into ``model``, naming every missing, unexpected or mis-shaped tensor."""
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    mis_shaped = [
        f"{name}: checkpoint {tuple(state[name].shape)} vs model {tuple(own[name].shape)}"
        for name in sorted(set(own) & set(state))
        if own[name].shape != state[name].shape
    ]
    if missing or unexpected or mis_shaped:
        parts = []
        if mis_shaped:
            parts.append("shape mismatch: " + "; ".join(mis_shaped))
        if missing:
            parts.append("missing from checkpoint: " + ", ".join(missing))
        if unexpected:
            parts.append("not in the model: " + ", ".join(unexpected))
        raise ModelLoadError(
            f"checkpoint {source} does not fit this architecture ({' | '.join(parts)}); "
            "build the model from the checkpoint's own config (load_checkpoint) or "
            "retrain for this config"
        )
    model.load_state_dict(dict(state), strict=True)


def load_checkpoint(path: str | os.PathLike[str]) -> Brain3D:
    """Build a :class:`Brain3D` from a checkpoint's own config and load its weights.

    The model is returned in eval mode.
    """
    return load_checkpoint_and_metadata(path)[0]


def load_checkpoint_and_metadata(path: str | os.PathLike[str]) -> tuple[Brain3D, dict[str, str]]:
    """:func:`load_checkpoint` and the checkpoint's metadata, from one read of the file."""
    config, state, metadata = read_checkpoint(path)
    model = Brain3D(config)
    load_state_strict(model, state, str(path))
    return model.eval(), metadata


def load_weights(model: Brain3D, path: str | os.PathLike[str]) -> Brain3D:
    """Load a checkpoint into an existing model, which must have the same architecture."""
    _, state, _ = read_checkpoint(path)
    load_state_strict(model, state, str(path))
    return model
