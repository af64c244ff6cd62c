"""Latest-wins hand-off between stages: a one-slot mailbox that overwrites and counts.

A slow consumer always takes the newest item; an item that was never taken because a
newer one replaced it is *skipped* and counted (:attr:`LatestMailbox.overwritten`),
never silently lost. Nothing queues: memory is one item whatever the rates.

The standard library has no such primitive (``queue.Queue(maxsize=1)`` blocks or
raises on ``put`` instead of replacing), hence this small class on a
:class:`threading.Condition`.
"""

from __future__ import annotations

import threading
from typing import Generic, TypeVar

T = TypeVar("T")


class LatestMailbox(Generic[T]):
    """One slot; :meth:`put` replaces what is there, :meth:`get` takes it.

    Parameters
    ----------
    name : str
        For logs and counters (the stage that reads it).

    Attributes
    ----------
    put_count : int
        Items put.
    taken : int
        Items taken by :meth:`get`.
    overwritten : int
        Items replaced before anyone took them (skipped by the consumer).
    """

    def __init__(self, name: str = "mailbox") -> None:
        self.name = name
        self._cond = threading.Condition(threading.Lock())
        self._item: T | None = None
        self._full = False
        self._closed = False
        self.put_count = 0
        self.taken = 0
        self.overwritten = 0

    def put(self, item: T) -> T | None:
        """Leave ``item`` for the consumer; returns the unread item it replaced, if any.

        Never blocks (beyond a lock held for a few instructions). Puts after
        :meth:`close` are ignored.
        """
        with self._cond:
            if self._closed:
                return None
            replaced = self._item if self._full else None
            if self._full:
                self.overwritten += 1
            self._item = item
            self._full = True
            self.put_count += 1
            self._cond.notify()
        return replaced

    def get(self, timeout: float | None = None) -> T | None:
        """The newest item, waiting up to ``timeout`` seconds (None: until one comes).

        Returns
        -------
        item or None
            None on timeout or once the mailbox is closed and empty.
        """
        with self._cond:
            if not self._full and not self._closed:
                self._cond.wait_for(lambda: self._full or self._closed, timeout)
            if not self._full:
                return None
            item = self._item
            self._item = None
            self._full = False
            self.taken += 1
            return item

    def take(self) -> T | None:
        """The newest item without waiting (None when nothing new): for a drawing loop."""
        return self.get(timeout=0)

    def peek(self) -> T | None:
        """The waiting item without taking it (None when empty)."""
        with self._cond:
            return self._item if self._full else None

    @property
    def pending(self) -> bool:
        """True while an item waits to be taken."""
        return self._full

    @property
    def closed(self) -> bool:
        """True after :meth:`close`."""
        return self._closed

    def close(self) -> None:
        """Wake every waiting consumer; later :meth:`get` calls return what is left, then None."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def __repr__(self) -> str:
        return (
            f"LatestMailbox({self.name!r}, put={self.put_count}, taken={self.taken}, "
            f"overwritten={self.overwritten}, pending={self._full})"
        )
