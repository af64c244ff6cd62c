"""The acquisition thread: source -> raw recording -> preprocessing -> windows.

:class:`AcquisitionThread` owns one :class:`~acquisition.base.Source`, an optional
:class:`~acquisition.recorder.Recorder` and the stream's
:class:`~acquisition.grids.GridWindows` (one input front end, ``P`` resampling grids
with their windowers), and runs the read loop in its own thread::

    source.read(read_timeout_s) ──► recorder.push (raw, as received, once)
                                └─► front end (once) ──► grids: resample, filter, cut ──► on_window(window)
    source.drain_events() ─────────────────────────────────────────────────► on_event(event)

* **Raw recording.** Every chunk is queued to the recorder exactly as the source
  delivered it (source units, source channel order, float32, LSL timestamps), before
  any preprocessing. Source events are not XDF data: they go to ``on_event`` (the
  realtime engine writes them to ``events.jsonl``).
* **Stamps.** The thread stamps nothing itself: windows carry the windower's
  ``"buffered"`` trace stamp (LSL clock) and the timestamps the source gave.
* **Bad windows.** ``preprocessing.bad_window_policy``: with ``"skip"`` a window that
  is not ``flags.usable`` (NaN/Inf, flat or saturated channel) is counted in
  :attr:`AcquisitionThread.windows_skipped`, not given to ``on_window``, and reported to
  ``on_event`` as a :class:`PipelineEvent` of kind ``"skipped"``; with ``"feed"`` it is
  delivered like any other window (its flags say what is wrong). Windows flagged only
  ``GAP``, ``CLOCK_JUMP`` or ``INTERPOLATED`` are usable and always delivered.
* **Errors are never silent.** An exception in the thread (source, preprocessing,
  recorder, a callback) is logged at once, ends the loop, is kept in
  :attr:`AcquisitionThread.error` and is raised by :meth:`AcquisitionThread.stop` as an
  :class:`AcquisitionError` chained to the original (``__cause__``).
* **End of stream.** After an ``END_OF_STREAM`` source event the loop ends (the source
  cannot deliver any more); :attr:`AcquisitionThread.running` turns False and
  :meth:`~AcquisitionThread.stop` still has to be called to close everything.

Callbacks run in the acquisition thread and must be quick (the realtime engine puts the
window in a latest-wins mailbox); a slow callback delays the next read, not data (the
source buffers), but it does add latency.

:func:`source_from_config` builds the source that ``config.source.kind`` names.
"""

from __future__ import annotations

import enum
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from acquisition.base import Chunk, EventKind, Source, SourceEvent
from acquisition.grids import GridWindows
from acquisition.preprocessing import StreamPreprocessor
from acquisition.read_plan import ReadPlanner, ReadStep
from acquisition.recorder import Recorder
from acquisition.windowing import Windower
from brain3d.clock import lsl_clock
from brain3d.config import Config
from brain3d.errors import BackendError, StreamError
from brain3d.results import Window

logger = logging.getLogger(__name__)

#: Default wait of one ``Source.read`` call, seconds. LSL and simulator reads return as
#: soon as data arrive, so this bounds only how fast :meth:`AcquisitionThread.stop`
#: is noticed, not the latency.
DEFAULT_READ_TIMEOUT_S = 0.005
#: Default time :meth:`AcquisitionThread.stop` waits for the thread to finish, seconds.
DEFAULT_JOIN_TIMEOUT_S = 5.0


class AcquisitionError(StreamError):
    """The acquisition thread failed; ``__cause__`` is the original exception."""


class PipelineEventKind(str, enum.Enum):
    """Kinds of events the pipeline itself reports (``event`` field of ``events.jsonl``)."""

    SKIPPED = "skipped"  #: an unusable window was not delivered (policy "skip")
    RECORDER_DROPPED = "recorder_dropped"  #: the recorder queue was full; samples not recorded


@dataclass(frozen=True)
class PipelineEvent:
    """Something the acquisition pipeline (not the source) reports.

    Shaped like :class:`~acquisition.base.SourceEvent` (``kind``, ``time``, ``detail``)
    so that one ``on_event`` callback can write both to ``events.jsonl``.

    Attributes
    ----------
    kind : PipelineEventKind
    time : float
        LSL clock seconds when it happened.
    detail : dict
        JSON-ready specifics. ``skipped``: ``seq``, ``t_first``, ``t_last`` (LSL
        seconds), ``flags`` (list of flag names). ``recorder_dropped``: ``samples``
        (dropped in this episode so far: the first chunk), ``total_dropped``.
    """

    kind: PipelineEventKind
    time: float
    detail: dict[str, Any] = field(default_factory=dict)


