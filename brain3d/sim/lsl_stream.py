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

The parts: :mod:`brain3d.sim.lsl_outlets` writes the headers and pushes to the two
outlets, :mod:`brain3d.sim.lsl_pacing` holds the sample clock (:class:`PushSchedule`)
and the push counts and lateness (:class:`PushLedger`); :class:`SimulationStreamer`
runs the simulator, the lifecycle (open, start, stop, run) and the pacing loop.

pylsl is imported lazily (inside functions), so a caller can set ``LSLAPICFG`` before
liblsl reads its configuration.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np

from brain3d.channels import STANDARD_64
from brain3d.config import SimulateSourceConfig
from brain3d.errors import StreamError
from brain3d.sim.background import BackgroundParams
from brain3d.sim.eeg import EEGChunk, EEGStreamSimulator
from brain3d.sim.lsl_outlets import (
    MANUFACTURER,
    SIMULATED_FIELD,
    OutletHeader,
    SimulationOutlets,
    import_pylsl,
    marker_json,
)
from brain3d.sim.lsl_pacing import BEHIND_WARNING_S, LATENESS_HISTORY, PushLedger, PushSchedule
from brain3d.sim.subject import SubjectParams

logger = logging.getLogger(__name__)

#: Stream name prefix; the EEG stream is ``<prefix>-EEG``, markers ``<prefix>-Markers``.
DEFAULT_NAME_PREFIX = "Brain3D-Sim"
#: Wall-clock time between pushes when no chunk size is given, seconds.
DEFAULT_CHUNK_S = 0.010

__all__ = [
    "BEHIND_WARNING_S",
    "DEFAULT_CHUNK_S",
    "DEFAULT_NAME_PREFIX",
    "LATENESS_HISTORY",
    "MANUFACTURER",
    "SIMULATED_FIELD",
    "SimulationStreamer",
    "StreamStats",
    "default_source_id",
    "make_simulator",
    "marker_json",
    "stream_simulation",
]


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
    push_due, push_times : np.ndarray or None
        (chunks,) LSL-clock due time of each chunk's last sample and the time the chunk
        was pushed, seconds; only with ``keep_push_log=True``.
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
    push_due: np.ndarray | None = None
    push_times: np.ndarray | None = None


