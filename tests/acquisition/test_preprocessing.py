"""Streaming preprocessing: resampling, filters, chunking invariance, channels, units, NaN."""

from __future__ import annotations

import logging
import time

import numpy as np
import pytest
from scipy import signal

from acquisition.base import Chunk, StreamDescription
from acquisition.preprocessing import (
    RESAMPLER_MODES,
    StreamingResampler,
    StreamPreprocessor,
    design_filters,
    window_aligned_offset,
)
from acquisition.windowing import Windower
from brain3d.channels import STANDARD_64
from brain3d.config import ChannelsConfig, Config, PreprocessingConfig, WindowConfig
from brain3d.errors import ChannelError, ConfigError, StreamError
from brain3d.results import WindowFlag

OUT = 256.0


def describe(sfreq: float, names: tuple[str, ...] = STANDARD_64[:8], units: str = "uV") -> StreamDescription:
    return StreamDescription("test", "EEG", "test-1", tuple(names), sfreq, units=units)


def preprocessor(
    sfreq: float,
    names: tuple[str, ...] = STANDARD_64[:8],
    model: tuple[str, ...] = STANDARD_64[:8],
    missing: str = "error",
    units: str = "uV",
    resampler: str = "low_latency",
    **prep: object,
) -> StreamPreprocessor:
    return StreamPreprocessor(
        describe(sfreq, names, units),
        ChannelsConfig(names=list(model), missing=missing),  # type: ignore[arg-type]
        WindowConfig(sfreq=OUT),
        PreprocessingConfig(**prep),  # type: ignore[arg-type]
        resampler=resampler,
    )


def run_chunked(pre: StreamPreprocessor, x: np.ndarray, t: np.ndarray, seed: int = 0, max_chunk: int = 40):
    rng = np.random.default_rng(seed)
    ys, ts, i = [], [], 0
    while i < len(t):
        n = int(rng.integers(1, max_chunk))
        out = pre.process(x[i : i + n], t[i : i + n])
        ys.append(out.data)
        ts.append(out.timestamps)
        i += n
    return np.concatenate(ys), np.concatenate(ts)


def sines(sfreq: float, seconds: float, freqs_amps: dict[float, float], n_channels: int = 8, t0: float = 1234.5):
    n = int(round(seconds * sfreq))
    t = t0 + np.arange(n) / sfreq
    x = sum(a * np.sin(2 * np.pi * f * (t - t0)) for f, a in freqs_amps.items())
    x = np.repeat(np.asarray(x)[:, None], n_channels, axis=1)
    x = x + np.arange(n_channels)[None, :]  # distinguishable channels
    return x.astype(np.float32), t


def amplitude(y: np.ndarray, sfreq: float, freq: float) -> float:
    """Amplitude of ``freq`` in a 1-D signal (least squares fit of a sine and cosine)."""
    tt = np.arange(len(y)) / sfreq
    basis = np.column_stack([np.sin(2 * np.pi * freq * tt), np.cos(2 * np.pi * freq * tt), np.ones_like(tt)])
    coef, *_ = np.linalg.lstsq(basis, y, rcond=None)
    return float(np.hypot(coef[0], coef[1]))


# ----------------------------------------------------------------------- resampler
def test_default_resampler_is_low_latency() -> None:
    assert RESAMPLER_MODES[0] == "low_latency"
    assert StreamingResampler(1000.0, OUT, 1).mode == "low_latency"
    assert preprocessor(1000.0).resampler.mode == "low_latency"
    with pytest.raises(ConfigError, match="resampler"):
        StreamingResampler(1000.0, OUT, 1, mode="sinc")


@pytest.mark.parametrize("sfreq", [160.0, 250.0, 500.0, 1000.0])
def test_linear_phase_resampler_is_upfirdn_exactly(sfreq: float) -> None:
    rs = StreamingResampler(sfreq, OUT, 2, mode="linear_phase")
    rng = np.random.default_rng(1)
    x = rng.standard_normal((int(sfreq * 2), 2))
    h = rs.phase_filters.T.reshape(-1)  # back to h[phi + up * t]
    ref = signal.upfirdn(h, x, rs.up, rs.down, axis=0)
    y, _, _ = rs.process(x, np.arange(len(x)) / sfreq)
    k = np.arange(rs._k0, rs._k0 + len(y))
    full = k * rs.down >= len(h)  # outputs whose filter support lies inside the data
    np.testing.assert_allclose(y[full], ref[k[full]], atol=1e-12)


