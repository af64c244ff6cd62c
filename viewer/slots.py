"""Latest-wins hand-off from engine threads to the drawing thread.

The engine calls a sink's ``on_*`` methods from its own threads and needs them back
within about a millisecond, so the viewer only stores the newest item in a one-slot
mailbox; the drawing thread takes it when it is ready to draw. An item overwritten
before it was drawn is counted as skipped, never queued.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

from brain3d.results import Cloud, Decoded, Described
from realtime.mailbox import LatestMailbox
from realtime.sinks import EngineStatus

T = TypeVar("T")


class LatestSlot(LatestMailbox[T]):
    """The engine's one-slot latest-wins mailbox, read without waiting by the drawing thread.

    Attributes
    ----------
    received : int
        Items put so far.
    skipped : int
        Items overwritten before anyone took them.
    """

    @property
    def received(self) -> int:
        """Items put so far."""
        return self.put_count

    @property
    def skipped(self) -> int:
        """Items overwritten before anyone took them."""
        return self.overwritten

    def take(self) -> T | None:
        """Return the newest untaken item and empty the slot (None when nothing is new)."""
        return self.get(timeout=0)


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
