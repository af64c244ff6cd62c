"""Mini-batches from a trial store, prepared exactly as the live path prepares windows."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch

from brain3d.data.store import TrialStore
from brain3d.normalization import Normalization, Reference, prepare_windows


@dataclass(frozen=True)
class Batch:
    """One mini-batch.

    Attributes
    ----------
    eeg : torch.Tensor
        (B, C, T) float32, re-referenced and normalised.
    image : torch.Tensor
        (B, 3, H, W) float32 in [-1, 1], the stimulus image.
    stimulus_id, subject : np.ndarray
        (B,) int.
    index : np.ndarray
        (B,) trial indices in the store.
    """

    eeg: torch.Tensor
    image: torch.Tensor
    stimulus_id: np.ndarray
    subject: np.ndarray
    index: np.ndarray


def load_batch(
    store: TrialStore, indices: np.ndarray, reference: Reference, normalization: Normalization
) -> Batch:
    """Read ``indices`` from ``store`` (sorted reads from the memory maps) and prepare them."""
    order = np.sort(np.asarray(indices))
    eeg = prepare_windows(store.eeg[order], reference, normalization)
    images = torch.from_numpy(np.asarray(store.images[order])).permute(0, 3, 1, 2).float() / 127.5 - 1.0
    return Batch(
        eeg=torch.from_numpy(eeg),
        image=images.contiguous(),
        stimulus_id=np.asarray(store.stimulus_ids[order]),
        subject=np.asarray(store.subjects[order]),
        index=order,
    )


def iterate_batches(
    store: TrialStore,
    indices: np.ndarray,
    batch_size: int,
    *,
    reference: Reference = "average",
    normalization: Normalization = "window_zscore",
    rng: np.random.Generator | None = None,
) -> Iterator[Batch]:
    """Batches over ``indices``; shuffled when ``rng`` is given, else in order."""
    order = rng.permutation(indices) if rng is not None else np.asarray(indices)
    for start in range(0, len(order), batch_size):
        yield load_batch(store, order[start : start + batch_size], reference, normalization)
