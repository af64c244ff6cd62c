"""Re-referencing and normalisation of EEG windows, shared by training and the live path.

The model is trained on windows normalised exactly as the live path normalises them,
so this is the one implementation both use. ``window_zscore`` (the default) depends
only on the window itself: each channel minus its mean, divided by its standard
deviation. That makes the live input identical to the training input whatever the
stream's history (no warm-up, no drift between training and use).
"""

from __future__ import annotations

from typing import Literal

import numpy as np

Normalization = Literal["window_zscore", "none"]
NORMALIZATIONS: tuple[str, ...] = ("window_zscore", "none")

#: Standard deviation (µV) below which a channel counts as flat and is not amplified.
FLAT_STD_UV = 1e-3


def normalize_windows(eeg: np.ndarray, method: Normalization = "window_zscore") -> np.ndarray:
    """Normalise one window or a batch of windows.

    Parameters
    ----------
    eeg : np.ndarray
        (..., channels, samples), microvolts.
    method : {"window_zscore", "none"}
        ``window_zscore``: per window and channel, zero mean and unit variance; flat
        channels (std below :data:`FLAT_STD_UV`) become zeros instead of noise blown up.

    Returns
    -------
    np.ndarray
        float32, same shape.
    """
    data = np.asarray(eeg, dtype=np.float32)
    if method == "none":
        return data
    if method != "window_zscore":
        raise ValueError(f"unknown normalization {method!r}; use one of {NORMALIZATIONS}")
    centred = data - data.mean(axis=-1, keepdims=True)
    std = centred.std(axis=-1, keepdims=True)
    return np.where(std > FLAT_STD_UV, centred / np.maximum(std, FLAT_STD_UV), 0.0).astype(np.float32)


Reference = Literal["average", "none"]


def prepare_windows(
    eeg: np.ndarray, reference: Reference = "average", normalization: Normalization = "window_zscore"
) -> np.ndarray:
    """The model's input from microvolt windows: re-reference, then normalise.

    Parameters
    ----------
    eeg : np.ndarray
        (..., channels, samples), microvolts.
    reference : {"average", "none"}
        ``average`` subtracts the mean over channels at every sample.
    normalization : {"window_zscore", "none"}
        See :func:`normalize_windows`.

    Returns
    -------
    np.ndarray
        float32, same shape.
    """
    data = np.asarray(eeg, dtype=np.float32)
    if reference == "average":
        data = data - data.mean(axis=-2, keepdims=True)
    elif reference != "none":
        raise ValueError(f"unknown reference {reference!r}; use 'average' or 'none'")
    return normalize_windows(data, normalization)
