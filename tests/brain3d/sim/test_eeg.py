"""Tests of the SIMULATED EEG forward model."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.signal

from brain3d.channels import STANDARD_64
from brain3d.sim.background import BackgroundGenerator, BackgroundParams
from brain3d.sim.eeg import DEFAULT_SNR_DB, EEGStreamSimulator, evoked_amplitude_uv, simulate_trial
from brain3d.sim.evoked import evoked_response, foreground_gain
from brain3d.sim.montage import channel_positions
from brain3d.sim.scenes import generate_scene
from brain3d.sim.subject import SubjectParams

NO_ARTEFACTS = BackgroundParams(blink_rate_hz=0.0, muscle_rate_hz=0.0)
OCCIPITAL = [STANDARD_64.index(n) for n in ("O1", "O2", "Oz", "POz")]
FRONTAL = [STANDARD_64.index(n) for n in ("Fz", "F3", "F4", "AFz", "Fp1", "Fp2")]


def test_channel_positions() -> None:
    positions = channel_positions()
    assert positions.shape == (64, 3) and np.isfinite(positions).all()
    assert positions[STANDARD_64.index("Oz"), 1] < positions[STANDARD_64.index("Fz"), 1]


def test_trial_is_deterministic_and_shaped() -> None:
    scene, subject = generate_scene(1), SubjectParams.from_seed(0)
    a = simulate_trial(scene, subject, np.random.default_rng(5))
    b = simulate_trial(scene, subject, np.random.default_rng(5))
    c = simulate_trial(scene, subject, np.random.default_rng(6))
    assert a.shape == (64, 256) and a.dtype == np.float32 and np.isfinite(a).all()
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert SubjectParams.from_seed(3).alpha_freq_hz == SubjectParams.from_seed(3).alpha_freq_hz


def _background_psd(line_freq_hz: float = 50.0) -> tuple[np.ndarray, np.ndarray]:
    params = BackgroundParams(blink_rate_hz=0.0, muscle_rate_hz=0.0, line_freq_hz=line_freq_hz)
    generator = BackgroundGenerator(
        250.0, params, SubjectParams.from_seed(2), np.random.default_rng(0)
    )
    data = np.concatenate([generator.generate(250) for _ in range(60)], axis=1)
    return scipy.signal.welch(data, fs=250.0, nperseg=500, axis=1)


@pytest.fixture(scope="module")
def psd50() -> tuple[np.ndarray, np.ndarray]:
    return _background_psd(50.0)


def _band(freqs: np.ndarray, psd: np.ndarray, low: float, high: float) -> np.ndarray:
    return psd[..., (freqs >= low) & (freqs <= high)].mean(axis=-1)


def test_spectrum_has_one_over_f_slope(psd50: tuple) -> None:
    freqs, psd = psd50
    keep = (freqs >= 2) & (freqs <= 40) & ~((freqs >= 6) & (freqs <= 15))
    frontal = psd[FRONTAL].mean(axis=0)  # little alpha there
    slope = np.polyfit(np.log10(freqs[keep]), np.log10(frontal[keep]), 1)[0]
    assert -1.6 < slope < -0.6, slope


def test_alpha_peak_is_posterior(psd50: tuple) -> None:
    freqs, psd = psd50
    oz, fz = STANDARD_64.index("Oz"), STANDARD_64.index("Fz")
    alpha = _band(freqs, psd, 8, 12)
    flanks = (_band(freqs, psd, 4, 6) + _band(freqs, psd, 15, 19)) / 2
    assert alpha[oz] > 3 * flanks[oz]
    assert alpha[oz] > 3 * alpha[fz]


@pytest.mark.parametrize("line", [50.0, 60.0])
def test_line_noise_peak(line: float, psd50: tuple) -> None:
    freqs, psd = psd50 if line == 50.0 else _background_psd(line)
    mean_psd = psd.mean(axis=0)
    peak = mean_psd[np.argmin(np.abs(freqs - line))]
    other = 60.0 if line == 50.0 else 50.0
    assert peak > 8 * _band(freqs, mean_psd, line - 6, line - 3)
    assert mean_psd[np.argmin(np.abs(freqs - other))] < peak / 10


def test_artefacts_add_frontal_blinks() -> None:
    params = BackgroundParams(blink_rate_hz=2.0, muscle_rate_hz=0.0, line_noise_uv=0.0)
    generator = BackgroundGenerator(
        250.0, params, SubjectParams.from_seed(0), np.random.default_rng(1)
    )
    data = generator.generate(2500)
    fp1, oz = STANDARD_64.index("Fp1"), STANDARD_64.index("Oz")
    assert np.abs(data[fp1]).max() > 50 and np.abs(data[fp1]).max() > 2 * np.abs(data[oz]).max()


def test_average_evoked_is_occipital() -> None:
    scene, subject, rng = generate_scene(4), SubjectParams.from_seed(1), np.random.default_rng(0)
    average = np.mean(
        [simulate_trial(scene, subject, rng, background=NO_ARTEFACTS) for _ in range(40)], axis=0
    )
    window = slice(int(0.05 * 256), int(0.5 * 256))
    rms = np.sqrt(np.mean(average[:, window] ** 2, axis=1))
    assert rms[OCCIPITAL].mean() > 3 * rms[FRONTAL].mean()


def test_snr_definition() -> None:
    scene, subject = generate_scene(4), SubjectParams.from_seed(1)
    amplitude = evoked_amplitude_uv(0.0, NO_ARTEFACTS)
    evoked = evoked_response(scene, subject, 256.0, 256, amplitude)
    rms = np.sqrt(np.mean(evoked[:, : round(0.6 * 256)] ** 2))
    assert rms == pytest.approx(amplitude * foreground_gain(scene), rel=1e-6)
    assert 0.85 <= foreground_gain(scene) <= 1.15


def test_subjects_differ_for_the_same_scene() -> None:
    scene = generate_scene(9)
    a = evoked_response(scene, SubjectParams.from_seed(0), 256.0, 256, 5.0)
    b = evoked_response(scene, SubjectParams.from_seed(1), 256.0, 256, 5.0)
    correlation = np.corrcoef(a.ravel(), b.ravel())[0, 1]
    assert 0.2 < correlation < 0.97


def test_content_is_decodable_across_subjects() -> None:
    """Templates from 3 training subjects classify a new subject's trials (8 classes)."""
    scenes = [generate_scene(500 + i) for i in range(8)]
    amplitude = evoked_amplitude_uv(0.0, BackgroundParams())
    train = [SubjectParams.from_seed(i) for i in range(3)]
    templates = np.mean(
        [[evoked_response(s, sub, 256.0, 256, amplitude) for s in scenes] for sub in train], axis=0
    )[:, :, :154].reshape(len(scenes), -1)
    templates -= templates.mean(axis=1, keepdims=True)
    test_subject, rng = SubjectParams.from_seed(77), np.random.default_rng(3)
    single_correct = average_correct = 0
    for label, scene in enumerate(scenes):
        trials = (
            np.array(
                [simulate_trial(scene, test_subject, rng, snr_db=DEFAULT_SNR_DB) for _ in range(5)]
            )[:, :, :154]
            .reshape(5, -1)
            .astype(float)
        )
        single_correct += int(np.sum(np.argmax(trials @ templates.T, axis=1) == label))
        average_correct += int(np.argmax(templates @ trials.mean(axis=0)) == label)
    assert average_correct >= 6  # chance: 1
    assert single_correct / 40 > 0.35  # chance: 0.125


