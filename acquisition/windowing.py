"""Cut preprocessed samples into model windows: :class:`Windower`.

Samples at the model rate (µV, model channels, from
:class:`~acquisition.preprocessing.StreamPreprocessor`) go into one
:class:`~acquisition.ringbuffer.RingBuffer`; every ``window.hop`` samples a
:class:`~brain3d.results.Window` of ``window.samples`` samples is cut. Window ``j``
holds absolute samples ``j * hop .. j * hop + samples - 1``, so ``N`` samples give
``floor((N - samples) / hop) + 1`` windows, whatever the chunking.

Every window is emitted whatever its quality; its :class:`~brain3d.results.WindowFlag`
says what is wrong and config ``preprocessing.bad_window_policy`` decides later whether
it reaches the model. The windower counts windows emitted and flagged per flag kind
(:meth:`Windower.stats`), and logs the first occurrence of each kind, so nothing is
dropped or judged silently.

Flags (all judged on the window's own samples, i.e. the filtered µV the model sees):

* ``NON_FINITE``: any NaN/Inf (the preprocessor writes NaN where the input was not
  finite).
* ``FLAT``: a channel's standard deviation below ``flat_threshold_uv`` (zero-filled
  channels are excluded: they are flat by construction and flagged ``INTERPOLATED``).
* ``SATURATED``: any ``|x| > saturation_uv``.
* ``GAP``: consecutive timestamps more than 1.5 sample periods apart (samples lost).
* ``CLOCK_JUMP``: timestamps that do not increase (a clock reset or backward jump).
* ``INTERPOLATED``: the channel mapping filled some model channels (interpolated or
  zero-filled).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from acquisition.ringbuffer import RingBuffer
from brain3d.clock import lsl_clock
from brain3d.config import PreprocessingConfig, WindowConfig
from brain3d.errors import ChannelError, StreamError
from brain3d.results import Trace, Window, WindowFlag

if TYPE_CHECKING:
    from acquisition.preprocessing import StreamPreprocessor

logger = logging.getLogger(__name__)

#: A timestamp step above this many sample periods is a gap.
GAP_PERIODS = 1.5
#: The flag kinds counted one by one.
COUNTED_FLAGS: tuple[WindowFlag, ...] = (
    WindowFlag.NON_FINITE, WindowFlag.FLAT, WindowFlag.SATURATED,
    WindowFlag.GAP, WindowFlag.CLOCK_JUMP, WindowFlag.INTERPOLATED,
)  # fmt: skip


class Windower:
    """Ring-buffered windowing with quality flags.

    Parameters
    ----------
    window : WindowConfig
        ``samples``, ``hop`` and ``sfreq`` (the rate of the pushed samples, Hz).
    preprocessing : PreprocessingConfig
        ``flat_threshold_uv`` and ``saturation_uv``.
    n_channels : int
        Channels of the pushed samples (the model's channels).
    filled_channels : sequence of int
        Channel indices filled by the channel mapping (every window is flagged
        ``INTERPOLATED`` when non-empty).
    zero_filled_channels : sequence of int
        Channel indices that are zeros by construction (not judged ``FLAT``).
    clock : callable, optional
        Returns the LSL time now, seconds; default ``pylsl.local_clock``.
    capacity : int, optional
        Ring buffer size, samples; default ``max(2 * (samples + hop), 10 s)``.
    name : str
        Stream name for logs.
    first_seq : int
        Sequence number of the first window.
    phase : (int, int)
        ``(p, P)``: cut only windows ``p, p + P, p + 2P, ...`` of the sequence (hop
        ``P * window.hop``, sequence numbers stepping by ``P``), for the ``p``-th of
        ``P`` phase-shifted resampling grids (:func:`acquisition.preprocessing.window_phases`).

    Attributes
    ----------
    ring : RingBuffer
        The buffer (another thread may read recent samples with ``latest``).
    windows_emitted : int
        Windows returned by :meth:`push`.
    windows_flagged : int
        Of those, windows with any flag.
    windows_unusable : int
        Of those, windows that are not ``flags.usable``.
    flag_counts : dict of str to int
        Windows carrying each flag kind (``WindowFlag`` member names).
    """

    def __init__(
        self,
        window: WindowConfig,
        preprocessing: PreprocessingConfig,
        n_channels: int,
        *,
        filled_channels: Sequence[int] = (),
        zero_filled_channels: Sequence[int] = (),
        clock: Callable[[], float] | None = None,
        capacity: int | None = None,
        name: str = "eeg",
        first_seq: int = 0,
        phase: tuple[int, int] = (0, 1),
    ) -> None:
        index, n_phases = (int(v) for v in phase)
        self.samples = int(window.samples)
        self.hop = int(window.hop) * n_phases
        self._seq_step = n_phases
        self.sfreq = float(window.sfreq)
        self.n_channels = int(n_channels)
        self.flat_threshold_uv = float(preprocessing.flat_threshold_uv)
        self.saturation_uv = float(preprocessing.saturation_uv)
        self.name = name
        self._clock = clock or lsl_clock
        cap = capacity if capacity is not None else max(2 * (self.samples + self.hop), int(10 * self.sfreq))
        if cap < self.samples + self.hop:
            raise StreamError(
                f"windower {name!r}: capacity {cap} samples is less than window.samples + window.hop "
                f"({self.samples + self.hop}); give a larger capacity"
            )
        self.ring = RingBuffer(cap, self.n_channels, name=name)
        self.filled_channels = tuple(int(c) for c in filled_channels)
        self.zero_filled_channels = tuple(int(c) for c in zero_filled_channels)
        self._flat_mask = np.ones(self.n_channels, dtype=bool)
        self._flat_mask[list(self.zero_filled_channels)] = False
        self._base_flags = WindowFlag.INTERPOLATED if self.filled_channels else WindowFlag.NONE
        self._max_step = GAP_PERIODS / self.sfreq
        # absolute sample index where the next window starts; phase p of P cuts windows
        # p, p + P, ... of the sequence (see acquisition.preprocessing.window_phases)
        self._next_start = index * int(window.hop)
        self._seq = int(first_seq) + index
        self._scratch = np.empty((self.samples, self.n_channels), dtype=np.float32)
        self._scratch_t = np.empty(self.samples, dtype=np.float64)
        self.windows_emitted = 0
        self.windows_flagged = 0
        self.windows_unusable = 0
        self.flag_counts: dict[str, int] = {str(flag.name): 0 for flag in COUNTED_FLAGS}
        self._logged: set[str] = set()

    @classmethod
    def for_preprocessor(
        cls,
        preprocessor: StreamPreprocessor,
        window: WindowConfig,
        preprocessing: PreprocessingConfig,
        **kwargs: object,
    ) -> Windower:
        """A windower for a preprocessor's output (channels, filled channels, stream name)."""
        return cls(
            window, preprocessing, preprocessor.n_channels,
            filled_channels=preprocessor.filled_channels,
            zero_filled_channels=preprocessor.zero_filled_channels,
            name=preprocessor.description.name,
            **kwargs,  # type: ignore[arg-type]
        )

    @property
    def next_seq(self) -> int:
        """Sequence number the next window will get."""
        return self._seq

    @property
    def pending_samples(self) -> int:
        """Samples buffered towards the next window."""
        return max(0, self.ring.total_written - self._next_start)

    @property
    def samples_to_next_window(self) -> int:
        """Samples still to push before the next window is complete (at least 1)."""
        return max(1, self._next_start + self.samples - self.ring.total_written)

    def push(self, data: np.ndarray, timestamps: np.ndarray) -> list[Window]:
        """Buffer samples and return the windows they complete, oldest first.

        Parameters
        ----------
        data : np.ndarray
            (n_samples, n_channels) µV at ``window.sfreq``, model channel order.
        timestamps : np.ndarray
            (n_samples,) float64, LSL clock seconds.

        Returns
        -------
        list of Window
            Possibly empty. A push larger than the buffer is written in pieces so no
            window is lost.
        """
        data = np.asarray(data)
        timestamps = np.asarray(timestamps)
        if data.ndim != 2 or data.shape[1] != self.n_channels:
            raise ChannelError(
                f"windower {self.name!r}: samples of shape {data.shape}, expected (n, {self.n_channels}); "
                "push the preprocessor's output (model channels as columns)"
            )
        windows: list[Window] = []
        done = 0
        n = len(timestamps)
        while done < n:
            free = self.ring.capacity - self.pending_samples
            step = min(n - done, free)
            self.ring.write(data[done : done + step], timestamps[done : done + step])
            done += step
            while self.ring.total_written >= self._next_start + self.samples:
                windows.append(self._cut(self._next_start))
                self._next_start += self.hop
            self.ring.release(min(self._next_start, self.ring.total_written))
        return windows

    def _cut(self, start: int) -> Window:
        segment = self.ring.read(start, self.samples, out=self._scratch, out_timestamps=self._scratch_t)
        data = np.ascontiguousarray(segment.data.T)  # (channels, samples), a new array
        times = segment.timestamps
        flags = self._judge(data, times)
        t_last = float(times[-1])
        trace = Trace(window_end=t_last)
        window = Window(seq=self._seq, data=data, t_first=float(times[0]), t_last=t_last, flags=flags, trace=trace)
        trace.mark("buffered", self._clock())
        self._seq += self._seq_step
        self._count(flags, window.seq)
        return window

    def _judge(self, data: np.ndarray, times: np.ndarray) -> WindowFlag:
        """Flags of one window. ``data`` is (channels, samples) µV, ``times`` (samples,)."""
        flags = self._base_flags
        if not np.isfinite(data).all():
            flags |= WindowFlag.NON_FINITE
        if self.flat_threshold_uv > 0 and (data.std(axis=1, dtype=np.float64)[self._flat_mask] < self.flat_threshold_uv).any():
            flags |= WindowFlag.FLAT
        if (np.abs(data) > self.saturation_uv).any():
            flags |= WindowFlag.SATURATED
        steps = np.diff(times)
        if (steps > self._max_step).any():
            flags |= WindowFlag.GAP
        if (steps <= 0).any():
            flags |= WindowFlag.CLOCK_JUMP
        return flags

    def _count(self, flags: WindowFlag, seq: int) -> None:
        self.windows_emitted += 1
        if not flags:
            return
        self.windows_flagged += 1
        if not flags.usable:
            self.windows_unusable += 1
        for flag in COUNTED_FLAGS:
            if flags & flag:
                name = str(flag.name)
                self.flag_counts[name] += 1
                if name not in self._logged:
                    self._logged.add(name)
                    level = logging.INFO if flag is WindowFlag.INTERPOLATED else logging.WARNING
                    logger.log(
                        level, "stream %r: window %d is the first flagged %s (further ones are counted "
                        "in the windower's stats)", self.name, seq, name,
                    )

    def stats(self) -> dict[str, object]:
        """JSON-ready counts: windows emitted/flagged/unusable, per flag, ring overflow."""
        return {
            "windows_emitted": self.windows_emitted,
            "windows_flagged": self.windows_flagged,
            "windows_unusable": self.windows_unusable,
            "flags": dict(self.flag_counts),
            "samples_buffered": self.ring.total_written,
            "overflowed_samples": self.ring.overflowed_samples,
        }
