"""What an exported fast-path graph expects, stored in the ONNX file's metadata.

The metadata travels inside the ``.onnx`` file (``metadata_props`` key
``brain3d``, JSON), so a graph can be checked against the configuration before a
single window reaches it: channel names and order, rate, window length,
normalisation, units and the hash of the weights it was exported from.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Literal

import onnx
from pydantic import BaseModel, ConfigDict, ValidationError

from brain3d.config import Config
from brain3d.errors import ModelLoadError
from brain3d.models.checkpoint import UNKNOWN_TRAINING_DATA, weights_label
from export_onnx.rewrite import REWRITES_FOR_PRECISION

METADATA_KEY = "brain3d"
METADATA_FORMAT_VERSION = "1"


class FastPathMetadata(BaseModel):
    """Contract of an exported encoder + decoder graph.

    Attributes
    ----------
    channel_names : tuple of str
        Input channels, in input order.
    sfreq : float
        Input sampling rate, Hz.
    n_times : int
        Input window length, samples.
    latent_dim, image_size : int
        Output sizes: ``latent`` (batch, latent_dim), ``image`` (batch, 3, size, size).
    normalization : str
        Input normalisation the weights were trained with (``preprocessing.normalization``).
    units : str
        Input units before normalisation (always microvolts).
    weights_sha256 : str
        Hash of the checkpoint tensors the graph was exported from.
    trained : bool
        False for randomly initialised weights (no trained checkpoint available).
    training_data : str
        What trained the weights, from the checkpoint's own metadata
        (:func:`brain3d.models.training_data`), or the UNTRAINED label; shown wherever
        the weights are named (run summary, LSL stream metadata, viewer). Empty in
        graphs exported before the label existed (such graphs are re-exported).
    precision : {"fp32", "fp16", "int8", "int8_static"}
        Numeric variant of the graph.
    image_range : tuple of float
        Value range of ``image`` (Tanh output).
    rewrites : tuple of str
        Exact graph rewrites applied before the precision conversion
        (:mod:`export_onnx.rewrite`); a variant without the ones its precision now gets
        is stale.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    format_version: str = METADATA_FORMAT_VERSION
    channel_names: tuple[str, ...]
    sfreq: float
    n_times: int
    latent_dim: int
    image_size: int
    normalization: str
    units: str = "uV"
    weights_sha256: str
    trained: bool
    training_data: str = ""
    precision: Literal["fp32", "fp16", "int8", "int8_static"] = "fp32"
    opset: int
    torch_version: str
    image_range: tuple[float, float] = (-1.0, 1.0)
    rewrites: tuple[str, ...] = ()

    @property
    def n_channels(self) -> int:
        """Number of input channels."""
        return len(self.channel_names)

    @property
    def weights_label(self) -> str:
        """The weights in one line, e.g. ``trained on SIMULATED EEG ...`` or ``UNTRAINED ...``."""
        return weights_label(self.trained, self.training_data or UNKNOWN_TRAINING_DATA)

    def mismatches(
        self, config: Config, weights_sha256: str | None = None, training_data: str | None = None
    ) -> list[str]:
        """Every way this graph disagrees with ``config`` (empty when it fits).

        Parameters
        ----------
        config : Config
            The run's configuration.
        weights_sha256 : str, optional
            Hash of the configured checkpoint, when one exists; a different hash means
            the graph is stale.
        training_data : str, optional
            The configured checkpoint's data label; a different label means the graph
            would name its weights wrongly (stale).
        """
        problems = []
        if [c.lower() for c in self.channel_names] != [c.lower() for c in config.channels.names]:
            problems.append(
                f"channels: model has {self.n_channels} ({_preview(self.channel_names)}), "
                f"config.channels.names has {len(config.channels.names)} "
                f"({_preview(config.channels.names)})"
            )
        if abs(self.sfreq - config.window.sfreq) > 1e-6:
            problems.append(f"sampling rate: model {self.sfreq} Hz, window.sfreq {config.window.sfreq} Hz")
        if self.n_times != config.window.samples:
            problems.append(f"window: model {self.n_times} samples, window.samples {config.window.samples}")
        if self.normalization != config.preprocessing.normalization:
            problems.append(
                f"normalization: model trained with {self.normalization!r}, "
                f"preprocessing.normalization is {config.preprocessing.normalization!r}"
            )
        if self.image_size != config.model.image_size:
            problems.append(f"image size: model {self.image_size}, model.image_size {config.model.image_size}")
        if self.latent_dim != config.model.latent_dim:
            problems.append(f"latent: model {self.latent_dim}, model.latent_dim {config.model.latent_dim}")
        expected = REWRITES_FOR_PRECISION.get(self.precision, ())
        if self.rewrites != expected:
            problems.append(
                f"graph form: this {self.precision} graph has rewrites {list(self.rewrites)}, "
                f"this version builds it with {list(expected)} (stale export)"
            )
        if weights_sha256 is not None and weights_sha256 != self.weights_sha256:
            problems.append(
                f"weights: graph exported from {self.weights_sha256[:12]}, configured "
                f"checkpoint is {weights_sha256[:12]} (stale export)"
            )
        if training_data is not None and training_data != self.training_data:
            problems.append(
                f"training data: graph says {self.training_data or 'nothing'!r}, the checkpoint says "
                f"{training_data!r} (stale export)"
            )
        return problems


def _preview(names: tuple[str, ...] | list[str], n: int = 4) -> str:
    head = ", ".join(names[:n])
    return head + (", ..." if len(names) > n else "")


def write_metadata(model: onnx.ModelProto, metadata: FastPathMetadata) -> None:
    """Store ``metadata`` in ``model.metadata_props`` (replacing an earlier entry)."""
    kept = [p for p in model.metadata_props if p.key != METADATA_KEY]
    del model.metadata_props[:]
    model.metadata_props.extend(kept)
    entry = model.metadata_props.add()
    entry.key = METADATA_KEY
    entry.value = metadata.model_dump_json()


def parse_metadata(props: dict[str, str], source: str) -> FastPathMetadata:
    """Build :class:`FastPathMetadata` from a graph's metadata mapping."""
    raw = props.get(METADATA_KEY)
    if raw is None:
        raise ModelLoadError(
            f"{source} has no '{METADATA_KEY}' metadata: it was not exported by "
            "`brain3d export`; re-export it"
        )
    try:
        return FastPathMetadata.model_validate(json.loads(raw))
    except (json.JSONDecodeError, ValidationError) as exc:
        raise ModelLoadError(f"{source} has invalid '{METADATA_KEY}' metadata ({exc}); re-export it") from exc


def read_metadata(path: str | os.PathLike[str]) -> FastPathMetadata:
    """Read the metadata of an exported graph without loading its weights."""
    source = Path(path)
    if not source.is_file():
        raise ModelLoadError(f"exported model {source} does not exist; run `brain3d export`")
    try:
        model = onnx.load(str(source), load_external_data=False)
    except Exception as exc:  # onnx raises DecodeError and others for broken files
        raise ModelLoadError(f"{source} is not a readable ONNX file ({exc}); re-export it") from exc
    return parse_metadata({p.key: p.value for p in model.metadata_props}, str(source))
