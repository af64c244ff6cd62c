"""The fast path from the configuration: checkpoint -> up-to-date ONNX graph -> session.

This is what the CLI and (later) the realtime engine call. It re-exports the graph
when it is missing or stale (exported from other weights, or for another channel
set, rate or window), checks parity at every export, and refuses a graph whose
metadata disagrees with the configuration.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from brain3d.config import Config
from brain3d.errors import ModelLoadError
from brain3d.models import (
    Brain3D,
    Brain3DConfig,
    load_checkpoint_and_metadata,
    state_dict_sha256,
    training_data,
    untrained_label,
)
from export_onnx.calibration import (
    DEFAULT_CALIBRATION_WINDOWS,
    simulated_calibration_windows,
    simulator_fits,
)
from export_onnx.export import build_metadata, export_fast_path
from export_onnx.metadata import read_metadata
from export_onnx.parity import ParityReport, check_parity
from export_onnx.precision import Precision, convert_precision, resolve_precision, variant_path
from export_onnx.session import FastPathSession, resolve_providers

logger = logging.getLogger(__name__)


@dataclass
class LoadedModel:
    """A Brain3D network with where it came from.

    Attributes
    ----------
    model : Brain3D
        In eval mode.
    trained : bool
        False when no checkpoint existed and the weights are a seeded random init.
    weights_sha256 : str
        Hash of the weights (the checkpoint's, or of the random init).
    source : str
        Checkpoint path, or ``untrained (seed N)``.
    training_data : str
        What trained the weights, from the checkpoint's metadata
        (:func:`brain3d.models.training_data`), or the UNTRAINED label.
    """

    model: Brain3D
    trained: bool
    weights_sha256: str
    source: str
    training_data: str


def load_model(config: Config) -> LoadedModel:
    """Load ``model.weights``, or build a seeded untrained model when it does not exist.

    Raises
    ------
    ModelLoadError
        The checkpoint is corrupt, or was trained for other channels/rate/window/sizes.
    """
    path = config.model.weights
    if path.is_file():
        model, checkpoint_metadata = load_checkpoint_and_metadata(path)
        weights_hash = checkpoint_metadata["weights_sha256"]
        problems = build_metadata(
            model, normalization=config.preprocessing.normalization, trained=True,
            opset=config.onnx.opset, weights_sha256=weights_hash,
        ).mismatches(config)
        if problems:
            raise ModelLoadError(
                f"checkpoint {path} does not fit the configuration: " + "; ".join(problems)
                + ". Fix the config or train a model for it with `brain3d train`"
            )
        return LoadedModel(model, True, weights_hash, str(path), training_data(checkpoint_metadata))
    logger.warning(
        "no trained checkpoint at %s: using UNTRAINED weights (seed %d); decoded images "
        "are meaningless until a checkpoint is trained or shipped",
        path, config.model.seed,
    )
    torch.manual_seed(config.model.seed)
    model = Brain3D(Brain3DConfig.from_app_config(config)).eval()
    return LoadedModel(model, False, state_dict_sha256(model.state_dict()), f"untrained (seed {config.model.seed})",
                       untrained_label(config.model.seed))


def configured_precision(config: Config) -> Precision:
    """``onnx.precision`` with ``auto`` resolved for the providers this build offers.

    ``auto`` on the CPU provider is ``int8_static`` when the simulator can make its
    calibration windows (the 64-channel montage the shipped weights use), else ``int8``.

    Raises
    ------
    ModelLoadError
        ``int8_static`` was asked for a montage the simulator cannot calibrate.
    """
    precision = resolve_precision(config.onnx.precision, resolve_providers(config.onnx.providers))
    if precision == "int8_static" and not simulator_fits(config.channels.names, config.window.samples):
        if config.onnx.precision == "auto":
            logger.info("onnx.precision auto: dynamic int8 (static int8 calibrates on the simulator's "
                        "64-channel montage, and this model has %d channels)", len(config.channels.names))
            return "int8"
        raise ModelLoadError(
            f"onnx.precision int8_static calibrates on SIMULATED windows of the simulator's 64-channel "
            f"montage; this model has channels {list(config.channels.names)[:6]}... Use int8, or call "
            "export_onnx.convert_precision(..., 'int8_static', calibration=your_windows)"
        )
    return precision


def calibration_windows(config: Config) -> np.ndarray:
    """The SIMULATED calibration windows ``int8_static`` is quantised with (see :mod:`.calibration`)."""
    return simulated_calibration_windows(
        DEFAULT_CALIBRATION_WINDOWS, config.window.samples, config.window.sfreq,
        reference=config.preprocessing.reference, normalization=config.preprocessing.normalization,
    )


def ensure_exported(
    config: Config, *, force: bool = False, loaded: LoadedModel | None = None
) -> tuple[Path, ParityReport | None]:
    """Make sure the configured graph exists and matches config and weights.

    Parameters
    ----------
    config : Config
        Uses ``model``, ``onnx``, ``channels``, ``window`` and ``preprocessing``.
    force : bool
        Export even when an up-to-date graph exists.
    loaded : LoadedModel, optional
        The model to export; :func:`load_model` when omitted.

    Returns
    -------
    path : Path
        The graph of ``onnx.precision`` (``auto`` resolved by :func:`configured_precision`).
    parity : ParityReport or None
        Parity of that graph against torch when it was (re)exported now, else None.
    """
    fp32_path = config.onnx.path
    precision = configured_precision(config)
    target = variant_path(fp32_path, precision)
    loaded = loaded or load_model(config)
    if not force and target.is_file():
        try:
            problems = read_metadata(target).mismatches(config, loaded.weights_sha256, loaded.training_data)
        except ModelLoadError as exc:
            problems = [str(exc)]
        if not problems:
            return target, None
        logger.info("re-exporting %s: %s", target, "; ".join(problems))
    export_fast_path(
        loaded.model, fp32_path, normalization=config.preprocessing.normalization,
        trained=loaded.trained, opset=config.onnx.opset, weights_sha256=loaded.weights_sha256,
        training_data=loaded.training_data,
    )
    calibration = calibration_windows(config) if precision == "int8_static" else None
    path = convert_precision(fp32_path, precision, calibration=calibration)
    return path, check_parity(loaded.model, path)


def open_fast_path(config: Config, *, path: Path | None = None) -> FastPathSession:
    """A ready (warmed-up) session for the configured graph, checked against the config.

    Parameters
    ----------
    config : Config
        Providers, threads and warm-up come from ``onnx``.
    path : Path, optional
        Graph to open; by default the configured one, exported first if needed.
    """
    if path is None:
        path, _ = ensure_exported(config)
    session = FastPathSession(
        path,
        providers=config.onnx.providers,
        intra_op_threads=config.onnx.intra_op_threads,
        inter_op_threads=config.onnx.inter_op_threads,
        warmup_runs=config.onnx.warmup_runs,
    )
    problems = session.metadata.mismatches(config)
    if problems:
        raise ModelLoadError(
            f"{path} does not match the configuration: " + "; ".join(problems)
            + ". Re-export with `brain3d export` or fix config.yaml"
        )
    return session
