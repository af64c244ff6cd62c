"""The SIMULATED visual-EEG as an in-process :class:`~acquisition.base.Source` (no LSL).

:class:`SimulatorSource` runs the same :class:`~brain3d.sim.eeg.EEGStreamSimulator` that
:class:`~brain3d.sim.lsl_stream.SimulationStreamer` publishes (built by
:func:`~brain3d.sim.lsl_stream.make_simulator`, so equal configs give the same data when
read in equal chunk sizes), paced on the LSL clock (in real time by default):

* at :meth:`~SimulatorSource.open` it picks ``t0 = pylsl.local_clock()``; sample ``i``
  (0 = first) is stamped ``t0 + i / (sfreq * speed)`` (computed from the index, no drift);
  ``speed`` (``source.simulate.speed``, default 1 = real time) > 1 runs faster than real
  time with the convention of :class:`~brain3d.sim.lsl_stream.SimulationStreamer`: a
  sample is stamped with the LSL time at which it is released, so latencies stay true,
  while the nominal rate stays ``sfreq`` (the rate of the data, which filters need);
* samples are released in blocks of ``chunk_samples`` when the block's *last* sample is
  due, so a read never returns samples from the future;
* if the caller falls behind, the overdue blocks are generated at once (at most
  ``max_catch_up_s`` seconds of clock time per read, i.e. ``speed`` times that much
  data) with their scheduled stamps.

Stimulus onsets are ground truth for scoring a live run: :meth:`drain_stimuli` returns
``(lsl_time, scene_seed, Description)`` for every onset among the samples delivered so
far, ``lsl_time`` being exactly the timestamp of the onset sample.

This is SIMULATED EEG, not a recording: ``StreamDescription.simulated`` is True.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import numpy as np

from acquisition.base import Chunk, Source, SourceEvent, StreamDescription
from brain3d.channels import STANDARD_64
from brain3d.clock import lsl_clock
from brain3d.config import Config, SimulateSourceConfig
from brain3d.errors import StreamError
from brain3d.schema import Description
from brain3d.sim.eeg import EEGStreamSimulator
from brain3d.sim.lsl_stream import DEFAULT_NAME_PREFIX, default_source_id, make_simulator

logger = logging.getLogger(__name__)

#: Default block length, seconds (10 ms, as the LSL streamer).
DEFAULT_CHUNK_S = 0.010
#: Lateness (seconds) of the caller above which a warning is logged once.
BEHIND_WARNING_S = 0.25


class SimulatorSource(Source):
    """SIMULATED EEG paced on the LSL clock (real time, or ``speed`` times faster), with its
    stimulus ground truth.

    Parameters
    ----------
    config : SimulateSourceConfig, optional
        Rate (Hz), SNR (dB), subject, seed and mains frequency (Hz).
    chunk_samples : int, optional
        Samples per released block; default 10 ms of wall-clock time (5 samples at 500 Hz
        and speed 1).
    onset_interval_s : float
        Mean time between stimulus onsets, seconds of stream time.
    max_catch_up_s : float
        Most clock time (seconds) one :meth:`read` catches up when the caller is late.
    """

    def __init__(
        self,
        config: SimulateSourceConfig | None = None,
        *,
        chunk_samples: int | None = None,
        onset_interval_s: float = 1.0,
        max_catch_up_s: float = 1.0,
    ) -> None:
        self.config = config or SimulateSourceConfig()
        self.sfreq = float(self.config.sfreq)
        self.speed = float(self.config.speed)
        #: Samples released per second of LSL clock (``sfreq * speed``), Hz.
        self.release_rate = self.sfreq * self.speed
        self.chunk_samples = int(chunk_samples or max(1, round(DEFAULT_CHUNK_S * self.release_rate)))
        if self.chunk_samples < 1:
            raise ValueError(f"chunk_samples must be >= 1, got {chunk_samples}")
        self.onset_interval_s = float(onset_interval_s)
        self.max_catch_up_blocks = max(1, int(max_catch_up_s * self.release_rate / self.chunk_samples))
        self._simulator: Any = None
        self._t0: float | None = None
        self._next_sample = 0
        self._stimuli: list[tuple[float, int, Description]] = []
        self._stim_lock = threading.Lock()
        self._warned_behind = False
        self._description = StreamDescription(
            name=f"{DEFAULT_NAME_PREFIX}-EEG",
            type="EEG",
            source_id=default_source_id(self.config),
            channel_names=tuple(STANDARD_64),
            sfreq=self.sfreq,
            units="uV",
            simulated=True,
        )

    @property
    def description(self) -> StreamDescription:
        """64 STANDARD_64 channels, µV, ``sfreq`` Hz, ``simulated=True``."""
        return self._description

    @property
    def start_time(self) -> float | None:
        """LSL-clock time of sample 0, seconds (None before :meth:`open`)."""
        return self._t0

    @property
    def samples_delivered(self) -> int:
        """Samples returned by :meth:`read` so far."""
        return self._next_sample

    def sample_time(self, sample: int) -> float:
        """LSL-clock timestamp of sample ``sample`` (0 = first), seconds."""
        if self._t0 is None:
            raise StreamError("SimulatorSource is not open; call open() first")
        return self._t0 + sample / self.release_rate

    def open(self) -> None:
        """Build the simulator and start the clock: sample 0 is due now (idempotent)."""
        if self._simulator is not None:
            return
        simulator = make_simulator(self.config, self.onset_interval_s)
        # Warm caches (montage, scenes, evoked model; ~0.5 s once per process) with a
        # throwaway simulator whose first onset is at sample 0, so the first real
        # onset does not stall the pacing.
        EEGStreamSimulator(simulator.subject, sfreq=self.sfreq, first_onset_s=0.0).read(1)
        self._simulator = simulator
        self._next_sample = 0
        self._t0 = lsl_clock()
        logger.info(
            "SIMULATED EEG source (not a recording): subject %d, seed %d, %g Hz, SNR %g dB, "
            "speed %gx, %d-sample blocks; t0 = %.6f s LSL clock",
            self.config.subject,
            self.config.seed,
            self.sfreq,
            self.config.snr_db,
            self.speed,
            self.chunk_samples,
            self._t0,
        )

    def close(self) -> None:
        """Stop (idempotent); undrained stimuli stay available."""
        if self._simulator is not None:
            logger.info("SIMULATED EEG source closed after %d samples", self._next_sample)
        self._simulator = None

    def _due_blocks(self, now: float) -> int:
        assert self._t0 is not None
        # Samples whose time has come: i <= (now - t0) * sfreq * speed.
        due_samples = int(np.floor((now - self._t0) * self.release_rate)) + 1
        return max(0, (due_samples - self._next_sample) // self.chunk_samples)

    def read(self, timeout: float = 0.0, min_samples: int = 1) -> Chunk | None:
        """The blocks that are due, waiting up to ``timeout`` seconds for the next one.

        ``min_samples`` is ignored: blocks are released when they are due.

        Returns
        -------
        Chunk or None
            ``data`` (n_samples, 64) float32 µV, ``timestamps`` (n_samples,) float64
            LSL seconds ``t0 + i / (sfreq * speed)``; None if no block became due in time.
        """
        simulator = self._simulator
        if simulator is None or self._t0 is None:
            raise StreamError("SimulatorSource is not open; call open() first")
        now = lsl_clock()
        blocks = self._due_blocks(now)
        if blocks == 0:
            next_due = self.sample_time(self._next_sample + self.chunk_samples - 1)
            wait = next_due - now
            if wait > timeout:
                if timeout > 0:
                    time.sleep(timeout)
                return None
            if wait > 0:
                time.sleep(wait)
            blocks = max(1, self._due_blocks(lsl_clock()))
        lateness = now - self.sample_time(self._next_sample + blocks * self.chunk_samples - 1)
        if lateness > BEHIND_WARNING_S and not self._warned_behind:
            self._warned_behind = True
            logger.warning(
                "SimulatorSource read %.0f ms late; generating overdue SIMULATED samples with "
                "their scheduled timestamps",
                lateness * 1e3,
            )
        blocks = min(blocks, self.max_catch_up_blocks)
        first = self._next_sample
        # One simulator call per block keeps the data identical to the LSL streamer's.
        parts = []
        stimuli = []
        for _ in range(blocks):
            chunk = simulator.read(self.chunk_samples)
            parts.append(chunk.data)
            for event in chunk.events:
                stimuli.append((self.sample_time(int(event.sample)), int(event.scene_seed), event.description))
        n = blocks * self.chunk_samples
        self._next_sample = first + n
        data = np.ascontiguousarray(np.concatenate(parts, axis=1).T, dtype=np.float32)
        timestamps = self._t0 + np.arange(first, first + n, dtype=np.float64) / self.release_rate
        if stimuli:
            with self._stim_lock:
                self._stimuli.extend(stimuli)
        return Chunk(data=data, timestamps=timestamps)

    def drain_stimuli(self) -> list[tuple[float, int, Description]]:
        """Stimulus onsets delivered since the last call.

        Returns
        -------
        list of (lsl_time, scene_seed, Description)
            ``lsl_time`` (LSL seconds) equals the timestamp of the onset sample;
            ``generate_scene(scene_seed)`` reproduces the scene shown.
        """
        with self._stim_lock:
            stimuli, self._stimuli = self._stimuli, []
        return stimuli

    def drain_events(self) -> list[SourceEvent]:
        """No events: the simulator never loses data or jumps its clock."""
        return []


def build(config: Config) -> SimulatorSource:
    """``source.kind: simulate`` (registered in :data:`brain3d.registry.SOURCES`)."""
    return SimulatorSource(config.source.simulate)
