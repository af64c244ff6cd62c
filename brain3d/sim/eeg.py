"""SIMULATED EEG: scenes -> 64-channel EEG trials or a continuous stream.

This is not recorded data. The forward model adds a content-dependent visual evoked
response (:mod:`brain3d.sim.evoked`) to background activity and artefacts
(:mod:`brain3d.sim.background`) for a simulated subject (:mod:`brain3d.sim.subject`).
Channels are :data:`~brain3d.channels.STANDARD_64` in that order; values are µV.

SNR (dB) = ``20 * log10(evoked RMS / background RMS)``, where the evoked RMS is taken
over all channels in the first 0.6 s after onset (for a scene of average foreground
area) and the background RMS is the expected RMS over all channels of the brain
background (pink noise + alpha; not line noise, blinks or muscle bursts).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from brain3d.channels import STANDARD_64
from brain3d.schema import Description
from brain3d.sim.background import BackgroundGenerator, BackgroundParams
from brain3d.sim.evoked import EVOKED_DURATION_S, evoked_response
from brain3d.sim.scenes import Scene, generate_scene
from brain3d.sim.subject import SubjectParams

logger = logging.getLogger(__name__)

#: Default single-trial SNR, dB: single trials are decodable, but not trivially.
DEFAULT_SNR_DB = -5.0
#: Seconds of background generated and discarded so filters reach steady state.
WARMUP_S = 1.0
SIMULATED_NOTE = "SIMULATED EEG from brain3d.sim (forward model), not a recording"


def evoked_amplitude_uv(snr_db: float, background: BackgroundParams) -> float:
    """Evoked RMS (µV) that gives ``snr_db`` against the background's RMS."""
    return background.background_rms_uv() * 10.0 ** (snr_db / 20.0)


def simulate_trial(
    scene: Scene,
    subject: SubjectParams,
    rng: np.random.Generator,
    sfreq: float = 256.0,
    n_samples: int = 256,
    snr_db: float = DEFAULT_SNR_DB,
    background: BackgroundParams | None = None,
) -> np.ndarray:
    """One SIMULATED EEG trial: the response to ``scene`` plus background.

    Parameters
    ----------
    scene : Scene
        The stimulus; its onset is at sample 0.
    subject : SubjectParams
        The simulated subject.
    rng : numpy.random.Generator
        Background randomness (seed it for determinism).
    sfreq : float
        Sampling rate, Hz.
    n_samples : int
        Trial length, samples (256 at 256 Hz = 1 s).
    snr_db : float
        Signal-to-noise ratio, dB (see the module docstring).
    background : BackgroundParams, optional
        Background model; default :class:`BackgroundParams()`.

    Returns
    -------
    ndarray, float32 [64, n_samples]
        EEG in µV, channels in :data:`~brain3d.channels.STANDARD_64` order.
    """
    background = background or BackgroundParams()
    generator = BackgroundGenerator(sfreq, background, subject, rng)
    generator.generate(int(WARMUP_S * sfreq))
    data = generator.generate(n_samples)
    data += evoked_response(
        scene, subject, sfreq, n_samples, evoked_amplitude_uv(snr_db, background)
    )
    return data.astype(np.float32)


@dataclass(frozen=True)
class StimulusEvent:
    """A stimulus onset in the SIMULATED stream.

    Attributes
    ----------
    sample : int
        Global sample index of the onset (0 = first sample of the stream).
    scene_seed : int
        Seed of the scene shown (``generate_scene(scene_seed)`` reproduces it).
    description : Description
        Ground-truth description of the scene.
    """

    sample: int
    scene_seed: int
    description: Description


@dataclass(frozen=True)
class EEGChunk:
    """Consecutive samples of the SIMULATED stream.

    Attributes
    ----------
    data : ndarray, float32 [64, n]
        µV, :data:`~brain3d.channels.STANDARD_64` order.
    first_sample : int
        Global index of ``data[:, 0]``.
    events : list of StimulusEvent
        Onsets falling inside this chunk.
    """

    data: np.ndarray
    first_sample: int
    events: list[StimulusEvent] = field(default_factory=list)


@dataclass
class _ActiveResponse:
    onset: int
    response: np.ndarray  # [64, L]


