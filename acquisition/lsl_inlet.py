"""Read an EEG stream (and marker streams) from Lab Streaming Layer.

:class:`LSLInletSource` implements :class:`~acquisition.base.Source` for one numeric LSL
stream chosen by :class:`~brain3d.config.LSLSourceConfig`; :class:`MarkerInletSource`
reads string marker streams (e.g. the simulator's ``<prefix>-Markers`` JSON markers).

Resolution
----------
Every selector given (``name``, ``type``, ``source_id``) must match; they are combined
into one XPath predicate for ``pylsl.resolve_bypred``. If nothing matches within
``resolve_timeout_s`` a :class:`~brain3d.errors.StreamError` lists the streams that
*are* visible (name, type, source_id, channels, rate, host) and says how to select one.
Discovery follows liblsl's configuration: with ``LSLAPICFG`` pointing to a file with
``ResolveScope = machine`` it never leaves this machine.

Inlet
-----
The inlet is opened with ``max_chunklen = config.max_chunklen`` (bounds the lag a huge
sender chunk would add), ``recover = True`` (liblsl silently reconnects to a stream
with the same ``source_id`` when it comes back; streams without a ``source_id`` cannot
be recovered and end with an ``END_OF_STREAM`` event) and processing flags:

* ``clock_sync`` -> ``proc_clocksync``: timestamps are mapped to this machine's LSL
  clock (liblsl's ``time_correction`` is applied for us).
* ``dejitter`` -> ``proc_dejitter | proc_monotonize``: liblsl smooths timestamps with
  a recursive least-squares fit of time on sample index. It needs **tens of seconds**
  to settle, so early timestamps are less trustworthy than later ones; only use it for
  streams whose sender stamps are noisy. liblsl's monotonize only makes sense on
  dejittered stamps (it clamps a backward stamp to the previous one), so it rides
  with dejitter.

Reading
-------
:meth:`LSLInletSource.read` pulls with ``pull_chunk(dest_obj=...)`` straight into a
preallocated numpy buffer in the stream's own dtype and returns a float32 copy: no
per-sample Python on the normal path. One call returns at most ``buffer_samples``
samples; call again to get the rest.

Events (never silent)
---------------------
``STREAM_LOST``
    No sample for ``stall_timeout_s`` (measured on the LSL clock while :meth:`read`
    is being called), emitted once, long before liblsl's own connection timeouts.
    ``detail``: ``stalled_s``, ``last_timestamp``.
``STREAM_RESTORED``
    The first data after a loss. ``detail``: ``gap_s`` = first new timestamp minus
    last old one (seconds, LSL clock), ``missing_s`` = ``gap_s`` minus one sample
    period, ``lost_for_s`` = LSL-clock time between the loss being noticed and now.
``CLOCK_JUMP``
    A step between consecutive timestamps that differs from ``1 / sfreq`` by more
    than ``clock_jump_s`` (default 1 s), forwards or backwards, while the stream was
    not lost. ``detail``: ``jump_s`` (step minus the expected step; negative =
    backwards), ``before``, ``after``. The source then continues on the new timeline
    as stamped (it is the sender's clock now); consumers keyed on time (ring buffers)
    should resynchronise. A forward step after a detected loss is the restore gap and
    is reported in ``STREAM_RESTORED`` instead.
``NON_MONOTONIC``
    Timestamps that do not increase (by less than the jump threshold). They are
    **re-stamped**, never dropped: a run of samples whose stamps are not later than
    every earlier stamp is spread linearly between the good stamps around it (a run at
    the end of a chunk continues by ``1 / sfreq``, or 1 µs for irregular streams), so
    the samples stay, good stamps are untouched, and delivered timestamps increase
    within a timeline. ``detail``: ``count`` (samples re-stamped in this
    chunk), ``total`` (since open), ``max_backstep_s``.
``RATE_MISMATCH``
    The effective rate differs from the nominal rate by more than ``rate_tolerance``
    (2 %). The effective rate is the inverse slope of a least-squares line of
    timestamp on sample index over the last ``rate_window_s`` seconds (about 20
    points per second, refitted every 0.5 s; robust to per-chunk jitter), estimated
    once at least ``rate_min_span_s`` seconds are covered. Emitted once per episode; the episode ends (logged) when the rate is
    back within half the tolerance. ``detail``: ``nominal_hz``, ``effective_hz``,
    ``ratio``. The estimate restarts after a loss or a clock jump.
``END_OF_STREAM``
    liblsl reports the stream lost for good (no ``source_id`` to recover with).

pylsl is imported lazily so a caller can set ``LSLAPICFG`` before liblsl loads.
"""

from __future__ import annotations