def resample_in_chunks(rs: StreamingResampler, x: np.ndarray, t: np.ndarray, step: int = 7):
    rs.prime(np.ones(x.shape[1], bool), x[0])
    ys, ts = [], []
    for i in range(0, len(t), step):
        y, tt, _ = rs.process(x[i : i + step], t[i : i + step])
        ys.append(y)
        ts.append(tt)
    return np.concatenate(ys), np.concatenate(ts)


@pytest.mark.parametrize("sfreq", [160.0, 250.0, 1000.0])
def test_linear_phase_sinusoid_keeps_frequency_phase_and_timestamps(sfreq: float) -> None:
    rs = StreamingResampler(sfreq, OUT, 1, mode="linear_phase")
    f = 10.0
    t = 100.0 + np.arange(int(sfreq * 3)) / sfreq
    x = np.sin(2 * np.pi * f * t)[:, None]
    y, t_out = resample_in_chunks(rs, x, t)
    y = y[:, 0]
    # the right number of samples over time, each stamped exactly on the 256 Hz grid
    assert len(y) == rs.n_outputs(len(t))
    assert abs(len(y) - (3.0 - rs.delay_s) * OUT) <= 2
    np.testing.assert_allclose(np.diff(t_out), 1 / OUT, rtol=0, atol=1e-9)
    # causal: the newest output lies at most one input period past the last input, minus the delay
    assert t_out[0] >= t[0] and t_out[-1] < t[-1] + 1 / sfreq - rs.delay_s
    # the value at each timestamp is the input signal at that time (delay compensated)
    settled = t_out > t[0] + 0.2
    np.testing.assert_allclose(y[settled], np.sin(2 * np.pi * f * t_out[settled]), atol=5e-3)


@pytest.mark.parametrize("sfreq", [160.0, 250.0, 500.0, 1000.0])
def test_low_latency_sinusoid_keeps_frequency_amplitude_and_timestamps(sfreq: float) -> None:
    rs = StreamingResampler(sfreq, OUT, 1, passband=100.0)
    f, amp = 10.0, 20.0
    t = 100.0 + np.arange(int(sfreq * 3)) / sfreq
    x = (amp * np.sin(2 * np.pi * f * t) + 300.0)[:, None]  # with an electrode offset
    y, t_out = resample_in_chunks(rs, x, t)
    y = y[:, 0]
    # exact counts: every 256 Hz grid point from the first input's time to the newest input's
    assert len(y) == rs.n_outputs(len(t)) == ((len(t) - 1) * rs.up) // rs.down + 1
    assert abs(len(y) - 3.0 * OUT) <= 1
    np.testing.assert_allclose(np.diff(t_out), 1 / OUT, rtol=0, atol=1e-9)
    assert t_out[0] == t[0] and t_out[-1] <= t[-1]
    # frequency and amplitude kept; the only shift is the anti-alias filter's (causal) delay
    settled = t_out > t[0] + 0.3
    ys, ts = y[settled] - 300.0, t_out[settled]
    freqs = np.linspace(9.0, 11.0, 201)
    fit = [amplitude(ys, OUT, fr) for fr in freqs]
    assert freqs[int(np.argmax(fit))] == pytest.approx(f, abs=0.02)
    assert amplitude(ys, OUT, f) == pytest.approx(amp, rel=0.01)
    delay = rs.aa_group_delay_s(f)
    assert (delay > 0) == (sfreq > OUT) and delay < 0.008
    # output = the input at (timestamp - filter delay); phase vs group delay differ a little
    np.testing.assert_allclose(ys, amp * np.sin(2 * np.pi * f * (ts - delay)), atol=0.01 * amp)


