"""Windower: window count and hop exactness, timestamps, trace, flags and counts."""

from __future__ import annotations

import numpy as np
import pytest

from acquisition.windowing import Windower
from brain3d.config import PreprocessingConfig, WindowConfig
from brain3d.results import WindowFlag

SFREQ = 256.0


def make(samples: int = 256, hop: int = 32, n_channels: int = 4, **kwargs: object) -> Windower:
    clock_values = iter(np.arange(1000.0, 2000.0, 0.5))
    return Windower(
        WindowConfig(sfreq=SFREQ, samples=samples, hop=hop),
        PreprocessingConfig(),
        n_channels,
        clock=lambda: float(next(clock_values)),
        **kwargs,  # type: ignore[arg-type]
    )


def signal_block(n: int, n_channels: int = 4, t0: float = 50.0, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    data = (rng.standard_normal((n, n_channels)) * 10).astype(np.float32)
    return data, t0 + np.arange(n) / SFREQ


def push_chunked(win: Windower, data: np.ndarray, times: np.ndarray, seed: int = 1) -> list:
    rng = np.random.default_rng(seed)
    out, i = [], 0
    while i < len(times):
        n = int(rng.integers(1, 40))
        out += win.push(data[i : i + n], times[i : i + n])
        i += n
    return out


@pytest.mark.parametrize(("samples", "hop", "n"), [(256, 32, 256), (256, 32, 1000), (256, 32, 5000), (128, 50, 777), (128, 200, 1500)])
def test_window_count_and_hop_are_exact(samples: int, hop: int, n: int) -> None:
    win = make(samples, hop)
    data, times = signal_block(n)
    windows = push_chunked(win, data, times)
    assert len(windows) == (n - samples) // hop + 1
    for j, w in enumerate(windows):
        assert w.seq == j
        assert w.data.shape == (4, samples) and w.data.dtype == np.float32
        np.testing.assert_array_equal(w.data, data[j * hop : j * hop + samples].T)
        assert w.t_first == times[j * hop]
        assert w.t_last == times[j * hop + samples - 1]
        assert w.trace.window_end == w.t_last
        assert "buffered" in w.trace.stamps
        assert w.flags == WindowFlag.NONE
    assert win.windows_emitted == len(windows) and win.windows_flagged == 0
    assert win.ring.overflowed_samples == 0


def test_push_larger_than_buffer_loses_nothing() -> None:
    win = make(capacity=300)
    data, times = signal_block(3000)
    windows = win.push(data, times)
    assert len(windows) == (3000 - 256) // 32 + 1
    np.testing.assert_array_equal(windows[-1].data, data[(len(windows) - 1) * 32 :][:256].T)
    assert win.ring.overflowed_samples == 0


def test_trace_uses_the_injected_clock() -> None:
    win = make()
    windows = win.push(*signal_block(256 + 32))
    assert [w.trace.stamps["buffered"] for w in windows] == [1000.0, 1000.5]


def test_default_clock_is_lsl_local_clock() -> None:
    import pylsl

    win = Windower(WindowConfig(), PreprocessingConfig(), 2)
    (window,) = win.push(np.ones((256, 2), np.float32), pylsl.local_clock() + np.arange(256) / 256)
    assert abs(window.trace.stamps["buffered"] - pylsl.local_clock()) < 5.0


def flags_of(data: np.ndarray, times: np.ndarray | None = None, **kwargs: object) -> WindowFlag:
    win = make(n_channels=data.shape[1], **kwargs)
    (window,) = win.push(data, times if times is not None else 10 + np.arange(len(data)) / SFREQ)
    return window.flags


def test_flags() -> None:
    data, times = signal_block(256)
    assert flags_of(data) == WindowFlag.NONE
    bad = data.copy()
    bad[100, 2] = np.nan
    assert flags_of(bad) == WindowFlag.NON_FINITE
    bad = data.copy()
    bad[:, 1] = 3.0  # constant channel
    assert flags_of(bad) == WindowFlag.FLAT
    bad = data.copy()
    bad[50, 0] = -6000.0
    assert flags_of(bad) == WindowFlag.SATURATED
    gap = times.copy()
    gap[120:] += 3 / SFREQ  # two samples lost
    assert flags_of(data, gap) == WindowFlag.GAP
    jitter = times + np.random.default_rng(0).uniform(-0.2, 0.2, 256) / SFREQ
    assert flags_of(data, jitter) == WindowFlag.NONE
    back = times.copy()
    back[200:] -= 1.0
    assert flags_of(data, back) & WindowFlag.CLOCK_JUMP


def test_filled_channels_flag_interpolated_and_zero_channels_are_not_flat() -> None:
    data, _ = signal_block(256)
    data[:, 3] = 0.0
    assert flags_of(data, filled_channels=[3], zero_filled_channels=[3]) == WindowFlag.INTERPOLATED
    assert flags_of(data, filled_channels=[3]) == WindowFlag.INTERPOLATED | WindowFlag.FLAT


def test_flag_counts_make_nothing_silent() -> None:
    win = make(hop=64)
    data, times = signal_block(256 + 64 * 9)
    data[300, 0] = np.nan  # windows starting at 64..256 contain sample 300 -> 4 windows
    windows = win.push(data, times)
    assert len(windows) == 10
    flagged = [w.seq for w in windows if w.flags & WindowFlag.NON_FINITE]
    assert flagged == [1, 2, 3, 4]
    stats = win.stats()
    assert stats["windows_emitted"] == 10
    assert stats["windows_flagged"] == 4 and stats["windows_unusable"] == 4
    assert stats["flags"]["NON_FINITE"] == 4 and stats["flags"]["FLAT"] == 0
