"""A minimal, streaming XDF 1.0 writer.

Hand-written because no Python library writes XDF: pyxdf only reads it, and
LabRecorder's writer is C++ inside an application. This module covers exactly
what the recorder needs and nothing more.

Format (XDF 1.0, https://github.com/sccn/xdf/wiki/Specifications)
-----------------------------------------------------------------
The file is the magic ``b"XDF:"`` followed by chunks. Each chunk is::

    [NumLengthBytes: uint8 1|4|8] [Length: uint8|uint32|uint64 LE] [Tag: uint16 LE] [Content]

where ``Length`` counts the tag (2 bytes) plus the content. Tags used here:

==== ============= ==============================================================
tag  chunk         content
==== ============= ==============================================================
1    FileHeader    XML ``<info><version>1.0</version>...</info>``
2    StreamHeader  uint32 stream id + XML ``<info>`` (name, type, channel_count, ...)
3    Samples       uint32 stream id + varlen n_samples + per sample: timestamp
                   (byte 8 + float64 LSL seconds, or byte 0 = "deduce from rate")
                   then the values, little-endian in the channel format; strings
                   are varlen byte length + UTF-8 bytes per channel
4    ClockOffset   uint32 stream id + float64 collection time + float64 offset (s)
5    Boundary      a fixed 16-byte UUID, lets readers resynchronise after damage
6    StreamFooter  uint32 stream id + XML (first/last timestamp, sample_count, ...)
==== ============= ==============================================================

This writer always writes explicit timestamps (byte 8), so what a reader gets
back is exactly what was received, never a value deduced from the nominal rate.

Crash safety: :meth:`XdfWriter.write_chunks` writes a batch of complete chunks
with one unbuffered ``write`` system call, so a process killed at any moment
leaves a file that ends on a chunk boundary; :meth:`XdfWriter.sync` adds
``os.fsync`` for power loss.
"""

from __future__ import annotations

import logging
import os
import struct
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

MAGIC = b"XDF:"
TAG_FILE_HEADER = 1
TAG_STREAM_HEADER = 2
TAG_SAMPLES = 3
TAG_CLOCK_OFFSET = 4
TAG_BOUNDARY = 5
TAG_STREAM_FOOTER = 6

#: The boundary chunk's fixed content (XDF 1.0 specification).
BOUNDARY_UUID = bytes(
    [0x43, 0xA5, 0x46, 0xDC, 0xCB, 0xF5, 0x41, 0x0F, 0xB3, 0x0E, 0xD5, 0x46, 0x73, 0x83, 0xCB, 0xE4]
)

#: XDF channel format name -> little-endian numpy dtype (strings handled apart).
NUMERIC_FORMATS: dict[str, np.dtype] = {
    "float32": np.dtype("<f4"),
    "double64": np.dtype("<f8"),
    "int8": np.dtype("<i1"),
    "int16": np.dtype("<i2"),
    "int32": np.dtype("<i4"),
    "int64": np.dtype("<i8"),
}
CHANNEL_FORMATS: tuple[str, ...] = (*NUMERIC_FORMATS, "string")


def varlen_int(value: int) -> bytes:
    """Encode a non-negative integer as an XDF variable-length integer.

    Parameters
    ----------
    value : int
        The integer (>= 0).

    Returns
    -------
    bytes
        1 length byte (1, 4 or 8) followed by the little-endian integer.
    """
    if value < 0:
        raise ValueError(f"XDF variable-length integers are unsigned, got {value}")
    if value < 256:
        return struct.pack("<BB", 1, value)
    if value < 2**32:
        return struct.pack("<BI", 4, value)
    return struct.pack("<BQ", 8, value)


def chunk(tag: int, content: bytes) -> bytes:
    """One complete XDF chunk: varlen length, uint16 tag, content."""
    return varlen_int(len(content) + 2) + struct.pack("<H", tag) + content


def _xml_bytes(root: ET.Element) -> bytes:
    return b'<?xml version="1.0"?>' + ET.tostring(root, encoding="utf-8", short_empty_elements=True)


def _add_text(parent: ET.Element, tag: str, text: Any) -> ET.Element:
    el = ET.SubElement(parent, tag)
    el.text = str(text)
    return el