def _check_arguments(
    speed: float, chunk_samples: int | None, max_duration_s: float | None, onset_interval_s: float
) -> None:
    """Raise ValueError for a :class:`SimulationStreamer` argument out of range."""
    if not speed > 0:
        raise ValueError(f"speed must be > 0 (1 = real time), got {speed}")
    if chunk_samples is not None and chunk_samples < 1:
        raise ValueError(f"chunk_samples must be >= 1 sample, got {chunk_samples}")
    if max_duration_s is not None and not max_duration_s > 0:
        raise ValueError(f"max_duration_s must be > 0 seconds or None, got {max_duration_s}")
    if onset_interval_s <= 0:
        raise ValueError(f"onset_interval_s must be > 0 seconds, got {onset_interval_s}")


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
    keep_push_log : bool
        Keep every chunk's due and push time (:class:`StreamStats` ``push_due`` /
        ``push_times``), for latency measured from the push of a window's last sample.

    Notes
    -----
    Use :meth:`start` / :meth:`stop` (or ``with``) for a background thread, or
    :meth:`run` to stream in the calling thread. A streamer streams once. The outlets
    are a :class:`~brain3d.sim.lsl_outlets.SimulationOutlets`, the sample clock a
    :class:`~brain3d.sim.lsl_pacing.PushSchedule` and the counts and lateness a
    :class:`~brain3d.sim.lsl_pacing.PushLedger`.
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
        keep_push_log: bool = False,
    ) -> None:
        _check_arguments(speed, chunk_samples, max_duration_s, onset_interval_s)
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
        self._outlets: SimulationOutlets | None = None
        self._started = False
        self._error: BaseException | None = None
        self._schedule: PushSchedule | None = None
        self._ledger = PushLedger(keep_log=keep_push_log)
        self._stopped_by = "not started"

    # ----------------------------------------------------------------- properties
    @property
    def samples_pushed(self) -> int:
        """EEG samples pushed so far."""
        return self._ledger.samples

    @property
    def markers_pushed(self) -> int:
        """Stimulus markers pushed so far."""
        return self._ledger.markers

    @property
    def start_time(self) -> float | None:
        """LSL-clock time of sample 0, seconds (None until streaming starts)."""
        return None if self._schedule is None else self._schedule.t0

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
        if self._schedule is None:
            raise StreamError("the simulation has not started streaming; call start() or run()")
        return self._schedule.time_of(sample)

    # ------------------------------------------------------------------ lifecycle
    def _header(self) -> OutletHeader:
        """What the two stream headers say about this streamer."""
        return OutletHeader(
            config=self.config,
            eeg_name=self.eeg_name,
            marker_name=self.marker_name,
            source_id=self.source_id,
            marker_source_id=self.marker_source_id,
            onset_interval_s=self.onset_interval_s,
            speed=self.speed,
            chunk_samples=self.chunk_samples,
        )

    def open(self) -> None:
        """Build the simulator and create both outlets (idempotent).

        The streams are discoverable after this, but carry no data until :meth:`start`
        or :meth:`run`, so consumers can connect first. Also warms the simulator's
        caches (about 0.5 s once per process) so the first onset does not stall pushes.
        """
        with self._lock:
            if self._outlets is not None:
                return
            if self._started:
                raise StreamError("this SimulationStreamer already streamed; create a new one")
            # Warm caches (montage, scene generation, evoked model) with a throwaway
            # simulator whose first onset is at sample 0.
            self._simulator = make_simulator(self.config, self.onset_interval_s)
            EEGStreamSimulator(self._simulator.subject, sfreq=self.sfreq, first_onset_s=0.0).read(1)
            self._outlets = SimulationOutlets(self._header())
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

    def _claim(self) -> None:
        """Mark the streamer as streaming (under the lock); a streamer streams once."""
        if self._started:
            raise StreamError("this SimulationStreamer already streamed; create a new one")
        self._started = True

    def start(self) -> None:
        """Open the outlets if needed and stream in a background thread."""
        self.open()
        with self._lock:
            self._claim()
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
            closed = self._outlets is not None
            self._outlets = None
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
            self._claim()
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
        """Body of the background thread: stream, keep a failure for :meth:`stop`."""
        try:
            self._stream()
        except BaseException as error:  # reported by stop()
            self._error = error
            self._stopped_by = "error"
            logger.exception("SIMULATED EEG streaming failed")
        finally:
            self._done_event.set()

    def _begin(self, outlets: SimulationOutlets) -> PushSchedule:
        """Wait for consumers if asked, pick ``t0`` on the LSL clock and log the start."""
        if self.wait_for_consumers_s > 0:
            outlets.wait_for_consumers(self.wait_for_consumers_s, self._stop_event)
        total = self.total_samples
        schedule = PushSchedule(
            t0=import_pylsl().local_clock(),
            rate=self.rate,
            chunk_samples=self.chunk_samples,
            total=total,
        )
        self._schedule = schedule
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
            schedule.t0,
        )
        return schedule

    def _push(
        self, chunk: EEGChunk, n: int, schedule: PushSchedule, outlets: SimulationOutlets
    ) -> bool:
        """Sleep until the chunk's last sample is due, push it and its markers, count them.

        Returns False (nothing pushed) when :meth:`stop` interrupted the wait.
        """
        pylsl = import_pylsl()
        last = chunk.first_sample + n - 1
        due = schedule.time_of(last)
        wait = due - pylsl.local_clock()
        if wait > 0 and self._stop_event.wait(wait):
            return False
        now = pylsl.local_clock()
        samples = np.ascontiguousarray(chunk.data.T)  # [n, 64] float32
        # liblsl derives in-chunk stamps from the nominal rate: explicit ones unless 1x.
        if self.speed != 1.0:
            outlets.push_eeg(samples, schedule.stamps(chunk.first_sample, last))
        else:
            outlets.push_eeg(samples, due)
        for event in chunk.events:
            outlets.push_marker(event, schedule.time_of(event.sample))
            self._ledger.record_marker()
        self._ledger.record_chunk(n, due, now)
        return True

    def _stream(self) -> None:
        """The pacing loop: generate a chunk, sleep until its last sample is due, push."""
        simulator, outlets = self._simulator, self._outlets
        if simulator is None or outlets is None:
            raise StreamError("outlets are not open; call open() first")
        schedule = self._begin(outlets)
        next_sample = 0
        while not self._stop_event.is_set():
            n = schedule.chunk_size(next_sample)
            if n <= 0:
                self._stopped_by = "duration"
                break
            chunk: EEGChunk = simulator.read(n)
            if not self._push(chunk, n, schedule, outlets):
                break
            next_sample = chunk.first_sample + n
        if self._stopped_by == "running":
            self._stopped_by = "stop"
        logger.info(
            "SIMULATED EEG streaming ended (%s): %d samples (%.2f s of data), %d markers",
            self._stopped_by,
            self._ledger.samples,
            self._ledger.samples / self.sfreq,
            self._ledger.markers,
        )

    def stats(self) -> StreamStats:
        """Counts and push punctuality so far (see :class:`StreamStats`)."""
        pushed = self._ledger.summary()
        log = self._ledger.log()
        t0 = self.start_time
        return StreamStats(
            source_id=self.source_id,
            eeg_name=self.eeg_name,
            marker_name=self.marker_name,
            sfreq=self.sfreq,
            speed=self.speed,
            start_time=t0,
            samples_pushed=pushed.samples,
            chunks_pushed=pushed.chunks,
            markers_pushed=pushed.markers,
            stream_s=pushed.samples / self.sfreq,
            wall_s=(pushed.last_push - t0) if t0 is not None and pushed.chunks else 0.0,
            lateness_ms_p50=pushed.lateness_ms_p50,
            lateness_ms_p99=pushed.lateness_ms_p99,
            lateness_ms_max=pushed.lateness_ms_max,
            late_chunks=pushed.late_chunks,
            stopped_by=self._stopped_by,
            push_due=None if log is None else log[0],
            push_times=None if log is None else log[1],
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
