"""Training of the Brain3D encoder + decoder on a trial store.

One loop for every head: it minimises :class:`~brain3d.models.Brain3DObjective`
(image MSE now; the description and 3D terms plug in when those heads exist). Fixed
seeds, a progress bar, a checkpoint every epoch (weights as a Brain3D checkpoint,
optimiser state in a second safetensors file, nothing pickled), resume from the last
epoch, and validation on subjects excluded from training; the best epoch by
validation identification is kept.
"""

from __future__ import annotations

import json
import logging
import os
import random
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field
from safetensors import SafetensorError, safe_open
from tqdm.auto import tqdm

from brain3d.data.store import TrialStore
from brain3d.errors import ModelLoadError
from brain3d.models import Brain3D, Brain3DObjective, load_weights, save_checkpoint
from brain3d.models.checkpoint import write_safetensors
from brain3d.normalization import Normalization, Reference
from brain3d.training.batches import iterate_batches
from brain3d.training.evaluation import DecodingScores, evaluate_subjects
from brain3d.training.losses import IdentificationLoss

logger = logging.getLogger(__name__)

LAST_WEIGHTS = "last.safetensors"
LAST_STATE = "last_state.safetensors"
BEST_WEIGHTS = "best.safetensors"


class TrainSettings(BaseModel):
    """How to train.

    Attributes
    ----------
    epochs, batch_size : int
    learning_rate, weight_decay : float
        AdamW; the learning rate follows a cosine schedule to 5 % over all epochs.
    val_subjects : list of int
        Subjects of the training store used only for validation.
    seed : int
        Seeds python, numpy and torch.
    threads : int
        torch intra-op threads.
    reference, normalization : str
        Window preparation (must match the live path's configuration).
    identification_weight : float
        Weight of the contrastive identification term
        (:class:`~brain3d.training.losses.IdentificationLoss`) added to image MSE;
        0 trains the design's objective alone.
    identification_temperature : float
        Its softmax temperature.
    """

    model_config = ConfigDict(extra="forbid")

    epochs: int = Field(30, ge=1)
    batch_size: int = Field(64, ge=1)
    learning_rate: float = Field(1e-3, gt=0)
    weight_decay: float = Field(1e-4, ge=0)
    val_subjects: list[int] = Field(default_factory=list)
    seed: int = 0
    threads: int = Field(2, ge=1)
    reference: Reference = "average"
    normalization: Normalization = "window_zscore"
    identification_weight: float = Field(0.0, ge=0)
    identification_temperature: float = Field(0.1, gt=0)

    def objective(self) -> Brain3DObjective:
        """The objective these settings train: image MSE (+ the identification term)."""
        if self.identification_weight == 0:
            return Brain3DObjective()
        return Brain3DObjective(
            identification_loss=IdentificationLoss(self.identification_temperature),
            identification_weight=self.identification_weight,
        )


@dataclass
class EpochRecord:
    """Figures of one epoch."""

    epoch: int
    train_loss: float
    val: dict[str, float] | None = None


@dataclass
class TrainResult:
    """What training produced."""

    best_weights: Path
    best_epoch: int
    history: list[EpochRecord] = field(default_factory=list)


