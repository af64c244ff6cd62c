"""Map a source's EEG channels onto the model's channels, by name.

Names are compared after normalisation (:func:`normalize_channel_name`): case is
ignored, vendor decorations are removed (PhysioNet EDF ``Fc5.``/``Fp1..``, trailing dots,
underscores and spaces, ``EEG`` prefixes and reference suffixes such as ``EEG Fp1-REF``
or ``EEG FP1-LE``) and the old 10-20 temporal names are renamed (``T3/T4/T5/T6`` ->
``T7/T8/P7/P8``). Bipolar labels (``Fp1-F7``) are *not* matched.

Model channels the source lacks are handled by a policy (config ``channels.missing``):

* ``error``: raise :class:`~brain3d.errors.ChannelError` naming them,
* ``zero``: fill them with zeros,
* ``interpolate``: spherical-spline interpolation from the matched channels, with the
  positions of MNE's standard 10-05 montage (``colin27_1005``, or ``standard_1005`` on
  MNE before 1.13). The interpolation matrix is computed once, through MNE's public
  ``interpolate_bads``, and cached.

:meth:`ChannelMapping.apply` is one matrix product ``W @ data`` with ``W`` of shape
``(n_model, n_source)``: matched rows are one-hot (values copied exactly), interpolated
rows hold spline weights, zero-filled rows are zero.
"""

from __future__ import annotations

import functools
import logging
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from brain3d.channels import STANDARD_64
from brain3d.errors import ChannelError

logger = logging.getLogger(__name__)

MissingPolicy = Literal["error", "zero", "interpolate"]
MISSING_POLICIES: tuple[str, ...] = ("error", "zero", "interpolate")

#: Old 10-20 names (lower case) -> their 10-10 names (lower case).
OLD_NAMES: dict[str, str] = {"t3": "t7", "t4": "t8", "t5": "p7", "t6": "p8"}

_PREFIX = re.compile(r"^(eeg)[\s_:-]*", re.IGNORECASE)
_REF_SUFFIX = re.compile(
    r"[\s_-]+(ref|le|re|ar|avg|average|car|cz|m1|m2|a1|a2|a1a2|m1m2|linked)$", re.IGNORECASE
)
_TRAILING = re.compile(r"[\s._]+$")
_LEADING = re.compile(r"^[\s._]+")


def normalize_channel_name(name: str) -> str:
    """Canonical lower-case key of a channel label.

    Parameters
    ----------
    name : str
        Label as the source spells it, e.g. ``"Fc5."``, ``"EEG FP1-REF"``, ``"T3"``.

    Returns
    -------
    str
        Key compared between source and model, e.g. ``"fc5"``, ``"fp1"``, ``"t7"``.

    Examples
    --------
    >>> [normalize_channel_name(n) for n in ("Fc5.", "EEG Fp1-REF", "FP1", "T5", "Oz__")]
    ['fc5', 'fp1', 'fp1', 'p7', 'oz']
    """
    key = _TRAILING.sub("", _LEADING.sub("", name.strip()))
    if _PREFIX.match(key) and len(_PREFIX.sub("", key)) > 0:
        key = _PREFIX.sub("", key)
    key = _TRAILING.sub("", _REF_SUFFIX.sub("", key))
    key = key.replace(" ", "").lower()
    return OLD_NAMES.get(key, key)


@dataclass(frozen=True)
class ChannelMapping:
    """How a source's channels become the model's channels.

    Attributes
    ----------
    model_channels : tuple of str
        Output channels, in model order (length ``n_model``).
    source_channels : tuple of str
        Input channels, in source order (length ``n_source``).
    matched : dict of str to int
        Model channel -> index of the source channel that feeds it.
    missing : tuple of str
        Model channels without a source channel (zero-filled or interpolated).
    dropped : tuple of str
        Source channels not used (no model channel of that name, or a duplicate).
    policy : {"error", "zero", "interpolate"}
        What was done with ``missing`` channels.
    matrix : np.ndarray
        float64 ``(n_model, n_source)``: ``output = matrix @ input``.
    """

    model_channels: tuple[str, ...]
    source_channels: tuple[str, ...]
    matched: dict[str, int]
    missing: tuple[str, ...]
    dropped: tuple[str, ...]
    policy: MissingPolicy
    matrix: np.ndarray = field(repr=False)

    @property
    def n_model(self) -> int:
        """Number of output channels."""
        return len(self.model_channels)

    @property
    def n_source(self) -> int:
        """Number of input channels."""
        return len(self.source_channels)

    def apply(self, data: np.ndarray) -> np.ndarray:
        """Map source-channel data to model channels.

        Parameters
        ----------
        data : np.ndarray
            ``(..., n_source, n_times)``, any units (linear: units are kept).

        Returns
        -------
        np.ndarray
            ``(..., n_model, n_times)``, float32 for float32/integer input, else the
            input's float dtype.
        """
        data = np.asarray(data)
        if data.ndim < 2 or data.shape[-2] != self.n_source:
            raise ChannelError(
                f"data has shape {data.shape}; expected (..., {self.n_source} channels, n_times) "
                f"for source channels {list(self.source_channels)[:8]}..."
            )
        dtype = data.dtype if data.dtype in (np.float32, np.float64) else np.dtype(np.float32)
        return np.matmul(self.matrix.astype(dtype, copy=False), data.astype(dtype, copy=False))

    def report(self) -> str:
        """Human-readable summary: matched, interpolated or zero-filled, dropped."""
        renamed = [
            f"{self.source_channels[i]}->{name}"
            for name, i in self.matched.items()
            if self.source_channels[i] != name
        ]
        lines = [
            f"{len(self.matched)} of {self.n_model} model channels matched by name "
            f"from {self.n_source} source channels"
            + (f" ({len(renamed)} by spelling: {', '.join(renamed)})" if renamed else ""),
        ]
        if self.missing:
            verb = {"interpolate": "interpolated (spherical spline)", "zero": "zero-filled"}.get(
                self.policy, "missing"
            )
            lines.append(f"{len(self.missing)} {verb}: {', '.join(self.missing)}")
        if self.dropped:
            lines.append(f"{len(self.dropped)} source channels dropped: {', '.join(self.dropped)}")
        return "\n".join(lines)


