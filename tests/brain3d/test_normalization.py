"""The model's input preparation: average reference, per-window z-score, flat channels."""

from __future__ import annotations

import numpy as np
import pytest

from brain3d.normalization import FLAT_STD_UV, WindowPreparer, normalize_windows, prepare_windows


def _windows(batch: int = 3, channels: int = 8, samples: int = 256, seed: int = 0) -> np.ndarray:
    """µV windows with per-channel offsets and gains, and a component common to all channels."""
    rng = np.random.default_rng(seed)
    common = 40.0 * rng.standard_normal((batch, 1, samples))
    own = rng.uniform(5, 50, (batch, channels, 1)) * rng.standard_normal((batch, channels, samples))
    return (common + own + rng.uniform(-200, 200, (batch, channels, 1))).astype(np.float32)


def test_average_reference_removes_the_mean_over_channels_at_every_sample() -> None:
    eeg = _windows()
    referenced = prepare_windows(eeg, reference="average", normalization="none")
    np.testing.assert_allclose(referenced.mean(axis=-2), 0.0, atol=1e-3)
    np.testing.assert_allclose(referenced, eeg - eeg.mean(axis=-2, keepdims=True), atol=1e-3)
    np.testing.assert_array_equal(prepare_windows(eeg, reference="none", normalization="none"), eeg)


def test_window_zscore_gives_each_channel_mean_0_and_std_1() -> None:
    out = normalize_windows(_windows())
    assert out.dtype == np.float32 and out.shape == (3, 8, 256)
    np.testing.assert_allclose(out.mean(axis=-1), 0.0, atol=1e-5)
    np.testing.assert_allclose(out.std(axis=-1), 1.0, atol=1e-4)


def test_prepare_windows_references_before_it_normalises() -> None:
    eeg = _windows()
    expected = normalize_windows(eeg - eeg.mean(axis=-2, keepdims=True))
    np.testing.assert_allclose(prepare_windows(eeg), expected, atol=1e-5)
    # the common component is gone: the prepared channels no longer share it
    raw_corr = np.corrcoef(normalize_windows(eeg)[0])
    prepared_corr = np.corrcoef(prepare_windows(eeg)[0])
    assert np.abs(prepared_corr[np.triu_indices(8, 1)]).mean() < np.abs(raw_corr[np.triu_indices(8, 1)]).mean()


def test_a_flat_channel_becomes_zeros_not_nan() -> None:
    eeg = _windows(batch=1)
    eeg[0, 2] = 17.0  # a constant electrode (disconnected, or clipped)
    eeg[0, 5] = 3.0 + FLAT_STD_UV / 10 * np.sin(np.arange(256))  # below the flat threshold
    out = normalize_windows(eeg)
    assert np.isfinite(out).all()
    np.testing.assert_array_equal(out[0, 2], 0.0)
    np.testing.assert_array_equal(out[0, 5], 0.0)
    np.testing.assert_allclose(out[0, [0, 1, 3, 4, 6, 7]].std(axis=-1), 1.0, atol=1e-4)
    assert np.isfinite(prepare_windows(eeg, reference="none")).all()
    np.testing.assert_array_equal(normalize_windows(np.zeros((4, 256), np.float32)), 0.0)


def test_one_window_and_a_batch_give_the_same_result() -> None:
    eeg = _windows()
    np.testing.assert_allclose(prepare_windows(eeg[1]), prepare_windows(eeg)[1], atol=1e-6)


def test_unknown_methods_are_clear_errors() -> None:
    with pytest.raises(ValueError, match="unknown normalization"):
        normalize_windows(_windows(), "robust")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown reference"):
        prepare_windows(_windows(), reference="linked_ears")  # type: ignore[arg-type]


@pytest.mark.parametrize("reference", ["average", "none"])
@pytest.mark.parametrize("normalization", ["window_zscore", "none"])
def test_the_buffer_reusing_preparer_equals_prepare_windows_window_after_window(
        reference: str, normalization: str) -> None:
    prepare = WindowPreparer(reference, normalization)  # type: ignore[arg-type]
    windows = _windows(batch=3)
    windows[1, 2] = 7.0  # a flat channel
    windows[2, 3, 100] = np.nan  # a NaN sample: that window becomes zeros (bad_window_policy: feed)
    outputs = []
    for window in windows:
        out = prepare(window)
        np.testing.assert_allclose(out, prepare_windows(window, reference, normalization), rtol=0, atol=1e-5,  # type: ignore[arg-type]
                                   equal_nan=normalization == "none")
        outputs.append(out)
    assert outputs[0] is outputs[2]  # one buffer, reused: no array per window
    other = prepare(_windows(batch=1, channels=5)[0])  # a new shape gets new buffers
    assert other.shape == (5, 256)
    with pytest.raises(ValueError, match="one \\(channels, samples\\) window"):
        prepare(windows)