import logging
import threading
import xml.etree.ElementTree as ET
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from acquisition.base import Chunk, EventKind, Source, SourceEvent, StreamDescription
from acquisition.front_end import canonical_unit
from brain3d.config import Config, LSLSourceConfig
from brain3d.errors import StreamError

if TYPE_CHECKING:  # pragma: no cover
    import pylsl

logger = logging.getLogger(__name__)

#: Default |step - 1/sfreq| (seconds) above which a timestamp step is a clock jump.
DEFAULT_CLOCK_JUMP_S = 1.0
#: Default relative tolerance of effective vs nominal rate before RATE_MISMATCH.
DEFAULT_RATE_TOLERANCE = 0.02
#: Default sliding window of the effective-rate estimate, seconds of timestamps.
DEFAULT_RATE_WINDOW_S = 10.0
#: Default timestamp span needed before the effective rate is estimated, seconds.
DEFAULT_RATE_MIN_SPAN_S = 4.0
#: Seconds of timestamps between two effective-rate fits.
RATE_UPDATE_S = 0.5
#: Seconds spent listing visible streams for the "not found" error message.
LIST_STREAMS_WAIT_S = 1.0

def _pylsl() -> Any:
    """Import pylsl on first use (after the caller had a chance to set ``LSLAPICFG``)."""
    import pylsl

    return pylsl


# ------------------------------------------------------------------------ resolution
def _xpath_literal(value: str) -> str:
    """``value`` as an XPath 1.0 string literal (handles embedded quotes)."""
    if "'" not in value:
        return f"'{value}'"
    if '"' not in value:
        return f'"{value}"'
    parts = value.split("'")
    return "concat(" + ', "\'", '.join(f"'{p}'" for p in parts) + ")"


def build_predicate(
    name: str | None = None, type: str | None = None, source_id: str | None = None
) -> str:
    """XPath predicate for ``pylsl.resolve_bypred``: every selector given must match.

    ``type`` matches whatever its case (senders write ``EEG``, ``eeg`` (mne-lsl's
    ``PlayerLSL``) or ``Eeg``); ``name`` and ``source_id`` match exactly.

    Parameters
    ----------
    name, type, source_id : str, optional
        Stream selectors; None (or empty) is "any".

    Returns
    -------
    str
        e.g. ``"name='X' and translate(type, 'ABC...', 'abc...')='eeg'"``;
        ``"count(name)>0"`` (any stream) if none given.
    """
    terms = [f"{key}={_xpath_literal(value)}" for key, value in (("name", name), ("source_id", source_id)) if value]
    if type:
        # XPath 1.0 (liblsl's pugixml) has no lower-case(): fold ASCII with translate()
        terms.insert(1 if name else 0, f"translate(type, '{_UPPER}', '{_LOWER}')={_xpath_literal(type.lower())}")
    return " and ".join(terms) if terms else "count(name)>0"


_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_LOWER = _UPPER.lower()


def describe_stream_info(info: Any) -> str:
    """One line describing a ``pylsl.StreamInfo`` (for logs and error messages)."""
    rate = info.nominal_srate()
    rate_text = f"{rate:g} Hz" if rate > 0 else "irregular"
    return (
        f"name={info.name()!r} type={info.type()!r} source_id={info.source_id()!r} "
        f"channels={info.channel_count()} rate={rate_text} host={info.hostname()!r}"
    )


def list_visible_streams(wait_s: float = LIST_STREAMS_WAIT_S) -> list[str]:
    """Descriptions of the LSL streams visible now (see :func:`describe_stream_info`).

    Parameters
    ----------
    wait_s : float
        Seconds to listen for streams.
    """
    pylsl = _pylsl()
    return [describe_stream_info(info) for info in pylsl.resolve_streams(wait_time=wait_s)]


def resolve_stream(
    name: str | None,
    type: str | None,
    source_id: str | None,
    timeout_s: float,
    *,
    config_prefix: str = "source.lsl",
) -> Any:
    """Find one LSL stream whose name, type and source_id match every selector given.

    Parameters
    ----------
    name, type, source_id : str, optional
        Selectors; None matches anything.
    timeout_s : float
        Seconds to look before failing.
    config_prefix : str
        Config path named in error messages (``source.lsl``).

    Returns
    -------
    pylsl.StreamInfo
        The first match (a warning lists all matches when several are found).

    Raises
    ------
    StreamError
        If nothing matches; the message lists visible streams and how to select one.
    """
    pylsl = _pylsl()
    predicate = build_predicate(name, type, source_id)
    logger.info("resolving LSL stream %s (up to %.1f s)", predicate, timeout_s)
    found = pylsl.resolve_bypred(predicate, 1, timeout_s)
    if not found:
        visible = list_visible_streams()
        listing = (
            "\n".join(f"  - {line}" for line in visible)
            if visible
            else "  (none: is the sender running, on this machine or network? "
            "LSLAPICFG may limit discovery, e.g. ResolveScope = machine)"
        )
        raise StreamError(
            f"no LSL stream matching {predicate} found within {timeout_s:g} s.\n"
            f"Visible streams:\n{listing}\n"
            f"Fix: set {config_prefix}.name / .type / .source_id to the values of one of "
            f"them (every selector given must match; set a selector to null to ignore "
            f"it), start the sender, or raise {config_prefix}.resolve_timeout_s."
        )
    if len(found) > 1:
        logger.warning(
            "%d LSL streams match %s; using the first (%s). Set %s.source_id to choose:\n%s",
            len(found),
            predicate,
            describe_stream_info(found[0]),
            config_prefix,
            "\n".join(f"  - {describe_stream_info(info)}" for info in found),
        )
    return found[0]


