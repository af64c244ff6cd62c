"""The embedded grounded describer: :class:`~brain3d.describe.head.GroundedHead` on CPU.

Weights live in one safetensors file whose metadata carries the head's config
(``describer_config``), a weights hash (``weights_sha256``, verified at load, as in
:mod:`brain3d.models.checkpoint`) and ``format_version``. Nothing is unpickled.
"""

from __future__ import annotations

import copy
import json
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, cast

import numpy as np
import torch
from pydantic import ValidationError

from brain3d.describe.base import Describer, check_latent
from brain3d.describe.head import (
    GROUNDED_SOURCE,
    GroundedHead,
    GroundedHeadConfig,
    decode_description,
    images_to_tensor,
)
from brain3d.errors import ModelLoadError
from brain3d.models.checkpoint import (
    load_state_strict,
    read_safetensors,
    state_dict_sha256,
    write_safetensors,
)
from brain3d.schema import Description

if TYPE_CHECKING:  # pragma: no cover
    from brain3d.config import Config

logger = logging.getLogger(__name__)

HEAD_FORMAT_VERSION = "1"


def save_head(model: GroundedHead, path: str | os.PathLike[str], extra_metadata: Mapping[str, str] | None = None) -> str:
    """Write the head to safetensors (config + weights hash inside); returns the hash."""
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    weights_hash = state_dict_sha256(state)
    metadata = dict(extra_metadata or {})
    metadata.update(describer_config=model.config.model_dump_json(), weights_sha256=weights_hash,
                    format_version=HEAD_FORMAT_VERSION)
    target = write_safetensors(state, path, metadata)
    logger.info("saved describer head %s (sha256 %s)", target, weights_hash[:12])
    return weights_hash


def load_head(path: str | os.PathLike[str]) -> tuple[GroundedHead, dict[str, str]]:
    """Build the head from its checkpoint's own config and load its verified weights.

    Raises
    ------
    ModelLoadError
        Missing, corrupt or truncated file, no or invalid config, hash mismatch, or
        tensors that do not fit the architecture.
    """
    source = Path(path)
    metadata, state = read_safetensors(
        source, what="grounded describer weights",
        missing_hint="restore them from the repository, run `brain3d train --stage describer --ship`, "
        "or fix describer.weights in config.yaml",
        corrupt_hint="restore them or retrain with `brain3d train --stage describer --ship`",
    )
    try:
        config = GroundedHeadConfig.model_validate(json.loads(metadata["describer_config"]))
    except (KeyError, json.JSONDecodeError, ValidationError) as exc:
        raise ModelLoadError(
            f"{source} has no valid 'describer_config' metadata ({exc}); it was not written by "
            "brain3d.describe.grounded.save_head"
        ) from exc
    expected = metadata.get("weights_sha256")
    if expected is not None and state_dict_sha256(state) != expected:
        raise ModelLoadError(
            f"grounded describer weights {source} are corrupt: tensors do not match the stored hash; "
            "restore them or retrain"
        )
    model = GroundedHead(config)
    load_state_strict(model, state, str(source))
    return model.eval(), metadata


def fuse_batchnorm(model: GroundedHead) -> GroundedHead:
    """An eval-mode copy whose conv + BatchNorm pairs are folded into single convs (same outputs, ~10 % faster)."""
    fused = copy.deepcopy(model).eval()
    for block in fused.features:
        # every feature block is a Sequential(Conv2d, BatchNorm2d, ReLU) (see head._block)
        layers = cast(torch.nn.Sequential, block)
        conv, norm = layers[0], layers[1]
        if isinstance(norm, torch.nn.BatchNorm2d):
            layers[0] = torch.nn.utils.fusion.fuse_conv_bn_eval(cast(torch.nn.Conv2d, conv), norm)
            layers[1] = torch.nn.Identity()
    return fused


class GroundedDescriber(Describer):
    """The embedded default backend: a trained attribute head, not a language model.

    Parameters
    ----------
    model : GroundedHead
        Trained head (see :func:`load_head`).
    threads : int
        torch intra-op threads used while describing (1 keeps it off the fast path's cores).
    repair : bool
        See :class:`~brain3d.describe.base.Describer` (the head's relations come from
        positions, so there is nothing to repair in practice).
    """

    name = GROUNDED_SOURCE

    def __init__(self, model: GroundedHead, threads: int = 1, repair: bool = True) -> None:
        super().__init__(repair)
        self.model = fuse_batchnorm(model)
        self.threads = threads
        if torch.get_num_threads() > threads:
            # process-wide: the fast path runs in onnxruntime, whose threads this does not touch
            logger.info("torch intra-op threads %d -> %d for the grounded describer", torch.get_num_threads(), threads)
            torch.set_num_threads(threads)

    @classmethod
    def from_file(cls, path: str | os.PathLike[str], threads: int = 1, repair: bool = True) -> GroundedDescriber:
        """Load the head from ``path`` (ModelLoadError if missing or corrupt)."""
        model, _ = load_head(path)
        return cls(model, threads, repair)

    def _describe(self, image: np.ndarray, latent: np.ndarray | None) -> tuple[Description, list[str]]:
        cfg = self.model.config
        latent = check_latent(latent, cfg.latent_dim or None)
        problems = []
        if latent is not None and not cfg.latent_dim:
            problems.append("the head was trained without the latent; latent ignored")
        with torch.inference_mode():
            out = self.model(
                images_to_tensor(image),
                None if latent is None or not cfg.latent_dim else torch.from_numpy(latent)[None],
            )
        return decode_description(out, 0), problems


def build(config: Config) -> GroundedDescriber:
    """``describer.backend: grounded`` (registered in :data:`brain3d.registry.DESCRIBERS`)."""
    cfg = config.describer
    return GroundedDescriber.from_file(cfg.weights, threads=cfg.threads, repair=cfg.repair_relations)