def test_low_latency_anti_alias_attenuates_300_hz_at_1000_hz_by_40_db() -> None:
    sfreq, amp = 1000.0, 100.0
    t = 5.0 + np.arange(int(sfreq * 4)) / sfreq
    x = (amp * np.sin(2 * np.pi * 300.0 * t))[:, None]  # aliases to 44 Hz at 256 Hz
    for mode in RESAMPLER_MODES:
        rs = StreamingResampler(sfreq, OUT, 1, mode=mode)
        y, _ = resample_in_chunks(rs, x, t, step=10)
        tail = y[-2 * 256 :, 0]
        assert amplitude(tail, OUT, 44.0) < amp * 10 ** (-40 / 20), mode
        assert np.abs(tail).max() < amp * 10 ** (-40 / 20), mode
    # the full preprocessor (pass band 100 Hz): the same
    pre = preprocessor(sfreq, bandpass=(0.5, 100.0), notch=[])
    x8 = np.repeat(x, 8, axis=1).astype(np.float32)
    y, _ = run_chunked(pre, x8, t)
    assert amplitude(y[-512:, 0], OUT, 44.0) < amp * 10 ** (-40 / 20)


def release_delays(rs: StreamingResampler, sfreq: float, seconds: float = 1.0) -> np.ndarray:
    """Push one input sample at a time; (input time at release - output time) per output."""
    t = 50.0 + np.arange(int(sfreq * seconds)) / sfreq
    x = np.random.default_rng(0).standard_normal((len(t), 2))
    delays = []
    for i in range(len(t)):
        _, t_out, _ = rs.process(x[i : i + 1], t[i : i + 1])
        delays += list(t[i] - t_out)
        # nothing pending: the next output's time lies past the newest input
        assert rs.n_outputs(i + 1) == rs._k_next - rs._k0
    return np.asarray(delays)


@pytest.mark.parametrize("sfreq", [160.0, 250.0, 500.0, 1000.0])
def test_low_latency_releases_each_output_within_one_input_period(sfreq: float) -> None:
    rs = StreamingResampler(sfreq, OUT, 2)
    d = release_delays(rs, sfreq)
    assert len(d) == rs.n_outputs(int(sfreq))
    # released by the first input at or after its time: 0 <= delay < 1 input period
    assert d.min() >= 0 and d.max() < 1 / sfreq - 1e-9
    # so after pushing inputs up to t, the newest output is the last 256 Hz grid point <= t:
    # >= t - 1/sfreq when upsampling (160, 250 Hz), >= t - 1/256 s when downsampling
    t_last = 50.0 + (int(sfreq) - 1) / sfreq
    _, t_out, _ = StreamingResampler(sfreq, OUT, 1).process(np.zeros((int(sfreq), 1)), 50.0 + np.arange(int(sfreq)) / sfreq)
    assert t_last - 1 / OUT < t_out[-1] <= t_last
    if sfreq < OUT:
        assert t_out[-1] >= t_last - 1 / sfreq


def window_end_waits(sfreq: float, hop: int = 32, samples: int = 256, seconds: float = 4.0) -> np.ndarray:
    """Wait of each window end (last sample) for the input that releases it, seconds."""
    pre = StreamPreprocessor(describe(sfreq), ChannelsConfig(names=list(STANDARD_64[:8])),
                             WindowConfig(sfreq=OUT, samples=samples, hop=hop), PreprocessingConfig())
    t = 50.0 + np.arange(int(sfreq * seconds)) / sfreq
    x = np.random.default_rng(0).standard_normal((len(t), 8))
    released: list[float] = []
    stamps: list[float] = []
    for i in range(len(t)):  # one input at a time, as a 1-sample LSL push delivers them
        out = pre.process(x[i : i + 1], t[i : i + 1])
        released += [t[i]] * len(out)
        stamps += list(out.timestamps)
    ends = np.arange(samples - 1, len(released), hop)
    return np.asarray(released)[ends] - np.asarray(stamps)[ends]


