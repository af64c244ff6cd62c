"""Keep the 3D sampler off the CPU while a window's fast path is due.

On a 2-core machine the point diffusion sampler keeps one core busy all the time, and
the fast path (acquisition wake-up, preprocessing, onnxruntime) then shares the other
with everything else: measured in the engine, the onnxruntime call's wall time grew by
0.6 ms at p50 and 2.7 ms at p99 over its CPU time when the stages ran, and image
latency with the near-free ``layout`` 3D backend was 1-3 ms lower than with diffusion.

The engine knows when the next window will be complete: its last sample is due at
``t_last + hop / sfreq``. After each window it publishes that moment (monotonic clock)
through two shared doubles. The 3D sampler calls a :class:`StepPacer` before each
denoiser step; the pacer does not start a step that would still be running when the
window is due, and waits until the engine has published the following window (the
fast path is done) or a budget has passed. The 3D stage loses about one step plus one
fast path per window (~10 % of its time at 8 windows/s).

Both sides use ``time.monotonic`` (the engine converts from the LSL clock), which is
one clock for all processes of a machine.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import time
from typing import Any

logger = logging.getLogger(__name__)

#: Seconds before the window's last sample is due at which the 3D step must be over
#: (the sample still has to reach the acquisition thread).
LEAD_S = 0.001
#: Longest pause for one window, seconds after it is due: a window that never reaches
#: the fast path (unusable, or the stream stalled) must not stop the 3D stage.
BUDGET_S = 0.02
#: Polling interval while paused, seconds.
POLL_S = 0.0005
#: Two calls of the pacer further apart than this are not consecutive steps of one cloud.
_STEP_GAP_S = 0.25


class FastPathSchedule:
    """When the next window is due, shared between the engine and stage processes.

    Picklable into a spawned child (at process start, as ``Process`` args); the engine
    calls :meth:`expect`, the stage builds a :class:`StepPacer` with :meth:`pacer`.

    Parameters
    ----------
    lead_s : float
        Seconds before the window is due at which a 3D step must be over.
    budget_s : float
        Seconds after the window is due at which the stage resumes even if the fast path
        has not reported.
    """

    def __init__(self, lead_s: float = LEAD_S, budget_s: float = BUDGET_S) -> None:
        self.lead_s = float(lead_s)
        self.budget_s = float(budget_s)
        # [due, resume_at], time.monotonic() seconds; 0 = nothing due
        self._times: Any = mp.get_context("spawn").RawArray("d", 2)

    def expect(self, due: float) -> None:
        """The next window's last sample is due at ``due`` (``time.monotonic`` seconds).

        Calling it also tells paused stages that the previous window's fast path is done.
        """
        self._times[1] = due + self.budget_s  # written first: a reader never sees a new due with an old end
        self._times[0] = due

    def clear(self) -> None:
        """Nothing is due (the engine stops): paused stages resume."""
        self._times[0] = 0.0
        self._times[1] = 0.0

    @property
    def due(self) -> float:
        """Monotonic time the next window is due (0 when none)."""
        return float(self._times[0])

    @property
    def resume_at(self) -> float:
        """Monotonic time after which stages resume whatever happens (0 when none)."""
        return float(self._times[1])

    def pacer(self) -> StepPacer:
        """A :class:`StepPacer` for a sampler's loop (in whichever process runs it)."""
        return StepPacer(self)


class StepPacer:
    """Called before each denoiser step: waits while that step would delay the fast path.

    Attributes
    ----------
    step_s : float
        Running estimate of one step's duration, seconds.
    pauses : int
        Steps held back so far.
    paused_s : float
        Seconds spent waiting so far.
    """

    def __init__(self, schedule: FastPathSchedule) -> None:
        self.schedule = schedule
        self.step_s = 0.0
        self.pauses = 0
        self.paused_s = 0.0
        self._last_end: float | None = None

    def __call__(self) -> None:
        now = time.monotonic()
        if self._last_end is not None and now - self._last_end < _STEP_GAP_S:
            step = now - self._last_end
            self.step_s = step if self.step_s == 0.0 else 0.7 * self.step_s + 0.3 * step
        schedule = self.schedule
        due = schedule.due
        resume_at = schedule.resume_at
        if due > 0.0 and now < resume_at and now + self.step_s + schedule.lead_s >= due:
            started = now
            while now < resume_at and schedule.due == due:
                time.sleep(POLL_S)
                now = time.monotonic()
            self.pauses += 1
            self.paused_s += now - started
            if schedule.due == due:  # the budget ran out: no window reached the fast path
                logger.debug("3D step resumed after %.1f ms without the fast path reporting the window "
                             "due %.1f ms earlier", (now - started) * 1e3, (now - due) * 1e3)
        self._last_end = time.monotonic()