def _normalise_unit(unit: str) -> str:
    return canonical_unit(unit) or unit.strip()


def parse_channels(xml: str, n_channels: int) -> tuple[tuple[str, ...], str]:
    """Channel labels and units from a stream's full XML header.

    Parameters
    ----------
    xml : str
        ``StreamInfo.as_xml()`` of the full info (from ``inlet.info()``).
    n_channels : int
        Channel count of the stream.

    Returns
    -------
    labels : tuple of str
        ``desc/channels/channel/label`` in order; ``ch{i}`` where missing, empty or
        when the header lists a different number of channels.
    units : str
        The common unit normalised (``microvolts`` -> ``uV``); ``"mixed"`` when the
        channels disagree, ``"unknown"`` when none is given.
    """
    labels = [f"ch{i}" for i in range(n_channels)]
    units: list[str] = []
    try:
        root = ET.fromstring(xml)
    except ET.ParseError as error:
        logger.warning("could not parse the LSL stream header XML (%s); using ch{i} labels", error)
        return tuple(labels), "unknown"
    channels = root.findall("./desc/channels/channel")
    if channels and len(channels) != n_channels:
        logger.warning(
            "LSL header lists %d channels but the stream has %d; using ch{i} labels",
            len(channels),
            n_channels,
        )
        channels = []
    for i, channel in enumerate(channels):
        label = (channel.findtext("label") or "").strip()
        if label:
            labels[i] = label
        unit = (channel.findtext("unit") or channel.findtext("units") or "").strip()
        if unit:
            units.append(_normalise_unit(unit))
    if len(set(labels)) != len(labels):
        logger.warning("LSL stream has duplicate channel labels: %s", labels)
    if not units:
        unit_text = "unknown"
    elif len(set(units)) == 1 and len(units) == len(channels):
        unit_text = units[0]
    elif len(set(units)) == 1:
        unit_text = units[0]
        logger.warning(
            "only %d of %d channels give a unit; assuming %s", len(units), n_channels, unit_text
        )
    else:
        unit_text = "mixed"
        logger.warning("LSL channels have mixed units: %s", sorted(set(units)))
    return tuple(labels), unit_text


# ------------------------------------------------------------------ timestamp checks
@dataclass
class _RateEstimator:
    """Least-squares effective rate over a sliding window of (sample index, timestamp)."""

    window_s: float
    min_span_s: float

    def __post_init__(self) -> None:
        self._points: deque[tuple[float, float]] = deque()

    def reset(self) -> None:
        self._points.clear()

    def add(self, index: float, timestamp: float) -> None:
        points = self._points
        points.append((index, timestamp))
        while points and timestamp - points[0][1] > self.window_s:
            points.popleft()

    def rate(self) -> float | None:
        """Effective rate in Hz, or None until ``min_span_s`` seconds are covered."""
        points = self._points
        if len(points) < 3 or points[-1][1] - points[0][1] < self.min_span_s:
            return None
        arr = np.asarray(points, dtype=np.float64)
        idx = arr[:, 0] - arr[0, 0]
        ts = arr[:, 1] - arr[0, 1]
        idx_c = idx - idx.mean()
        denom = float(idx_c @ idx_c)
        if denom <= 0:
            return None
        slope = float(idx_c @ (ts - ts.mean())) / denom  # seconds per sample
        return 1.0 / slope if slope > 0 else None


