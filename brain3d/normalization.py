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


class WindowPreparer:
    """:func:`prepare_windows` for one (channels, samples) window at a time, into buffers it
    keeps: no array is allocated per window (``realtime.reuse_buffers``).

    Equal to :func:`prepare_windows` to float32 rounding (the same operations, in place).
    The returned array is overwritten by the next call.

    Parameters
    ----------
    reference : {"average", "none"}
    normalization : {"window_zscore", "none"}
    """

    def __init__(self, reference: Reference = "average", normalization: Normalization = "window_zscore") -> None:
        if reference not in ("average", "none"):
            raise ValueError(f"unknown reference {reference!r}; use 'average' or 'none'")
        if normalization not in NORMALIZATIONS:
            raise ValueError(f"unknown normalization {normalization!r}; use one of {NORMALIZATIONS}")
        self.reference = reference
        self.normalization = normalization
        self._shape: tuple[int, ...] = ()

    def _buffers(self, shape: tuple[int, ...]) -> None:
        channels, samples = shape
        self._out = np.empty(shape, dtype=np.float32)
        self._scratch = np.empty(shape, dtype=np.float32)
        self._row = np.empty((1, samples), dtype=np.float32)
        self._col = np.empty((channels, 1), dtype=np.float32)
        self._flat = np.empty((channels, 1), dtype=bool)
        self._shape = shape

    def __call__(self, eeg: np.ndarray) -> np.ndarray:
        """(channels, samples) µV -> the model's input, (channels, samples) float32."""
        if eeg.ndim != 2:
            raise ValueError(f"WindowPreparer takes one (channels, samples) window, not shape {eeg.shape}")
        if eeg.shape != self._shape:
            self._buffers(eeg.shape)
        out, scratch, col = self._out, self._scratch, self._col
        np.copyto(out, eeg, casting="same_kind")
        if self.reference == "average":
            np.mean(out, axis=0, keepdims=True, out=self._row)
            np.subtract(out, self._row, out=out)
        if self.normalization == "none":
            return out
        np.mean(out, axis=1, keepdims=True, out=col)
        np.subtract(out, col, out=out)
        np.subtract(out, out.mean(axis=1, keepdims=True, out=col), out=scratch)  # as ndarray.std does
        np.multiply(scratch, scratch, out=scratch)
        np.mean(scratch, axis=1, keepdims=True, out=col)
        np.sqrt(col, out=col)
        np.greater(col, FLAT_STD_UV, out=self._flat)
        np.logical_not(self._flat, out=self._flat)  # flat, or NaN (a NaN std compares False)
        np.maximum(col, FLAT_STD_UV, out=col)
        np.divide(out, col, out=out)
        np.copyto(out, 0.0, where=self._flat)  # zeros, NaN included, as normalize_windows' np.where
        return out