def test_stream_chunks_and_events() -> None:
    seeds = itertools.count(100)
    stream = EEGStreamSimulator(SubjectParams.from_seed(0), sfreq=500.0, scene_seeds=seeds, seed=1)
    chunks = [stream.read(50) for _ in range(40)]  # 4 s
    assert stream.metadata()["simulated"] is True and "SIMULATED" in stream.metadata()["note"]
    assert [c.first_sample for c in chunks] == list(range(0, 2000, 50))
    data = np.concatenate([c.data for c in chunks], axis=1)
    assert data.shape == (64, 2000) and data.dtype == np.float32 and np.isfinite(data).all()
    events = [e for c in chunks for e in c.events]
    assert [e.scene_seed for e in events] == [100, 101, 102, 103]
    gaps = np.diff([e.sample for e in events])
    assert np.all((gaps >= 475) & (gaps <= 525))
    for chunk in chunks:
        for event in chunk.events:
            assert chunk.first_sample <= event.sample < chunk.first_sample + 50
    assert events[0].description == generate_scene(100).description


def test_stream_contains_the_evoked_response() -> None:
    stream = EEGStreamSimulator(
        SubjectParams.from_seed(0),
        sfreq=250.0,
        snr_db=10.0,
        background=NO_ARTEFACTS,
        scene_seeds=itertools.repeat(5),
        seed=2,
    )
    chunk = stream.read(250 * 6)
    epochs = np.array([chunk.data[:, e.sample : e.sample + 150] for e in chunk.events[:5]])
    template = evoked_response(generate_scene(5), SubjectParams.from_seed(0), 250.0, 150, 1.0)
    correlation = np.corrcoef(epochs.mean(axis=0).ravel(), template.ravel())[0, 1]
    assert correlation > 0.8