class TimestampChecker:
    """Clock-jump, monotonicity and rate checks on consecutive timestamp chunks.

    Shared by the LSL inlet; pure numpy except on the rare paths (jumps, re-stamping).

    Parameters
    ----------
    sfreq : float
        Nominal rate, Hz (0 = irregular: no rate check, no expected step).
    clock_jump_s : float
        Step beyond the expected ``1 / sfreq`` (seconds) that counts as a clock jump.
    rate_tolerance : float
        Relative rate difference that starts a RATE_MISMATCH episode.
    rate_window_s, rate_min_span_s : float
        Sliding window and minimum span of the rate estimate, seconds.
    """

    def __init__(
        self,
        sfreq: float,
        clock_jump_s: float = DEFAULT_CLOCK_JUMP_S,
        rate_tolerance: float = DEFAULT_RATE_TOLERANCE,
        rate_window_s: float = DEFAULT_RATE_WINDOW_S,
        rate_min_span_s: float = DEFAULT_RATE_MIN_SPAN_S,
    ) -> None:
        self.sfreq = float(sfreq)
        self.dt = 1.0 / self.sfreq if self.sfreq > 0 else 0.0
        self.clock_jump_s = float(clock_jump_s)
        self.rate_tolerance = float(rate_tolerance)
        self._rate = _RateEstimator(rate_window_s, rate_min_span_s)
        self._stride = max(1, round(self.sfreq / 20)) if self.sfreq > 0 else 1
        self._rate_due: float | None = None
        self.last_timestamp: float | None = None
        self.n_samples = 0
        self.non_monotonic_total = 0
        self.effective_rate: float | None = None
        self._rate_mismatch = False

    def reset_rate(self) -> None:
        """Forget the rate window (after a loss or a jump)."""
        self._rate.reset()
        self._rate_due = None

    def check(
        self, timestamps: np.ndarray, now: float, *, after_gap: bool = False
    ) -> tuple[np.ndarray, list[SourceEvent]]:
        """Check (and if needed re-stamp) one chunk's timestamps.

        Parameters
        ----------
        timestamps : ndarray, float64 (n_samples,)
            LSL clock seconds, as received.
        now : float
            LSL clock seconds, the time stamped on events.
        after_gap : bool
            The chunk follows a detected stream loss: the step from the previous sample
            is the restore gap, not a clock jump.

        Returns
        -------
        timestamps : ndarray, float64 (n_samples,)
            The input array, or a re-stamped copy when non-monotonic stamps were found.
        events : list of SourceEvent
        """
        events: list[SourceEvent] = []
        n = len(timestamps)
        if n == 0:
            return timestamps, events
        if after_gap:
            self.reset_rate()
        prev = self.last_timestamp
        if prev is None or after_gap:
            steps = np.empty(n, dtype=np.float64)
            steps[0] = self.dt
            steps[1:] = np.diff(timestamps)
        else:
            steps = np.diff(timestamps, prepend=prev)
        deviation = steps - self.dt
        jumps = np.flatnonzero(np.abs(deviation) > self.clock_jump_s)
        bad = steps <= 0
        if jumps.size:
            bad[jumps] = False
        if jumps.size or bad.any():
            timestamps, events = self._slow_path(
                timestamps, steps, jumps, bad, prev, now, after_gap
            )
        self.last_timestamp = float(timestamps[-1])
        # Rate: points on a grid of global sample indices (~20 per second) on the
        # current timeline; the fit is redone at most every RATE_UPDATE_S of stamps.
        if self.sfreq > 0:
            first = self.n_samples
            offset = (-first) % self._stride
            for i in range(offset, n, self._stride):
                self._rate.add(first + i, float(timestamps[i]))
            rate = None
            if self._rate_due is None or self.last_timestamp >= self._rate_due:
                rate = self._rate.rate()
                if rate is not None:
                    self._rate_due = self.last_timestamp + RATE_UPDATE_S
            if rate is not None:
                self.effective_rate = rate
                ratio = rate / self.sfreq
                off = abs(ratio - 1.0)
                if off > self.rate_tolerance and not self._rate_mismatch:
                    self._rate_mismatch = True
                    logger.warning(
                        "LSL effective rate %.2f Hz differs from nominal %.2f Hz by %.1f %%",
                        rate,
                        self.sfreq,
                        100 * (ratio - 1),
                    )
                    events.append(
                        SourceEvent(
                            EventKind.RATE_MISMATCH,
                            now,
                            {
                                "nominal_hz": self.sfreq,
                                "effective_hz": round(rate, 4),
                                "ratio": round(ratio, 6),
                            },
                        )
                    )
                elif self._rate_mismatch and off < self.rate_tolerance / 2:
                    self._rate_mismatch = False
                    logger.info(
                        "LSL effective rate back to %.2f Hz (nominal %.2f Hz)", rate, self.sfreq
                    )
        self.n_samples += n
        return timestamps, events

    def _slow_path(
        self,
        timestamps: np.ndarray,
        steps: np.ndarray,
        jumps: np.ndarray,
        bad: np.ndarray,
        prev: float | None,
        now: float,
        after_gap: bool,
    ) -> tuple[np.ndarray, list[SourceEvent]]:
        """Report jumps; re-stamp non-monotonic samples (rare path, per-sample loop)."""
        events: list[SourceEvent] = []
        for j in jumps:
            before = float(timestamps[j - 1]) if j > 0 else prev
            jump = float(steps[j] - self.dt)
            logger.warning(
                "LSL clock jump of %+.3f s between samples (%.6f -> %.6f s)",
                jump,
                before if before is not None else float("nan"),
                float(timestamps[j]),
            )
            events.append(
                SourceEvent(
                    EventKind.CLOCK_JUMP,
                    now,
                    {"jump_s": round(jump, 6), "before": before, "after": float(timestamps[j])},
                )
            )
        if jumps.size:
            self.reset_rate()
        if not bad.any():
            return timestamps, events
        fixed = np.array(timestamps, dtype=np.float64, copy=True)
        step = self.dt if self.dt > 0 else 1e-6
        bounds = [0, *[int(j) for j in jumps], len(fixed)]
        count, max_back = 0, 0.0
        for k, (lo, hi) in enumerate(zip(bounds[:-1], bounds[1:], strict=True)):
            if hi <= lo:
                continue
            anchor = prev if (k == 0 and prev is not None and not after_gap) else None
            n_bad, back = _restamp(fixed[lo:hi], anchor, step)
            count += n_bad
            max_back = max(max_back, back)
        if not count:
            return timestamps, events
        self.non_monotonic_total += count
        logger.warning(
            "%d non-monotonic LSL timestamps (up to %.4f s backwards) re-stamped", count, max_back
        )
        events.append(
            SourceEvent(
                EventKind.NON_MONOTONIC,
                now,
                {
                    "count": count,
                    "total": self.non_monotonic_total,
                    "max_backstep_s": round(max_back, 6),
                },
            )
        )
        return fixed, events