@pytest.mark.parametrize(("sfreq", "longest_wait_s"), [(500.0, 1e-3), (1000.0, 0.0), (250.0, 3e-3), (256.0, 0.0)])
def test_window_ends_fall_on_input_samples_where_the_rates_allow(sfreq: float, longest_wait_s: float) -> None:
    waits = window_end_waits(sfreq)
    assert len(waits) >= 20
    assert waits.min() >= -1e-9 and waits.max() <= longest_wait_s + 1e-9
    assert np.isclose(waits, 0.0, atol=1e-9).any()  # some windows end exactly on an input sample


def test_unaligned_grid_waits_longer_at_500_hz() -> None:
    """Without the shift, 500 -> 256 Hz window ends wait 0.9 or 1.9 ms for the next input."""
    rs = StreamingResampler(500.0, OUT, 1)
    t = 50.0 + np.arange(2000) / 500.0
    _, t_out, _ = rs.process(np.zeros((len(t), 1)), t)
    ends = np.arange(255, len(t_out), 32)
    after = t[np.searchsorted(t, t_out[ends] - 1e-12)]  # first input at or after each end
    assert np.allclose(sorted({round(w * 1e4) for w in after - t_out[ends]}), [9, 19], atol=1)
    assert window_aligned_offset(64, 125, 255, 32) != 0


@pytest.mark.parametrize("mode", ["low_latency", "linear_phase"])
@pytest.mark.parametrize("sfreq", [160.0, 250.0, 256.0, 500.0, 1000.0])
def test_inputs_until_names_the_sample_that_completes_the_next_window(sfreq: float, mode: str) -> None:
    """The acquisition thread waits for exactly these samples: one too many would add latency."""
    pre = preprocessor(sfreq, resampler=mode)
    windower = Windower.for_preprocessor(pre, WindowConfig(sfreq=OUT), PreprocessingConfig())
    x, t = sines(sfreq, 3.0, {10.0: 20.0})
    i = windows = 0
    while i < len(t):
        needed = pre.inputs_until(windower.samples_to_next_window)
        assert needed >= 1
        if i + needed > len(t):
            break
        if needed > 1:  # all but the last of them complete nothing
            out = pre.process(x[i : i + needed - 1], t[i : i + needed - 1])
            assert windower.push(out.data, out.timestamps) == []
        out = pre.process(x[i + needed - 1 : i + needed], t[i + needed - 1 : i + needed])
        assert len(windower.push(out.data, out.timestamps)) == 1
        i += needed
        windows += 1
    assert windows >= 15


@pytest.mark.parametrize("sfreq", [160.0, 1000.0])
def test_linear_phase_releases_outputs_39_ms_late(sfreq: float) -> None:
    """Documents the cost of the linear-phase FIR: 39.1 ms (62.5 ms from 160 Hz) of look-ahead."""
    rs = StreamingResampler(sfreq, OUT, 2, mode="linear_phase")
    assert rs.lookahead_s == rs.delay_s == pytest.approx(10 / min(sfreq, OUT))
    d = release_delays(rs, sfreq)
    assert d.min() > rs.delay_s - 1 / sfreq and d.max() <= rs.delay_s + 1e-9


@pytest.mark.parametrize("mode", RESAMPLER_MODES)
def test_resampler_identity_passes_through(mode: str) -> None:
    rs = StreamingResampler(256.0, 256.0, 3, mode=mode)
    x = np.random.default_rng(0).standard_normal((50, 3))
    t = np.arange(50) / 256
    y, tt, _ = rs.process(x, t)
    assert rs.identity and rs.delay_s == 0 and rs.aa_sos is None
    np.testing.assert_array_equal(y, x)
    np.testing.assert_array_equal(tt, t)


def test_output_timestamps_follow_input_jitter_and_gaps() -> None:
    pre = preprocessor(250.0)
    x, t = sines(250.0, 6.0, {10.0: 20.0})
    t = t + np.random.default_rng(0).uniform(-1e-4, 1e-4, len(t))
    t[700:] += 0.1  # 25 samples lost
    y, t_out = run_chunked(pre, x, t)
    assert np.all(np.diff(t_out) > 0)
    assert t_out[0] >= t[0] and t_out[-1] <= t[-1]
    win = Windower.for_preprocessor(pre, WindowConfig(), PreprocessingConfig(), clock=lambda: 0.0)
    windows = win.push(y, t_out)
    gap_time = t[700]
    for w in windows:
        spans_gap = w.t_first < gap_time - 0.05 and w.t_last > gap_time
        assert bool(w.flags & WindowFlag.GAP) == spans_gap, (w.seq, w.t_first, w.t_last)