class EEGStreamSimulator:
    """A continuous SIMULATED EEG stream with a stimulus about every second.

    Parameters
    ----------
    subject : SubjectParams
        The simulated subject.
    sfreq : float
        Raw sampling rate, Hz (e.g. 250, 500, 1000).
    onset_interval_s : float
        Mean time between stimulus onsets, seconds.
    onset_jitter_s : float
        Uniform jitter (+-) added to each interval, seconds.
    snr_db : float
        Signal-to-noise ratio, dB (see the module docstring).
    background : BackgroundParams, optional
        Background model (line frequency, artefact rates, amplitudes).
    scene_seeds : iterator of int, optional
        Seeds of the scenes to show, in order; default: random seeds from ``seed``.
    seed : int
        Seed of all the stream's randomness.
    first_onset_s : float
        Time of the first onset, seconds.
    """

    def __init__(
        self,
        subject: SubjectParams,
        sfreq: float = 250.0,
        onset_interval_s: float = 1.0,
        onset_jitter_s: float = 0.05,
        snr_db: float = DEFAULT_SNR_DB,
        background: BackgroundParams | None = None,
        scene_seeds: Iterator[int] | None = None,
        seed: int = 0,
        first_onset_s: float = 0.5,
    ) -> None:
        if onset_interval_s <= 2 * onset_jitter_s or onset_interval_s <= 0:
            raise ValueError(
                f"onset_interval_s ({onset_interval_s}) must exceed twice onset_jitter_s "
                f"({onset_jitter_s})"
            )
        self.subject = subject
        self.sfreq = float(sfreq)
        self.onset_interval_s = onset_interval_s
        self.onset_jitter_s = onset_jitter_s
        self.snr_db = snr_db
        self.background_params = background or BackgroundParams()
        self._rng = np.random.default_rng([seed, 0xEE6])
        self._scene_rng = np.random.default_rng([seed, 0x5CE])
        self._scene_seeds = scene_seeds
        self._background = BackgroundGenerator(
            self.sfreq, self.background_params, subject, np.random.default_rng([seed, 0xB6])
        )
        self._next_onset = round(first_onset_s * self.sfreq)
        self._active: list[_ActiveResponse] = []
        self._sample = 0

    @property
    def n_channels(self) -> int:
        """Number of channels (64)."""
        return len(STANDARD_64)

    def metadata(self) -> dict:
        """Stream metadata (for LSL headers, session files): says it is SIMULATED."""
        return {
            "simulated": True,
            "note": SIMULATED_NOTE,
            "channels": list(STANDARD_64),
            "unit": "microvolts",
            "sfreq_hz": self.sfreq,
            "subject_id": self.subject.subject_id,
            "snr_db": self.snr_db,
            "line_freq_hz": self.background_params.line_freq_hz,
            "onset_interval_s": self.onset_interval_s,
        }

    def _next_scene_seed(self) -> int:
        if self._scene_seeds is not None:
            return int(next(self._scene_seeds))
        return int(self._scene_rng.integers(0, 2**31 - 1))

    def read(self, n_samples: int) -> EEGChunk:
        """The next ``n_samples`` of the stream (float32 µV) with the onsets inside them."""
        start, stop = self._sample, self._sample + int(n_samples)
        data = self._background.generate(n_samples)
        events = []
        amplitude = self.background_params.background_rms_uv() * 10.0 ** (self.snr_db / 20.0)
        length = round(EVOKED_DURATION_S * self.sfreq)
        while self._next_onset < stop:
            onset = self._next_onset
            scene_seed = self._next_scene_seed()
            scene = generate_scene(scene_seed)
            response = evoked_response(scene, self.subject, self.sfreq, length, amplitude)
            self._active.append(_ActiveResponse(onset, response))
            events.append(StimulusEvent(onset, scene_seed, scene.description))
            interval = self.onset_interval_s + self._rng.uniform(-1, 1) * self.onset_jitter_s
            self._next_onset = onset + max(1, round(interval * self.sfreq))
        for active in self._active:
            lo, hi = max(active.onset, start), min(active.onset + active.response.shape[1], stop)
            if hi > lo:
                data[:, lo - start : hi - start] += active.response[
                    :, lo - active.onset : hi - active.onset
                ]
        self._active = [a for a in self._active if a.onset + a.response.shape[1] > stop]
        self._sample = stop
        return EEGChunk(data.astype(np.float32), start, events)
