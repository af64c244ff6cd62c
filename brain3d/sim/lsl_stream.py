"""Stream the SIMULATED visual-EEG live over LSL, paced in real time.

This is simulated data, not a recording; every stream header and log line says so.
:class:`SimulationStreamer` runs :class:`~brain3d.sim.eeg.EEGStreamSimulator` and
publishes two LSL outlets:

``<prefix>-EEG`` (type ``EEG``)
    64 channels in :data:`~brain3d.channels.STANDARD_64` order, float32, µV, nominal
    rate = ``SimulateSourceConfig.sfreq`` (Hz). The header's ``desc`` carries
    ``channels/channel/{label,unit,type}`` (``microvolts``, ``EEG``),
    ``acquisition/manufacturer`` = ``Brain3D Live simulator``, ``simulated`` =
    ``SIMULATED EEG, not a recording`` and the simulation parameters.
``<prefix>-Markers`` (type ``Markers``)
    One string channel, irregular rate. One marker per stimulus onset, a JSON object
    ``{"event": "stimulus", "sample": <onset sample index>, "scene_seed": <int>,
    "description": <Description as a JSON object>, "simulated": true}``, stamped with
    the exact LSL time of the onset sample of the EEG stream.

Clock and pacing
----------------
One clock, the LSL clock (``pylsl.local_clock()``, seconds). When streaming starts the
streamer picks ``t0`` on that clock; sample ``i`` (0 = first sample) is stamped
``t0 + i / (sfreq * speed)``, computed from the sample index (never accumulated), so
timestamps have no drift. A chunk is pushed when its *last* sample is due (sleep until
that deadline), stamped with its last sample's time; liblsl back-dates the earlier
samples of the chunk by ``1 / nominal_srate``. If the loop falls behind (a slow machine,
a pause), it pushes the late chunks at once with their scheduled stamps, so timestamps
never depend on when a push happened.

``speed`` > 1 streams faster than real time (for tests and demos). Our choice: a sample
is still stamped with the LSL time at which it is released, ``t0 + i / (sfreq *
speed)``, so latencies measured downstream against ``local_clock()`` stay true; the
nominal rate in the header stays ``sfreq`` (the rate of the data, which filters need),
and the header records ``desc/simulation/speed``. Because liblsl derives in-chunk stamps
from the nominal rate, chunks are pushed with one explicit stamp per sample when
``speed != 1``.

pylsl is imported lazily (inside functions), so a caller can set ``LSLAPICFG`` before
liblsl reads its configuration.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from brain3d import __version__
from brain3d.channels import STANDARD_64
from brain3d.config import SimulateSourceConfig
from brain3d.errors import StreamError
from brain3d.latency import LatencyStats
from brain3d.sim.background import BackgroundParams
from brain3d.sim.eeg import SIMULATED_NOTE, EEGChunk, EEGStreamSimulator, StimulusEvent
from brain3d.sim.subject import SubjectParams

if TYPE_CHECKING:  # pragma: no cover - typing only; pylsl is imported lazily
    import pylsl

logger = logging.getLogger(__name__)

#: Stream name prefix; the EEG stream is ``<prefix>-EEG``, markers ``<prefix>-Markers``.
DEFAULT_NAME_PREFIX = "Brain3D-Sim"
#: The ``desc/simulated`` field of both stream headers.
SIMULATED_FIELD = "SIMULATED EEG, not a recording"
#: ``desc/acquisition/manufacturer`` of both stream headers.
MANUFACTURER = "Brain3D Live simulator"
#: Wall-clock time between pushes when no chunk size is given, seconds.
DEFAULT_CHUNK_S = 0.010
#: How many recent push latenesses are kept for the percentiles in :class:`StreamStats`.
LATENESS_HISTORY = 100_000
#: Lateness (seconds) above which the streamer warns that it cannot keep up.
BEHIND_WARNING_S = 0.1


def _pylsl() -> Any:
    """Import pylsl on first use (after the caller had a chance to set ``LSLAPICFG``)."""
    import pylsl

    return pylsl


def default_source_id(config: SimulateSourceConfig) -> str:
    """Stable LSL ``source_id`` of the EEG stream for a subject and seed.

    Parameters
    ----------
    config : SimulateSourceConfig
        The simulator configuration.

    Returns
    -------
    str
        ``brain3d-sim-<subject>-<seed>``; the marker stream appends ``-markers``.
    """
    return f"brain3d-sim-{config.subject}-{config.seed}"


def make_simulator(
    config: SimulateSourceConfig, onset_interval_s: float = 1.0
) -> EEGStreamSimulator:
    """The :class:`EEGStreamSimulator` a :class:`SimulationStreamer` streams.

    Fresh simulators from equal arguments, read in equal chunk sizes, give identical
    data (the streamer reads fixed-size chunks; see :attr:`SimulationStreamer.chunk_samples`).

    Parameters
    ----------
    config : SimulateSourceConfig
        Rate (Hz), SNR (dB), subject, seed and mains frequency (Hz).
    onset_interval_s : float
        Mean time between stimulus onsets, seconds of stream time.

    Returns
    -------
    EEGStreamSimulator
    """
    jitter = min(0.05, onset_interval_s / 4)
    return EEGStreamSimulator(
        SubjectParams.from_seed(config.subject),
        sfreq=config.sfreq,
        onset_interval_s=onset_interval_s,
        onset_jitter_s=jitter,
        snr_db=config.snr_db,
        background=BackgroundParams(line_freq_hz=float(config.line_freq)),
        seed=config.seed,
    )


def marker_json(event: StimulusEvent) -> str:
    """The marker string of one stimulus onset (JSON; see the module docstring)."""
    return json.dumps(
        {
            "event": "stimulus",
            "sample": int(event.sample),
            "scene_seed": int(event.scene_seed),
            "description": event.description.model_dump(mode="json"),
            "simulated": True,
        },
        separators=(",", ":"),
    )


@dataclass(frozen=True)
class StreamStats:
    """What a :class:`SimulationStreamer` pushed and how punctually.

    Attributes
    ----------
    source_id : str
        ``source_id`` of the EEG stream (the marker stream's is ``<source_id>-markers``).
    eeg_name, marker_name : str
        Stream names.
    sfreq : float
        Nominal rate of the EEG stream, Hz.
    speed : float
        Stream time per wall time (1 = real time).
    start_time : float or None
        LSL-clock time of sample 0, seconds (None if streaming never started).
    samples_pushed, chunks_pushed, markers_pushed : int
        Counts of EEG samples, EEG chunks and markers pushed.
    stream_s : float
        Seconds of simulated data pushed (``samples_pushed / sfreq``).
    wall_s : float
        LSL-clock seconds from ``start_time`` to the last push.
    lateness_ms_p50, lateness_ms_p99, lateness_ms_max : float
        Push time minus the time the chunk's last sample was due, milliseconds
        (percentiles over the last :data:`LATENESS_HISTORY` chunks; max over all).
    late_chunks : int
        Chunks pushed more than :data:`BEHIND_WARNING_S` after their due time.
    stopped_by : str
        ``"duration"``, ``"stop"``, ``"interrupt"``, ``"error"`` or ``"not started"``.
    """

    source_id: str
    eeg_name: str
    marker_name: str
    sfreq: float
    speed: float
    start_time: float | None
    samples_pushed: int
    chunks_pushed: int
    markers_pushed: int
    stream_s: float
    wall_s: float
    lateness_ms_p50: float
    lateness_ms_p99: float
    lateness_ms_max: float
    late_chunks: int
    stopped_by: str


class SimulationStreamer:
    """Publish the SIMULATED EEG and its stimulus markers as LSL outlets, in real time.

    Parameters
    ----------
    config : SimulateSourceConfig
        Rate (Hz), SNR (dB), subject, seed and mains frequency (Hz) of the simulation.
    name_prefix : str
        Stream names are ``<name_prefix>-EEG`` and ``<name_prefix>-Markers``.
    source_id : str, optional
        ``source_id`` of the EEG stream; default :func:`default_source_id`. The
        marker stream's is ``<source_id>-markers``.
    chunk_samples : int, optional
        Samples per push. Default: ``DEFAULT_CHUNK_S`` (10 ms) of wall time, i.e.
        ``round(0.01 * sfreq * speed)`` and at least 1 (5 samples at 500 Hz).
    onset_interval_s : float
        Mean time between stimulus onsets, seconds of stream time.
    speed : float
        Stream seconds per wall second (1 = real time, 4 = four times faster); see the
        module docstring for how timestamps follow it.
    max_duration_s : float, optional
        Stop after this many seconds of simulated data (``round(max_duration_s *
        sfreq)`` samples); None streams until :meth:`stop`.
    wait_for_consumers_s : float
        Before picking ``t0``, wait up to this long (wall seconds) for an inlet on each
        outlet; 0 starts at once. Data pushed before an inlet connects never reaches it.

    Notes
    -----
    Use :meth:`start` / :meth:`stop` (or ``with``) for a background thread, or
    :meth:`run` to stream in the calling thread. A streamer streams once.
    """

    def __init__(
        self,
        config: SimulateSourceConfig,
        *,
        name_prefix: str = DEFAULT_NAME_PREFIX,
        source_id: str | None = None,
        chunk_samples: int | None = None,
        onset_interval_s: float = 1.0,
        speed: float = 1.0,
        max_duration_s: float | None = None,
        wait_for_consumers_s: float = 0.0,
    ) -> None:
        if not speed > 0:
            raise ValueError(f"speed must be > 0 (1 = real time), got {speed}")
        if chunk_samples is not None and chunk_samples < 1:
            raise ValueError(f"chunk_samples must be >= 1 sample, got {chunk_samples}")
        if max_duration_s is not None and not max_duration_s > 0:
            raise ValueError(f"max_duration_s must be > 0 seconds or None, got {max_duration_s}")
        if onset_interval_s <= 0:
            raise ValueError(f"onset_interval_s must be > 0 seconds, got {onset_interval_s}")
        self.config = config
        self.sfreq = float(config.sfreq)
        self.speed = float(speed)
        self.onset_interval_s = float(onset_interval_s)
        self.chunk_samples = int(
            chunk_samples or max(1, round(DEFAULT_CHUNK_S * self.sfreq * self.speed))
        )
        self.max_duration_s = max_duration_s
        self.wait_for_consumers_s = float(wait_for_consumers_s)
        self.source_id = source_id or default_source_id(config)
        self.marker_source_id = f"{self.source_id}-markers"
        self.eeg_name = f"{name_prefix}-EEG"
        self.marker_name = f"{name_prefix}-Markers"

        self._lock = threading.Lock()
        self._stop_event = threading.Event()
        self._done_event = threading.Event()
        self._thread: threading.Thread | None = None
        self._simulator: EEGStreamSimulator | None = None
        self._eeg_outlet: pylsl.StreamOutlet | None = None
        self._marker_outlet: pylsl.StreamOutlet | None = None
        self._started = False
        self._error: BaseException | None = None

        self._t0: float | None = None
        self._samples_pushed = 0
        self._chunks_pushed = 0
        self._markers_pushed = 0
        self._last_push = 0.0
        self._stats_lock = threading.Lock()
        self._lateness: deque[float] = deque(maxlen=LATENESS_HISTORY)
        self._lateness_max = 0.0
        self._late_chunks = 0
        self._stopped_by = "not started"

    # ----------------------------------------------------------------- properties
    @property
    def samples_pushed(self) -> int:
        """EEG samples pushed so far."""
        return self._samples_pushed

    @property
    def markers_pushed(self) -> int:
        """Stimulus markers pushed so far."""
        return self._markers_pushed

    @property
    def start_time(self) -> float | None:
        """LSL-clock time of sample 0, seconds (None until streaming starts)."""
        return self._t0

    @property
    def rate(self) -> float:
        """Samples per LSL-clock second actually streamed (``sfreq * speed``), Hz."""
        return self.sfreq * self.speed

    @property
    def running(self) -> bool:
        """Whether the background thread is streaming."""
        return self._thread is not None and self._thread.is_alive()

    @property
    def total_samples(self) -> int | None:
        """Samples to stream before stopping on its own (None: until :meth:`stop`)."""
        if self.max_duration_s is None:
            return None
        return max(1, round(self.max_duration_s * self.sfreq))

    def sample_time(self, sample: int) -> float:
        """LSL-clock time stamp of sample ``sample`` (0 = first), seconds."""
        if self._t0 is None:
            raise StreamError("the simulation has not started streaming; call start() or run()")
        return self._t0 + sample / self.rate

    # ----------------------------------------------------------------- stream info
    def _eeg_info(self) -> pylsl.StreamInfo:
        pylsl = _pylsl()
        info = pylsl.StreamInfo(
            name=self.eeg_name,
            type="EEG",
            channel_count=len(STANDARD_64),
            nominal_srate=self.sfreq,
            channel_format=pylsl.cf_float32,
            source_id=self.source_id,
        )
        desc = info.desc()
        channels = desc.append_child("channels")
        for label in STANDARD_64:
            channel = channels.append_child("channel")
            channel.append_child_value("label", label)
            channel.append_child_value("unit", "microvolts")
            channel.append_child_value("type", "EEG")
        self._append_common_desc(desc)
        cap = desc.append_child("cap")
        cap.append_child_value("name", "BioSemi-64 layout")
        cap.append_child_value("labelscheme", "10-10")
        cap.append_child_value("montage", "MNE standard_1005")
        return info

    def _marker_info(self) -> pylsl.StreamInfo:
        pylsl = _pylsl()
        info = pylsl.StreamInfo(
            name=self.marker_name,
            type="Markers",
            channel_count=1,
            nominal_srate=pylsl.IRREGULAR_RATE,
            channel_format=pylsl.cf_string,
            source_id=self.marker_source_id,
        )
        desc = info.desc()
        channel = desc.append_child("channels").append_child("channel")
        channel.append_child_value("label", "stimulus")
        channel.append_child_value("type", "Markers")
        channel.append_child_value("format", "json")
        self._append_common_desc(desc)
        desc.append_child_value("eeg_source_id", self.source_id)
        return info

    def _append_common_desc(self, desc: Any) -> None:
        desc.append_child_value("simulated", SIMULATED_FIELD)
        desc.append_child_value("note", SIMULATED_NOTE)
        acquisition = desc.append_child("acquisition")
        acquisition.append_child_value("manufacturer", MANUFACTURER)
        acquisition.append_child_value("model", "brain3d.sim.eeg.EEGStreamSimulator")
        acquisition.append_child_value("software_version", __version__)
        simulation = desc.append_child("simulation")
        for key, value in (
            ("subject", self.config.subject),
            ("seed", self.config.seed),
            ("snr_db", self.config.snr_db),
            ("line_freq_hz", self.config.line_freq),
            ("onset_interval_s", self.onset_interval_s),
            ("speed", self.speed),
            ("chunk_samples", self.chunk_samples),
            ("clock", "LSL local_clock; sample i at t0 + i / (sfreq * speed)"),
        ):
            simulation.append_child_value(key, str(value))

    # ------------------------------------------------------------------ lifecycle
    def open(self) -> None:
        """Build the simulator and create both outlets (idempotent).

        The streams are discoverable after this, but carry no data until :meth:`start`
        or :meth:`run`, so consumers can connect first. Also warms the simulator's
        caches (about 0.5 s once per process) so the first onset does not stall pushes.
        """
        with self._lock:
            if self._eeg_outlet is not None:
                return
            if self._started:
                raise StreamError("this SimulationStreamer already streamed; create a new one")
            pylsl = _pylsl()
            # Warm caches (montage, scene generation, evoked model) with a throwaway
            # simulator whose first onset is at sample 0.
            self._simulator = make_simulator(self.config, self.onset_interval_s)
            EEGStreamSimulator(self._simulator.subject, sfreq=self.sfreq, first_onset_s=0.0).read(1)
            self._eeg_outlet = pylsl.StreamOutlet(self._eeg_info())
            self._marker_outlet = pylsl.StreamOutlet(self._marker_info())
        logger.info(
            "LSL outlets open: %r (SIMULATED EEG, %d ch, %g Hz, source_id %r) and %r "
            "(stimulus markers, source_id %r)",
            self.eeg_name,
            len(STANDARD_64),
            self.sfreq,
            self.source_id,
            self.marker_name,
            self.marker_source_id,
        )

    def start(self) -> None:
        """Open the outlets if needed and stream in a background thread."""
        self.open()
        with self._lock:
            if self._started:
                raise StreamError("this SimulationStreamer already streamed; create a new one")
            self._started = True
            self._thread = threading.Thread(
                target=self._thread_main, name=f"lsl-sim-{self.source_id}", daemon=True
            )
            self._thread.start()

    def join(self, timeout: float | None = None) -> bool:
        """Wait until streaming ends (duration reached, stopped or failed).

        Parameters
        ----------
        timeout : float, optional
            Wall seconds to wait; None waits for ever.

        Returns
        -------
        bool
            True if streaming has ended.
        """
        if not self._started:
            return True
        return self._done_event.wait(timeout)

    def stop(self, timeout: float | None = 5.0) -> StreamStats:
        """Stop streaming, join the thread and close both outlets.

        Parameters
        ----------
        timeout : float, optional
            Wall seconds to wait for the thread.

        Returns
        -------
        StreamStats

        Raises
        ------
        StreamError
            If the streaming thread failed, or did not end within ``timeout``.
        """
        self._stop_event.set()
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
            if thread.is_alive():
                raise StreamError(
                    f"the LSL simulation thread did not stop within {timeout} s; outlets left open"
                )
        self.close()
        if self._error is not None:
            error, self._error = self._error, None
            raise StreamError(f"SIMULATED EEG streaming failed: {error}") from error
        return self.stats()

    def close(self) -> None:
        """Destroy both outlets (inlets then see the streams end). Idempotent."""
        with self._lock:
            closed = self._eeg_outlet is not None
            self._eeg_outlet = None
            self._marker_outlet = None
        if closed:
            logger.debug("closed LSL outlets %r and %r", self.eeg_name, self.marker_name)

    def run(self, duration_s: float | None = None) -> StreamStats:
        """Stream in the calling thread until the duration is reached or Ctrl-C.

        Parameters
        ----------
        duration_s : float, optional
            Seconds of simulated data to stream; overrides ``max_duration_s``. None
            keeps ``max_duration_s`` (None there: until KeyboardInterrupt).

        Returns
        -------
        StreamStats
        """
        if duration_s is not None:
            if not duration_s > 0:
                raise ValueError(f"duration_s must be > 0 seconds, got {duration_s}")
            self.max_duration_s = duration_s
        self.open()
        with self._lock:
            if self._started:
                raise StreamError("this SimulationStreamer already streamed; create a new one")
            self._started = True
        try:
            self._stream()
        except KeyboardInterrupt:
            self._stopped_by = "interrupt"
            logger.info("SIMULATED EEG streaming interrupted (Ctrl-C)")
        finally:
            self._done_event.set()
            self.close()
        return self.stats()

    def __enter__(self) -> SimulationStreamer:
        self.start()
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        try:
            self.stop()
        except StreamError:
            if exc_type is None:
                raise
            logger.exception("while stopping the LSL simulation after another error")

    # ------------------------------------------------------------------ streaming
    def _thread_main(self) -> None:
        try:
            self._stream()
        except BaseException as error:  # reported by stop()
            self._error = error
            self._stopped_by = "error"
            logger.exception("SIMULATED EEG streaming failed")
        finally:
            self._done_event.set()

    def _wait_for_consumers(self) -> None:
        pylsl = _pylsl()
        deadline = pylsl.local_clock() + self.wait_for_consumers_s
        for outlet, name in (
            (self._eeg_outlet, self.eeg_name),
            (self._marker_outlet, self.marker_name),
        ):
            while outlet is not None and not outlet.have_consumers():
                left = deadline - pylsl.local_clock()
                if left <= 0 or self._stop_event.is_set():
                    logger.warning(
                        "no consumer on %r after %.1f s; streaming anyway",
                        name,
                        self.wait_for_consumers_s,
                    )
                    break
                outlet.wait_for_consumers(min(left, 0.1))

    def _stream(self) -> None:
        """The pacing loop: generate a chunk, sleep until its last sample is due, push."""
        pylsl = _pylsl()
        simulator, eeg_outlet, marker_outlet = (
            self._simulator,
            self._eeg_outlet,
            self._marker_outlet,
        )
        if simulator is None or eeg_outlet is None or marker_outlet is None:
            raise StreamError("outlets are not open; call open() first")
        if self.wait_for_consumers_s > 0:
            self._wait_for_consumers()
        total = self.total_samples
        rate = self.rate
        explicit_stamps = self.speed != 1.0
        t0 = pylsl.local_clock()
        self._t0 = t0
        self._stopped_by = "running"
        logger.info(
            "streaming SIMULATED EEG (not a recording) on %r: subject %d, seed %d, "
            "%g Hz, SNR %g dB, speed %gx, %d-sample chunks, %s; t0 = %.6f s LSL clock",
            self.eeg_name,
            self.config.subject,
            self.config.seed,
            self.sfreq,
            self.config.snr_db,
            self.speed,
            self.chunk_samples,
            f"{total / self.sfreq:g} s of data" if total is not None else "until stopped",
            t0,
        )
        warned_behind = False
        next_sample = 0
        stop = self._stop_event
        while not stop.is_set():
            n = (
                self.chunk_samples
                if total is None
                else min(self.chunk_samples, total - next_sample)
            )
            if n <= 0:
                self._stopped_by = "duration"
                break
            chunk: EEGChunk = simulator.read(n)
            last = chunk.first_sample + n - 1
            due = t0 + last / rate
            wait = due - pylsl.local_clock()
            if wait > 0 and stop.wait(wait):
                break
            now = pylsl.local_clock()
            samples = np.ascontiguousarray(chunk.data.T)  # [n, 64] float32
            if explicit_stamps:
                stamps = (t0 + np.arange(chunk.first_sample, last + 1) / rate).tolist()
                eeg_outlet.push_chunk(samples, stamps)
            else:
                eeg_outlet.push_chunk(samples, due)
            for event in chunk.events:
                marker_outlet.push_sample([marker_json(event)], t0 + event.sample / rate)
                self._markers_pushed += 1
                logger.debug(
                    "stimulus marker: sample %d, scene seed %d", event.sample, event.scene_seed
                )
            late = now - due
            with self._stats_lock:
                self._lateness.append(late)
                self._lateness_max = max(self._lateness_max, late)
            if late > BEHIND_WARNING_S:
                self._late_chunks += 1
                if not warned_behind:
                    warned_behind = True
                    logger.warning(
                        "SIMULATED EEG push is %.0f ms behind schedule (machine too slow "
                        "or paused); pushing late chunks with their scheduled timestamps",
                        late * 1e3,
                    )
            self._samples_pushed += n
            self._chunks_pushed += 1
            self._last_push = now
            next_sample = last + 1
        if self._stopped_by == "running":
            self._stopped_by = "stop"
        logger.info(
            "SIMULATED EEG streaming ended (%s): %d samples (%.2f s of data), %d markers",
            self._stopped_by,
            self._samples_pushed,
            self._samples_pushed / self.sfreq,
            self._markers_pushed,
        )

    def stats(self) -> StreamStats:
        """Counts and push punctuality so far (see :class:`StreamStats`)."""
        with self._stats_lock:
            lateness = np.array(self._lateness, dtype=np.float64) * 1e3
        punctuality = LatencyStats.of(lateness)
        p50, p99 = (punctuality.p50, punctuality.p99) if punctuality.n else (0.0, 0.0)
        return StreamStats(
            source_id=self.source_id,
            eeg_name=self.eeg_name,
            marker_name=self.marker_name,
            sfreq=self.sfreq,
            speed=self.speed,
            start_time=self._t0,
            samples_pushed=self._samples_pushed,
            chunks_pushed=self._chunks_pushed,
            markers_pushed=self._markers_pushed,
            stream_s=self._samples_pushed / self.sfreq,
            wall_s=(self._last_push - self._t0)
            if self._t0 is not None and self._chunks_pushed
            else 0.0,
            lateness_ms_p50=float(p50),
            lateness_ms_p99=float(p99),
            lateness_ms_max=float(self._lateness_max * 1e3),
            late_chunks=self._late_chunks,
            stopped_by=self._stopped_by,
        )


def stream_simulation(
    config: SimulateSourceConfig,
    duration_s: float | None = None,
    *,
    speed: float = 1.0,
    name_prefix: str = DEFAULT_NAME_PREFIX,
    source_id: str | None = None,
    chunk_samples: int | None = None,
    onset_interval_s: float = 1.0,
    wait_for_consumers_s: float = 0.0,
) -> StreamStats:
    """Stream SIMULATED EEG + markers over LSL until ``duration_s`` or Ctrl-C (blocking).

    For ``brain3d simulate``. Logs the streams, that they are SIMULATED EEG, and a
    summary with push punctuality at the end.

    Parameters
    ----------
    config : SimulateSourceConfig
        Rate (Hz), SNR (dB), subject, seed, mains frequency (Hz).
    duration_s : float, optional
        Seconds of simulated data to stream (wall seconds at ``speed`` 1); None streams
        until KeyboardInterrupt.
    speed, name_prefix, source_id, chunk_samples, onset_interval_s, wait_for_consumers_s
        As for :class:`SimulationStreamer`.

    Returns
    -------
    StreamStats
    """
    streamer = SimulationStreamer(
        config,
        name_prefix=name_prefix,
        source_id=source_id,
        chunk_samples=chunk_samples,
        onset_interval_s=onset_interval_s,
        speed=speed,
        wait_for_consumers_s=wait_for_consumers_s,
    )
    stats = streamer.run(duration_s)
    logger.info(
        "SIMULATED EEG summary: %d samples (%.1f s of data) in %.1f s LSL time, %d markers; "
        "push lateness p50 %.2f ms, p99 %.2f ms, max %.2f ms; %d chunks > %.0f ms late",
        stats.samples_pushed,
        stats.stream_s,
        stats.wall_s,
        stats.markers_pushed,
        stats.lateness_ms_p50,
        stats.lateness_ms_p99,
        stats.lateness_ms_max,
        stats.late_chunks,
        BEHIND_WARNING_S * 1e3,
    )
    return stats