# --------------------------------------------------------------- chunking invariance
@pytest.mark.parametrize("mode", RESAMPLER_MODES)
@pytest.mark.parametrize("sfreq", [160.0, 250.0, 1000.0, 256.0])
def test_chunked_equals_one_shot(sfreq: float, mode: str) -> None:
    x, t = sines(sfreq, 4.0, {3.0: 30.0, 50.0: 10.0, 20.0: 5.0})
    x += 500.0  # electrode offset
    x += np.random.default_rng(2).standard_normal(x.shape).astype(np.float32)
    one = preprocessor(sfreq, resampler=mode).process(x, t)
    y, t_out = run_chunked(preprocessor(sfreq, resampler=mode), x, t)
    assert len(one) == len(y) == preprocessor(sfreq, resampler=mode).resampler.n_outputs(len(t)) > 0
    np.testing.assert_array_equal(t_out, one.timestamps)
    np.testing.assert_allclose(y, one.data, atol=1e-3)  # float32 output of float64 state
    y1, _ = run_chunked(preprocessor(sfreq, resampler=mode), x, t, seed=5, max_chunk=3)
    np.testing.assert_allclose(y1, one.data, atol=1e-3)


# -------------------------------------------------------------------------- filters
def test_notch_removes_line_noise_and_keeps_alpha() -> None:
    x, t = sines(500.0, 8.0, {50.0: 40.0, 10.0: 20.0})
    pre = preprocessor(500.0, bandpass=None, notch=[50.0])
    y, _ = run_chunked(pre, x, t)
    tail = y[-4 * 256 :, 0]
    assert amplitude(tail, OUT, 50.0) < 40.0 * 10 ** (-30 / 20)  # > 30 dB down
    assert amplitude(tail, OUT, 10.0) == pytest.approx(20.0, rel=0.05)


def test_bandpass_removes_dc_offset_and_drift() -> None:
    x, t = sines(1000.0, 12.0, {10.0: 20.0})
    x = x + 8000.0 + (40.0 * (t - t[0]))[:, None].astype(np.float32)  # 8 mV offset, 40 uV/s drift
    pre = preprocessor(1000.0, bandpass=(0.5, 100.0), notch=[])
    y, _ = run_chunked(pre, x, t)
    tail = y[-4 * 256 :]
    assert np.abs(tail.mean(axis=0)).max() < 2.0
    assert amplitude(tail[:, 0], OUT, 10.0) == pytest.approx(20.0, rel=0.05)
    # primed with the first sample's steady state: no start-up transient near the offset
    assert np.abs(y).max() < 200.0


def test_full_pipeline_keeps_sinusoid_frequency_160_and_1000() -> None:
    for sfreq in (160.0, 1000.0):
        x, t = sines(sfreq, 6.0, {12.0: 25.0})
        y, t_out = run_chunked(preprocessor(sfreq), x, t)
        tail = y[-1024:, 0]
        spectrum = np.abs(np.fft.rfft(tail * np.hanning(len(tail))))
        peak = np.fft.rfftfreq(len(tail), 1 / OUT)[np.argmax(spectrum)]
        assert peak == pytest.approx(12.0, abs=0.5)
        np.testing.assert_allclose(np.diff(t_out), 1 / OUT, atol=1e-9)


def test_filter_frequencies_must_be_below_nyquist() -> None:
    with pytest.raises(ConfigError, match="Nyquist"):
        design_filters(256.0, (1.0, 130.0), [])
    with pytest.raises(ConfigError, match="notch"):
        design_filters(256.0, None, [150.0])
    assert design_filters(256.0, None, []) is None
    assert design_filters(256.0, (0.0, 40.0), []).shape == (2, 6)


