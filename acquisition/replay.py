"""Replay a recording as real LSL outlets, with its original relative timing.

Why our own player on pylsl rather than ``mne_lsl.player.PlayerLSL``: mne-lsl is not
installed here and its player only replays MNE-readable raw files (one stream, the
annotations as a side channel). This player has ONE code path for XDF recordings
(every stream: EEG, markers, the product's own output streams) and MNE-readable
files (FIF, EDF, BDF, BrainVision, EEGLAB): both are loaded into the same list of
:class:`ReplayStream` s and pushed by the same thread, so a replayed session looks
to the product exactly like the live one did.

Timing
------
All streams share one time origin ``T0`` = the earliest first timestamp over all
streams, plus ``start_offset_s``. A sample recorded at original time ``t`` is
pushed when the LSL clock reaches, and stamped with,

    replay_start + (t - T0) / speed

where ``replay_start`` is ``pylsl.local_clock()`` when :meth:`Player.start` runs.
Relative timing within and across streams is therefore kept exactly (scaled by
``1 / speed``). With ``loop=True`` the recording restarts after its last sample
plus one sample period of the fastest stream, on the same continuous clock.

XDF is read with ``pyxdf.load_xdf(..., synchronize_clocks=True,
dejitter_timestamps=False)``: clock offsets are applied (so streams from
different machines line up as they did in reality), but the timestamps are not
smoothed - the replay reproduces the jitter and gaps that were recorded, which
is what the live pipeline must cope with.

MNE files: EEG channels are replayed as one ``float32`` stream in µV (type
``"EEG"``, channel labels, the file's rate) and the annotations as a string marker
stream (type ``"Markers"``) at their onsets.
"""

from __future__ import annotations

import logging
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from acquisition.base import Chunk, Source, SourceEvent, StreamDescription
from acquisition.lsl_inlet import LSLInletSource
from acquisition.xdf_writer import CHANNEL_FORMATS, append_desc
from brain3d.config import Config, LSLSourceConfig
from brain3d.errors import StreamError
from brain3d.lsl import open_outlet, stream_info

logger = logging.getLogger(__name__)

#: Extensions read with ``mne.io.read_raw``.
MNE_EXTENSIONS: tuple[str, ...] = (".fif", ".fif.gz", ".edf", ".bdf", ".vhdr", ".set")
XDF_EXTENSIONS: tuple[str, ...] = (".xdf", ".xdfz")
SUPPORTED_EXTENSIONS: tuple[str, ...] = XDF_EXTENSIONS + MNE_EXTENSIONS


@dataclass
class ReplayStream:
    """One stream to replay.

    Attributes
    ----------
    name, type, source_id : str
        LSL identity as recorded.
    channel_format : str
        XDF/LSL format name (``"float32"``, ``"int16"``, ``"string"``, ...).
    nominal_srate : float
        Hz, 0 for irregular streams.
    channel_labels : list of str
        One per channel (may be empty when the file has none).
    data : np.ndarray or list of list of str
        (n_samples, n_channels) values, or per-sample lists of strings.
    timestamps : np.ndarray
        (n_samples,) original seconds (file clock).
    desc : dict
        ``desc`` tree of the header (pyxdf dict-of-lists layout) or None.
    """

    name: str
    type: str
    source_id: str
    channel_format: str
    nominal_srate: float
    channel_count: int
    channel_labels: list[str]
    data: Any
    timestamps: np.ndarray
    desc: Any = None
    units: list[str] = field(default_factory=list)

    @property
    def n_samples(self) -> int:
        """Number of samples."""
        return int(self.timestamps.shape[0])


def _first(d: Mapping[str, Any], key: str, default: Any = None) -> Any:
    v = d.get(key)
    if isinstance(v, list):
        return v[0] if v else default
    return default if v is None else v


def _labels_from_desc(desc: Any, n: int) -> tuple[list[str], list[str]]:
    labels: list[str] = []
    units: list[str] = []
    try:
        chans = desc["channels"][0]["channel"]
        for ch in chans:
            labels.append(str(_first(ch, "label", "") or ""))
            units.append(str(_first(ch, "unit", "") or ""))
    except (KeyError, IndexError, TypeError):
        return [], []
    if len(labels) != n:
        return [], []
    return labels, units