def _restamp(ts: np.ndarray, anchor: float | None, step: float) -> tuple[int, float]:
    """Re-stamp, in place, samples not later than every earlier stamp of one timeline.

    A run of such samples is spread linearly between the last good stamp before it
    (``anchor`` = the previous chunk's last stamp for the first run) and the first good
    stamp after it; a run at the end continues from the last good stamp by ``step``.
    Good stamps are never changed.

    Returns
    -------
    count : int
        Samples re-stamped.
    max_backstep_s : float
        Largest amount (seconds) by which a stamp went backwards.
    """
    full = ts if anchor is None else np.concatenate(([anchor], ts))
    running = np.maximum.accumulate(full)
    bad = np.zeros(len(full), dtype=bool)
    bad[1:] = full[1:] <= running[:-1]
    if not bad.any():
        return 0, 0.0
    max_back = float(np.max(running[:-1][bad[1:]] - full[1:][bad[1:]]))
    idx = np.arange(len(full), dtype=np.float64)
    good = ~bad
    good_idx, good_ts = idx[good], full[good]
    bad_idx = np.flatnonzero(bad)
    inside = bad_idx < good_idx[-1]
    values = np.empty(len(bad_idx), dtype=np.float64)
    values[inside] = np.interp(bad_idx[inside], good_idx, good_ts)
    tail = bad_idx[~inside]
    values[~inside] = good_ts[-1] + (tail - good_idx[-1]) * step
    full[bad_idx] = values
    if anchor is not None:
        ts[:] = full[1:]
    return int(bad.sum()), max_back