def test_irregular_stream_is_refused() -> None:
    with pytest.raises(StreamError, match="nominal rate"):
        preprocessor(0.0)


# ------------------------------------------------------------------------- channels
def test_channels_are_mapped_to_model_order() -> None:
    names = tuple(reversed(STANDARD_64[:8])) + ("EOG1",)
    pre = preprocessor(256.0, names=names, bandpass=None, notch=[])
    x = np.tile(np.arange(9, dtype=np.float32), (10, 1))  # source column j holds j
    out = pre.process(x, np.arange(10) / 256)
    np.testing.assert_array_equal(out.data[0], [7, 6, 5, 4, 3, 2, 1, 0])
    assert pre.mapping.dropped == ("EOG1",)


def test_missing_channels_error_names_them() -> None:
    with pytest.raises(ChannelError, match="Fp1.*channels.missing"):
        preprocessor(256.0, names=STANDARD_64[1:8])
    with pytest.raises(ChannelError, match="none of the"):
        preprocessor(256.0, names=("A", "B"))


def test_zero_and_interpolate_flag_interpolated() -> None:
    model = ("Fz", "Cz", "Pz", "C3", "C4", "Oz", "FCz", "CPz")
    present = ("Fz", "Pz", "C3", "C4", "Oz", "FCz", "CPz")
    x, t = sines(256.0, 2.0, {10.0: 20.0}, n_channels=7)
    x += np.random.default_rng(0).standard_normal(x.shape).astype(np.float32)
    for policy in ("zero", "interpolate"):
        pre = preprocessor(256.0, names=present, model=model, missing=policy)
        assert pre.filled_channels == (1,)
        assert pre.zero_filled_channels == ((1,) if policy == "zero" else ())
        out = pre.process(x, t)
        if policy == "zero":
            assert not out.data[:, 1].any()
        else:
            assert np.abs(out.data[:, 1]).max() > 1.0
        win = Windower.for_preprocessor(pre, WindowConfig(), PreprocessingConfig(), clock=lambda: 0.0)
        windows = win.push(out.data, out.timestamps)
        assert windows and all(w.flags == WindowFlag.INTERPOLATED for w in windows)


def test_physionet_spellings_match() -> None:
    physionet = tuple((n[0].upper() + n[1:].lower()).ljust(4, ".") for n in STANDARD_64)
    assert "Fc5." in physionet
    pre = StreamPreprocessor(
        describe(160.0, physionet), ChannelsConfig(), WindowConfig(), PreprocessingConfig()
    )
    assert len(pre.mapping.matched) == 64 and not pre.mapping.missing
    assert pre.mapping.matched["FC5"] == physionet.index("Fc5.")


# ---------------------------------------------------------------------------- units
def test_units_declared_by_the_stream_are_converted(caplog: pytest.LogCaptureFixture) -> None:
    x = np.full((20, 8), 2e-5, dtype=np.float32)  # 20 uV in volts
    t = np.arange(20) / 256
    with caplog.at_level(logging.WARNING, logger="acquisition.preprocessing"):
        pre = preprocessor(256.0, units="V", bandpass=None, notch=[])
    assert "input_units" in caplog.text  # config says uV, stream says V: warned
    np.testing.assert_allclose(pre.process(x, t).data, 20.0, rtol=1e-5)
    pre = preprocessor(256.0, units="", input_units="mV", bandpass=None, notch=[])
    np.testing.assert_allclose(pre.process(x * 1e3, t).data, 20.0, rtol=1e-5)
    pre = preprocessor(256.0, units="microvolts", bandpass=None, notch=[])
    np.testing.assert_allclose(pre.process(x * 1e6, t).data, 20.0, rtol=1e-5)


