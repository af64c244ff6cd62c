"""The one interface every EEG source implements (LSL inlet, BrainFlow board, replay, simulator).

A source delivers :class:`Chunk` s of samples with LSL-clock timestamps and reports
anything unusual as :class:`SourceEvent` s (never silently): stream loss and return,
clock jumps, rate mismatch, data loss. Data arrive as received: source units, source
channel order; mapping to the model's channels, resampling and filtering happen after.
"""

from __future__ import annotations

import abc
import enum
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class StreamDescription:
    """What a source delivers.

    Attributes
    ----------
    name, type, source_id : str
        LSL-style identity of the stream.
    channel_names : tuple of str
        Source channel labels, in data order.
    sfreq : float
        Nominal sampling rate in Hz (0 for irregular streams).
    units : str
        Units of the data (``"uV"``, ``"V"``, ...).
    simulated : bool
        True when the data are simulated, not recorded from a person.
    """

    name: str
    type: str
    source_id: str
    channel_names: tuple[str, ...]
    sfreq: float
    units: str = "uV"
    simulated: bool = False

    @property
    def n_channels(self) -> int:
        """Number of channels."""
        return len(self.channel_names)


@dataclass(frozen=True)
class Chunk:
    """Samples as received.

    Attributes
    ----------
    data : np.ndarray
        (n_samples, n_channels) float32, source units and channel order.
    timestamps : np.ndarray
        (n_samples,) float64, LSL clock seconds.
    """

    data: np.ndarray
    timestamps: np.ndarray

    def __len__(self) -> int:
        return len(self.timestamps)


class EventKind(str, enum.Enum):
    """Kinds of source events (also the ``event`` field of ``events.jsonl``)."""

    STREAM_LOST = "stream_lost"
    STREAM_RESTORED = "stream_restored"
    CLOCK_JUMP = "clock_jump"
    NON_MONOTONIC = "non_monotonic_timestamps"
    RATE_MISMATCH = "rate_mismatch"
    DATA_LOSS = "data_loss"
    END_OF_STREAM = "end_of_stream"


@dataclass(frozen=True)
class SourceEvent:
    """Something a source noticed.

    Attributes
    ----------
    kind : EventKind
    time : float
        LSL clock seconds when noticed.
    detail : dict
        JSON-ready specifics (gap length in seconds, jump size, rates, ...).
    """

    kind: EventKind
    time: float
    detail: dict[str, Any] = field(default_factory=dict)


class Source(abc.ABC):
    """An EEG source. Use as a context manager or call :meth:`open` / :meth:`close`.

    Attributes
    ----------
    speed : float
        Stream time per wall-clock time: 1 for live streams; a simulator or a replay run
        faster stamps its samples ``speed`` times faster (LSL clock). The engine paces
        itself by it.
    """

    speed: float = 1.0

    @property
    @abc.abstractmethod
    def description(self) -> StreamDescription:
        """What the source delivers (valid after :meth:`open`)."""

    @abc.abstractmethod
    def open(self) -> None:
        """Connect (resolve the stream, prepare the board, ...)."""

    @abc.abstractmethod
    def read(self, timeout: float = 0.0, min_samples: int = 1) -> Chunk | None:
        """Samples available now, waiting up to ``timeout`` seconds; None if none.

        Parameters
        ----------
        timeout : float
            Seconds to wait.
        min_samples : int
            Samples worth waiting for: a source that can wait for several samples in
            one call (an LSL inlet) returns once this many have arrived or ``timeout``
            has passed, whichever is first. A hint: sources that deliver blocks (a
            board's buffer, the simulator) may ignore it.
        """

    @abc.abstractmethod
    def drain_events(self) -> list[SourceEvent]:
        """Events since the last call."""

    @abc.abstractmethod
    def close(self) -> None:
        """Disconnect and free resources (idempotent)."""

    def __enter__(self) -> Source:
        self.open()
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
