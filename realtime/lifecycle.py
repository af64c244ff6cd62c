"""Start / stop semantics of a run, apart from what the run does.

:class:`Run` gives a subclass (the :class:`~realtime.engine.Engine`) its public
lifecycle: :meth:`Run.start` opens once (a failed start closes what was opened),
:meth:`Run.request_stop` only sets a flag (safe in signal handlers), :meth:`Run.stop`
tears down exactly once whichever thread calls it (a signal handler interrupting that
teardown returns at once), :meth:`Run.run` does all three for a duration.
"""

from __future__ import annotations

import abc
import threading
from typing import Any, Generic, TypeVar

Result = TypeVar("Result")
Self = TypeVar("Self", bound="Run[Any]")


class Run(abc.ABC, Generic[Result]):
    """A run that opens, goes on in its own threads until asked to stop, and tears down once.

    Subclasses implement :meth:`_open`, :meth:`_teardown` (which sets :attr:`result`) and
    :meth:`_close_partial` (after a failed :meth:`_open`).
    """

    def __init__(self) -> None:
        self.result: Result | None = None
        self._stop_reason: str | None = None
        self._finished = threading.Event()
        self._halt = threading.Event()
        self._teardown_lock = threading.Lock()
        self._teardown_owner: int | None = None
        self._teardown_done = threading.Event()
        self._started = False

    @abc.abstractmethod
    def _open(self) -> None:
        """Open everything and start the threads."""

    @abc.abstractmethod
    def _teardown(self) -> None:
        """Stop the threads, close everything, set :attr:`result`."""

    @abc.abstractmethod
    def _close_partial(self) -> None:
        """Close what a failed :meth:`_open` left open (errors are the caller's to log)."""

    def start(self: Self) -> Self:
        """Open everything and start the threads (returns at once after opening).

        Raises
        ------
        Exception
            Whatever opening raised (all that was opened is closed again).
        """
        if self._started:
            raise RuntimeError(f"{type(self).__name__}.start() was already called; create a new one for another run")
        self._started = True
        try:
            self._open()
        except BaseException:
            self._halt.set()
            self._finished.set()
            self._close_partial()
            raise
        return self

    def request_stop(self, reason: str = "stop requested") -> None:
        """Ask the run to end (returns at once; safe from any thread and signal handlers)."""
        if self._stop_reason is None:
            self._stop_reason = reason
        self._finished.set()

    def stop(self) -> Result | None:
        """Stop and tear down (idempotent, any thread).

        Returns
        -------
        Result or None
            None when the run never started (or another thread is tearing down and this
            call came from inside that teardown, e.g. a signal handler).
        """
        self.request_stop()
        if not self._started:
            return None
        if self._teardown_done.is_set():
            return self.result
        if not self._teardown_lock.acquire(blocking=False):
            if self._teardown_owner == threading.get_ident():
                return None  # a signal handler interrupting our own teardown
            self._teardown_done.wait(120)
            return self.result
        self._teardown_owner = threading.get_ident()
        try:
            if not self._teardown_done.is_set():
                self._teardown()
        finally:
            self._teardown_done.set()
            self._teardown_lock.release()
        return self.result

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until the run is finished (stop requested, source ended or a fatal error).

        Returns
        -------
        bool
            True when finished, False on timeout.
        """
        return self._finished.wait(timeout)

    @property
    def finished(self) -> bool:
        """True once the run should end or has ended."""
        return self._finished.is_set()

    def run(self, duration_s: float | None) -> Result:
        """Start, run for ``duration_s`` seconds (None: until stopped), stop; the result."""
        self.start()
        try:
            if not self.wait(duration_s):
                self.request_stop("duration reached")
        finally:
            result = self.stop()
        assert result is not None
        return result

    def __enter__(self: Self) -> Self:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()


__all__ = ["Run"]