def append_desc(parent: ET.Element, value: Any) -> None:
    """Append a ``desc`` tree given as pyxdf's nested dict-of-lists (or plain dicts).

    Parameters
    ----------
    parent : xml.etree.ElementTree.Element
        Element to fill.
    value : mapping, list, str or None
        ``{"tag": [child, ...]}`` mappings become elements; strings become text.
    """
    if value is None:
        return
    if isinstance(value, Mapping):
        for key, children in value.items():
            items = children if isinstance(children, list) else [children]
            for child in items:
                el = ET.SubElement(parent, str(key))
                append_desc(el, child)
    elif isinstance(value, list):
        for item in value:
            append_desc(parent, item)
    else:
        parent.text = str(value)


def stream_header_xml(
    *,
    name: str,
    type: str,
    channel_count: int,
    nominal_srate: float,
    channel_format: str,
    source_id: str = "",
    channel_labels: Sequence[str] | None = None,
    units: str | Sequence[str] | None = None,
    channel_types: str | Sequence[str] | None = None,
    created_at: float | None = None,
    desc: Mapping[str, Any] | None = None,
) -> bytes:
    """Build a StreamHeader ``<info>`` XML document like LSL's ``StreamInfo.as_xml()``.

    Parameters
    ----------
    name, type, source_id : str
        LSL identity of the stream.
    channel_count : int
        Number of channels.
    nominal_srate : float
        Nominal rate in Hz, 0 for irregular (marker) streams.
    channel_format : str
        One of :data:`CHANNEL_FORMATS`.
    channel_labels : sequence of str, optional
        ``channel_count`` labels, written to ``desc/channels/channel/label``.
    units, channel_types : str or sequence of str, optional
        One value for all channels or one per channel.
    created_at : float, optional
        LSL clock seconds.
    desc : mapping, optional
        Extra ``desc`` content (pyxdf dict-of-lists layout or plain dicts).

    Returns
    -------
    bytes
        UTF-8 XML.
    """
    if channel_format not in CHANNEL_FORMATS:
        raise ValueError(
            f"channel_format {channel_format!r} is not an XDF format; use one of {CHANNEL_FORMATS}"
        )
    root = ET.Element("info")
    _add_text(root, "name", name)
    _add_text(root, "type", type)
    _add_text(root, "channel_count", int(channel_count))
    _add_text(root, "nominal_srate", repr(float(nominal_srate)))
    _add_text(root, "channel_format", channel_format)
    _add_text(root, "source_id", source_id)
    if created_at is not None:
        _add_text(root, "created_at", repr(float(created_at)))
    desc_el = ET.SubElement(root, "desc")
    if channel_labels is not None:
        if len(channel_labels) != channel_count:
            raise ValueError(
                f"{len(channel_labels)} channel labels for {channel_count} channels in stream {name!r}"
            )

        def per_channel(v: str | Sequence[str] | None, i: int) -> str | None:
            if v is None or isinstance(v, str):
                return v
            return v[i]

        chans = ET.SubElement(desc_el, "channels")
        for i, label in enumerate(channel_labels):
            ch = ET.SubElement(chans, "channel")
            _add_text(ch, "label", label)
            u, t = per_channel(units, i), per_channel(channel_types, i)
            if u is not None:
                _add_text(ch, "unit", u)
            if t is not None:
                _add_text(ch, "type", t)
    if desc:
        append_desc(desc_el, dict(desc))
    return _xml_bytes(root)


