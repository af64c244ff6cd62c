"""Latest-wins hand-off from engine threads to the drawing thread.

The engine calls a sink's ``on_*`` methods from its own threads and needs them back
within about a millisecond, so the viewer only stores the newest item in a one-slot
mailbox (:class:`realtime.mailbox.LatestMailbox`, the engine's own); the drawing thread
takes it when it is ready to draw (``take()``). An item overwritten before it was drawn
is counted as skipped, never queued.
"""

from __future__ import annotations

from dataclasses import dataclass

from brain3d.results import Cloud, Decoded, Described
from realtime.mailbox import LatestMailbox
from realtime.sinks import EngineStatus


@dataclass
class SinkSlots:
    """The four mailboxes a viewer sink fills from the engine's threads."""

    decoded: LatestMailbox[Decoded]
    described: LatestMailbox[Described]
    cloud: LatestMailbox[Cloud]
    status: LatestMailbox[EngineStatus]

    @classmethod
    def create(cls) -> SinkSlots:
        """Four empty slots."""
        return cls(LatestMailbox("viewer decoded"), LatestMailbox("viewer described"), LatestMailbox("viewer cloud"),
                   LatestMailbox("viewer status"))

    def counts(self) -> dict[str, int]:
        """Clouds and images drawn (taken) and skipped (overwritten before the drawing thread took them)."""
        return {"clouds_shown": self.cloud.taken, "images_shown": self.decoded.taken,
                "clouds_skipped": self.cloud.overwritten, "images_skipped": self.decoded.overwritten}


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
