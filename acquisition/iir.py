"""Causal IIR (second-order sections) filtering with carried state, cheap for tiny chunks.

Live streams arrive a sample or a few at a time, and the sample that completes a window
is on the latency-critical path. :func:`scipy.signal.sosfilt` costs about 70 µs per call
here whatever the chunk length (argument validation and axis moves in Python), twice per
sample (anti-alias and band-pass/notch). :class:`SOSFilter` keeps scipy for longer
chunks and, for short ones, runs the same cascade as one matrix product per sample: the
cascade of direct-form II transposed sections is a linear state-space system, and its
state is exactly scipy's ``zi`` (so the two paths alternate freely; their outputs agree
to float64 rounding, see ``tests/acquisition/test_iir.py``).
"""

from __future__ import annotations

import numpy as np
from scipy import signal

#: Chunks up to this many samples use the per-sample matrix step; longer ones scipy's
#: ``sosfilt`` (one C loop). Measured with 64 channels and an 8-section cascade: 4 µs
#: against 28 µs for one sample, equal at 16-20 samples.
STEP_MAX_SAMPLES = 16


def sos_state_space(sos: np.ndarray) -> np.ndarray:
    """One-sample update of an SOS cascade as a matrix over ``[state; input]``.

    Parameters
    ----------
    sos : np.ndarray
        (n_sections, 6) second-order sections ``b0 b1 b2 a0 a1 a2``.

    Returns
    -------
    np.ndarray
        (2 n_sections + 1, 2 n_sections + 1) float64 ``G``: with ``v = [z; x]`` (scipy's
        direct-form II transposed states ``z`` in ``zi`` order, section by section, then
        the input ``x``), ``G @ v = [z_next; y]``.
    """
    sos = np.asarray(sos, dtype=np.float64)
    n_state = 2 * len(sos)
    size = n_state + 1
    unit = np.eye(size)
    u = unit[n_state]  # the section's input, as a linear form over [z; x]
    step = np.zeros((size, size))
    for s, (b0, b1, b2, a0, a1, a2) in enumerate(sos):
        b0, b1, b2, a1, a2 = b0 / a0, b1 / a0, b2 / a0, a1 / a0, a2 / a0
        y = b0 * u + unit[2 * s]
        step[2 * s] = b1 * u - a1 * y + unit[2 * s + 1]
        step[2 * s + 1] = b2 * u - a2 * y
        u = y
    step[n_state] = u
    return step


class SOSFilter:
    """An SOS cascade applied along axis 0 of (n_samples, n_channels) chunks, state kept.

    Parameters
    ----------
    sos : np.ndarray
        (n_sections, 6) second-order sections.
    n_channels : int
        Columns of the data.

    Attributes
    ----------
    zi : np.ndarray
        (n_sections, 2, n_channels) float64 filter state, scipy's ``zi`` layout for
        ``axis=0``; zero after construction and :meth:`reset`.
    """

    def __init__(self, sos: np.ndarray, n_channels: int) -> None:
        self.sos = np.asarray(sos, dtype=np.float64)
        self.n_channels = int(n_channels)
        self._step = sos_state_space(self.sos)
        self._n_state = 2 * len(self.sos)
        self._unit_zi = signal.sosfilt_zi(self.sos)  # (n_sections, 2): state for a unit step
        self.zi = np.zeros((len(self.sos), 2, self.n_channels))

    def reset(self) -> None:
        """Zero the state."""
        self.zi = np.zeros((len(self.sos), 2, self.n_channels))

    def prime(self, channels: np.ndarray, values: np.ndarray) -> None:
        """Steady state for a constant input ``values`` on ``channels`` (bool mask)."""
        self.zi[:, :, channels] = self._unit_zi[:, :, None] * values[channels]

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Filter one chunk.

        Parameters
        ----------
        x : np.ndarray
            (n_samples, n_channels) float64.

        Returns
        -------
        np.ndarray
            (n_samples, n_channels) float64, the filtered chunk.
        """
        n = len(x)
        if n > STEP_MAX_SAMPLES:
            y, self.zi = signal.sosfilt(self.sos, x, axis=0, zi=self.zi)
            return y
        step, n_state = self._step, self._n_state
        work = np.empty((n_state + 1, self.n_channels))
        work[:n_state] = self.zi.reshape(n_state, self.n_channels)
        y = np.empty((n, self.n_channels))
        for i in range(n):
            work[n_state] = x[i]
            work = step @ work
            y[i] = work[n_state]
        self.zi = work[:n_state].reshape(len(self.sos), 2, self.n_channels).copy()
        return y