# ------------------------------------------------------------------------ non-finite
@pytest.mark.parametrize("mode", RESAMPLER_MODES)
@pytest.mark.parametrize("bad_value", [np.nan, np.inf])
def test_nan_flags_windows_and_filters_recover(bad_value: float, mode: str) -> None:
    sfreq = 500.0
    x, t = sines(sfreq, 12.0, {10.0: 20.0})
    x += 300.0
    raw = x.copy()
    x_bad = x.copy()
    x_bad[2000:2100, 3] = bad_value  # 0.2 s of NaN on one channel at 4 s
    before = x_bad.copy()
    pre = preprocessor(sfreq, resampler=mode)
    y, t_out = run_chunked(pre, x_bad, t)
    np.testing.assert_array_equal(x_bad, before)  # the raw data are untouched
    assert pre.nonfinite_samples == 100
    nan_rows = np.flatnonzero(np.isnan(y[:, 3]))
    assert len(nan_rows) and not np.isnan(np.delete(y, 3, axis=1)).any()  # only that channel
    nan_times = t_out[nan_rows]
    assert nan_times.min() >= t[2000] - 0.1 and nan_times.max() <= t[2099] + 0.1
    win = Windower.for_preprocessor(pre, WindowConfig(), PreprocessingConfig(), clock=lambda: 0.0)
    windows = win.push(y, t_out)
    for w in windows:
        touches = w.t_first <= nan_times.max() and w.t_last >= nan_times.min()
        assert bool(w.flags & WindowFlag.NON_FINITE) == touches
    assert win.flag_counts["NON_FINITE"] > 0
    # after the NaNs the filters work again: the signal is back, close to the clean run
    clean, _ = run_chunked(preprocessor(sfreq, resampler=mode), raw, t)
    late = t_out > t[2100] + 3.0
    np.testing.assert_allclose(y[late, 3], clean[late, 3], atol=1.0)
    assert amplitude(y[late, 3], OUT, 10.0) == pytest.approx(20.0, rel=0.05)


def test_channel_nan_from_the_start_is_primed_when_data_arrive() -> None:
    x, t = sines(256.0, 6.0, {10.0: 20.0})
    x += 4000.0
    x[:300, 2] = np.nan
    pre = preprocessor(256.0)
    y, _ = run_chunked(pre, x, t)
    assert np.isnan(y[:300, 2]).all() and np.isfinite(y[300:, 2]).all()
    assert np.abs(y[300:, 2]).max() < 200.0  # primed on its first finite sample: no 4 mV step


def test_process_chunk_and_from_config() -> None:
    pre = StreamPreprocessor.from_config(Config(), describe(1000.0, STANDARD_64))
    out = pre.process_chunk(Chunk(np.zeros((100, 64), np.float32), np.arange(100) / 1000))
    assert out.data.shape == (len(out), 64) and out.data.dtype == np.float32
    with pytest.raises(ChannelError, match="64 channels"):
        pre.process(np.zeros((10, 63), np.float32), np.arange(10) / 1000)
    with pytest.raises(StreamError, match="timestamps"):
        pre.process(np.zeros((10, 64), np.float32), np.arange(9) / 1000)


# ---------------------------------------------------------------------- measurement
@pytest.mark.parametrize("mode", RESAMPLER_MODES)
def test_per_chunk_cost_64ch_1000hz_chunks_of_10(record_property: pytest.RecordProperty, mode: str) -> None:
    """Measures (does not assert) the cost of preprocessing + windowing one chunk."""
    config = Config()
    pre = StreamPreprocessor.from_config(config, describe(1000.0, STANDARD_64), resampler=mode)
    win = Windower.for_preprocessor(pre, config.window, config.preprocessing, clock=lambda: 0.0)
    rng = np.random.default_rng(0)
    x = (rng.standard_normal((10_000, 64)) * 20).astype(np.float32)
    t = np.arange(10_000) / 1000.0
    for i in range(0, 1000, 10):  # warm up
        win.push(*(lambda o: (o.data, o.timestamps))(pre.process(x[i : i + 10], t[i : i + 10])))
    start = time.perf_counter()
    for i in range(1000, 10_000, 10):
        out = pre.process(x[i : i + 10], t[i : i + 10])
        win.push(out.data, out.timestamps)
    per_chunk_us = (time.perf_counter() - start) / 900 * 1e6
    record_property("per_chunk_us", per_chunk_us)
    logging.getLogger(__name__).info("per-chunk cost 64 ch, 1000 Hz, 10 samples, %s: %.1f us", mode, per_chunk_us)
