"""When the acquisition thread reads, and how long it waits: wake for windows, not samples.

A headset's LSL app often pushes sample by sample. Waking for each sample costs the live
fast path the interpreter lock and a core hundreds of times a second (py-spy: the
acquisition thread held the lock 4x as long as the fast path did), while only the
samples that complete a window are latency-critical. So :class:`ReadPlanner` asks the
source for the samples that lead up to the next window end, less
:data:`WAKE_MARGIN_SAMPLES`, in one wait, then for one sample at a time until the
window is cut.

Two optional tail guards act in that last stretch (``config.realtime``, measured in
``docs/realtime.md``):

* **approach** (``on_approach``): called once per window when the batch wait is over,
  with the seconds left until the window's last sample is expected, e.g. to warm the
  fast path up;
* **busy poll** (``busy_poll_s``): when only the window's last sample is missing, the
  thread reads without blocking from ``busy_poll_s`` before that sample is expected
  (one input period after the previous one arrived) until ``busy_poll_s`` after it,
  then blocks again. A blocking read is woken by liblsl's receive thread; on an idle
  (or virtual) core that wake-up is where the tail grows. The spinning is bounded to
  ``2 * busy_poll_s`` per window and counted (:attr:`ReadPlanner.spin_s`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

logger = logging.getLogger(__name__)

#: Input samples before the expected end of the next window at which the thread wakes
#: anyway (the estimate is exact for the resampler's grid; this covers rate changes).
WAKE_MARGIN_SAMPLES = 2
#: Longest single wait for a batch of samples, seconds (bounds how fast stop is noticed).
MAX_BATCH_WAIT_S = 0.1


@dataclass(frozen=True)
class ReadStep:
    """One read: wait up to ``wait_s`` seconds (0 = do not block) for ``min_samples``;
    ``spins`` marks the busy poll's non-blocking reads (their time is counted)."""

    wait_s: float
    min_samples: int
    spins: bool = False


class ReadPlanner:
    """The next read of the acquisition thread, from how many inputs the next window needs.

    Parameters
    ----------
    sfreq_in : float
        Input rate, Hz (samples per second of the source's clock).
    timeout_s : float
        Default wait of one read, seconds (bounds how quickly a stop is noticed).
    busy_poll_s : float
        Busy-poll half-width around the expected last sample, seconds (0 = off).
    on_approach : callable, optional
        ``on_approach(due_in_s) -> bool``, once per window when the batch wait is over;
        True when it did work (the next read is then planned with a fresh clock).

    Attributes
    ----------
    spin_s : float
        Wall seconds spent in non-blocking reads so far (the busy poll's CPU cost).
    spin_reads : int
        Non-blocking reads so far.
    approaches : int
        Calls of ``on_approach`` so far.
    """

    def __init__(self, sfreq_in: float, timeout_s: float, *, busy_poll_s: float = 0.0,
                 on_approach: Callable[[float], bool] | None = None) -> None:  # fmt: skip
        if busy_poll_s < 0:
            raise ValueError(f"busy_poll_s={busy_poll_s}: must be >= 0 seconds (0 = off)")
        self.period_s = 1.0 / sfreq_in if sfreq_in > 0 else 0.0
        self.sfreq_in = float(sfreq_in)
        self.timeout_s = float(timeout_s)
        self.busy_poll_s = float(busy_poll_s)
        self.on_approach = on_approach
        self.spin_s = 0.0
        self.spin_reads = 0
        self.approaches = 0
        self._approached = False
        self._last_arrival: float | None = None

    def arrived(self, read_time: float) -> None:
        """Samples arrived at ``read_time`` (LSL clock, seconds)."""
        self._last_arrival = read_time

    def spun(self, seconds: float) -> None:
        """A non-blocking read took ``seconds`` of wall time."""
        self.spin_s += seconds
        self.spin_reads += 1

    def next_read(self, remaining: int, now: float) -> ReadStep:
        """The read to make when ``remaining`` input samples complete the next window.

        Parameters
        ----------
        remaining : int
            Input samples still missing from the next window (>= 1).
        now : float
            LSL clock, seconds.
        """
        batch = remaining - WAKE_MARGIN_SAMPLES
        if batch > 1 or self.period_s == 0.0:
            self._approached = False
            if batch <= 1:
                return ReadStep(self.timeout_s, 1)
            return ReadStep(min(MAX_BATCH_WAIT_S, batch / self.sfreq_in + self.timeout_s), batch)
        expected = None if self._last_arrival is None else self._last_arrival + remaining * self.period_s
        if not self._approached:
            self._approached = True
            if self.on_approach is not None and expected is not None:
                self.approaches += 1
                if self.on_approach(expected - now):  # it took time: look without waiting, then re-plan
                    return ReadStep(0.0, 1)
        if self.busy_poll_s <= 0.0 or remaining != 1 or expected is None:
            return ReadStep(self.timeout_s, 1)
        spin_from = expected - self.busy_poll_s
        if now < spin_from:
            return ReadStep(min(self.timeout_s, spin_from - now), 1)
        if now > expected + self.busy_poll_s:  # a late (or chunked) sender: stop spinning
            return ReadStep(self.timeout_s, 1)
        return ReadStep(0.0, 1, spins=True)


__all__ = ["MAX_BATCH_WAIT_S", "WAKE_MARGIN_SAMPLES", "ReadPlanner", "ReadStep"]