def samples_content(
    stream_id: int,
    channel_format: str,
    data: np.ndarray | Sequence[Sequence[str]],
    timestamps: np.ndarray,
) -> bytes:
    """Encode the content of one Samples chunk (tag 3).

    Parameters
    ----------
    stream_id : int
        XDF stream id (uint32).
    channel_format : str
        One of :data:`CHANNEL_FORMATS`.
    data : np.ndarray or sequence of sequence of str
        (n_samples, n_channels) values; for ``"string"`` a list of per-sample
        lists of strings.
    timestamps : np.ndarray
        (n_samples,) float64 LSL clock seconds, written explicitly per sample.

    Returns
    -------
    bytes
    """
    ts = np.ascontiguousarray(timestamps, dtype="<f8").reshape(-1)
    n = ts.shape[0]
    head = struct.pack("<I", stream_id) + varlen_int(n)
    if channel_format == "string":
        if len(data) != n:
            raise ValueError(f"{len(data)} string samples but {n} timestamps")
        parts = [head]
        for t, sample in zip(ts.tolist(), data, strict=True):
            parts.append(struct.pack("<Bd", 8, t))
            for value in sample:
                raw = str(value).encode("utf-8")
                parts.append(varlen_int(len(raw)))
                parts.append(raw)
        return b"".join(parts)
    dtype = NUMERIC_FORMATS[channel_format]
    values = np.asarray(data)
    if values.ndim == 1:
        values = values.reshape(n, -1)
    if values.shape[0] != n:
        raise ValueError(f"{values.shape[0]} samples but {n} timestamps")
    n_ch = values.shape[1]
    rec = np.empty(n, dtype=[("flag", "u1"), ("ts", "<f8"), ("v", dtype, (n_ch,))])
    rec["flag"] = 8
    rec["ts"] = ts
    rec["v"] = values  # casts to the stream's format (LE)
    return head + rec.tobytes()


def clock_offset_content(stream_id: int, collection_time: float, offset: float) -> bytes:
    """Content of a ClockOffset chunk: when it was measured and the offset (seconds)."""
    return struct.pack("<Idd", stream_id, collection_time, offset)


def stream_footer_xml(
    *,
    first_timestamp: float,
    last_timestamp: float,
    sample_count: int,
    clock_offsets: Iterable[tuple[float, float]] = (),
    extra: Mapping[str, Any] | None = None,
) -> bytes:
    """Build a StreamFooter ``<info>`` XML as LabRecorder writes it.

    Parameters
    ----------
    first_timestamp, last_timestamp : float
        LSL clock seconds of the first and last sample (0 when none).
    sample_count : int
        Samples written for the stream.
    clock_offsets : iterable of (time, value)
        Clock offset measurements, seconds.
    extra : mapping, optional
        Additional elements (e.g. ``{"dropped_samples": 3}``).
    """
    root = ET.Element("info")
    _add_text(root, "first_timestamp", repr(float(first_timestamp)))
    _add_text(root, "last_timestamp", repr(float(last_timestamp)))
    _add_text(root, "sample_count", int(sample_count))
    offsets = ET.SubElement(root, "clock_offsets")
    for t, v in clock_offsets:
        off = ET.SubElement(offsets, "offset")
        _add_text(off, "time", repr(float(t)))
        _add_text(off, "value", repr(float(v)))
    for key, value in (extra or {}).items():
        _add_text(root, key, value)
    return _xml_bytes(root)


def complete_length(path: str | Path) -> int:
    """Bytes of ``path`` that form whole chunks (the file is not changed).

    Walks the chunk lengths from the magic on; a chunk that runs past the end of
    the file (a tail cut by a power loss) and everything after it is not counted.

    Raises
    ------
    ValueError
        If the file does not start with the XDF magic.
    """
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        if f.read(4) != MAGIC:
            raise ValueError(f"{path} is not an XDF file (no 'XDF:' magic)")
        pos = 4
        while pos < size:
            f.seek(pos)
            nbytes = f.read(1)
            if not nbytes or nbytes[0] not in (1, 4, 8):
                break
            raw = f.read(nbytes[0])
            if len(raw) < nbytes[0]:
                break
            end = pos + 1 + nbytes[0] + int.from_bytes(raw, "little")
            if end > size:
                break
            pos = end
    return pos


def repair_truncated(path: str | Path) -> int:
    """Cut a damaged tail so the file ends on a chunk boundary; returns bytes removed.

    A recording that lost power may end inside a chunk, and pyxdf then fails on
    some cut positions. After this, pyxdf reads every complete chunk. Files written
    by :class:`XdfWriter` and killed (SIGKILL, crash) never need it.
    """
    keep = complete_length(path)
    removed = os.path.getsize(path) - keep
    if removed:
        logger.warning("%s: removing %d bytes of incomplete tail chunk", path, removed)
        os.truncate(path, keep)
    return removed


