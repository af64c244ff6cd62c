"""Content-dependent visual evoked responses of the SIMULATED EEG forward model.

A scene becomes a content feature vector (:func:`scene_features`): a retinotopic part
(the rendered image on a 4 x 4 grid of visual-field cells: luminance, red-green and
blue-yellow opponency, foreground coverage and edge energy per cell) and an attribute
part (counts of each shape and colour, number of objects, scene type, mean position,
depth and size).

Each evoked component (P1 ~100 ms, N1 ~170 ms, P2 ~225 ms, P3 ~350 ms; see
:data:`~brain3d.sim.subject.COMPONENTS`) is a Gaussian time course times a scalp
topography ``generic_j + W_j @ features``. ``W_j`` is fixed and random (seeded,
subject-independent) and localised over posterior sites:

* retinotopic columns of P1/N1 are blobs over the occipital cortex *contralateral* to
  the cell's visual hemifield (left field -> right hemisphere), lower for the upper
  field, times a smooth random pattern per feature type;
* attribute columns (and all P2/P3 columns) are smooth random patterns under a
  parieto-occipital mask.

Latencies depend on content (larger foreground -> earlier P1; more objects -> later
N1 and P3) and on the subject. The subject's component gains, topography jitter,
spatial mixing and channel gains apply last. The response is scaled so that its RMS
over all channels in the first :data:`EVOKED_RMS_WINDOW_S` seconds after onset equals
``gain(scene) * background_rms * 10 ** (snr_db / 20)``, with ``gain`` in 0.85..1.15
growing with foreground area (population mean ~1).
"""

from __future__ import annotations

import functools
import logging

import numpy as np

from brain3d.schema import CAMERA_POSITION, COLOR_NAMES, SCENE_TYPES, SHAPES
from brain3d.sim.montage import distance_kernel, gaussian_topography, position_of
from brain3d.sim.scenes import Scene
from brain3d.sim.subject import COMPONENTS, N_COMPONENTS, SubjectParams

logger = logging.getLogger(__name__)

GRID = 4
N_RETINOTOPIC = 5 * GRID * GRID
N_ATTRIBUTES = len(SHAPES) + len(COLOR_NAMES) + 3 + len(SCENE_TYPES) + 4
N_FEATURES = N_RETINOTOPIC + N_ATTRIBUTES
EVOKED_RMS_WINDOW_S = 0.6
EVOKED_DURATION_S = 0.8
_TOPOGRAPHY_SEED = 20240404
#: Weight of the content-independent part of each topography (content part has ~unit RMS).
GENERIC_WEIGHT = 0.5


