"""Record every received stream RAW to ``recording.xdf``, continuously.

Why XDF: it is the LSL ecosystem's standard recording format (LabRecorder writes
it, pyxdf / MNE-LSL / EEGLAB / MoBILAB read it) and one file holds any number of
streams with different rates and formats, irregular string marker streams
included, each with its own LSL timestamps and clock offsets. FIF cannot hold
multi-rate streams plus markers in one file. The writer is hand-written
(:mod:`acquisition.xdf_writer`) because no Python library writes XDF.

How it stays safe
-----------------
- :meth:`Recorder.push` / :meth:`Recorder.push_markers` never block the caller
  (the acquisition thread): they copy the samples into a bounded queue and return.
  When the queue is full the samples are DROPPED, counted per stream, logged as a
  warning, reported by :meth:`Recorder.stats` and written to the stream footer
  (``<dropped_samples>``) - never silently.
- One writer thread drains the queue, writes whole chunks with one unbuffered
  ``write`` each batch, and calls ``os.fsync`` every ``flush_interval_s`` (default
  0.5 s, at most 1 s; due a fifth of it early so that wake-up delays do not stretch
  the gap): a killed process or a power cut loses at most the last second. A SIGKILL leaves a file ending on a chunk boundary that
  pyxdf reads without footers.
- Boundary chunks every ``boundary_interval_s`` (default 10 s) let readers
  resynchronise after damage; ClockOffset chunks are written when given
  (:meth:`Recorder.push_clock_offset`); StreamFooters (first/last timestamp,
  sample count, clock offsets, dropped samples) on a clean :meth:`Recorder.close`.

:func:`record_streams` resolves LSL streams and records them without decoding;
it is the library side of ``brain3d record``.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from acquisition.base import StreamDescription
from acquisition.xdf_writer import (
    CHANNEL_FORMATS,
    NUMERIC_FORMATS,
    XdfWriter,
    stream_footer_xml,
    stream_header_xml,
)
from brain3d.errors import StreamError

if TYPE_CHECKING:  # pylsl is only needed by record_streams
    import pylsl

logger = logging.getLogger(__name__)

_MAX_FLUSH_INTERVAL_S = 1.0
#: Syncs are due this share of ``flush_interval_s`` early, so that the writer's wake-up
#: latency and the write before the sync (normally a few ms) do not stretch the gap
#: between two syncs past ``flush_interval_s``.
_SYNC_EARLY_FRACTION = 0.2
#: Queued sample bytes that wake the writer before its ``write_interval_s`` is up.
_WAKE_BACKLOG_BYTES = 2**20
_DEFAULT_WRITE_INTERVAL_S = 0.1


@dataclass
class _StreamState:
    stream_id: int
    name: str
    channel_count: int
    channel_format: str
    first_timestamp: float | None = None
    last_timestamp: float | None = None
    samples_queued: int = 0
    samples_written: int = 0
    samples_dropped: int = 0
    clock_offsets: list[tuple[float, float]] = field(default_factory=list)


@dataclass(frozen=True)
class RecorderStats:
    """What the recorder did so far.

    Attributes
    ----------
    path : Path
        The XDF file.
    samples_written, samples_dropped : dict of int -> int
        Per stream id: samples written to the file / dropped on queue overflow.
    bytes_written : int
        Bytes in the file (written, not necessarily fsynced).
    pending_bytes : int
        Payload bytes waiting in the queue.
    fsyncs : int
        ``os.fsync`` calls so far.
    error : str or None
        The writer thread's failure, if any.
    """

    path: Path
    samples_written: dict[int, int]
    samples_dropped: dict[int, int]
    bytes_written: int
    pending_bytes: int
    fsyncs: int
    error: str | None

    @property
    def total_dropped(self) -> int:
        """Samples dropped over all streams."""
        return sum(self.samples_dropped.values())


def _stream_header(
    description: StreamDescription | None, *, name: str | None, type: str | None, channel_count: int | None,
    nominal_srate: float | None, channel_format: str, source_id: str | None, channel_labels: Sequence[str] | None,
    units: str | Sequence[str] | None, header_xml: bytes | str | None, desc: Mapping[str, Any] | None,
) -> tuple[str | None, int | None, str, bytes | str]:
    """Name, channel count, format and XML header of a stream (see :meth:`Recorder.add_stream`)."""
    if header_xml is not None:
        import xml.etree.ElementTree as ET

        root = ET.fromstring(header_xml)
        name = name or (root.findtext("name") or "")
        channel_count = channel_count or int(root.findtext("channel_count") or 0)
        channel_format = root.findtext("channel_format") or channel_format
        xml: bytes | str = header_xml
    else:
        if description is not None:
            name = name if name is not None else description.name
            type = type if type is not None else description.type
            source_id = source_id if source_id is not None else description.source_id
            channel_labels = (
                channel_labels if channel_labels is not None else description.channel_names
            )
            channel_count = (
                channel_count if channel_count is not None else description.n_channels
            )
            nominal_srate = nominal_srate if nominal_srate is not None else description.sfreq
            units = units if units is not None else description.units
            if description.simulated:
                desc = {**(desc or {}), "simulated": "true"}
        if name is None or channel_count is None:
            raise ValueError(
                "add_stream needs a StreamDescription, header_xml, or name and channel_count"
            )
        xml = stream_header_xml(
            name=name,
            type=type or "",
            channel_count=channel_count,
            nominal_srate=nominal_srate or 0.0,
            channel_format=channel_format,
            source_id=source_id or "",
            channel_labels=channel_labels,
            units=units,
            desc=desc,
        )
    return name, channel_count, channel_format, xml


class Recorder:
    """Write any number of streams, as received, to one XDF file.

    Parameters
    ----------
    path : str or Path
        The file to create (usually ``<session>/recording.xdf``); its folder must exist.
    max_pending_bytes : int
        Bound of the queue between callers and the writer thread, in payload
        bytes (default 64 MiB, i.e. ~4 min of 64-channel float32 EEG at 1 kHz).
    flush_interval_s : float
        Time between two ``fsync`` calls while data is being written, seconds, in
        (0, 1]. Syncs are due a fifth of it early, so the gap stays within it unless the
        writer thread is held up by more than that (a machine stalled for longer).
    write_interval_s : float, optional
        Seconds the writer thread lets samples gather before it writes them, in
        (0, ``flush_interval_s``]; default 0.1 s (or ``flush_interval_s`` if shorter).
        Pushing samples does not wake the writer: a headset streaming sample by sample
        would otherwise wake it hundreds of times a second, and each wake takes the
        interpreter lock from the live fast path (measured with py-spy: the per-push
        wake was the largest single cost in the acquisition thread). Stream headers,
        clock offsets, a backlog over 1 MiB and ``close`` still wake it at once.
    boundary_interval_s : float
        Seconds between Boundary chunks.
    file_header : mapping, optional
        Extra elements for the XDF FileHeader (e.g. ``{"datetime": ...}``).

    Examples
    --------
    >>> with Recorder(session / "recording.xdf") as rec:       # doctest: +SKIP
    ...     eeg = rec.add_stream(source.description, channel_format="float32")
    ...     rec.push(eeg, chunk.data, chunk.timestamps)
    """

    def __init__(
        self,
        path: str | Path,
        *,
        max_pending_bytes: int = 64 * 2**20,
        flush_interval_s: float = 0.5,
        write_interval_s: float | None = None,
        boundary_interval_s: float = 10.0,
        file_header: Mapping[str, Any] | None = None,
    ) -> None:
        if not 0 < flush_interval_s <= _MAX_FLUSH_INTERVAL_S:
            raise ValueError(
                f"flush_interval_s={flush_interval_s}: must be in (0, 1] so a crash loses at most 1 s"
            )
        if write_interval_s is None:
            write_interval_s = min(_DEFAULT_WRITE_INTERVAL_S, flush_interval_s)
        if not 0 < write_interval_s <= flush_interval_s:
            raise ValueError(
                f"write_interval_s={write_interval_s}: must be in (0, flush_interval_s={flush_interval_s}]"
            )
        self.path = Path(path)
        if not self.path.parent.is_dir():
            raise StreamError(
                f"cannot record to {self.path}: folder {self.path.parent} does not exist; create it first"
            )
        try:
            self._writer = XdfWriter(self.path, file_header=file_header)
        except OSError as exc:
            raise StreamError(
                f"cannot create recording {self.path}: {exc}; check the path and permissions"
            ) from exc
        self._max_pending = int(max_pending_bytes)
        self._flush_interval = float(flush_interval_s)
        self._write_interval = float(write_interval_s)
        self._boundary_interval = float(boundary_interval_s)
        self._cond = threading.Condition()
        self._queue: collections.deque[tuple[str, Any]] = collections.deque()
        self._pending_bytes = 0
        self._streams: dict[int, _StreamState] = {}
        self._next_id = 1
        self._closing = False
        self._closed = False
        self._error: BaseException | None = None
        self._fsyncs = 0
        self._last_drop_log: dict[int, float] = {}
        self._thread = threading.Thread(
            target=self._run, name=f"xdf-recorder:{self.path.name}", daemon=True
        )
        self._thread.start()
        logger.info("recording to %s", self.path)

    # ------------------------------------------------------------------ streams
    def add_stream(
        self,
        description: StreamDescription | None = None,
        *,
        name: str | None = None,
        type: str | None = None,
        channel_count: int | None = None,
        nominal_srate: float | None = None,
        channel_format: str = "float32",
        source_id: str | None = None,
        channel_labels: Sequence[str] | None = None,
        units: str | Sequence[str] | None = None,
        header_xml: bytes | str | None = None,
        desc: Mapping[str, Any] | None = None,
    ) -> int:
        """Declare a stream; returns its XDF stream id.

        Give either a :class:`~acquisition.base.StreamDescription` (keyword
        fields override it), raw header fields, or ``header_xml`` - the stream's
        full LSL ``<info>`` XML as received (``inlet.info().as_xml()``), written
        verbatim; then ``channel_count`` and ``channel_format`` must be given too
        (or are parsed from the XML).

        Returns
        -------
        int
            Stream id for :meth:`push` / :meth:`push_markers`.
        """
        name, channel_count, channel_format, xml = _stream_header(
            description, name=name, type=type, channel_count=channel_count, nominal_srate=nominal_srate,
            channel_format=channel_format, source_id=source_id, channel_labels=channel_labels, units=units,
            header_xml=header_xml, desc=desc)
        if channel_format not in CHANNEL_FORMATS:
            raise ValueError(f"channel_format {channel_format!r}: use one of {CHANNEL_FORMATS}")
        if not channel_count or channel_count < 1:
            raise ValueError(f"stream {name!r}: channel_count must be >= 1")
        with self._cond:
            self._check_open()
            sid = self._next_id
            self._next_id += 1
            self._streams[sid] = _StreamState(sid, name or "", int(channel_count), channel_format)
            self._queue.append(("header", (sid, xml)))
            self._cond.notify()
        logger.info("recording stream %d %r (%d ch, %s)", sid, name, channel_count, channel_format)
        return sid

    # ------------------------------------------------------------------ pushing
    def push(self, stream_id: int, data: np.ndarray, timestamps: np.ndarray) -> bool:
        """Queue numeric samples; never blocks.

        Parameters
        ----------
        stream_id : int
            From :meth:`add_stream`.
        data : np.ndarray
            (n_samples, n_channels) values as received (copied).
        timestamps : np.ndarray
            (n_samples,) LSL clock seconds.

        Returns
        -------
        bool
            False when the queue was full and the samples were dropped (counted).
        """
        st = self._state(stream_id)
        if st.channel_format == "string":
            raise TypeError(
                f"stream {stream_id} ({st.name!r}) is a string stream; use push_markers"
            )
        ts = np.array(timestamps, dtype=np.float64).reshape(-1)
        values = np.array(data, dtype=NUMERIC_FORMATS[st.channel_format]).reshape(ts.shape[0], -1)
        if values.shape[1] != st.channel_count:
            raise ValueError(
                f"stream {stream_id} ({st.name!r}) has {st.channel_count} channels, got data of shape {np.shape(data)}"
            )
        return self._enqueue(st, values, ts, values.nbytes + ts.nbytes)

    def push_markers(
        self,
        stream_id: int,
        strings: Sequence[str] | Sequence[Sequence[str]],
        timestamps: np.ndarray,
    ) -> bool:
        """Queue string samples (markers); never blocks.

        Parameters
        ----------
        stream_id : int
            A ``"string"`` stream from :meth:`add_stream`.
        strings : sequence of str, or sequence of per-sample sequences of str
            One string per sample for 1-channel streams, else one list per sample.
        timestamps : np.ndarray
            (n_samples,) LSL clock seconds.

        Returns
        -------
        bool
            False when dropped on overflow (counted).
        """
        st = self._state(stream_id)
        if st.channel_format != "string":
            raise TypeError(f"stream {stream_id} ({st.name!r}) is {st.channel_format}; use push")
        ts = np.array(timestamps, dtype=np.float64).reshape(-1)
        samples = [[s] if isinstance(s, str) else [str(v) for v in s] for s in strings]
        if len(samples) != ts.shape[0]:
            raise ValueError(f"{len(samples)} markers but {ts.shape[0]} timestamps")
        if any(len(s) != st.channel_count for s in samples):
            raise ValueError(
                f"stream {stream_id} ({st.name!r}) has {st.channel_count} channels per sample"
            )
        size = sum(len(v) for s in samples for v in s) + ts.nbytes
        return self._enqueue(st, samples, ts, size)

    def push_clock_offset(self, stream_id: int, collection_time: float, offset: float) -> None:
        """Record one clock offset measurement (``inlet.time_correction()``), seconds."""
        st = self._state(stream_id)
        with self._cond:
            self._check_open()
            st.clock_offsets.append((float(collection_time), float(offset)))
            self._queue.append(("offset", (stream_id, float(collection_time), float(offset))))
            self._cond.notify()

    def _state(self, stream_id: int) -> _StreamState:
        try:
            return self._streams[stream_id]
        except KeyError:
            raise ValueError(f"unknown stream id {stream_id}; call add_stream first") from None

    def _check_open(self) -> None:
        if self._error is not None:
            raise StreamError(f"recording {self.path} failed: {self._error}") from self._error
        if self._closing:
            raise StreamError(f"recorder for {self.path} is closed; open a new Recorder")

    def _enqueue(self, st: _StreamState, payload: Any, ts: np.ndarray, size: int) -> bool:
        n = ts.shape[0]
        if n == 0:
            return True
        with self._cond:
            self._check_open()
            if self._pending_bytes + size > self._max_pending:
                st.samples_dropped += n
                now = time.monotonic()
                if now - self._last_drop_log.get(st.stream_id, -1e9) > 5.0:
                    self._last_drop_log[st.stream_id] = now
                    logger.warning(
                        "recorder queue full (%d bytes pending): dropped %d samples of stream %d %r, "
                        "%d dropped so far; the disk is too slow or the writer is stuck",
                        self._pending_bytes,
                        n,
                        st.stream_id,
                        st.name,
                        st.samples_dropped,
                    )
                return False
            self._pending_bytes += size
            st.samples_queued += n
            self._queue.append(("samples", (st.stream_id, st.channel_format, payload, ts, size)))
            if self._pending_bytes >= _WAKE_BACKLOG_BYTES:
                self._cond.notify()
        return True

    # ------------------------------------------------------------------ writer
    def _run(self) -> None:
        w = self._writer
        last_sync = last_boundary = time.monotonic()
        sync_period = self._flush_interval * (1.0 - _SYNC_EARLY_FRACTION)
        dirty = False
        try:
            while True:
                with self._cond:
                    if not self._closing:
                        # samples gather for write_interval; headers, offsets, a backlog and close
                        # notify; written data wakes the writer in time for its sync
                        timeout = self._write_interval
                        if dirty:
                            timeout = min(timeout, max(0.0, last_sync + sync_period - time.monotonic()))
                        self._cond.wait(timeout=timeout)
                    items = list(self._queue)
                    self._queue.clear()
                    closing = self._closing
                chunks: list[bytes] = []
                freed = 0
                for kind, item in items:
                    if kind == "samples":
                        sid, fmt, payload, ts, size = item
                        chunks.append(w.samples_chunk(sid, fmt, payload, ts))
                        freed += size
                        st = self._streams[sid]
                        st.samples_written += ts.shape[0]
                        if st.first_timestamp is None:
                            st.first_timestamp = float(ts[0])
                        st.last_timestamp = float(ts[-1])
                    elif kind == "header":
                        chunks.append(w.stream_header_chunk(*item))
                    elif kind == "offset":
                        chunks.append(w.clock_offset_chunk(*item))
                now = time.monotonic()
                if now - last_boundary >= self._boundary_interval:
                    chunks.append(w.boundary_chunk())
                    last_boundary = now
                if chunks:
                    w.write_chunks(chunks)
                    dirty = True
                if freed:
                    with self._cond:
                        self._pending_bytes -= freed
                if dirty and (now - last_sync >= sync_period or closing):
                    w.sync()
                    self._fsyncs += 1
                    dirty = False
                    last_sync = now
                if closing:
                    with self._cond:
                        if self._queue:
                            continue
                    break
        except BaseException as exc:  # disk full, I/O error: report, never hide
            logger.error("recording %s failed: %s", self.path, exc)
            self._error = exc

    # ------------------------------------------------------------------ closing
    def stats(self) -> RecorderStats:
        """Counters so far (thread-safe snapshot)."""
        with self._cond:
            return RecorderStats(
                path=self.path,
                samples_written={s: st.samples_written for s, st in self._streams.items()},
                samples_dropped={s: st.samples_dropped for s, st in self._streams.items()},
                bytes_written=self._writer.bytes_written,
                pending_bytes=self._pending_bytes,
                fsyncs=self._fsyncs,
                error=None if self._error is None else repr(self._error),
            )

    def close(self, timeout: float = 10.0) -> RecorderStats:
        """Write everything queued, the stream footers, fsync and close (idempotent).

        Returns
        -------
        RecorderStats

        Raises
        ------
        StreamError
            If the writer thread failed (the file holds what was written before).
        """
        with self._cond:
            if self._closed:
                return self.stats()
            self._closing = True
            self._cond.notify()
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise StreamError(f"recorder for {self.path} did not finish writing within {timeout} s")
        self._closed = True
        try:
            if self._error is None:
                footers = []
                for sid, st in self._streams.items():
                    extra = {"writer": "brain3d acquisition.recorder"}
                    if st.samples_dropped:
                        extra["dropped_samples"] = str(st.samples_dropped)
                    footers.append(
                        self._writer.stream_footer_chunk(
                            sid,
                            stream_footer_xml(
                                first_timestamp=st.first_timestamp or 0.0,
                                last_timestamp=st.last_timestamp or 0.0,
                                sample_count=st.samples_written,
                                clock_offsets=st.clock_offsets,
                                extra=extra,
                            ),
                        )
                    )
                if footers:
                    self._writer.write_chunks(footers)
        except OSError as exc:
            self._error = exc
        finally:
            self._writer.close()
        stats = self.stats()
        if stats.total_dropped:
            logger.warning(
                "recording %s: %d samples dropped on queue overflow", self.path, stats.total_dropped
            )
        if self._error is not None:
            raise StreamError(
                f"recording {self.path} failed: {self._error}; the file holds what was written before "
                "(check free disk space and permissions)"
            ) from self._error
        logger.info("recording %s closed: %s samples", self.path, stats.samples_written)
        return stats

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


# ---------------------------------------------------------------------- record_streams
@dataclass(frozen=True)
class StreamSelector:
    """Which LSL streams to record; ``None`` fields match anything.

    Attributes
    ----------
    name, type, source_id : str or None
        Exact LSL name / type / source_id to match.
    predicate : callable, optional
        Extra test on the ``pylsl.StreamInfo``.
    """

    name: str | None = None
    type: str | None = None
    source_id: str | None = None
    predicate: Callable[[Any], bool] | None = None

    def matches(self, info: Any) -> bool:
        """True when ``info`` (a ``pylsl.StreamInfo``) matches every given field."""
        return (
            (self.name is None or info.name() == self.name)
            and (self.type is None or info.type() == self.type)
            and (self.source_id is None or info.source_id() == self.source_id)
            and (self.predicate is None or bool(self.predicate(info)))
        )

    def __str__(self) -> str:
        parts = [
            f"{k}={v!r}"
            for k, v in (("name", self.name), ("type", self.type), ("source_id", self.source_id))
            if v
        ]
        return "{" + ", ".join(parts or ["any"]) + "}"


SelectorLike = StreamSelector | Mapping[str, Any] | Callable[[Any], bool]


def _as_selector(s: SelectorLike) -> StreamSelector:
    if isinstance(s, StreamSelector):
        return s
    if isinstance(s, Mapping):
        unknown = set(s) - {"name", "type", "source_id"}
        if unknown:
            raise ValueError(
                f"stream selector keys {sorted(unknown)} unknown; use name, type, source_id"
            )
        return StreamSelector(**s)
    if callable(s):
        return StreamSelector(predicate=s)
    raise TypeError(f"stream selector {s!r}: give a StreamSelector, a dict or a callable")


@dataclass(frozen=True)
class RecordingSummary:
    """What :func:`record_streams` recorded.

    Attributes
    ----------
    path : Path
    streams : dict of int -> str
        XDF stream id -> LSL stream name.
    stats : RecorderStats
    duration_s : float
        Seconds recorded.
    """

    path: Path
    streams: dict[int, str]
    stats: RecorderStats
    duration_s: float


def _fmt_name(info: pylsl.StreamInfo) -> str:
    import pylsl

    names = {
        pylsl.cf_float32: "float32",
        pylsl.cf_double64: "double64",
        pylsl.cf_string: "string",
        pylsl.cf_int8: "int8",
        pylsl.cf_int16: "int16",
        pylsl.cf_int32: "int32",
        pylsl.cf_int64: "int64",
    }
    fmt = info.channel_format()
    if fmt not in names:
        raise StreamError(
            f"stream {info.name()!r} has LSL channel format {fmt}, which XDF cannot store"
        )
    return names[fmt]


def _resolve_selected(selectors: list[StreamSelector], timeout_s: float) -> list[Any]:
    """The LSL streams (``pylsl.StreamInfo``) every selector matches, one per uid.

    Raises
    ------
    StreamError
        A selector matches no stream within ``timeout_s`` (the message lists what was seen).
    """
    import pylsl

    deadline = time.monotonic() + timeout_s
    while True:
        infos = pylsl.resolve_streams(wait_time=min(1.0, max(0.1, deadline - time.monotonic())))
        missing = [s for s in selectors if not any(s.matches(i) for i in infos)]
        if not missing:
            found = [i for i in infos if any(s.matches(i) for s in selectors)]
            # the same stream may be seen twice (several interfaces): keep one per uid
            return list({i.uid(): i for i in found}.values())
        if time.monotonic() >= deadline:
            seen = ", ".join(f"{i.name()!r} (type {i.type()!r}, source_id {i.source_id()!r})" for i in infos)
            raise StreamError(
                f"no LSL stream matches {', '.join(map(str, missing))} within {timeout_s} s; "
                f"streams seen: {seen or 'none'}. Start the stream or fix the selection."
            )


def _pull_into(rec: Recorder, sid: int, inlet: Any, fmt: str, max_samples: int) -> int:
    """Move what ``inlet`` holds (at most ``max_samples``) into the recording; samples moved."""
    samples, stamps = inlet.pull_chunk(timeout=0.0, max_samples=max_samples)
    if not stamps:
        return 0
    if fmt == "string":
        rec.push_markers(sid, samples, np.asarray(stamps))
    else:
        rec.push(sid, np.asarray(samples), np.asarray(stamps))
    return len(stamps)


def record_streams(
    select: Sequence[SelectorLike],
    path: str | Path,
    duration_s: float | None,
    *,
    resolve_timeout_s: float = 5.0,
    clock_offset_interval_s: float = 5.0,
    stop: threading.Event | None = None,
    recorder_kwargs: Mapping[str, Any] | None = None,
) -> RecordingSummary:
    """Resolve LSL streams and record them, undecoded, to one XDF file.

    Every selector must match at least one stream on this machine's LSL network;
    all matching streams are recorded with their full LSL header (as
    ``inlet.info().as_xml()``), their raw timestamps (no inlet post-processing)
    and a ClockOffset (``inlet.time_correction()``) every
    ``clock_offset_interval_s``, like LabRecorder.

    Parameters
    ----------
    select : sequence of StreamSelector, dict or callable
        E.g. ``[{"type": "EEG"}, {"name": "Markers"}]``.
    path : str or Path
        The XDF file to write.
    duration_s : float or None
        Seconds to record; None records until ``stop`` is set.
    resolve_timeout_s : float
        Seconds to look for the streams.
    clock_offset_interval_s : float
        Seconds between clock offset measurements.
    stop : threading.Event, optional
        Set it to end the recording early (e.g. on Ctrl-C).
    recorder_kwargs : mapping, optional
        Passed to :class:`Recorder`.

    Returns
    -------
    RecordingSummary

    Raises
    ------
    StreamError
        When a selector matches no stream (the message lists what was found).
    """
    import pylsl

    if duration_s is None and stop is None:
        raise ValueError("record_streams needs duration_s or a stop event, or it would never end")
    selectors = [_as_selector(s) for s in select]
    if not selectors:
        raise ValueError("record_streams: select at least one stream, e.g. [{'type': 'EEG'}]")
    unique = _resolve_selected(selectors, resolve_timeout_s)
    inlets: list[tuple[int, Any, str, int]] = []
    with Recorder(path, **dict(recorder_kwargs or {})) as rec:
        for info in unique:
            fmt = _fmt_name(info)
            inlet = pylsl.StreamInlet(info, max_buflen=360, processing_flags=0)
            full = inlet.info(timeout=resolve_timeout_s)
            sid = rec.add_stream(
                header_xml=full.as_xml(), channel_format=fmt, channel_count=info.channel_count()
            )
            inlet.open_stream(timeout=resolve_timeout_s)
            inlets.append((sid, inlet, fmt, info.channel_count()))
        names = {sid: inlet.info().name() for sid, inlet, _, _ in inlets}
        logger.info("recording %s to %s", list(names.values()), path)
        t0 = time.monotonic()
        next_offset = t0
        try:
            while True:
                now = time.monotonic()
                if (duration_s is not None and now - t0 >= duration_s) or (
                    stop is not None and stop.is_set()
                ):
                    break
                if now >= next_offset:
                    for sid, inlet, _, _ in inlets:
                        try:
                            rec.push_clock_offset(
                                sid, pylsl.local_clock(), inlet.time_correction(timeout=1.0)
                            )
                        except pylsl.TimeoutError:
                            logger.warning("clock offset of stream %d timed out", sid)
                    next_offset = now + clock_offset_interval_s
                got = sum(_pull_into(rec, sid, inlet, fmt, 4096) for sid, inlet, fmt, _ in inlets)
                if not got:
                    time.sleep(0.005)
        finally:
            # drain what already arrived, then close the inlets
            for sid, inlet, fmt, _ in inlets:
                _pull_into(rec, sid, inlet, fmt, 1_000_000)
                inlet.close_stream()
        elapsed = time.monotonic() - t0
    stats = rec.stats()
    return RecordingSummary(path=Path(path), streams=names, stats=stats, duration_s=elapsed)
