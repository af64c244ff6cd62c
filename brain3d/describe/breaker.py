"""A circuit breaker, so that a dead server costs the pipeline (almost) nothing.

``closed``: requests go through; ``failures`` consecutive failures open it.
``open``: requests are refused at once for ``cooldown_s`` seconds.
``half_open``: after the cool-down one trial request goes through; success closes
the breaker, failure opens it for another cool-down.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Literal

logger = logging.getLogger(__name__)

BreakerState = Literal["closed", "open", "half_open"]


class CircuitBreaker:
    """Thread-safe circuit breaker.

    Parameters
    ----------
    failures : int
        Consecutive failures that open the breaker.
    cooldown_s : float
        Seconds the breaker stays open before letting one trial request through.
    clock : callable
        Monotonic seconds (injectable for tests).
    """

    def __init__(self, failures: int = 3, cooldown_s: float = 30.0, clock: Callable[[], float] = time.monotonic) -> None:
        if failures < 1 or cooldown_s <= 0:
            raise ValueError("failures must be >= 1 and cooldown_s > 0")
        self.failures = failures
        self.cooldown_s = cooldown_s
        self._clock = clock
        self._lock = threading.Lock()
        self._consecutive = 0
        self._opened_at: float | None = None
        self._trial_in_flight = False

    @property
    def state(self) -> BreakerState:
        """``closed``, ``open`` or ``half_open`` (cool-down over, trial allowed or running)."""
        with self._lock:
            return self._state_locked()

    def _state_locked(self) -> BreakerState:
        if self._opened_at is None:
            return "closed"
        if self._clock() - self._opened_at >= self.cooldown_s:
            return "half_open"
        return "open"

    def allow(self) -> bool:
        """Whether a request may go out now (in half-open state: only one at a time)."""
        with self._lock:
            state = self._state_locked()
            if state == "closed":
                return True
            if state == "half_open" and not self._trial_in_flight:
                self._trial_in_flight = True
                return True
            return False

    def retry_in_s(self) -> float:
        """Seconds until the breaker half-opens (0 when not open)."""
        with self._lock:
            if self._opened_at is None:
                return 0.0
            return max(0.0, self.cooldown_s - (self._clock() - self._opened_at))

    def record_success(self) -> None:
        """A request succeeded: close the breaker."""
        with self._lock:
            if self._opened_at is not None:
                logger.info("circuit breaker closed: the server answers again")
            self._consecutive, self._opened_at, self._trial_in_flight = 0, None, False

    def record_failure(self) -> None:
        """A request failed: count it, and open (or re-open) the breaker when due."""
        with self._lock:
            self._consecutive += 1
            was_trial = self._trial_in_flight
            self._trial_in_flight = False
            if was_trial or self._consecutive >= self.failures:
                if self._opened_at is None or was_trial:
                    logger.warning("circuit breaker open for %.1f s after %d failure(s)", self.cooldown_s,
                                   self._consecutive)
                self._opened_at = self._clock()
