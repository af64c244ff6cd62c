"""Lab Streaming Layer outlets, built one way everywhere (simulator, replay, our outputs, benchmarks).

The stream header follows the XDF / LSL meta-data conventions: one ``channels/channel``
element per channel with ``label``, ``unit`` and ``type`` (plus any other fields), and
flat ``desc`` fields such as ``simulated``. pylsl is imported on first use, after
``LSLAPICFG`` is set.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

#: Outlet buffer, seconds of data kept for a slow consumer (liblsl's default is 360).
MAX_BUFFERED_S = 360


def channel_rows(labels: Iterable[str], unit: str = "microvolts", kind: str = "EEG") -> list[dict[str, str]]:
    """``channels/channel`` fields for ``labels`` that share a unit and a type."""
    return [{"label": label, "unit": unit, "type": kind} for label in labels]


def stream_info(name: str, stream_type: str, *, n_channels: int, sfreq: float, channel_format: Any,
                source_id: str, channels: Sequence[Mapping[str, str]] = (),
                fields: Mapping[str, str] = {}) -> Any:  # noqa: B006 - read only  # fmt: skip
    """A ``pylsl.StreamInfo`` with its channel description.

    Parameters
    ----------
    name, stream_type, source_id : str
        LSL identity (``source_id`` lets consumers re-connect to a restarted outlet).
    n_channels : int
    sfreq : float
        Nominal rate, Hz (``pylsl.IRREGULAR_RATE``, 0, for event streams).
    channel_format : str or int
        ``"float32"``, ``"string"`` or a ``pylsl.cf_*`` constant.
    channels : sequence of mapping
        One mapping of fields per channel (``label``, ``unit``, ``type``, ...), written as
        ``desc/channels/channel``; empty: no channel description.
    fields : mapping
        Flat ``desc`` fields (e.g. ``{"simulated": "true"}``).

    Raises
    ------
    ValueError
        ``channels`` is given but does not have ``n_channels`` rows.
    """
    import pylsl

    if channels and len(channels) != n_channels:
        raise ValueError(f"stream {name!r}: {len(channels)} channel descriptions for {n_channels} channels")
    info = pylsl.StreamInfo(name=name, type=stream_type, channel_count=n_channels, nominal_srate=sfreq,
                            channel_format=channel_format, source_id=source_id)  # fmt: skip
    desc = info.desc()
    if channels:
        element = desc.append_child("channels")
        for row in channels:
            channel = element.append_child("channel")
            for key, value in row.items():
                channel.append_child_value(key, str(value))
    for key, value in fields.items():
        desc.append_child_value(key, str(value))
    return info


def open_outlet(info: Any, *, chunk_size: int = 0, max_buffered: int = MAX_BUFFERED_S) -> Any:
    """A ``pylsl.StreamOutlet`` for ``info`` (visible to inlets on this machine at once)."""
    import pylsl

    return pylsl.StreamOutlet(info, chunk_size=chunk_size, max_buffered=max_buffered)


__all__ = ["MAX_BUFFERED_S", "channel_rows", "open_outlet", "stream_info"]
