"""Background activity and artefacts of SIMULATED EEG, generated chunk by chunk.

All amplitudes are in microvolts (µV). Components:

* pink (1/f power) noise, spatially correlated across neighbouring electrodes, RMS
  ``pink_rms_uv`` per channel;
* alpha rhythm: a narrow band (Q = 4) around the subject's alpha frequency, posterior
  dominant (Gaussian topography around POz/Oz), with a slowly varying amplitude;
  RMS ``alpha_rms_uv`` at the peak site;
* line noise at ``line_freq_hz`` (50 or 60 Hz), amplitude ``line_noise_uv`` (varies by
  channel);
* blinks (Poisson, ``blink_rate_hz``): 300-ms raised-cosine deflections of 60-150 µV,
  frontal (decaying away from the eyes);
* muscle bursts (Poisson, ``muscle_rate_hz``): 0.2-1 s of high-passed (> 20 Hz) noise of
  10-30 µV over one temporal region.

The *background RMS* used to define the SNR is the expected RMS over channels of the
brain background only (pink + alpha), :meth:`BackgroundParams.background_rms_uv`;
line noise, blinks and muscle bursts are artefacts on top and do not count.
Filter states carry over between chunks, so consecutive chunks form one continuous
signal.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass

import numpy as np
import scipy.signal
import scipy.sparse

from brain3d.sim.montage import distance_kernel, gaussian_topography, position_of
from brain3d.sim.subject import SubjectParams

logger = logging.getLogger(__name__)

# Pinking filter (Kellet / J. O. Smith): -10 dB/decade from ~5e-4 fs to ~0.45 fs.
_PINK_B = np.array([0.049922035, -0.095993537, 0.050612699, -0.004408786])
_PINK_A = np.array([1.0, -2.494956002, 2.017265875, -0.522189400])
_BLINK_DURATION_S = 0.3


@dataclass(frozen=True)
class BackgroundParams:
    """Amplitudes (µV), rates (Hz) and the mains frequency of the background model."""

    pink_rms_uv: float = 8.0
    alpha_rms_uv: float = 8.0
    line_freq_hz: float = 50.0
    line_noise_uv: float = 2.0
    blink_rate_hz: float = 0.2
    muscle_rate_hz: float = 0.1

    def background_rms_uv(self) -> float:
        """Expected RMS over all channels of pink + alpha (nominal subject), µV."""
        alpha_topography = _alpha_topography()
        alpha_ms = self.alpha_rms_uv**2 * float(np.mean(alpha_topography**2))
        return float(np.sqrt(self.pink_rms_uv**2 + alpha_ms))


@functools.cache
def _alpha_topography() -> np.ndarray:
    centre = (position_of("POz") + position_of("Oz")) / 2
    return gaussian_topography(centre, 0.05)


@functools.cache
def _spatial_noise_mixing() -> scipy.sparse.csr_matrix:
    """Sparse spatial-correlation kernel (entries < 1e-3 of the row max dropped).

    Sparse on purpose: a small dense BLAS product here spends most of its time in
    thread hand-offs when the cores are busy; the sparse product is single-threaded.
    """
    kernel = distance_kernel(0.03)
    kernel = np.where(kernel >= 1e-3 * kernel.max(axis=1, keepdims=True), kernel, 0.0)
    kernel /= np.linalg.norm(kernel, axis=1, keepdims=True)  # unit-variance rows
    return scipy.sparse.csr_matrix(kernel)


@functools.cache
def _pink_gain() -> float:
    impulse = np.zeros(1 << 16)
    impulse[0] = 1.0
    response = scipy.signal.lfilter(_PINK_B, _PINK_A, impulse)
    return float(np.sqrt(np.sum(response**2)))


@functools.cache
def _blink_topography() -> np.ndarray:
    eyes = position_of("Fpz") + np.array([0.0, 0.01, -0.03])
    distance = np.linalg.norm(_positions() - eyes, axis=1)
    return np.exp(-distance / 0.04) / np.exp(-np.linalg.norm(position_of("Fpz") - eyes) / 0.04)


def _positions() -> np.ndarray:
    from brain3d.sim.montage import channel_positions

    return channel_positions()


@dataclass
class _Artefact:
    start: int  # global sample index
    waveform: np.ndarray  # [64, L] µV


class BackgroundGenerator:
    """Continuous SIMULATED background EEG for one subject, chunk by chunk.

    Parameters
    ----------
    sfreq : float
        Sampling rate, Hz.
    params : BackgroundParams
        Amplitudes and rates.
    subject : SubjectParams
        Alpha frequency and gain come from here; channel gains apply to everything.
    rng : numpy.random.Generator
        Randomness (seed it for determinism).
    """

    def __init__(
        self,
        sfreq: float,
        params: BackgroundParams,
        subject: SubjectParams,
        rng: np.random.Generator,
    ) -> None:
        if sfreq <= 2 * 45:
            raise ValueError(f"sfreq must exceed 90 Hz, got {sfreq}")
        self.sfreq = float(sfreq)
        self.params = params
        self.subject = subject
        self._rng = rng
        self._n_channels = len(_alpha_topography())
        self._sample = 0
        self._pink_state = np.zeros((self._n_channels, len(_PINK_A) - 1))
        alpha_freq = min(subject.alpha_freq_hz, 0.45 * sfreq)
        self._alpha_b, self._alpha_a = scipy.signal.iirpeak(alpha_freq, 4.0, fs=self.sfreq)
        impulse = np.zeros(int(4 * self.sfreq))
        impulse[0] = 1.0
        self._alpha_gain = float(
            np.linalg.norm(scipy.signal.lfilter(self._alpha_b, self._alpha_a, impulse))
        )
        self._alpha_state = np.zeros(2)
        self._envelope_state = np.zeros(1)
        self._envelope_pole = np.exp(-2 * np.pi * 0.3 / self.sfreq)  # ~0.3 Hz changes
        self._line_amplitude = params.line_noise_uv * rng.uniform(0.5, 1.5, self._n_channels)
        self._line_phase = rng.uniform(0, 2 * np.pi, self._n_channels)
        self._muscle_sos = scipy.signal.butter(4, 20.0, "highpass", fs=self.sfreq, output="sos")
        self._artefacts: list[_Artefact] = []

    @property
    def samples_generated(self) -> int:
        """Number of samples produced so far."""
        return self._sample

    def generate(self, n_samples: int) -> np.ndarray:
        """The next ``n_samples`` of background, float64 [64, n_samples], µV."""
        n, start = int(n_samples), self._sample
        rng, p = self._rng, self.params
        white = _spatial_noise_mixing() @ rng.standard_normal((self._n_channels, n))
        pink, self._pink_state = scipy.signal.lfilter(
            _PINK_B, _PINK_A, white, axis=1, zi=self._pink_state
        )
        data = pink * (p.pink_rms_uv / _pink_gain())
        alpha, self._alpha_state = scipy.signal.lfilter(
            self._alpha_b, self._alpha_a, rng.standard_normal(n), zi=self._alpha_state
        )
        slow, self._envelope_state = scipy.signal.lfilter(
            [np.sqrt(1 - self._envelope_pole**2)],
            [1.0, -self._envelope_pole],
            rng.standard_normal(n),
            zi=self._envelope_state,
        )
        envelope = np.exp(0.5 * slow - 0.125)  # log-normal, mean-square ~1
        data += np.outer(_alpha_topography(), alpha * envelope) * (
            p.alpha_rms_uv * self.subject.alpha_gain / self._alpha_gain
        )
        t = (start + np.arange(n)) / self.sfreq
        data += self._line_amplitude[:, None] * np.sin(
            2 * np.pi * p.line_freq_hz * t[None, :] + self._line_phase[:, None]
        )
        self._schedule_artefacts(start, n)
        for artefact in self._artefacts:
            lo = max(artefact.start, start)
            hi = min(artefact.start + artefact.waveform.shape[1], start + n)
            if hi > lo:
                data[:, lo - start : hi - start] += artefact.waveform[
                    :, lo - artefact.start : hi - artefact.start
                ]
        self._artefacts = [a for a in self._artefacts if a.start + a.waveform.shape[1] > start + n]
        self._sample += n
        return data * self.subject.channel_gain[:, None]

    def _schedule_artefacts(self, start: int, n: int) -> None:
        rng, p, duration_s = self._rng, self.params, n / self.sfreq
        for _ in range(rng.poisson(p.blink_rate_hz * duration_s)):
            length = int(_BLINK_DURATION_S * self.sfreq)
            shape = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(length) / length)
            amplitude = rng.uniform(60.0, 150.0)
            waveform = np.outer(_blink_topography() * amplitude, shape)
            self._artefacts.append(_Artefact(start + int(rng.integers(n)), waveform))
        for _ in range(rng.poisson(p.muscle_rate_hz * duration_s)):
            length = max(int(rng.uniform(0.2, 1.0) * self.sfreq), 8)
            site = position_of("T7") if rng.random() < 0.5 else position_of("T8")
            topography = gaussian_topography(site, 0.03)
            noise = scipy.signal.sosfilt(self._muscle_sos, rng.standard_normal(length))
            noise *= np.hanning(length) * rng.uniform(10.0, 30.0) / (np.std(noise) + 1e-12)
            self._artefacts.append(
                _Artefact(start + int(rng.integers(n)), np.outer(topography, noise))
            )