def seed_everything(seed: int) -> None:
    """Seed python, numpy and torch."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _save_state(path: Path, optimizer: torch.optim.Optimizer, scheduler: torch.optim.lr_scheduler.LRScheduler,
                epoch: int, best: tuple[int, float], history: list[EpochRecord], rng: np.random.Generator) -> None:
    state = optimizer.state_dict()
    tensors = {
        f"{param}.{key}": value.detach().cpu().contiguous()
        for param, values in state["state"].items()
        for key, value in values.items()
        if isinstance(value, torch.Tensor)
    }
    metadata = {
        "epoch": str(epoch),
        "param_groups": json.dumps(state["param_groups"]),
        "scheduler": json.dumps(scheduler.state_dict()),
        "best": json.dumps(best),
        "history": json.dumps([r.__dict__ for r in history]),
        "numpy_rng": json.dumps(rng.bit_generator.state),
        "torch_rng": json.dumps(torch.get_rng_state().tolist()),
    }
    write_safetensors(tensors, path, metadata)


def _load_state(path: Path, optimizer: torch.optim.Optimizer, scheduler: torch.optim.lr_scheduler.LRScheduler,
                rng: np.random.Generator) -> tuple[int, tuple[int, float], list[EpochRecord]]:
    try:
        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata()
            tensors = {name: handle.get_tensor(name) for name in handle.keys()}  # noqa: SIM118
    except (SafetensorError, OSError) as exc:
        raise ModelLoadError(f"training state {path} is unreadable ({exc}); delete it to start over") from exc
    per_param: dict[int, dict[str, torch.Tensor]] = {}
    for name, tensor in tensors.items():
        param, key = name.split(".", 1)
        per_param.setdefault(int(param), {})[key] = tensor
    optimizer.load_state_dict({"state": per_param, "param_groups": json.loads(metadata["param_groups"])})
    scheduler.load_state_dict(json.loads(metadata["scheduler"]))
    rng.bit_generator.state = json.loads(metadata["numpy_rng"])
    torch.set_rng_state(torch.tensor(json.loads(metadata["torch_rng"]), dtype=torch.uint8))
    history = [EpochRecord(**r) for r in json.loads(metadata["history"])]
    best = tuple(json.loads(metadata["best"]))
    return int(metadata["epoch"]), (int(best[0]), float(best[1])), history


def train_model(
    model: Brain3D,
    store: TrialStore,
    settings: TrainSettings,
    output_dir: str | os.PathLike[str],
    *,
    objective: Brain3DObjective | None = None,
    resume: bool = True,
    extra_metadata: dict[str, str] | None = None,
    progress: bool = True,
) -> TrainResult:
    """Train ``model`` on ``store``; checkpoints and the best weights go to ``output_dir``.

    Parameters
    ----------
    model : Brain3D
        Network to train (modified in place; ends holding the last epoch's weights).
    store : TrialStore
        Training trials; ``settings.val_subjects`` are held out for validation.
    settings : TrainSettings
    output_dir : path-like
        Receives ``last.safetensors``, ``last_state.safetensors`` and ``best.safetensors``.
    objective : Brain3DObjective, optional
        Defaults to ``settings.objective()``.
    resume : bool
        Continue from ``last_state.safetensors`` when present.
    extra_metadata : dict, optional
        Stored in the weight checkpoints (e.g. the command that reproduces them). The
        checkpoints' ``data`` label (what trained them, shown wherever the weights are
        named) is the store's :attr:`~brain3d.data.store.StoreInfo.data_label` unless this
        gives one.

    Returns
    -------
    TrainResult
    """
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    seed_everything(settings.seed)
    torch.set_num_threads(settings.threads)
    objective = objective or settings.objective()
    val_subjects = set(settings.val_subjects)
    train_idx = np.flatnonzero(~np.isin(np.asarray(store.subjects), list(val_subjects)))
    if train_idx.size == 0:
        raise ValueError("no training trials left after removing the validation subjects")
    optimizer = torch.optim.AdamW(model.parameters(), lr=settings.learning_rate, weight_decay=settings.weight_decay)
    steps_per_epoch = -(-train_idx.size // settings.batch_size)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(
        optimizer, T_max=settings.epochs * steps_per_epoch, eta_min=settings.learning_rate * 0.05
    )
    rng = np.random.default_rng(settings.seed)
    start_epoch, best = 0, (-1, -np.inf)
    history: list[EpochRecord] = []
    metadata = {"train_settings": settings.model_dump_json(), "train_store": store.info.provenance,
                "data": store.info.data_label, **(extra_metadata or {})}
    if resume and (out / LAST_STATE).is_file() and (out / LAST_WEIGHTS).is_file():
        load_weights(model, out / LAST_WEIGHTS)
        start_epoch, best, history = _load_state(out / LAST_STATE, optimizer, scheduler, rng)
        logger.info("resuming after epoch %d (best epoch %d)", start_epoch, best[0])

    for epoch in range(start_epoch + 1, settings.epochs + 1):
        model.train()
        losses = []
        batches = iterate_batches(store, train_idx, settings.batch_size, reference=settings.reference,
                                  normalization=settings.normalization, rng=rng)
        bar = tqdm(batches, total=steps_per_epoch, desc=f"epoch {epoch}/{settings.epochs}", disable=not progress, leave=False)
        for batch in bar:
            _, image = model(batch.eeg)
            loss = objective(image, batch.image).total
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            losses.append(loss.item())
            bar.set_postfix(loss=f"{np.mean(losses[-50:]):.4f}")
        record = EpochRecord(epoch, float(np.mean(losses)))
        score = -record.train_loss
        if val_subjects:
            scores: DecodingScores = evaluate_subjects(model, store, sorted(val_subjects), reference=settings.reference,
                                                       normalization=settings.normalization, n_way=50)
            record.val = scores.to_dict()
            score = scores.top1 + scores.top5  # identification decides the best epoch
        history.append(record)
        logger.info("epoch %d: train loss %.4f%s", epoch, record.train_loss,
                    f", val top1 {record.val['top1']:.3f} top5 {record.val['top5']:.3f} ({record.val['n_candidates']}-way)"
                    if record.val else "")
        save_checkpoint(model, out / LAST_WEIGHTS, {**metadata, "epoch": str(epoch)})
        if score > best[1]:
            best = (epoch, score)
            save_checkpoint(model, out / BEST_WEIGHTS, {**metadata, "epoch": str(epoch)})
        _save_state(out / LAST_STATE, optimizer, scheduler, epoch, best, history, rng)
    return TrainResult(out / BEST_WEIGHTS, best[0], history)
