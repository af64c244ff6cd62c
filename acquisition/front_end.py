"""The input front end of a stream: units, channel mapping, NaN bridging and anti-aliasing.

Runs once per chunk, at the input rate, whatever number of resampling grids follow it
(:func:`acquisition.preprocessing.window_phases` asks for two at 500 Hz, four at 250 Hz):
every grid resamples the same anti-aliased signal, so computing it once per grid would
repeat identical work. Each :class:`~acquisition.preprocessing.StreamPreprocessor` then
resamples and filters (band-pass, notch) :class:`FrontEndChunk` s on its own grid.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from acquisition.base import StreamDescription
from acquisition.iir import SOSFilter
from brain3d.config import ChannelsConfig, PreprocessingConfig
from brain3d.data.montage_mapping import ChannelMapping, map_channels
from brain3d.errors import ChannelError, ConfigError, StreamError

logger = logging.getLogger(__name__)

#: Unit spellings (lower case) -> factor to microvolts.
UNITS_TO_UV: dict[str, float] = {
    "v": 1e6, "volt": 1e6, "volts": 1e6,
    "mv": 1e3, "millivolt": 1e3, "millivolts": 1e3,
    "uv": 1.0, "µv": 1.0, "μv": 1.0, "microvolt": 1.0, "microvolts": 1.0,
    "nv": 1e-3, "nanovolt": 1e-3, "nanovolts": 1e-3,
}  # fmt: skip


#: Canonical names of the factors in :data:`UNITS_TO_UV`.
_CANONICAL = {1e6: "V", 1e3: "mV", 1.0: "uV", 1e-3: "nV"}


def unit_factor(units: str) -> float | None:
    """Factor from ``units`` to µV, or None when the spelling is not a known unit.

    Besides the names in :data:`UNITS_TO_UV` (any case), an integer is read as
    mne-lsl's convention: a power of ten of volts (``"0"`` = V, ``"-6"`` = µV), from
    -12 to 3.

    Examples
    --------
    >>> unit_factor("V"), unit_factor("microvolts"), unit_factor("counts"), unit_factor("-6"), unit_factor("0")
    (1000000.0, 1.0, None, 1.0, 1000000.0)
    """
    if not units:
        return None
    text = units.strip().lower()
    if text.lstrip("+-").isdigit() and -12 <= int(text) <= 3:
        return float(10.0 ** (int(text) + 6))
    return UNITS_TO_UV.get(text)


def canonical_unit(units: str) -> str | None:
    """``V``, ``mV``, ``uV`` or ``nV`` for a known spelling or mne-lsl exponent (``"-3"`` ->
    ``mV``); the exponent itself for other powers of ten (``"-12"``); None when unknown."""
    factor = unit_factor(units)
    if factor is None:
        return None
    return _CANONICAL.get(factor, units.strip())


def resolve_units(description: StreamDescription, input_units: str) -> tuple[str, float]:
    """Units the data are in and the factor to µV.

    The stream's declaration wins when it is a known unit (a recording replayed in
    volts says so); ``input_units`` (config ``preprocessing.input_units``) is used for
    streams that declare nothing usable. A disagreement is logged as a warning.
    """
    declared = unit_factor(description.units)
    configured = unit_factor(input_units)
    if configured is None:
        raise ConfigError(
            f"preprocessing.input_units = {input_units!r}: allowed values are V, mV, uV"
        )
    if declared is None:
        logger.info(
            "stream %r declares units %r (not a known unit); using preprocessing.input_units = %s",
            description.name, description.units, input_units,
        )
        return input_units, configured
    if declared != configured:
        logger.warning(
            "stream %r declares its data in %s but preprocessing.input_units = %s; using the "
            "stream's %s. If the stream mislabels its units, fix the source's unit metadata",
            description.name, description.units, input_units, description.units,
        )
    return description.units, declared


@dataclass
class FrontEndChunk:
    """One chunk after the front end.

    Attributes
    ----------
    x : np.ndarray
        (n_samples, n_model_channels) float64 µV, model channel order, anti-aliased
        (when the resampler downsamples), non-finite inputs bridged.
    timestamps : np.ndarray
        (n_samples,) float64, LSL clock seconds.
    bad : np.ndarray or None
        (n_samples, n_model_channels) bool: bridged inputs (not real data); None when
        every input was finite.
    primed : np.ndarray or None
        (n_model_channels,) bool: channels whose first finite sample is in this chunk;
        a grid primes its state for them with ``prime_values``. None when there are none.
    prime_values : np.ndarray or None
        (n_model_channels,) float64 steady-state values for ``primed``.
    """

    x: np.ndarray
    timestamps: np.ndarray
    bad: np.ndarray | None = None
    primed: np.ndarray | None = None
    prime_values: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.timestamps)


class InputFrontEnd:
    """Units + channels in one matrix product, NaN bridging, the anti-alias filter.

    Parameters
    ----------
    description : StreamDescription
        What the source delivers (channel names, units).
    channels : ChannelsConfig
        The model's channels and the missing-channel policy.
    preprocessing : PreprocessingConfig
        ``input_units`` when the stream does not declare known units.
    anti_alias : np.ndarray, optional
        (n_sections, 6) SOS of the resampler's causal anti-alias low-pass at the input
        rate (:attr:`StreamingResampler.aa_sos`); None: no filtering here.

    Attributes
    ----------
    mapping : ChannelMapping
        Source -> model channels.
    units : str
        The units the input is read in.
    filled_channels, zero_filled_channels : tuple of int
        Model channels without a source channel (interpolated or zero-filled) / the
        zero-filled ones.
    samples_in, nonfinite_samples : int
        Input samples, and input samples with any non-finite channel.

    Raises
    ------
    ChannelError
        Channel names do not match the model's (see ``map_channels``).
    ConfigError
        Unknown units.
    """

    def __init__(self, description: StreamDescription, channels: ChannelsConfig, preprocessing: PreprocessingConfig,
                 anti_alias: np.ndarray | None = None) -> None:  # fmt: skip
        self.description = description
        self.units, scale = resolve_units(description, preprocessing.input_units)
        self.mapping: ChannelMapping = map_channels(description.channel_names, channels.names,
                                                    missing=channels.missing)  # fmt: skip
        filled = [channels.names.index(name) for name in self.mapping.missing]
        self.filled_channels = tuple(filled)
        self.zero_filled_channels = tuple(filled) if self.mapping.policy == "zero" else ()
        self.n_channels = self.mapping.n_model
        self._matrix_t = np.ascontiguousarray((self.mapping.matrix * scale).T)  # (n_source, n_model)
        self._feeds = self._matrix_t != 0  # source channel -> model channels it feeds
        self.anti_alias = anti_alias
        self.reset()

    def reset(self) -> None:
        """Forget all state (e.g. after a stream restart)."""
        self._aa = SOSFilter(self.anti_alias, self.n_channels) if self.anti_alias is not None else None
        self._primed = np.zeros(self.n_channels, dtype=bool)
        self._last_good = np.zeros(self.n_channels)
        self.samples_in = 0
        self.nonfinite_samples = 0

    def process(self, data: np.ndarray, timestamps: np.ndarray) -> FrontEndChunk:
        """One chunk as received -> model channels in µV, anti-aliased.

        Parameters
        ----------
        data : np.ndarray
            (n_samples, n_source_channels), source units and order (not modified).
        timestamps : np.ndarray
            (n_samples,) float64, LSL clock seconds.

        Raises
        ------
        ChannelError
            The chunk does not have the description's channel count.
        StreamError
            Not one timestamp per sample.
        """
        data = np.asarray(data)
        timestamps = np.asarray(timestamps, dtype=np.float64)
        n = len(timestamps)
        if data.ndim != 2 or data.shape[1] != self.mapping.n_source:
            raise ChannelError(
                f"stream {self.description.name!r}: chunk of shape {data.shape} does not have the "
                f"{self.mapping.n_source} channels of its description; rebuild the preprocessor "
                "when the stream's channels change"
            )
        if data.shape[0] != n:
            raise StreamError(
                f"stream {self.description.name!r}: {data.shape[0]} samples but {n} timestamps; "
                "a source must give one timestamp per sample"
            )
        if n == 0:
            return FrontEndChunk(np.empty((0, self.n_channels)), timestamps)
        finite = np.isfinite(data)
        if finite.all():
            x = data @ self._matrix_t if data.dtype == np.float64 else data.astype(np.float64) @ self._matrix_t
            bad = None
        else:
            x, bad = self._bridge(data, finite)
        primed, values = self._prime(x, bad)
        self._last_good = x[-1].copy()
        if self._aa is not None:
            x = self._aa(x)
        self.samples_in += n
        return FrontEndChunk(x, timestamps, bad, primed, values)

    def _bridge(self, data: np.ndarray, finite: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Map channels with non-finite inputs held at the last finite value; mark them bad."""
        n = len(data)
        first_time = self.nonfinite_samples == 0
        self.nonfinite_samples += int((~finite).any(axis=1).sum())
        if first_time:
            logger.warning(
                "stream %r: non-finite samples (NaN/Inf); affected output samples are NaN and "
                "their windows flagged NON_FINITE (counted in nonfinite_samples)", self.description.name,
            )
        clean = np.where(finite, data, 0).astype(np.float64)
        x = clean @ self._matrix_t
        bad = ((~finite).astype(np.float64) @ self._feeds) > 0  # model channels touched
        good = ~bad
        rows = np.arange(n)[:, None]
        last = np.where(good, rows, -1)
        np.maximum.accumulate(last, axis=0, out=last)  # index of the last good row so far
        has_good = good.any(axis=0)
        first_good = np.argmax(good, axis=0)
        # before the first good row: the last good value of the previous chunk, or (for a
        # channel never seen finite) the first good value of this chunk
        lead = np.where(self._primed, self._last_good, np.where(has_good, x[first_good, np.arange(x.shape[1])], 0.0))
        held = np.take_along_axis(x, np.maximum(last, 0), axis=0)
        x = np.where(last >= 0, held, lead[None, :])
        return x, bad

    def _prime(self, x: np.ndarray, bad: np.ndarray | None) -> tuple[np.ndarray | None, np.ndarray | None]:
        """Steady-state anti-alias state for channels seeing their first finite sample; those channels."""
        if self._primed.all():
            return None, None
        new = ~self._primed if bad is None else ~self._primed & (~bad).any(axis=0)
        if not new.any():
            return None, None
        values = x[0].copy()  # bridged: the first good value for channels that had none before
        if self._aa is not None:
            self._aa.prime(new, values)
        self._primed |= new
        return new, values


__all__ = ["UNITS_TO_UV", "FrontEndChunk", "InputFrontEnd", "canonical_unit", "resolve_units", "unit_factor"]
