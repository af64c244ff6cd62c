"""Result types that travel along the one data path (see ``DESIGN.md``).

``Window`` is cut once by acquisition; every later result refers to its window by
sequence number and carries one :class:`Trace` of timestamps on one clock, the LSL
clock (``pylsl.local_clock()``, seconds). "Latency" always means: LSL time of the
window's last sample -> the time a stage's result is available.

These live on the lowest floor so that acquisition, realtime, viewer and the session
files share them without importing each other.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

import numpy as np

from brain3d.pointcloud import PointCloud
from brain3d.schema import Description


class WindowFlag(enum.IntFlag):
    """Why a window may not be fit for the model (combinable)."""

    NONE = 0
    NON_FINITE = enum.auto()  #: NaN or Inf samples
    FLAT = enum.auto()  #: a channel with (near) zero variance
    SATURATED = enum.auto()  #: a channel beyond the saturation threshold
    GAP = enum.auto()  #: the window spans a stream gap (samples lost)
    CLOCK_JUMP = enum.auto()  #: the window spans a clock reset or jump
    INTERPOLATED = enum.auto()  #: some channels were interpolated or zero-filled

    @property
    def usable(self) -> bool:
        """True when nothing about the window forbids feeding it to the model."""
        return not (self & (WindowFlag.NON_FINITE | WindowFlag.FLAT | WindowFlag.SATURATED))


#: The viewer stamps for a window's decoded image and for its cloud being on screen.
DISPLAY_IMAGE = "display_image"
DISPLAY_CLOUD = "display_cloud"
#: Trace stamps in pipeline order (every latency is last sample -> one of these).
STAGES = ("buffered", "preprocessed", "inference", "description", "cloud", DISPLAY_IMAGE, DISPLAY_CLOUD)


@dataclass
class Trace:
    """Timestamps of one window's journey, seconds on the LSL clock.

    Attributes
    ----------
    window_end : float
        LSL time of the window's last sample (the latency origin).
    stamps : dict of str to float
        Stage name -> LSL time that stage finished (:data:`STAGES`: ``"buffered"``,
        ``"preprocessed"``, ``"inference"``, ``"description"``, ``"cloud"``, and the
        viewer's ``"display_image"`` / ``"display_cloud"``: the frame showing the window's
        decoded image / its cloud was on screen; the two are separate because a window's
        image and cloud share this trace and appear at different times).
    """

    window_end: float
    stamps: dict[str, float] = field(default_factory=dict)

    def mark(self, stage: str, when: float) -> None:
        """Record that ``stage`` finished at LSL time ``when``."""
        self.stamps[stage] = when

    def latency(self, stage: str) -> float:
        """Seconds from the window's last sample to ``stage`` (KeyError if not reached)."""
        return self.stamps[stage] - self.window_end

    def latencies_ms(self) -> dict[str, float]:
        """Every stage's latency in milliseconds."""
        return {stage: (t - self.window_end) * 1e3 for stage, t in self.stamps.items()}


@dataclass
class Window:
    """One model-ready window of EEG.

    Attributes
    ----------
    seq : int
        Sequence number, 0, 1, 2, ... per run (gaps never reuse numbers).
    data : np.ndarray
        (channels, samples) float32 microvolts at the model rate, model channel order,
        resampled and filtered (band-pass, notch); re-referencing and normalisation are
        applied right before the model by :func:`brain3d.normalization.prepare_windows`,
        the same function training uses.
    t_first, t_last : float
        LSL times of the first and last samples, seconds.
    flags : WindowFlag
        Quality flags; windows that are not ``flags.usable`` are not fed to the model.
    trace : Trace
        Timestamps so far (``buffered``, ``preprocessed``).
    """

    seq: int
    data: np.ndarray
    t_first: float
    t_last: float
    flags: WindowFlag = WindowFlag.NONE
    trace: Trace = field(default_factory=lambda: Trace(float("nan")))

    def __post_init__(self) -> None:
        if np.isnan(self.trace.window_end):
            self.trace.window_end = self.t_last


@dataclass
class Decoded:
    """The fast path's output for one window.

    Attributes
    ----------
    seq : int
        Sequence number of the window it came from.
    latent : np.ndarray
        (latent_dim,) float32 EEG latent.
    image : np.ndarray
        (H, W, 3) uint8 RGB decoded image.
    trace : Trace
        The window's trace, with ``"inference"`` marked.
    simulated : bool
        True when the EEG came from the simulator (SIMULATED EEG, not recorded).
    """

    seq: int
    latent: np.ndarray
    image: np.ndarray
    trace: Trace
    simulated: bool = False


@dataclass
class Described:
    """A describer backend's output for one decoded window.

    Attributes
    ----------
    seq : int
        Sequence number of the window the description was made from.
    description : brain3d.schema.Description
        Always valid against the schema (backends fall back rather than emit garbage).
    image : np.ndarray
        (H, W, 3) uint8 decoded image the description was made from.
    trace : Trace
        With ``"description"`` marked.
    problems : list of str
        What a backend had to repair or drop (empty when none).
    """

    seq: int
    description: Description
    image: np.ndarray
    trace: Trace
    problems: list[str] = field(default_factory=list)


@dataclass
class Cloud:
    """A 3D generator's output for one description.

    Attributes
    ----------
    seq : int
        Sequence number of the window it stems from.
    cloud : brain3d.pointcloud.PointCloud
        Points in the scene frame (metres) with colours.
    description : brain3d.schema.Description
        The description it was conditioned on.
    trace : Trace
        With ``"cloud"`` marked.
    """

    seq: int
    cloud: PointCloud
    description: Description
    trace: Trace