def load_xdf_streams(path: Path) -> list[ReplayStream]:
    """Read every stream of an XDF file; empty streams are skipped with a warning.

    Raises
    ------
    StreamError
        When the file cannot be parsed or no stream holds a sample.
    """
    import pyxdf

    try:
        streams, _header = pyxdf.load_xdf(
            str(path), synchronize_clocks=True, dejitter_timestamps=False, verbose=False
        )
    except Exception as exc:
        raise StreamError(
            f"cannot read XDF file {path}: {type(exc).__name__}: {exc}. The file is corrupt or not XDF; "
            "record it again or check that it is the right file"
        ) from exc
    if not streams:
        raise StreamError(
            f"XDF file {path} holds no stream header: nothing to replay (is it an XDF recording?)"
        )
    out: list[ReplayStream] = []
    empty: list[str] = []
    for s in streams:
        info = s["info"]
        name = str(_first(info, "name", "") or "")
        n = len(s["time_stamps"])
        if n == 0:
            empty.append(name)
            logger.warning("%s: stream %r has no samples; it is not replayed", path, name)
            continue
        fmt = str(_first(info, "channel_format", "float32"))
        if fmt not in CHANNEL_FORMATS:
            raise StreamError(
                f"{path}: stream {name!r} has channel format {fmt!r}, which LSL cannot replay"
            )
        n_ch = int(_first(info, "channel_count", "1"))
        desc = _first(info, "desc", None)
        labels, units = _labels_from_desc(desc, n_ch)
        ts = np.asarray(s["time_stamps"], dtype=np.float64)
        if fmt == "string":
            data: Any = [[str(v) for v in sample] for sample in s["time_series"]]
        else:
            data = np.asarray(s["time_series"]).reshape(n, n_ch)
        if np.any(np.diff(ts) < 0):
            logger.warning(
                "%s: stream %r has non-monotonic timestamps; replaying it in time order", path, name
            )
            order = np.argsort(ts, kind="stable")
            ts = ts[order]
            data = [data[i] for i in order] if fmt == "string" else data[order]
        out.append(
            ReplayStream(
                name=name,
                type=str(_first(info, "type", "") or ""),
                source_id=str(_first(info, "source_id", "") or ""),
                channel_format=fmt,
                nominal_srate=float(_first(info, "nominal_srate", "0")),
                channel_count=n_ch,
                channel_labels=labels,
                data=data,
                timestamps=ts,
                desc=desc,
                units=units,
            )
        )
    if not out:
        raise StreamError(
            f"XDF file {path}: streams present but contain no samples ({len(streams)} stream(s): "
            f"{', '.join(repr(e) for e in empty)}); nothing to replay - the recording ended before data arrived"
        )
    return out