# ---------------------------------------------------------------------- EEG source
class LSLInletSource(Source):
    """A numeric LSL stream as a :class:`~acquisition.base.Source` (see module docstring).

    Parameters
    ----------
    config : LSLSourceConfig
        Selectors (name, type, source_id), resolve timeout (s), clock_sync, dejitter,
        max_chunklen (samples) and stall_timeout_s (s).
    buffer_samples : int, optional
        Most samples one :meth:`read` returns; default
        ``max(1024, 8 * max_chunklen, 1 s of data)``.
    max_buflen_s : int
        Seconds liblsl buffers for us when we read late.
    clock_jump_s, rate_tolerance, rate_window_s, rate_min_span_s
        As for :class:`TimestampChecker`.
    """

    def __init__(
        self,
        config: LSLSourceConfig | None = None,
        *,
        buffer_samples: int | None = None,
        max_buflen_s: int = 30,
        clock_jump_s: float = DEFAULT_CLOCK_JUMP_S,
        rate_tolerance: float = DEFAULT_RATE_TOLERANCE,
        rate_window_s: float = DEFAULT_RATE_WINDOW_S,
        rate_min_span_s: float = DEFAULT_RATE_MIN_SPAN_S,
    ) -> None:
        self.config = config or LSLSourceConfig()
        self._buffer_samples_arg = buffer_samples
        self.max_buflen_s = int(max_buflen_s)
        self._checker_args = dict(
            clock_jump_s=clock_jump_s,
            rate_tolerance=rate_tolerance,
            rate_window_s=rate_window_s,
            rate_min_span_s=rate_min_span_s,
        )
        self._lock = threading.Lock()
        self._inlet: pylsl.StreamInlet | None = None
        self._description: StreamDescription | None = None
        self._buffer: np.ndarray | None = None
        self._checker: TimestampChecker | None = None
        self._events: list[SourceEvent] = []
        self._last_data_time = 0.0
        self._lost_at: float | None = None
        self._ended = False
        self.samples_received = 0
        self.chunks_received = 0

    # ------------------------------------------------------------------ properties
    @property
    def description(self) -> StreamDescription:
        """What the stream delivers (valid after :meth:`open`)."""
        if self._description is None:
            raise StreamError("LSLInletSource is not open; call open() first")
        return self._description

    @property
    def effective_rate(self) -> float | None:
        """Latest effective-rate estimate in Hz (None until enough data)."""
        return self._checker.effective_rate if self._checker else None

    @property
    def lost(self) -> bool:
        """True between STREAM_LOST and STREAM_RESTORED."""
        return self._lost_at is not None

    # ------------------------------------------------------------------- lifecycle
    def open(self) -> None:
        """Resolve the stream, open the inlet, read channel labels and units.

        Raises
        ------
        StreamError
            Nothing matches (the message lists visible streams), the stream carries
            strings, or the connection cannot be opened within ``resolve_timeout_s``.
        """
        if self._inlet is not None:
            return
        pylsl = _pylsl()
        cfg = self.config
        info = resolve_stream(cfg.name, cfg.type, cfg.source_id, cfg.resolve_timeout_s)
        if info.channel_format() == pylsl.cf_string:
            raise StreamError(
                f"LSL stream {describe_stream_info(info)} carries strings (a marker stream), "
                "not EEG samples; select a numeric stream (source.lsl.type: EEG) or read it "
                "with MarkerInletSource"
            )
        if info.channel_count() < 1:
            raise StreamError(f"LSL stream {describe_stream_info(info)} has no channels")
        flags = 0
        if cfg.clock_sync:
            flags |= pylsl.proc_clocksync
        if cfg.dejitter:
            flags |= pylsl.proc_dejitter | pylsl.proc_monotonize
        inlet = pylsl.StreamInlet(
            info,
            max_buflen=self.max_buflen_s,
            max_chunklen=cfg.max_chunklen,
            recover=True,
            processing_flags=flags,
        )
        try:
            full = inlet.info(timeout=cfg.resolve_timeout_s)
            inlet.open_stream(timeout=cfg.resolve_timeout_s)
            if cfg.clock_sync:
                # Measure the clock offset now: otherwise the first pull blocks while
                # liblsl does it, stalling the first ~0.7 s of data (seen in the benchmark).
                inlet.time_correction(timeout=cfg.resolve_timeout_s)
        except Exception as error:  # TimeoutError / LostError from liblsl
            del inlet
            raise StreamError(
                f"found LSL stream {describe_stream_info(info)} but could not connect "
                f"within {cfg.resolve_timeout_s:g} s ({error}); check the sender is still "
                f"running and reachable, or raise source.lsl.resolve_timeout_s"
            ) from error
        n_channels = full.channel_count()
        labels, units = parse_channels(full.as_xml(), n_channels)
        sfreq = float(full.nominal_srate())
        if not info.source_id():
            logger.warning(
                "LSL stream %r has no source_id: liblsl cannot reconnect if it is restarted "
                "(the source will end with END_OF_STREAM)",
                info.name(),
            )
        dtype = inlet.np_dtype
        n_buf = self._buffer_samples_arg or max(
            1024, 8 * cfg.max_chunklen, int(np.ceil(sfreq)) if sfreq > 0 else 0
        )
        self._buffer = np.empty((n_buf, n_channels), dtype=dtype)
        self._description = StreamDescription(
            name=full.name(),
            type=full.type(),
            source_id=full.source_id(),
            channel_names=labels,
            sfreq=sfreq,
            units=units,
            simulated=_header_says_simulated(full.as_xml()),
        )
        self._checker = TimestampChecker(sfreq, **self._checker_args)
        self._inlet = inlet
        self._last_data_time = pylsl.local_clock()
        self._lost_at = None
        self._ended = False
        logger.info(
            "LSL inlet open: %s; %s, flags %s, max_chunklen %d, stall timeout %.2f s",
            describe_stream_info(full),
            units,
            _flags_text(flags),
            cfg.max_chunklen,
            cfg.stall_timeout_s,
        )

    def close(self) -> None:
        """Close the inlet (idempotent). Events not yet drained stay available."""
        with self._lock:
            inlet, self._inlet = self._inlet, None
        if inlet is not None:
            try:
                inlet.close_stream()
            except Exception:  # pragma: no cover - liblsl shutdown quirks
                logger.debug("close_stream failed", exc_info=True)
            del inlet
            logger.info(
                "LSL inlet closed: %d samples in %d chunks",
                self.samples_received,
                self.chunks_received,
            )

    # --------------------------------------------------------------------- reading
    def read(self, timeout: float = 0.0, min_samples: int = 1) -> Chunk | None:
        """Samples available now, waiting up to ``timeout`` seconds for ``min_samples``.

        Parameters
        ----------
        timeout : float
            Seconds to wait (0 = do not wait).
        min_samples : int
            Return as soon as this many samples have arrived (then with every sample
            already there, up to the buffer's size); capped at the buffer's size. The
            wait happens in liblsl, without the interpreter lock.

        Returns
        -------
        Chunk or None
            ``data`` (n_samples, n_channels) float32 in the stream's units,
            ``timestamps`` (n_samples,) float64 LSL seconds (re-stamped where
            non-monotonic); None when no sample arrived (or the stream ended).
        """
        inlet = self._inlet
        if inlet is None:
            if self._ended:
                return None
            raise StreamError("LSLInletSource is not open; call open() first")
        pylsl = _pylsl()
        from pylsl.util import LostError

        buffer = self._buffer
        assert buffer is not None and self._checker is not None
        with self._lock:
            if self._inlet is None:
                return None
            try:
                _, timestamps = inlet.pull_chunk(
                    timeout=max(0.0, float(timeout)),
                    max_samples=buffer.shape[0],
                    dest_obj=buffer,
                    min_samples=min(max(1, int(min_samples)), buffer.shape[0]),
                    as_numpy=True,
                )
            except LostError:
                self._end_of_stream(pylsl.local_clock())
                return None
        now = pylsl.local_clock()
        n = len(timestamps)
        if n == 0:
            stalled = now - self._last_data_time
            if self._lost_at is None and stalled > self.config.stall_timeout_s:
                self._lost_at = now
                last = self._checker.last_timestamp
                logger.warning(
                    "LSL stream %r lost: no samples for %.2f s (stall timeout %.2f s); "
                    "waiting for it to come back (same source_id)",
                    self.description.name,
                    stalled,
                    self.config.stall_timeout_s,
                )
                self._events.append(
                    SourceEvent(
                        EventKind.STREAM_LOST,
                        now,
                        {"stalled_s": round(stalled, 4), "last_timestamp": last},
                    )
                )
            return None
        timestamps = np.asarray(timestamps, dtype=np.float64)
        after_gap = self._lost_at is not None
        if after_gap:
            last = self._checker.last_timestamp
            gap = float(timestamps[0] - last) if last is not None else None
            dt = self._checker.dt
            lost_for = now - (self._lost_at or now)
            logger.warning(
                "LSL stream %r restored: gap %s s in timestamps, lost for %.3f s",
                self.description.name,
                "unknown" if gap is None else f"{gap:.3f}",
                lost_for,
            )
            self._events.append(
                SourceEvent(
                    EventKind.STREAM_RESTORED,
                    now,
                    {
                        "gap_s": None if gap is None else round(gap, 6),
                        "missing_s": None if gap is None else round(gap - dt, 6),
                        "lost_for_s": round(lost_for, 4),
                    },
                )
            )
            self._lost_at = None
        timestamps, events = self._checker.check(timestamps, now, after_gap=after_gap)
        self._events.extend(events)
        self._last_data_time = now
        self.samples_received += n
        self.chunks_received += 1
        data = buffer[:n].astype(np.float32, copy=True)
        return Chunk(data=data, timestamps=timestamps)

    def _end_of_stream(self, now: float) -> None:
        name = self._description.name if self._description else "?"
        logger.error(
            "LSL stream %r lost for good (liblsl cannot recover it: no source_id); "
            "restart the sender and the source",
            name,
        )
        if self._lost_at is None:
            self._events.append(
                SourceEvent(
                    EventKind.STREAM_LOST,
                    now,
                    {"last_timestamp": self._checker.last_timestamp if self._checker else None},
                )
            )
        self._events.append(
            SourceEvent(EventKind.END_OF_STREAM, now, {"reason": "lost, not recoverable"})
        )
        self._ended = True
        inlet, self._inlet = self._inlet, None
        del inlet

    def drain_events(self) -> list[SourceEvent]:
        """Events since the last call (oldest first)."""
        events, self._events = self._events, []
        return events


