"""Latest-wins hand-off from engine threads to the drawing thread.

The engine calls a sink's ``on_*`` methods from its own threads and needs them back
within about a millisecond, so the viewer only stores the newest item in a one-slot
mailbox; the drawing thread takes it when it is ready to draw. An item overwritten
before it was drawn is counted as skipped, never queued.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Generic, TypeVar

from brain3d.results import Cloud, Decoded, Described
from realtime.sinks import EngineStatus

T = TypeVar("T")


class LatestSlot(Generic[T]):
    """A thread-safe one-item mailbox that overwrites.

    Attributes
    ----------
    received : int
        Items put so far.
    skipped : int
        Items overwritten before anyone took them.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._item: T | None = None
        self.received = 0
        self.skipped = 0

    def put(self, item: T) -> None:
        """Store ``item``, replacing (and counting) an untaken one. Never blocks for long."""
        with self._lock:
            if self._item is not None:
                self.skipped += 1
            self._item = item
            self.received += 1

    def take(self) -> T | None:
        """Return the newest untaken item and empty the slot (None when nothing is new)."""
        with self._lock:
            item, self._item = self._item, None
            return item


@dataclass
class SinkSlots:
    """The four mailboxes a viewer sink fills from the engine's threads."""

    decoded: LatestSlot[Decoded]
    described: LatestSlot[Described]
    cloud: LatestSlot[Cloud]
    status: LatestSlot[EngineStatus]

    @classmethod
    def create(cls) -> SinkSlots:
        """Four empty slots."""
        return cls(LatestSlot(), LatestSlot(), LatestSlot(), LatestSlot())


class SlotSink:
    """Base of the viewer sinks: the :class:`realtime.sinks.Sink` methods fill slots.

    Subclasses draw from ``self.slots`` in their own thread and implement ``close``.
    """

    def __init__(self) -> None:
        self.slots = SinkSlots.create()

    def on_decoded(self, item: Decoded) -> None:
        """Keep the newest decoded window (called on the fast-path thread)."""
        self.slots.decoded.put(item)

    def on_described(self, item: Described) -> None:
        """Keep the newest description."""
        self.slots.described.put(item)

    def on_cloud(self, item: Cloud) -> None:
        """Keep the newest point cloud."""
        self.slots.cloud.put(item)

    def on_status(self, status: EngineStatus) -> None:
        """Keep the newest engine status."""
        self.slots.status.put(status)

    def close(self) -> None:  # pragma: no cover - subclasses implement it
        raise NotImplementedError
