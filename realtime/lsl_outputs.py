"""LSL outputs: the EEG latent and the engine's events, recordable next to the EEG.

Two outlets (pylsl), so that LabRecorder or any LSL tool records them aligned with the
raw stream:

* **latent** (``type = "Latent"``): ``latent_dim`` float32 channels (``latent_000`` ...),
  irregular rate, one sample per decoded window, stamped with the LSL time of the
  window's **last sample** (the moment of EEG the latent describes).
* **events** (``type = "Markers"``): one string channel, irregular rate, JSON markers
  stamped with the window's last-sample time as well: ``{"event": "description", "seq",
  "window_end", "available", "description": {...}}`` and ``{"event": "cloud_ready", "seq",
  "window_end", "available", "n_points", "latency_ms": {...}}``. ``available`` is the LSL
  time the result existed, so the marker's timestamp aligns it with the EEG and the
  payload says how late it came.

Both streams' metadata say whether the EEG is simulated (``<simulated>``) and which
weights decoded it (``<weights>``: ``trained on ...`` or ``UNTRAINED ...``).

Pushing a sample takes microseconds, so this sink pushes in the caller's thread.
"""

from __future__ import annotations

import json
import logging
import os
import uuid
from typing import Any

from brain3d.lsl import channel_rows, open_outlet, stream_info
from brain3d.results import Cloud, Decoded, Described
from realtime.sinks import EngineStatus

logger = logging.getLogger(__name__)

LATENT_TYPE = "Latent"
EVENTS_TYPE = "Markers"


class LSLOutputs:
    """A :class:`~realtime.sinks.Sink` publishing latents and events over LSL.

    Parameters
    ----------
    latent_dim : int
        Channels of the latent stream.
    name_prefix : str
        Stream names are ``<prefix>-latent`` and ``<prefix>-events``.
    source_id : str, optional
        Base of both streams' ``source_id`` (default: unique per run).
    simulated : bool
        Written into the stream metadata (``<simulated>true</simulated>``).
    weights : str
        The fast path's weights and what trained them (``trained on ...`` /
        ``UNTRAINED ...``), written into both streams' metadata (``<weights>``).
    """

    def __init__(self, latent_dim: int = 512, *, name_prefix: str = "Brain3D", source_id: str | None = None,
                 simulated: bool = False, weights: str = "") -> None:
        import pylsl

        self.pylsl = pylsl
        base = source_id or f"brain3d-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.source_id = base
        self.latent_name = f"{name_prefix}-latent"
        self.events_name = f"{name_prefix}-events"
        common = {"simulated": "true" if simulated else "false", "weights": weights or "unknown"}
        info = stream_info(
            self.latent_name, LATENT_TYPE, n_channels=latent_dim, sfreq=pylsl.IRREGULAR_RATE,
            channel_format=pylsl.cf_float32, source_id=f"{base}-latent",
            channels=channel_rows((f"latent_{i:03d}" for i in range(latent_dim)), unit="a.u.", kind="latent"),
            fields={**common, "stamp": "LSL time of the window's last sample"})
        events = stream_info(
            self.events_name, EVENTS_TYPE, n_channels=1, sfreq=pylsl.IRREGULAR_RATE, channel_format=pylsl.cf_string,
            source_id=f"{base}-events",
            fields={**common, "stamp": "LSL time of the window's last sample; payload 'available' = result time"})
        self._latent = open_outlet(info)
        self._events = open_outlet(events)
        self.latents_pushed = 0
        self.events_pushed = 0
        logger.info("LSL outputs: %r (%d ch) and %r", self.latent_name, latent_dim, self.events_name)

    def on_decoded(self, item: Decoded) -> None:
        self._latent.push_sample(item.latent.astype("float32", copy=False).tolist(), item.trace.window_end)
        self.latents_pushed += 1

    def on_described(self, item: Described) -> None:
        self.marker({"event": "description", "seq": item.seq, "window_end": item.trace.window_end,
                     "available": item.trace.stamps.get("description"),
                     "description": item.description.model_dump(mode="json")}, item.trace.window_end)

    def on_cloud(self, item: Cloud) -> None:
        self.marker({"event": "cloud_ready", "seq": item.seq, "window_end": item.trace.window_end,
                     "available": item.trace.stamps.get("cloud"), "n_points": int(len(item.cloud.points)),
                     "latency_ms": {k: round(v, 3) for k, v in item.trace.latencies_ms().items()}},
                    item.trace.window_end)

    def on_status(self, status: EngineStatus) -> None:
        """Status is not published."""

    def marker(self, payload: dict[str, Any], timestamp: float) -> None:
        """Push one JSON marker on the events stream, stamped ``timestamp`` (LSL seconds)."""
        self._events.push_sample([json.dumps(payload, default=str)], timestamp)
        self.events_pushed += 1

    def close(self) -> None:
        """Drop the outlets (consumers see the streams disappear)."""
        self._latent = None
        self._events = None