def _flags_text(flags: int) -> str:
    names = [(1, "clocksync"), (2, "dejitter"), (4, "monotonize"), (8, "threadsafe")]
    return "|".join(name for bit, name in names if flags & bit) or "none"


def _header_says_simulated(xml: str) -> bool:
    """True when the header's ``desc/simulated`` field is set (the Brain3D simulator)."""
    try:
        root = ET.fromstring(xml)
    except ET.ParseError:
        return False
    text = (root.findtext("./desc/simulated") or "").strip().lower()
    return bool(text) and text not in ("false", "0", "no")


# -------------------------------------------------------------------- marker source
class MarkerInletSource:
    """Read a string marker stream: ``read()`` -> (timestamps, strings).

    Parameters
    ----------
    name, type, source_id : str, optional
        Selectors (every one given must match); ``type`` defaults to ``Markers``.
    resolve_timeout_s : float
        Seconds to look for the stream.
    clock_sync : bool
        Map timestamps to this machine's LSL clock (``proc_clocksync``).
    max_buflen_s : int
        liblsl buffers ``100 * max_buflen_s`` markers for an irregular stream.

    Notes
    -----
    Not a :class:`~acquisition.base.Source` (it carries strings, not samples). Marker
    streams with a ``source_id`` recover like the EEG inlet; no stall detection
    (markers are irregular by nature).
    """

    def __init__(
        self,
        name: str | None = None,
        type: str | None = "Markers",
        source_id: str | None = None,
        *,
        resolve_timeout_s: float = 5.0,
        clock_sync: bool = True,
        max_buflen_s: int = 30,
    ) -> None:
        self.name = name
        self.type = type
        self.source_id = source_id
        self.resolve_timeout_s = float(resolve_timeout_s)
        self.clock_sync = clock_sync
        self.max_buflen_s = int(max_buflen_s)
        self._inlet: pylsl.StreamInlet | None = None
        self._info: Any = None
        self._ended = False

    @property
    def stream_name(self) -> str:
        """Name of the resolved stream (after :meth:`open`)."""
        if self._info is None:
            raise StreamError("MarkerInletSource is not open; call open() first")
        return str(self._info.name())

    def open(self) -> None:
        """Resolve and connect (idempotent). Raises StreamError like :class:`LSLInletSource`."""
        if self._inlet is not None:
            return
        pylsl = _pylsl()
        info = resolve_stream(
            self.name, self.type, self.source_id, self.resolve_timeout_s, config_prefix="markers"
        )
        if info.channel_format() != pylsl.cf_string:
            logger.warning(
                "marker stream %s is numeric; values are returned as strings",
                describe_stream_info(info),
            )
        inlet = pylsl.StreamInlet(
            info,
            max_buflen=self.max_buflen_s,
            recover=True,
            processing_flags=pylsl.proc_clocksync if self.clock_sync else 0,
        )
        try:
            inlet.open_stream(timeout=self.resolve_timeout_s)
        except Exception as error:
            raise StreamError(
                f"could not connect to marker stream {describe_stream_info(info)} "
                f"within {self.resolve_timeout_s:g} s ({error})"
            ) from error
        self._inlet, self._info = inlet, info
        logger.info("LSL marker inlet open: %s", describe_stream_info(info))

    def read(self, timeout: float = 0.0, max_markers: int = 1024) -> tuple[np.ndarray, list[str]]:
        """Markers available now, waiting up to ``timeout`` seconds for the first.

        Returns
        -------
        timestamps : ndarray, float64 (n_markers,)
            LSL clock seconds.
        markers : list of str
            The first channel of each marker sample (all channels joined by a tab when
            the stream has several).
        """
        inlet = self._inlet
        if inlet is None:
            if self._ended:
                return np.empty(0), []
            raise StreamError("MarkerInletSource is not open; call open() first")
        from pylsl.util import LostError

        try:
            samples, timestamps = inlet.pull_chunk(
                timeout=max(0.0, float(timeout)), max_samples=max_markers, min_samples=1
            )
        except LostError:
            logger.error("marker stream %r lost for good (no source_id)", self.stream_name)
            self._ended = True
            self._inlet = None
            return np.empty(0), []
        markers = [s[0] if len(s) == 1 else "\t".join(map(str, s)) for s in samples]
        return np.asarray(timestamps, dtype=np.float64), [str(m) for m in markers]

    def close(self) -> None:
        """Close the inlet (idempotent)."""
        inlet, self._inlet = self._inlet, None
        if inlet is not None:
            try:
                inlet.close_stream()
            except Exception:  # pragma: no cover
                logger.debug("close_stream failed", exc_info=True)
            del inlet

    def __enter__(self) -> MarkerInletSource:
        self.open()
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def build(config: Config) -> LSLInletSource:
    """``source.kind: lsl`` (registered in :data:`brain3d.registry.SOURCES`): the stream ``source.lsl`` selects."""
    return LSLInletSource(config.source.lsl)