def _grid_mean(values: np.ndarray) -> np.ndarray:
    """Mean of [H, W, ...] over a GRID x GRID partition -> [GRID, GRID, ...]."""
    h, w = values.shape[:2]
    rows = np.minimum(np.arange(h) * GRID // h, GRID - 1)
    cols = np.minimum(np.arange(w) * GRID // w, GRID - 1)
    sums = np.zeros((GRID, GRID) + values.shape[2:])
    np.add.at(sums, (rows[:, None], cols[None, :]), values)
    counts = np.bincount(rows, minlength=GRID)[:, None] * np.bincount(cols, minlength=GRID)[None]
    return sums / counts.reshape(counts.shape + (1,) * (values.ndim - 2))


def scene_features(scene: Scene) -> np.ndarray:
    """Content feature vector of a scene, float64 [N_FEATURES].

    Layout: 5 retinotopic maps of GRID x GRID cells (row-major, row 0 = top of the
    visual field): luminance - 0.5, red - green, blue - yellow, foreground coverage,
    edge energy; then shape counts [6], colour counts [8], number of objects one-hot
    [3], scene type one-hot [3], mean x (m), mean y - 1 (m), mean depth - 4.5 (m),
    total size (m).
    """
    image = scene.image.astype(np.float64) / 255.0
    luminance = image.mean(axis=2)
    red_green = image[..., 0] - image[..., 1]
    blue_yellow = image[..., 2] - (image[..., 0] + image[..., 1]) / 2
    coverage = (scene.object_index >= 0).astype(np.float64)
    edges = np.zeros_like(luminance)
    edges[:, 1:] += np.abs(np.diff(luminance, axis=1))
    edges[1:, :] += np.abs(np.diff(luminance, axis=0))
    maps = np.stack([luminance - 0.5, red_green, blue_yellow, coverage, 4.0 * edges], axis=-1)
    retinotopic = _grid_mean(maps).transpose(2, 0, 1).reshape(-1)
    objects = scene.objects
    attributes = np.zeros(N_ATTRIBUTES)
    for obj in objects:
        attributes[SHAPES.index(obj.shape)] += 1
        attributes[len(SHAPES) + COLOR_NAMES.index(obj.color.name)] += 1
    offset = len(SHAPES) + len(COLOR_NAMES)
    attributes[offset + min(len(objects), 3) - 1] = 1.0
    attributes[offset + 3 + SCENE_TYPES.index(scene.scene_type)] = 1.0
    positions = np.array([o.position.as_tuple() for o in objects])
    attributes[-4] = positions[:, 0].mean()
    attributes[-3] = positions[:, 1].mean() - 1.0
    attributes[-2] = (CAMERA_POSITION[2] - positions[:, 2]).mean() - 4.5
    attributes[-1] = sum(o.size for o in objects)
    return np.concatenate([retinotopic, attributes])


_STATISTICS_SEEDS = range(1_000_000, 1_000_256)


@functools.cache
def feature_statistics() -> tuple[np.ndarray, np.ndarray]:
    """Population mean and spread of :func:`scene_features` (fixed seeds; cached).

    The spread is floored at 0.05 so rarely-varying features are not amplified.
    """
    from brain3d.sim.scenes import generate_scene

    features = np.array([scene_features(generate_scene(seed)) for seed in _STATISTICS_SEEDS])
    return features.mean(axis=0), np.maximum(features.std(axis=0), 0.05)


def standardized_features(scene: Scene) -> np.ndarray:
    """:func:`scene_features` as z-scores (clipped to +-5), each group scaled to unit norm.

    The retinotopic block is divided by sqrt(N_RETINOTOPIC) and the attribute block by
    sqrt(N_ATTRIBUTES), so both contribute comparably to the topographies.
    """
    mean, spread = feature_statistics()
    z = np.clip((scene_features(scene) - mean) / spread, -5.0, 5.0)
    z[:N_RETINOTOPIC] /= np.sqrt(N_RETINOTOPIC)
    z[N_RETINOTOPIC:] /= np.sqrt(N_ATTRIBUTES)
    return z


def _smooth_random(rng: np.random.Generator, count: int) -> np.ndarray:
    """``count`` smooth random scalp patterns, [64, count], unit RMS per column."""
    patterns = distance_kernel(0.03) @ rng.standard_normal((distance_kernel(0.03).shape[0], count))
    patterns -= patterns.mean(axis=0)
    return patterns / np.sqrt(np.mean(patterns**2, axis=0))


@functools.cache
def _posterior_mask() -> np.ndarray:
    return gaussian_topography((position_of("POz") + position_of("Pz")) / 2 * [1, 1.05, 0.8], 0.045)


def _retinotopic_blobs(lateral_m: float, width_m: float) -> np.ndarray:
    """Blob per visual-field cell over contralateral occipital cortex, [64, GRID*GRID]."""
    oz = position_of("Oz")
    centres = (np.arange(GRID) + 0.5) / GRID * 2 - 1  # -0.75 .. 0.75
    blobs = []
    for row in range(GRID):
        elevation = -centres[row]  # row 0 = upper visual field
        for col in range(GRID):
            azimuth = centres[col]  # negative = left visual field
            centre = oz + np.array([-lateral_m * azimuth, 0.005, -0.03 * elevation])
            blobs.append(gaussian_topography(centre, width_m))
    return np.stack(blobs, axis=1)


@functools.cache
def content_topographies() -> tuple[np.ndarray, np.ndarray]:
    """Subject-independent maps: generic [4, 64] and content weights W [4, 64, N_FEATURES]."""
    rng = np.random.default_rng(_TOPOGRAPHY_SEED)
    mask = _posterior_mask()
    generic = np.stack(
        [
            gaussian_topography(position_of("Oz") + [0, 0, 0.01], 0.04),
            (
                gaussian_topography(position_of("PO7"), 0.035)
                + gaussian_topography(position_of("PO8"), 0.035)
            ),
            gaussian_topography(position_of("POz"), 0.045),
            gaussian_topography(position_of("Pz"), 0.05),
        ]
    )
    n_cells = GRID * GRID
    weights = np.zeros((N_COMPONENTS, mask.shape[0], N_FEATURES))
    p1_blobs = _retinotopic_blobs(0.045, 0.03)
    n1_blobs = _retinotopic_blobs(0.07, 0.035)
    retinotopic_gain = (1.0, 0.8, 0.4, 0.2)
    attribute_gain = (0.3, 0.7, 1.0, 1.0)
    for j in range(N_COMPONENTS):
        for k in range(N_RETINOTOPIC // n_cells):
            cols = slice(k * n_cells, (k + 1) * n_cells)
            modulation = 1.0 + 0.6 * _smooth_random(rng, 1)
            if j < 2:
                blobs = (p1_blobs if j == 0 else n1_blobs) * modulation
                blobs = blobs / np.sqrt(np.mean(blobs**2, axis=0))
                weights[j, :, cols] = retinotopic_gain[j] * (
                    0.7 * blobs + 0.3 * mask[:, None] * _smooth_random(rng, n_cells)
                )
            else:
                weights[j, :, cols] = (
                    retinotopic_gain[j] * mask[:, None] * _smooth_random(rng, n_cells)
                )
        weights[j, :, N_RETINOTOPIC:] = (
            attribute_gain[j] * mask[:, None] * _smooth_random(rng, N_ATTRIBUTES)
        )
    generic.flags.writeable = False
    weights.flags.writeable = False
    return generic, weights


@functools.lru_cache(maxsize=64)
def _subject_topography_jitter(subject_id: int, jitter: float) -> np.ndarray:
    rng = np.random.default_rng([subject_id, 0x70F0])
    mask = _posterior_mask()
    return (
        jitter
        * mask[None, :, None]
        * rng.standard_normal((N_COMPONENTS, mask.shape[0], N_FEATURES))
    )


def foreground_gain(scene: Scene) -> float:
    """Amplitude factor of the response, 0.85..1.15, growing with foreground area."""
    fraction = float(np.mean(scene.object_index >= 0))
    return 0.85 + 0.3 * min(1.0, fraction / 0.06)


def evoked_response(
    scene: Scene,
    subject: SubjectParams,
    sfreq: float,
    n_samples: int,
    amplitude_uv: float,
    onset_sample: int = 0,
) -> np.ndarray:
    """The SIMULATED evoked response to ``scene`` for ``subject``, float64 [64, n_samples] µV.

    Parameters
    ----------
    scene : Scene
        The stimulus.
    subject : SubjectParams
        The simulated subject.
    sfreq : float
        Sampling rate, Hz.
    n_samples : int
        Number of samples returned.
    amplitude_uv : float
        Target RMS (µV, all channels, first 0.6 s after onset) before ``foreground_gain``.
    onset_sample : int
        Sample index of the stimulus onset within the returned array (may be negative).
    """
    features = standardized_features(scene)
    generic, weights = content_topographies()
    weights = weights + _subject_topography_jitter(subject.subject_id, subject.topography_jitter)
    topographies = GENERIC_WEIGHT * generic + np.einsum("jcf,f->jc", weights, features)  # [4, 64]
    fraction = float(np.mean(scene.object_index >= 0))
    n_objects = len(scene.objects)
    content_shift = np.array(
        [-0.15 * min(fraction, 0.1), 0.008 * (n_objects - 2), 0.0, 0.025 * (n_objects - 2)]
    )
    length = round(max(EVOKED_RMS_WINDOW_S, EVOKED_DURATION_S) * sfreq)
    t = np.arange(length) / sfreq
    courses = np.stack(
        [
            polarity
            * subject.component_gain[j]
            * np.exp(
                -0.5 * ((t - latency - subject.latency_shift_s[j] - content_shift[j]) / width) ** 2
            )
            for j, (_, latency, polarity, width) in enumerate(COMPONENTS)
        ]
    )
    sensor_topographies = subject.channel_gain[:, None] * (subject.mixing @ topographies.T)
    # sum of 4 outer products; avoids a multi-threaded BLAS call on busy machines
    response = sum(np.outer(sensor_topographies[:, j], courses[j]) for j in range(N_COMPONENTS))
    window = round(EVOKED_RMS_WINDOW_S * sfreq)
    rms = float(np.sqrt(np.mean(response[:, :window] ** 2)))
    response *= amplitude_uv * foreground_gain(scene) / max(rms, 1e-12)
    out = np.zeros((response.shape[0], n_samples))
    lo, hi = max(onset_sample, 0), min(onset_sample + length, n_samples)
    if hi > lo:
        out[:, lo:hi] = response[:, lo - onset_sample : hi - onset_sample]
    return out