def load_mne_streams(path: Path) -> list[ReplayStream]:
    """Read an MNE-readable file: EEG in µV plus annotations as a marker stream.

    Raises
    ------
    StreamError
        When MNE cannot read the file or it has no EEG channel.
    """
    import mne

    try:
        raw = mne.io.read_raw(str(path), preload=True, verbose="error")
    except Exception as exc:
        raise StreamError(
            f"cannot read {path} with mne.io.read_raw: {type(exc).__name__}: {exc}. "
            "The file is corrupt or not in the format its extension says"
        ) from exc
    picks = mne.pick_types(raw.info, eeg=True, exclude=[])
    if len(picks) == 0:
        kinds = sorted(set(raw.get_channel_types()))
        raise StreamError(
            f"{path} has no EEG channel (channel types found: {kinds}); set the EEG channel types in the file"
        )
    sfreq = float(raw.info["sfreq"])
    data = raw.get_data(picks=picks, units="uV").T.astype(np.float32)  # (n_samples, n_channels) µV
    # seconds since the measurement start: sample k of the file is at first_time + k / sfreq
    ts = raw.times + raw.first_time
    stem = path.name.split(".")[0]
    labels = [raw.ch_names[i] for i in picks]
    streams = [
        ReplayStream(
            name=stem,
            type="EEG",
            source_id=f"replay:{path.name}",
            channel_format="float32",
            nominal_srate=sfreq,
            channel_count=len(picks),
            channel_labels=labels,
            data=data,
            timestamps=ts,
            units=["microvolts"] * len(picks),
        )
    ]
    ann = raw.annotations
    if len(ann):
        onsets = np.asarray(ann.onset, dtype=np.float64)
        if ann.orig_time is None:  # onsets relative to the first sample
            onsets = onsets + raw.first_time
        order = np.argsort(onsets, kind="stable")
        streams.append(
            ReplayStream(
                name=f"{stem}-Markers",
                type="Markers",
                source_id=f"replay:{path.name}:markers",
                channel_format="string",
                nominal_srate=0.0,
                channel_count=1,
                channel_labels=["annotation"],
                data=[[str(ann.description[i])] for i in order],
                timestamps=onsets[order],
            )
        )
    return streams


def load_recording(path: str | Path) -> list[ReplayStream]:
    """Load a recording into :class:`ReplayStream` s (XDF or MNE-readable).

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    list of ReplayStream
        Only streams holding samples.

    Raises
    ------
    StreamError
        Missing file, unknown extension, unreadable/corrupt file, or no samples.
    """
    p = Path(path)
    if not p.is_file():
        raise StreamError(f"replay file {p} does not exist; check source.replay.path")
    lower = p.name.lower()
    if lower.endswith(XDF_EXTENSIONS):
        return load_xdf_streams(p)
    if lower.endswith(MNE_EXTENSIONS):
        return load_mne_streams(p)
    raise StreamError(
        f"cannot replay {p}: unknown extension {p.suffix!r}; supported: {', '.join(SUPPORTED_EXTENSIONS)}"
    )


def _build_info(s: ReplayStream, name: str, source_id: str, path: Path, speed: float) -> Any:
    # the recorded desc is copied verbatim (channels, manufacturer, ...); a channels
    # element is only built when the file had none (MNE files)
    has_channels = isinstance(s.desc, Mapping) and "channels" in s.desc
    rows: list[dict[str, str]] = []
    if s.channel_labels and not has_channels:
        for i, label in enumerate(s.channel_labels):
            row = {"label": label}
            if s.units and s.units[i]:
                row["unit"] = s.units[i]
            if s.type:
                row["type"] = s.type
            rows.append(row)
    info = stream_info(name, s.type, n_channels=s.channel_count, sfreq=s.nominal_srate,
                       channel_format=s.channel_format, source_id=source_id, channels=rows)
    desc = info.desc()
    if isinstance(s.desc, Mapping):
        tmp = ET.Element("desc")
        append_desc(tmp, s.desc)
        _copy_etree(tmp, desc)
    rep = desc.append_child("replay")
    rep.append_child_value("file", str(path))
    rep.append_child_value("speed", repr(speed))
    rep.append_child_value("original_name", s.name)
    return info


def _copy_etree(src: ET.Element, dst: Any) -> None:
    for child in src:
        if len(child):
            _copy_etree(child, dst.append_child(child.tag))
        else:
            dst.append_child_value(child.tag, child.text or "")


@dataclass(frozen=True)
class ReplayCounters:
    """Progress of a :class:`Player`.

    Attributes
    ----------
    samples_pushed : dict of str -> int
        Per outlet name.
    loops : int
        Completed passes over the recording.
    started_at : float or None
        LSL clock seconds of the replay start (the time of the first sample).
    finished : bool
        True when the replay ended (end of file, duration reached or stopped).
    finished_at : float or None
        LSL clock seconds when the replay thread ended.
    """

    samples_pushed: dict[str, int]
    loops: int
    started_at: float | None
    finished: bool
    finished_at: float | None = None