#: What ``on_event`` receives.
AnyEvent = SourceEvent | PipelineEvent
WindowCallback = Callable[[Window], None]
EventCallback = Callable[[AnyEvent], None]
ChunkCallback = Callable[[Chunk, float], None]


class AcquisitionThread:
    """Read one source in a thread; record raw, preprocess, window, deliver.

    Parameters
    ----------
    source : Source
        Not opened yet (or opened: ``open`` is idempotent for every source). Owned:
        :meth:`stop` closes it.
    config : Config
        ``channels``, ``window`` and ``preprocessing`` (incl. ``bad_window_policy``).
    on_window : callable, optional
        ``on_window(window)`` for every delivered :class:`~brain3d.results.Window`
        ((channels, samples) float32 µV at ``window.sfreq``), in the acquisition thread.
    on_event : callable, optional
        ``on_event(event)`` for every :class:`~acquisition.base.SourceEvent` and
        :class:`PipelineEvent`, in the acquisition thread. Without it events are only
        logged (at INFO; the sources log their own warnings) and counted.
    on_chunk : callable, optional
        ``on_chunk(chunk, read_time)`` for every raw chunk as received (after it was
        queued to the recorder, before preprocessing); ``read_time`` is the LSL time
        (seconds) the read returned. For raw-data displays and measurements.
    recorder : Recorder or str or Path, optional
        Where the raw stream is recorded: a :class:`~acquisition.recorder.Recorder`
        (the stream is added to it), or a path for a new XDF recording. None: no
        recording.
    owns_recorder : bool
        Close the recorder in :meth:`stop` (default True; pass False when the caller
        records other streams into the same recorder and closes it itself).
    read_timeout_s : float
        Longest wait of one ``source.read`` call, seconds (bounds how quickly a stop
        request is noticed).
    clock : callable, optional
        LSL time now, seconds (default ``pylsl.local_clock``); passed to the windower.
    name : str
        Thread name (logs).
    preprocessor_kwargs : dict, optional
        Extra arguments for :class:`~acquisition.preprocessing.StreamPreprocessor`.
    busy_poll_s : float
        Busy-poll the source this long around a window's last sample, seconds (0 = off;
        :mod:`acquisition.read_plan`).
    on_approach : callable, optional
        ``on_approach(due_in_s) -> bool``, in the acquisition thread, once per window
        when only the last few input samples are missing (:mod:`acquisition.read_plan`).

    Attributes
    ----------
    samples_received : int
        Samples returned by the source.
    chunks_received : int
        Non-empty reads.
    samples_recorded : int
        Samples accepted by the recorder queue (written by its thread; see
        :meth:`stats` for ``recorder_samples_written`` after :meth:`stop`).
    samples_record_dropped : int
        Samples the recorder dropped because its queue was full.
    windows_emitted : int
        Windows cut by the windower (delivered + skipped).
    windows_delivered : int
        Windows given to ``on_window``.
    windows_pending : int
        While ``on_window`` runs: how many newer windows the same read completed and
        will be delivered right after this one (0 in the usual one-window case). A
        consumer that only wants the newest window (latest wins) can pass over a window
        with newer ones pending instead of working on it.
    windows_skipped : int
        Unusable windows withheld under policy ``"skip"``.
    events : dict of str to int
        Source and pipeline events seen, per kind.

    """

    def __init__(
        self,
        source: Source,
        config: Config,
        *,
        on_window: WindowCallback | None = None,
        on_event: EventCallback | None = None,
        on_chunk: ChunkCallback | None = None,
        recorder: Recorder | str | Path | None = None,
        owns_recorder: bool = True,
        read_timeout_s: float = DEFAULT_READ_TIMEOUT_S,
        clock: Callable[[], float] | None = None,
        name: str = "acquisition",
        preprocessor_kwargs: dict[str, Any] | None = None,
        busy_poll_s: float = 0.0,
        on_approach: Callable[[float], bool] | None = None,
    ) -> None:
        if read_timeout_s < 0:
            raise ValueError(f"read_timeout_s={read_timeout_s}: must be >= 0 seconds")
        self.source = source
        self.config = config
        self.policy = config.preprocessing.bad_window_policy
        self.on_window = on_window
        self.on_event = on_event
        self.on_chunk = on_chunk
        self._recorder_arg = recorder
        self.owns_recorder = bool(owns_recorder)
        self.read_timeout_s = float(read_timeout_s)
        self._clock = clock or lsl_clock
        self.name = name
        self._preprocessor_kwargs = dict(preprocessor_kwargs or {})
        self._busy_poll_s = float(busy_poll_s)
        self._on_approach = on_approach
        #: When to read and how long to wait (built by :meth:`start`).
        self.reads: ReadPlanner | None = None
        self.recorder: Recorder | None = None
        self.preprocessor: StreamPreprocessor | None = None
        self.windower: Windower | None = None
        #: The front end, the resampling grids and their windowers (built by :meth:`start`).
        self.grids: GridWindows | None = None
        self._stream_id: int | None = None
        self._thread: threading.Thread | None = None
        self._stop_event = threading.Event()
        self._lock = threading.Lock()
        self._started = False
        self._stopped = False
        self._error: BaseException | None = None
        self._error_reported = False
        self._ended = False
        self._recorder_stats: dict[str, Any] | None = None
        self._dropping = False
        self.samples_received = 0
        self.chunks_received = 0
        self.samples_recorded = 0
        self.samples_record_dropped = 0
        self.windows_emitted = 0
        self.windows_delivered = 0
        self.windows_pending = 0
        self.windows_skipped = 0
        self.events: dict[str, int] = {}

    # ------------------------------------------------------------------ properties
    @property
    def running(self) -> bool:
        """True while the read loop runs."""
        return self._thread is not None and self._thread.is_alive()

    @property
    def error(self) -> BaseException | None:
        """The exception that ended the thread, if any (also raised by :meth:`stop`)."""
        return self._error

    @property
    def ended(self) -> bool:
        """True once the source reported ``END_OF_STREAM`` (the loop has ended)."""
        return self._ended

    @property
    def native_thread_id(self) -> int | None:
        """OS thread id of the read loop (for per-thread CPU accounting); None before start."""
        return None if self._thread is None else self._thread.native_id

    # ------------------------------------------------------------------- lifecycle
    def start(self) -> AcquisitionThread:
        """Open the source, build preprocessing, windowing and recording; start the thread.

        Opening happens here, in the caller's thread, so a missing stream or a channel
        mismatch raises at once (and the source is closed again). Returns ``self``.

        Raises
        ------
        StreamError, ChannelError, ConfigError
            From the source, the preprocessor or the recorder.
        RuntimeError
            ``start`` was called before (create a new AcquisitionThread to restart).
        """
        with self._lock:
            if self._started:
                raise RuntimeError(
                    f"{self.name}: start() was already called; create a new AcquisitionThread to restart"
                )
            self._started = True
        try:
            self.source.open()
            description = self.source.description
            self.grids = GridWindows(description, self.config, clock=self._clock, name=self.name,
                                     **self._preprocessor_kwargs)
            self.preprocessor, self.windower = self.grids.preprocessor, self.grids.windower
            self.reads = ReadPlanner(self.grids.sfreq_in, self.read_timeout_s, busy_poll_s=self._busy_poll_s,
                                     on_approach=self._on_approach)  # fmt: skip
            recorder = self._recorder_arg
            if isinstance(recorder, (str, Path)):
                recorder = Recorder(recorder)
            if recorder is not None:
                self.recorder = recorder
                self._stream_id = recorder.add_stream(description, channel_format="float32")
        except BaseException:
            self._stopped = True
            self._close_quietly()
            raise
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()
        logger.info(
            "%s started: stream %r (%d ch, %g Hz), policy %s, recording %s",
            self.name, description.name, description.n_channels, description.sfreq, self.policy,
            self.recorder.path if self.recorder is not None else "off",
        )
        return self

    def stop(self, timeout: float = DEFAULT_JOIN_TIMEOUT_S) -> dict[str, Any]:
        """Stop the loop, join the thread, close source and recorder (idempotent).

        Parameters
        ----------
        timeout : float
            Seconds to wait for the thread to finish.

        Returns
        -------
        dict
            :meth:`stats` after closing.

        Raises
        ------
        AcquisitionError
            The thread failed (raised by the first ``stop`` after the failure; later
            calls return the stats; :attr:`error` keeps the exception), the thread did
            not finish within ``timeout``, or closing the recorder failed.
        """
        with self._lock:
            first = not self._stopped
            self._stopped = True
        if first:
            self._stop_event.set()
            thread = self._thread
            stuck = False
            if thread is not None and thread is not threading.current_thread():
                thread.join(timeout)
                stuck = thread.is_alive()
            close_error = self._close_quietly()
            if stuck:
                logger.error("%s: thread did not finish within %.1f s", self.name, timeout)
                if self._error is None:
                    self._error = AcquisitionError(
                        f"{self.name}: the acquisition thread did not finish within {timeout:g} s "
                        "(a callback or the source is blocking); make callbacks return quickly"
                    )
            if close_error is not None and self._error is None:
                self._error = close_error
            logger.info("%s stopped: %s", self.name, self._summary())
        if self._error is not None and not self._error_reported:
            self._error_reported = True
            error = self._error
            if isinstance(error, AcquisitionError):
                raise error
            raise AcquisitionError(
                f"{self.name}: the acquisition thread failed: {type(error).__name__}: {error} "
                "(see the chained exception; the recording holds the data received before)"
            ) from error
        return self.stats()

    def _close_quietly(self) -> BaseException | None:
        """Close source and recorder; return the first failure instead of raising."""
        failure: BaseException | None = None
        try:
            self.source.close()
        except Exception as exc:  # noqa: BLE001 - reported by stop()
            logger.exception("%s: closing the source failed", self.name)
            failure = exc
        recorder = self.recorder
        if recorder is not None and self.owns_recorder:
            try:
                stats = recorder.close()
            except Exception as exc:  # noqa: BLE001 - reported by stop()
                logger.exception("%s: closing the recorder failed", self.name)
                failure = failure or exc
                stats = recorder.stats()
            self._recorder_stats = _recorder_stats_dict(stats, self._stream_id)
        return failure

    def __enter__(self) -> AcquisitionThread:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    # ------------------------------------------------------------------- the loop
    def _run(self) -> None:
        source = self.source
        timeout = self.read_timeout_s
        try:
            while not self._stop_event.is_set():
                started = time.perf_counter()
                step = self._next_read(timeout)
                chunk = source.read(step.wait_s, step.min_samples)
                if step.spins and self.reads is not None:  # the whole spinning iteration is its cost
                    self.reads.spun(time.perf_counter() - started)
                events = source.drain_events()
                if events:
                    self._handle_source_events(events)
                if chunk is not None and len(chunk):
                    read_time = self._clock()
                    if self.reads is not None:
                        self.reads.arrived(read_time)
                    self._handle_chunk(chunk, read_time)
                if self._ended:
                    logger.warning(
                        "%s: the source reported end of stream; the read loop ends "
                        "(stop() and start a new AcquisitionThread when the stream is back)",
                        self.name,
                    )
                    break
        except BaseException as exc:  # never silent: kept and raised by stop()
            self._error = exc
            logger.exception("%s: acquisition thread failed; call stop() to close and see the error", self.name)

    def _next_read(self, timeout: float) -> ReadStep:
        if self.grids is None or self.reads is None:
            return ReadStep(timeout, 1)
        return self.reads.next_read(self.grids.inputs_until_next_window(), self._clock())

    def _handle_chunk(self, chunk: Chunk, read_time: float) -> None:
        n = len(chunk)
        self.samples_received += n
        self.chunks_received += 1
        recorder = self.recorder
        if recorder is not None and self._stream_id is not None:
            if recorder.push(self._stream_id, chunk.data, chunk.timestamps):
                self.samples_recorded += n
                self._dropping = False
            else:
                self.samples_record_dropped += n
                if not self._dropping:
                    self._dropping = True
                    self._emit(PipelineEvent(
                        PipelineEventKind.RECORDER_DROPPED, read_time,
                        {"samples": n, "total_dropped": self.samples_record_dropped},
                    ))  # fmt: skip
        if self.on_chunk is not None:
            self.on_chunk(chunk, read_time)
        assert self.grids is not None  # built by start() before the thread reads
        cut = self.grids.push(chunk.data, chunk.timestamps)
        deliver = []
        for window in cut:
            self.windows_emitted += 1
            if self.policy == "skip" and not window.flags.usable:
                self.windows_skipped += 1
                self._emit(PipelineEvent(
                    PipelineEventKind.SKIPPED, window.trace.stamps.get("buffered", read_time),
                    {
                        "seq": window.seq, "t_first": window.t_first, "t_last": window.t_last,
                        "flags": [f.name for f in type(window.flags) if f and f in window.flags],
                    },
                ))  # fmt: skip
                continue
            deliver.append(window)
        for index, window in enumerate(deliver):
            self.windows_delivered += 1
            self.windows_pending = len(deliver) - index - 1
            if self.on_window is not None:
                self.on_window(window)
        self.windows_pending = 0

    def _handle_source_events(self, events: list[SourceEvent]) -> None:
        for event in events:
            if event.kind is EventKind.END_OF_STREAM:
                self._ended = True
            self._emit(event)

    def _emit(self, event: AnyEvent) -> None:
        kind = str(event.kind.value)
        self.events[kind] = self.events.get(kind, 0) + 1
        logger.info("%s: event %s %s", self.name, kind, event.detail)
        if self.on_event is not None:
            self.on_event(event)

    # ---------------------------------------------------------------------- stats
    def stats(self) -> dict[str, Any]:
        """JSON-ready counts.

        Returns
        -------
        dict
            ``samples_received``, ``chunks_received``, ``samples_recorded`` (queued to
            the recorder), ``samples_record_dropped``, ``samples_preprocessed`` (output
            samples at ``window.sfreq``, summed over the resampling grids), ``windows_emitted``, ``windows_delivered``,
            ``windows_skipped``, ``policy``, ``windower`` (flag counts, see
            :meth:`~acquisition.windowing.Windower.stats`), ``events`` (per kind),
            ``recorder`` (after :meth:`stop`: ``path``, ``samples_written``,
            ``samples_dropped`` of this stream), ``running``, ``ended``, ``error``,
            ``busy_poll`` (``spin_s``, ``spin_reads``, ``approaches``; see
            :mod:`acquisition.read_plan`).
        """
        return _thread_stats(self)

    def _summary(self) -> str:
        return (
            f"{self.samples_received} samples received, {self.samples_recorded} recorded "
            f"({self.samples_record_dropped} dropped), {self.windows_emitted} windows "
            f"({self.windows_delivered} delivered, {self.windows_skipped} skipped), events {self.events}"
        )


