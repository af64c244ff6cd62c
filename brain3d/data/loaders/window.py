"""Target window of a loader (:class:`LoadOptions`) and the epoch cut (:class:`EpochCutter`).

Every loader writes trials of ``n_times`` samples at ``sfreq`` Hz starting at stimulus
onset, in µV, on the model's channels. Epochs with a pre-stimulus part (``tmin < 0``)
lose it; epochs at another rate are resampled with :func:`scipy.signal.resample_poly`.

Resampling keeps the pre-stimulus context where it can: the epoch is resampled from the
latest source sample ``s0 <= onset`` whose distance to the onset maps to a whole number
of target samples, so the first stored sample lies exactly on the onset and the filter
sees real signal before it. Edges are extended linearly (``padtype="line"``).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

import numpy as np
from scipy.signal import resample_poly

from brain3d.channels import STANDARD_64
from brain3d.data.loaders.report import DataSetError
from brain3d.data.montage_mapping import MissingPolicy

logger = logging.getLogger(__name__)

PadPolicy = Literal["error", "zero", "edge"]

#: Multiplier from a unit to microvolts.
UNIT_SCALE: dict[str, float] = {"V": 1e6, "mV": 1e3, "uV": 1.0, "µV": 1.0}


def unit_scale(units: str) -> float:
    """Factor that converts ``units`` (``V``, ``mV`` or ``uV``) to µV."""
    if units not in UNIT_SCALE:
        raise DataSetError(f"input_units = {units!r}: allowed values are {sorted(UNIT_SCALE)}")
    return UNIT_SCALE[units]


@dataclass(frozen=True)
class LoadOptions:
    """What the trial store should hold.

    Attributes
    ----------
    sfreq : float
        Target sampling rate, Hz (config ``window.sfreq``).
    n_times : int
        Samples per trial from stimulus onset (config ``window.samples``).
    image_size : int
        Side of stored images, pixels.
    n_points : int
        Points per cloud for data sets with 3D shapes (ignored by the others).
    channels : tuple of str
        Model channels in order (config ``channels.names``).
    missing : {"error", "zero", "interpolate"}
        Policy for model channels the source lacks (config ``channels.missing``).
    pad : {"error", "zero", "edge"}
        When an epoch holds fewer than ``n_times`` samples after onset: refuse, pad
        with zeros, or repeat the last sample.
    overwrite : bool
        Replace an existing store at the target path.
    """

    sfreq: float = 256.0
    n_times: int = 256
    image_size: int = 64
    n_points: int = 1024
    channels: tuple[str, ...] = STANDARD_64
    missing: MissingPolicy = "error"
    pad: PadPolicy = "error"
    overwrite: bool = False

    def __post_init__(self) -> None:
        if self.sfreq <= 0 or self.n_times < 1 or self.image_size < 1 or self.n_points < 0:
            raise DataSetError(f"invalid load options {self}: sfreq, n_times and image_size must be positive")
        if self.pad not in ("error", "zero", "edge"):
            raise DataSetError(f"pad = {self.pad!r}: allowed values are 'error', 'zero', 'edge'")


class EpochCutter:
    """Cut epochs at stimulus onset and resample them to the target window.

    Parameters
    ----------
    src_sfreq : float
        Source sampling rate, Hz.
    tmin_s : float
        Time of the first source sample relative to onset, seconds (negative when the
        epoch has a pre-stimulus part).
    n_src : int
        Samples per source epoch.
    options : LoadOptions
        Target rate, length and padding policy.

    Attributes
    ----------
    up, down : int
        Resampling factors (``sfreq / src_sfreq = up / down``).
    first_time_s : float
        Time of the first stored sample relative to onset (0.0 unless ``tmin_s > 0``).
    """

    def __init__(self, src_sfreq: float, tmin_s: float, n_src: int, options: LoadOptions) -> None:
        if src_sfreq <= 0:
            raise DataSetError(f"source sampling rate must be positive, got {src_sfreq} Hz")
        ratio = Fraction(options.sfreq).limit_denominator(10**6) / Fraction(src_sfreq).limit_denominator(10**6)
        ratio = ratio.limit_denominator(1000)
        if abs(float(ratio) * src_sfreq - options.sfreq) > 1e-3:
            logger.warning("resampling %g -> %g Hz approximated as %s", src_sfreq, options.sfreq, ratio)
        self.up, self.down = ratio.numerator, ratio.denominator
        self.n_times = options.n_times
        self.pad = options.pad
        self.onset = max(0, math.ceil(-tmin_s * src_sfreq - 1e-6))
        self.first_time_s = tmin_s + self.onset / src_sfreq
        self.start = self.onset - self.down * (self.onset // self.down)
        self.skip = (self.onset - self.start) * self.up // self.down
        self.available = ((n_src - self.onset) * self.up) // self.down
        self.n_src = n_src
        self.src_sfreq = src_sfreq
        if self.available < self.n_times and self.pad == "error":
            raise DataSetError(
                f"epochs hold {(n_src - self.onset) / src_sfreq:.3f} s after stimulus onset "
                f"({self.available} samples at {options.sfreq:g} Hz) but the window needs "
                f"{self.n_times} samples; use n_times <= {self.available} (config window.samples) "
                "or pad='zero'/'edge'"
            )

    def describe(self) -> str:
        """One line: rate change, cut and padding."""
        text = (
            f"epochs of {self.n_src} samples at {self.src_sfreq:g} Hz cut at onset "
            f"(dropped {self.onset} pre-stimulus samples)"
        )
        if self.up != self.down:
            text += f", resampled x{self.up}/{self.down}"
        if self.available < self.n_times:
            text += f", padded ({self.pad}) from {self.available} to {self.n_times} samples"
        return text

    def __call__(self, data: np.ndarray) -> np.ndarray:
        """Cut (and resample) epochs.

        Parameters
        ----------
        data : np.ndarray
            ``(..., n_channels, n_src)`` source epochs.

        Returns
        -------
        np.ndarray
            float64 ``(..., n_channels, n_times)`` from onset at the target rate.
        """
        if data.shape[-1] != self.n_src:
            raise DataSetError(f"epoch has {data.shape[-1]} samples, expected {self.n_src}")
        x = np.asarray(data[..., self.start :], dtype=np.float64)
        if self.up != self.down:
            x = resample_poly(x, self.up, self.down, axis=-1, padtype="line")
        x = x[..., self.skip : self.skip + min(self.n_times, self.available)]
        short = self.n_times - x.shape[-1]
        if short > 0:
            widths = [(0, 0)] * (x.ndim - 1) + [(0, short)]
            x = np.pad(x, widths, mode="edge" if self.pad == "edge" else "constant")
        return x
