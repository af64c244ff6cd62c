"""Streaming SOS filtering: scipy's result whatever the chunking, state in scipy's layout."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal

from acquisition import iir
from acquisition.iir import SOSFilter, sos_state_space


def _cascade() -> np.ndarray:
    """An anti-alias elliptic low-pass, a Butterworth band-pass and a notch, as the preprocessor builds."""
    return np.vstack([
        signal.ellip(8, 0.1, 60, 115, fs=500, output="sos"),
        signal.butter(4, [0.5, 100], btype="bandpass", fs=500, output="sos"),
        signal.tf2sos(*signal.iirnotch(50, 30, fs=500)),
    ])


@pytest.mark.parametrize("max_chunk", [1, 3, 40])
def test_filter_matches_scipy_over_any_chunking(max_chunk):
    sos = _cascade()
    rng = np.random.default_rng(max_chunk)
    x = rng.standard_normal((2000, 5)) * 40 + 300  # offset: the state carries a large DC level
    expected, _ = signal.sosfilt(sos, x, axis=0, zi=np.zeros((len(sos), 2, 5)))
    f = SOSFilter(sos, 5)
    pieces, i = [], 0
    while i < len(x):
        n = int(rng.integers(1, max_chunk + 1))
        pieces.append(f(x[i : i + n]))
        i += n
    got = np.concatenate(pieces)
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-9 * np.abs(expected).max())


def test_short_and_long_chunks_share_scipy_state():
    sos = _cascade()
    x = np.random.default_rng(0).standard_normal((300, 3))
    f = SOSFilter(sos, 3)
    f(x[:2])  # per-sample step
    _, zi = signal.sosfilt(sos, x[:2], axis=0, zi=np.zeros((len(sos), 2, 3)))
    np.testing.assert_allclose(f.zi, zi, rtol=1e-12, atol=1e-12)
    assert len(x[2:]) > iir.STEP_MAX_SAMPLES  # the rest goes through scipy with that state
    expected, _ = signal.sosfilt(sos, x[2:], axis=0, zi=zi)
    np.testing.assert_allclose(f(x[2:]), expected, rtol=1e-10, atol=1e-12)


def test_primed_filter_passes_a_constant_without_transient():
    sos = signal.butter(4, [0.5, 100], btype="bandpass", fs=256, output="sos")
    lowpass = signal.butter(4, 40, fs=256, output="sos")
    for cascade, expected in ((sos, 0.0), (lowpass, 1500.0)):  # band-pass removes DC, low-pass keeps it
        f = SOSFilter(cascade, 2)
        f.prime(np.array([True, False]), np.array([1500.0, 0.0]))
        y = f(np.full((4, 2), [1500.0, 0.0]))
        np.testing.assert_allclose(y[:, 0], expected, atol=1e-6)
        np.testing.assert_allclose(y[:, 1], 0.0, atol=1e-12)


def test_state_space_of_one_section_is_its_difference_equation():
    b0, b1, b2, a1, a2 = 0.2, 0.3, -0.1, -0.5, 0.25
    step = sos_state_space(np.array([[b0, b1, b2, 1.0, a1, a2]]))
    z0, z1, x = 0.7, -0.4, 2.0
    y = b0 * x + z0
    np.testing.assert_allclose(step @ np.array([z0, z1, x]), [b1 * x - a1 * y + z1, b2 * x - a2 * y, y])