def map_channels(
    source_channels: Sequence[str],
    model_channels: Sequence[str] = STANDARD_64,
    *,
    missing: MissingPolicy = "error",
) -> ChannelMapping:
    """Match source channels to model channels by name and apply the missing policy.

    Parameters
    ----------
    source_channels : sequence of str
        Channel labels of the source, in data order.
    model_channels : sequence of str
        The model's channels (default :data:`~brain3d.channels.STANDARD_64`).
    missing : {"error", "zero", "interpolate"}
        Policy for model channels absent from the source (config ``channels.missing``).

    Returns
    -------
    ChannelMapping

    Raises
    ------
    ChannelError
        Missing channels under the ``error`` policy (the message names them and the
        fix), an unknown policy, no channel matched at all, or, for ``interpolate``,
        model channels without a position in MNE's standard 10-05 montage.
    """
    if missing not in MISSING_POLICIES:
        raise ChannelError(f"channels.missing = {missing!r}: allowed values are {MISSING_POLICIES}")
    model = tuple(model_channels)
    source = tuple(source_channels)
    by_key: dict[str, int] = {}
    dropped: list[str] = []
    model_keys = {normalize_channel_name(name) for name in model}
    for index, name in enumerate(source):
        key = normalize_channel_name(name)
        if key not in model_keys:
            dropped.append(name)
        elif key in by_key:
            # Prefer an exact spelling (e.g. T7 over T3) when two labels mean one channel.
            previous = by_key[key]
            if normalize_channel_name(name) == name.lower() and source[previous].lower() != name.lower():
                dropped.append(source[previous])
                by_key[key] = index
            else:
                dropped.append(name)
        else:
            by_key[key] = index
    matched = {name: by_key[normalize_channel_name(name)] for name in model if normalize_channel_name(name) in by_key}
    absent = tuple(name for name in model if name not in matched)
    if not matched:
        raise ChannelError(
            f"none of the {len(source)} source channels ({', '.join(source[:10])}"
            f"{', ...' if len(source) > 10 else ''}) matches a model channel by name; "
            "pass the cap's 10-10 channel names (e.g. a channel_names argument) or relabel the source"
        )
    if absent and missing == "error":
        raise ChannelError(
            f"the source lacks {len(absent)} of the model's {len(model)} channels: {', '.join(absent)}; "
            "set config channels.missing = zero or interpolate (or pass missing='zero'/'interpolate')"
        )
    matrix = np.zeros((len(model), len(source)), dtype=np.float64)
    model_index = {name: row for row, name in enumerate(model)}
    for name, col in matched.items():
        matrix[model_index[name], col] = 1.0
    if absent and missing == "interpolate":
        good = tuple(name for name in model if name in matched)
        weights = _interpolation_matrix(model, absent)  # (n_absent, n_good), good in model order
        cols = [matched[name] for name in good]
        for r, name in enumerate(absent):
            matrix[model_index[name], cols] = weights[r]
    mapping = ChannelMapping(
        model_channels=model, source_channels=source, matched=matched, missing=absent,
        dropped=tuple(dropped), policy=missing, matrix=matrix,
    )
    logger.info("channel mapping: %s", mapping.report().replace("\n", "; "))
    return mapping


def standard_montage_name() -> str:
    """MNE's standard 10-05 montage name in this MNE (``colin27_1005`` from 1.13)."""
    import mne  # slow import: only when positions are needed

    return "colin27_1005" if "colin27_1005" in mne.channels.get_builtin_montages() else "standard_1005"


@functools.lru_cache(maxsize=32)
def _interpolation_matrix(model: tuple[str, ...], bad: tuple[str, ...]) -> np.ndarray:
    """Spherical-spline weights of bad channels from good ones, ``(n_bad, n_good)``.

    Computed through the public ``interpolate_bads`` on an identity signal: column ``j``
    of the good channels carries a unit impulse at sample ``j``, so the interpolated bad
    rows are exactly the weight matrix. Good channels are in model order.
    """
    import mne  # slow import

    good = [name for name in model if name not in bad]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        montage = mne.channels.make_standard_montage(standard_montage_name())
    known = {name.lower() for name in montage.ch_names}
    unplaced = [name for name in model if name.lower() not in known]
    if unplaced:
        raise ChannelError(
            f"cannot interpolate: model channels {unplaced} have no position in MNE's "
            f"{standard_montage_name()} montage; use 10-05 names or channels.missing = zero"
        )
    info = mne.create_info(list(model), sfreq=1000.0, ch_types="eeg")
    info.set_montage(montage, match_case=False, verbose="error")
    data = np.zeros((len(model), len(good)))
    rows = [model.index(name) for name in good]
    data[rows, np.arange(len(good))] = 1.0
    raw = mne.io.RawArray(data, info, verbose="error")
    raw.info["bads"] = list(bad)
    raw.interpolate_bads(reset_bads=True, mode="accurate", verbose="error")
    weights = raw.get_data(picks=[model.index(name) for name in bad])
    logger.debug("interpolation matrix %s from %d good channels", weights.shape, len(good))
    weights.flags.writeable = False
    return weights