def _thread_stats(thread: AcquisitionThread) -> dict[str, Any]:
    """:meth:`AcquisitionThread.stats` (kept out of the class, which is long enough)."""
    reads = thread.reads
    grids = thread.grids
    return {
        "samples_received": thread.samples_received,
        "chunks_received": thread.chunks_received,
        "samples_recorded": thread.samples_recorded,
        "samples_record_dropped": thread.samples_record_dropped,
        "samples_preprocessed": 0 if grids is None else grids.samples_out,
        "windows_emitted": thread.windows_emitted,
        "windows_delivered": thread.windows_delivered,
        "windows_skipped": thread.windows_skipped,
        "policy": thread.policy,
        "windower": None if grids is None else grids.windower_stats(),
        "events": dict(thread.events),
        "recorder": thread._recorder_stats,
        "running": thread.running,
        "ended": thread.ended,
        "error": None if thread.error is None else repr(thread.error),
        "busy_poll": None if reads is None else {"spin_s": round(reads.spin_s, 4), "spin_reads": reads.spin_reads,
                                                 "approaches": reads.approaches},
    }


def _recorder_stats_dict(stats: Any, stream_id: int | None) -> dict[str, Any]:
    sid = stream_id if stream_id is not None else -1
    return {
        "path": str(stats.path),
        "samples_written": int(stats.samples_written.get(sid, 0)),
        "samples_dropped": int(stats.samples_dropped.get(sid, 0)),
        "bytes_written": int(stats.bytes_written),
        "error": stats.error,
    }