class XdfWriter:
    """Write an XDF 1.0 file chunk by chunk (not thread-safe; one writer thread).

    Parameters
    ----------
    path : str or Path
        File to create (truncated if it exists).
    file_header : mapping, optional
        Extra elements of the FileHeader ``<info>`` besides ``version``.

    Notes
    -----
    The file is opened unbuffered: every :meth:`write_chunks` call is one
    ``write`` system call of whole chunks (see the module docstring).
    """

    def __init__(self, path: str | Path, file_header: Mapping[str, Any] | None = None) -> None:
        self.path = Path(path)
        self._fd: int | None = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        self.bytes_written = 0
        root = ET.Element("info")
        _add_text(root, "version", "1.0")
        for key, value in (file_header or {}).items():
            _add_text(root, key, value)
        self.write_chunks([MAGIC + chunk(TAG_FILE_HEADER, _xml_bytes(root))])

    # -- chunk builders (pure, usable from any thread) -------------------------
    @staticmethod
    def stream_header_chunk(stream_id: int, header_xml: bytes | str) -> bytes:
        """A StreamHeader chunk for ``stream_id`` with the given ``<info>`` XML."""
        xml = header_xml.encode("utf-8") if isinstance(header_xml, str) else header_xml
        return chunk(TAG_STREAM_HEADER, struct.pack("<I", stream_id) + xml)

    @staticmethod
    def samples_chunk(
        stream_id: int, channel_format: str, data: Any, timestamps: np.ndarray
    ) -> bytes:
        """A Samples chunk; see :func:`samples_content` for shapes."""
        return chunk(TAG_SAMPLES, samples_content(stream_id, channel_format, data, timestamps))

    @staticmethod
    def clock_offset_chunk(stream_id: int, collection_time: float, offset: float) -> bytes:
        """A ClockOffset chunk (seconds)."""
        return chunk(TAG_CLOCK_OFFSET, clock_offset_content(stream_id, collection_time, offset))

    @staticmethod
    def boundary_chunk() -> bytes:
        """A Boundary chunk."""
        return chunk(TAG_BOUNDARY, BOUNDARY_UUID)

    @staticmethod
    def stream_footer_chunk(stream_id: int, footer_xml: bytes | str) -> bytes:
        """A StreamFooter chunk."""
        xml = footer_xml.encode("utf-8") if isinstance(footer_xml, str) else footer_xml
        return chunk(TAG_STREAM_FOOTER, struct.pack("<I", stream_id) + xml)

    # -- I/O -------------------------------------------------------------------
    def write_chunks(self, chunks: Sequence[bytes]) -> None:
        """Write complete chunks with one system call (loops only on partial writes)."""
        if self._fd is None:
            raise ValueError(f"XDF file {self.path} is closed")
        buf = memoryview(b"".join(chunks))
        while buf:
            n = os.write(self._fd, buf)
            buf = buf[n:]
            self.bytes_written += n

    def write_stream_header(self, stream_id: int, header_xml: bytes | str) -> None:
        """Write a StreamHeader chunk."""
        self.write_chunks([self.stream_header_chunk(stream_id, header_xml)])

    def write_samples(
        self, stream_id: int, channel_format: str, data: Any, timestamps: np.ndarray
    ) -> None:
        """Write a Samples chunk; see :func:`samples_content`."""
        if len(timestamps):
            self.write_chunks([self.samples_chunk(stream_id, channel_format, data, timestamps)])

    def write_clock_offset(self, stream_id: int, collection_time: float, offset: float) -> None:
        """Write a ClockOffset chunk (seconds)."""
        self.write_chunks([self.clock_offset_chunk(stream_id, collection_time, offset)])

    def write_boundary(self) -> None:
        """Write a Boundary chunk."""
        self.write_chunks([self.boundary_chunk()])

    def write_stream_footer(self, stream_id: int, footer_xml: bytes | str) -> None:
        """Write a StreamFooter chunk."""
        self.write_chunks([self.stream_footer_chunk(stream_id, footer_xml)])

    def sync(self) -> None:
        """``os.fsync``: what was written survives a power loss."""
        if self._fd is not None:
            os.fsync(self._fd)

    def close(self) -> None:
        """fsync and close (idempotent)."""
        if self._fd is not None:
            try:
                os.fsync(self._fd)
            finally:
                os.close(self._fd)
                self._fd = None

    @property
    def closed(self) -> bool:
        """True after :meth:`close`."""
        return self._fd is None

    def __enter__(self) -> XdfWriter:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