class Player:
    """Publish a recording as LSL outlets from a background thread.

    Parameters
    ----------
    path : str or Path
        XDF, FIF, EDF, BDF, BrainVision (.vhdr) or EEGLAB (.set) file.
    speed : float
        Playback speed factor (> 0): 2 plays twice as fast.
    loop : bool
        Restart at the end (on a continuous clock) until stopped.
    start_offset_s : float
        Skip this many seconds (recording time) from the start.
    name_prefix, source_id_prefix : str, optional
        Prepended to every outlet's name / source_id (keeps replays apart from
        live devices and from each other). ``source_id`` defaults to the
        recorded one.
    duration_s : float, optional
        Stop after this many wall-clock seconds of replay.

    Notes
    -----
    The file is loaded in the constructor (errors raise there, as
    :class:`~brain3d.errors.StreamError`). :meth:`open` creates the outlets
    without sending, so consumers can connect first; :meth:`start` opens if
    needed and starts pushing.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        speed: float = 1.0,
        loop: bool = False,
        start_offset_s: float = 0.0,
        name_prefix: str | None = None,
        source_id_prefix: str | None = None,
        duration_s: float | None = None,
    ) -> None:
        if not speed > 0:
            raise ValueError(f"speed={speed}: must be > 0")
        if start_offset_s < 0:
            raise ValueError(f"start_offset_s={start_offset_s}: must be >= 0")
        self.path = Path(path)
        self.speed = float(speed)
        self.loop = bool(loop)
        self.start_offset_s = float(start_offset_s)
        self.duration_s = duration_s
        self._name_prefix = name_prefix or ""
        self._sid_prefix = source_id_prefix or ""
        self.streams = load_recording(self.path)
        t_first = min(float(s.timestamps[0]) for s in self.streams)
        t_last = max(float(s.timestamps[-1]) for s in self.streams)
        self.origin = t_first + self.start_offset_s
        if self.origin > t_last:
            raise StreamError(
                f"start_offset_s={start_offset_s} is past the end of {self.path} "
                f"({t_last - t_first:.3f} s long); use a smaller offset"
            )
        rates = [s.nominal_srate for s in self.streams if s.nominal_srate > 0]
        gap = 1.0 / max(rates) if rates else 1e-3
        #: seconds of recording per pass (loop period in recording time)
        self.period_s = t_last - self.origin + gap
        # index of the first sample at/after the origin, per stream
        self._start_idx = [
            int(np.searchsorted(s.timestamps, self.origin, side="left")) for s in self.streams
        ]
        self._outlets: list[Any] | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._done = threading.Event()
        self._pushed = [0] * len(self.streams)
        self._loops = 0
        self._started_at: float | None = None
        self._finished_at: float | None = None
        self._error: BaseException | None = None

    @property
    def outlet_names(self) -> list[str]:
        """Names of the outlets, in stream order."""
        return [self._name_prefix + s.name for s in self.streams]

    @property
    def source_ids(self) -> list[str]:
        """source_ids of the outlets, in stream order.

        A stream recorded without a source_id gets ``replay:<file>:<name>`` so that
        every outlet stays identifiable (LSL re-connects by source_id).
        """
        return [
            self._sid_prefix + (s.source_id or f"replay:{self.path.name}:{s.name}")
            for s in self.streams
        ]

    def open(self) -> None:
        """Create the LSL outlets (idempotent); nothing is sent yet."""
        if self._outlets is not None:
            return

        self._outlets = []
        for s, name, sid in zip(self.streams, self.outlet_names, self.source_ids, strict=True):
            info = _build_info(s, name, sid, self.path, self.speed)
            self._outlets.append(open_outlet(info))
            logger.info(
                "replay outlet %r (%s, %d ch %s, %g Hz, %d samples) from %s",
                name,
                s.type,
                s.channel_count,
                s.channel_format,
                s.nominal_srate,
                s.n_samples,
                self.path,
            )

    def wait_for_consumers(self, timeout: float) -> bool:
        """Wait until every outlet has at least one consumer; False on timeout."""
        self.open()
        assert self._outlets is not None
        deadline = time.monotonic() + timeout
        for outlet in self._outlets:
            if not outlet.wait_for_consumers(max(0.0, deadline - time.monotonic())):
                return False
        return True

    def start(self) -> Player:
        """Open the outlets if needed and start pushing in a background thread."""
        if self._thread is not None:
            raise RuntimeError(
                "Player.start() was already called; create a new Player to replay again"
            )
        self.open()
        self._thread = threading.Thread(
            target=self._run, name=f"replay:{self.path.name}", daemon=True
        )
        self._thread.start()
        return self

    def _run(self) -> None:
        import pylsl

        assert self._outlets is not None
        try:
            start = pylsl.local_clock()
            self._started_at = start
            wall_end = None if self.duration_s is None else start + self.duration_s
            pass_start = start  # LSL time that maps to self.origin in this pass
            while not self._stop.is_set():
                idx = list(self._start_idx)
                while not self._stop.is_set():
                    now = pylsl.local_clock()
                    if wall_end is not None and now >= wall_end:
                        return
                    next_due = np.inf
                    remaining = False
                    # recording time that is due now in this pass
                    t_due = self.origin + (now - pass_start) * self.speed
                    for k, s in enumerate(self.streams):
                        i = idx[k]
                        if i >= s.n_samples:
                            continue
                        j = int(np.searchsorted(s.timestamps, t_due, side="right"))
                        if j > i:
                            stamps = pass_start + (s.timestamps[i:j] - self.origin) / self.speed
                            self._outlets[k].push_chunk(s.data[i:j], stamps.tolist(), True)
                            self._pushed[k] += j - i
                            idx[k] = i = j
                        if i < s.n_samples:
                            remaining = True
                            next_due = min(
                                next_due,
                                pass_start + (float(s.timestamps[i]) - self.origin) / self.speed,
                            )
                    if not remaining:
                        break
                    wait = next_due - pylsl.local_clock()
                    if wall_end is not None:
                        wait = min(wait, wall_end - pylsl.local_clock())
                    if wait > 0:
                        self._stop.wait(min(wait, 0.05))
                self._loops += 1
                if not self.loop:
                    return
                pass_start += self.period_s / self.speed
                # wait for the new pass's first samples (handled by the schedule)
        except BaseException as exc:
            logger.error("replay of %s failed: %s", self.path, exc)
            self._error = exc
        finally:
            import pylsl

            self._finished_at = pylsl.local_clock()
            self._done.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the replay ends; True if it did within ``timeout`` seconds.

        Raises
        ------
        StreamError
            If the replay thread failed.
        """
        ended = self._done.wait(timeout)
        if self._error is not None:
            raise StreamError(f"replay of {self.path} failed: {self._error}") from self._error
        return ended

    @property
    def running(self) -> bool:
        """True while the replay thread pushes."""
        return self._thread is not None and not self._done.is_set()

    def counters(self) -> ReplayCounters:
        """Samples pushed per outlet, loops done, start time, finished flag."""
        return ReplayCounters(
            samples_pushed=dict(zip(self.outlet_names, self._pushed, strict=True)),
            loops=self._loops,
            started_at=self._started_at,
            finished=self._done.is_set(),
            finished_at=self._finished_at,
        )

    def stop(self, timeout: float = 5.0) -> None:
        """Stop pushing and destroy the outlets (idempotent)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self._outlets = None  # pylsl outlets are destroyed when released

    def __enter__(self) -> Player:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()


def replay_file(
    path: str | Path,
    *,
    speed: float = 1.0,
    loop: bool = False,
    start_offset_s: float = 0.0,
    name_prefix: str | None = None,
    source_id_prefix: str | None = None,
    duration_s: float | None = None,
) -> ReplayCounters:
    """Replay a recording as LSL outlets and block until it ends.

    Parameters
    ----------
    path, speed, loop, start_offset_s, name_prefix, source_id_prefix, duration_s
        See :class:`Player`. With ``loop=True`` and no ``duration_s`` this runs
        until interrupted (KeyboardInterrupt stops it cleanly).

    Returns
    -------
    ReplayCounters
    """
    player = Player(
        path,
        speed=speed,
        loop=loop,
        start_offset_s=start_offset_s,
        name_prefix=name_prefix,
        source_id_prefix=source_id_prefix,
        duration_s=duration_s,
    )
    try:
        player.start()
        while not player.wait(0.5):
            pass
    finally:
        player.stop()
    return player.counters()


def replay_from_config(config: Any, **overrides: Any) -> Player:
    """A :class:`Player` from a ``ReplaySourceConfig`` (path, speed, loop, start_offset_s)."""
    if config.path is None:
        raise StreamError("source.replay.path is not set; give the recording to replay")
    kwargs: dict[str, Any] = dict(
        speed=config.speed, loop=config.loop, start_offset_s=config.start_offset_s
    )
    kwargs.update(overrides)
    return Player(config.path, **kwargs)


class ReplaySource(Source):
    """A recording replayed over LSL by its own :class:`Player`, read back like a headset.

    The replay is read like any LSL stream: an :class:`~acquisition.lsl_inlet.LSLInletSource`
    selects the player's numeric outlet by its exact ``source_id`` (the first whose type
    equals ``lsl.type``, else the first numeric one); the other ``lsl`` settings (clock
    sync, dejitter, timeouts) apply. :meth:`open` creates the outlets, connects the inlet,
    then starts sending, so that no sample is sent before the inlet listens.

    Parameters
    ----------
    player : Player
        The loaded recording (not started).
    lsl : LSLSourceConfig
        Inlet settings (``name`` / ``type`` / ``source_id`` are replaced as above).

    Attributes
    ----------
    speed : float
        The player's speed: samples are stamped ``speed`` times faster than real time.

    Raises
    ------
    StreamError
        The recording has no numeric (EEG) stream, only markers.
    """

    def __init__(self, player: Player, lsl: LSLSourceConfig) -> None:
        numeric = [(stream, sid) for stream, sid in zip(player.streams, player.source_ids, strict=True)
                   if stream.channel_format != "string"]  # fmt: skip
        if not numeric:
            raise StreamError(f"the replayed recording {player.path} has no numeric (EEG) stream, only markers; "
                              "replay a recording that contains EEG")
        wanted = (lsl.type or "").lower()
        chosen = next((sid for stream, sid in numeric if wanted and stream.type.lower() == wanted), numeric[0][1])
        self.player = player
        self.speed = player.speed
        self.inlet = LSLInletSource(lsl.model_copy(update={"name": None, "type": None, "source_id": chosen}))
        logger.info("replay source: LSL inlet on the player's stream source_id=%r", chosen)

    @property
    def description(self) -> StreamDescription:
        """The replayed EEG stream as the inlet sees it."""
        return self.inlet.description

    def open(self) -> None:
        """Create the outlets, connect the inlet, start sending."""
        self.player.open()
        self.inlet.open()
        self.player.start()

    def read(self, timeout: float = 0.0, min_samples: int = 1) -> Chunk | None:
        """Samples from the inlet (see :meth:`Source.read`)."""
        return self.inlet.read(timeout, min_samples)

    def drain_events(self) -> list[SourceEvent]:
        """The inlet's events (stream loss, clock jumps, ...)."""
        return self.inlet.drain_events()

    def close(self) -> None:
        """Close the inlet and stop the player (idempotent)."""
        try:
            self.inlet.close()
        finally:
            self.player.stop()


def build(config: Config) -> ReplaySource:
    """``source.kind: replay`` (registered in :data:`brain3d.registry.SOURCES`): the file at
    ``source.replay.path`` with ``source.replay``'s speed, loop and offset, read with ``source.lsl``."""
    return ReplaySource(replay_from_config(config.source.replay), config.source.lsl)


__all__: Sequence[str] = (
    "Player",
    "ReplayCounters",
    "ReplayStream",
    "load_recording",
    "replay_file",
    "replay_from_config",
    "ReplaySource",
    "SUPPORTED_EXTENSIONS",
)