# ------------------------------------------------------------------------- factory
def source_from_config(config: Config) -> Source:
    """The source ``config.source.kind`` names (not opened), from :data:`brain3d.registry.SOURCES`.

    Built-ins: ``simulate`` -> :class:`~acquisition.sim_source.SimulatorSource`, ``lsl`` ->
    :class:`~acquisition.lsl_inlet.LSLInletSource`, ``brainflow`` ->
    :class:`~acquisition.brainflow_source.BrainFlowSource`, ``replay`` ->
    :class:`~acquisition.replay.ReplaySource` (a player plus an LSL inlet on its stream);
    plug-ins register more through the ``brain3d.sources`` entry points.

    Raises
    ------
    ConfigError
        The kind is not registered.
    BackendError
        A plug-in's module cannot be imported, or its factory did not return an
        :class:`~acquisition.base.Source`.
    """
    from brain3d.registry import SOURCES

    source = SOURCES.create(config.source.kind, config)
    if not isinstance(source, Source):
        raise BackendError(f"source backend {config.source.kind!r} returned {type(source).__name__}, not an "
                           "acquisition.base.Source; its factory must build a Source subclass")
    return source


__all__ = [
    "AcquisitionError",
    "AcquisitionThread",
    "AnyEvent",
    "DEFAULT_READ_TIMEOUT_S",
    "PipelineEvent",
    "PipelineEventKind",
    "source_from_config",
]
