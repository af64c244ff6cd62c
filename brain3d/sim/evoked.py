"""Content-dependent visual evoked responses of the SIMULATED EEG forward model.

A scene becomes a content feature vector (:func:`scene_features`) of three blocks:

* retinotopic (early visual cortex): the rendered image on a :data:`GRID` x
  :data:`GRID` (8 x 8) grid of visual-field cells: luminance, red-green and
  blue-yellow opponency, foreground coverage and edge energy per cell;
* per-object (object-selective cortex): each object's shape one-hot, albedo RGB, size
  and depth, placed at the object's visual-field position by bilinear splatting onto
  an :data:`OBJECT_GRID` x :data:`OBJECT_GRID` (4 x 4) grid of cells, so their scalp
  topography depends on where the object is;
* scene attributes: counts of each shape and colour, number of objects, scene type,
  mean position, depth and size.

Each evoked component (P1 ~100 ms, N1 ~170 ms, P2 ~225 ms, P3 ~350 ms; see
:data:`~brain3d.sim.subject.COMPONENTS`) is a Gaussian time course times a scalp
topography ``generic_j + W_j @ features``. ``W_j`` is fixed and random (seeded,
subject-independent) and localised over posterior sites:

* retinotopic columns (mostly P1/N1) and per-object columns (mostly N1/P2) are blobs
  over the occipital (per-object: occipito-temporal) cortex *contralateral* to the
  cell's visual hemifield (left field -> right hemisphere), lower for the upper field,
  times a smooth random pattern per feature type, plus a smooth random pattern per
  column under a posterior mask;
* attribute columns (and the weaker later retinotopic columns) are smooth random
  patterns under a parieto-occipital mask.

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
from typing import cast

import numpy as np

from brain3d.schema import CAMERA_POSITION, COLOR_NAMES, SCENE_TYPES, SHAPES
from brain3d.sim.montage import distance_kernel, gaussian_topography, position_of
from brain3d.sim.scenes import Scene
from brain3d.sim.subject import COMPONENTS, N_COMPONENTS, SubjectParams

logger = logging.getLogger(__name__)

#: Retinotopic grid (cells per side) of the image maps.
GRID = 8
N_MAPS = 5
N_RETINOTOPIC = N_MAPS * GRID * GRID
#: Retinotopic grid (cells per side) of the per-object features.
OBJECT_GRID = 4
#: Per-object features: shape one-hot, albedo RGB, size, depth.
N_OBJECT_CHANNELS = len(SHAPES) + 3 + 2
N_OBJECT = N_OBJECT_CHANNELS * OBJECT_GRID * OBJECT_GRID
N_ATTRIBUTES = len(SHAPES) + len(COLOR_NAMES) + 3 + len(SCENE_TYPES) + 4
N_FEATURES = N_RETINOTOPIC + N_OBJECT + N_ATTRIBUTES
#: Column slices of the three blocks in :func:`scene_features`.
BLOCKS = {
    "retinotopic": slice(0, N_RETINOTOPIC),
    "object": slice(N_RETINOTOPIC, N_RETINOTOPIC + N_OBJECT),
    "attribute": slice(N_RETINOTOPIC + N_OBJECT, N_FEATURES),
}
#: Mean distance of objects from the camera, metres (centre of the placement range).
_MEAN_DEPTH_M = CAMERA_POSITION[2]
EVOKED_RMS_WINDOW_S = 0.6
EVOKED_DURATION_S = 0.8
_TOPOGRAPHY_SEED = 20240404
#: Weight of the content-independent part of each topography (content part has ~unit RMS).
GENERIC_WEIGHT = 0.5
#: Foreground fraction at which ``foreground_gain`` saturates (population mean ~0.15).
_FOREGROUND_SATURATION = 0.3


def _grid_mean(values: np.ndarray, grid: int = GRID) -> np.ndarray:
    """Mean of [H, W, ...] over a grid x grid partition -> [grid, grid, ...]."""
    h, w = values.shape[:2]
    if h % grid == 0 and w % grid == 0:
        return values.reshape(grid, h // grid, grid, w // grid, *values.shape[2:]).mean(axis=(1, 3))
    rows = np.minimum(np.arange(h) * grid // h, grid - 1)
    cols = np.minimum(np.arange(w) * grid // w, grid - 1)
    sums = np.zeros((grid, grid) + values.shape[2:])
    np.add.at(sums, (rows[:, None], cols[None, :]), values)
    counts = np.bincount(rows, minlength=grid)[:, None] * np.bincount(cols, minlength=grid)[None]
    return sums / counts.reshape(counts.shape + (1,) * (values.ndim - 2))


def _splat_weights(u: float, v: float) -> np.ndarray:
    """Bilinear weights of a visual-field point (0..1, 0..1) on the OBJECT_GRID cells."""
    weights = np.zeros((OBJECT_GRID, OBJECT_GRID))
    x = np.clip(u * OBJECT_GRID - 0.5, 0.0, OBJECT_GRID - 1.0)
    y = np.clip(v * OBJECT_GRID - 0.5, 0.0, OBJECT_GRID - 1.0)
    c0, r0 = min(int(x), OBJECT_GRID - 2), min(int(y), OBJECT_GRID - 2)
    fx, fy = x - c0, y - r0
    weights[r0, c0] = (1 - fx) * (1 - fy)
    weights[r0, c0 + 1] = fx * (1 - fy)
    weights[r0 + 1, c0] = (1 - fx) * fy
    weights[r0 + 1, c0 + 1] = fx * fy
    return weights


def scene_features(scene: Scene) -> np.ndarray:
    """Content feature vector of a scene, float64 [N_FEATURES].

    Layout (all grids row-major, row 0 = top of the visual field):

    * 5 retinotopic maps of GRID x GRID cells: luminance - 0.5, red - green,
      blue - yellow, foreground coverage, edge energy;
    * N_OBJECT_CHANNELS maps of OBJECT_GRID x OBJECT_GRID cells, each object's
      [shape one-hot (6), albedo R, G, B - 0.5, size - 0.5 (m), depth - camera z (m)]
      splatted bilinearly at its projected centre (summed over objects);
    * shape counts [6], colour counts [8], number of objects one-hot [3], scene type
      one-hot [3], mean x (m), mean y - 1 (m), mean depth - camera z (m), total size (m).
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
    positions = np.array([o.position.as_tuple() for o in objects])
    depths = CAMERA_POSITION[2] - positions[:, 2]
    u, v, _ = scene.camera.project(positions)
    object_maps = np.zeros((N_OBJECT_CHANNELS, OBJECT_GRID, OBJECT_GRID))
    attributes = np.zeros(N_ATTRIBUTES)
    for i, obj in enumerate(objects):
        shape_index = SHAPES.index(obj.shape)
        channels = np.zeros(N_OBJECT_CHANNELS)
        channels[shape_index] = 1.0
        channels[len(SHAPES) : len(SHAPES) + 3] = np.asarray(obj.color.rgb) - 0.5
        channels[-2] = obj.size - 0.5
        channels[-1] = depths[i] - _MEAN_DEPTH_M
        weights = _splat_weights(u[i] / scene.camera.width, v[i] / scene.camera.height)
        object_maps += channels[:, None, None] * weights[None]
        attributes[shape_index] += 1
        attributes[len(SHAPES) + COLOR_NAMES.index(obj.color.name)] += 1
    offset = len(SHAPES) + len(COLOR_NAMES)
    attributes[offset + min(len(objects), 3) - 1] = 1.0
    attributes[offset + 3 + SCENE_TYPES.index(scene.scene_type)] = 1.0
    attributes[-4] = positions[:, 0].mean()
    attributes[-3] = positions[:, 1].mean() - 1.0
    attributes[-2] = depths.mean() - _MEAN_DEPTH_M
    attributes[-1] = sum(o.size for o in objects)
    return np.concatenate([retinotopic, object_maps.reshape(-1), attributes])


_STATISTICS_SEEDS = range(1_000_000, 1_000_256)


@functools.cache
def feature_statistics() -> tuple[np.ndarray, np.ndarray]:
    """Population mean and spread of :func:`scene_features` (fixed seeds; cached).

    The spread is floored at 0.05 so rarely-varying features are not amplified.
    """
    from brain3d.sim.scenes import generate_scene

    features = np.array([scene_features(generate_scene(seed)) for seed in _STATISTICS_SEEDS])
    return features.mean(axis=0), np.maximum(features.std(axis=0), 0.05)


#: Relative weight (norm) of each block in :func:`standardized_features`.
BLOCK_WEIGHTS = {"retinotopic": 1.6, "object": 1.0, "attribute": 0.6}
#: Relative weight of the 5 retinotopic maps (luminance, red-green, blue-yellow,
#: coverage, edges) within the retinotopic block (mean square 1).
MAP_WEIGHTS = np.array([1.2, 1.2, 1.2, 0.8, 0.4])
MAP_WEIGHTS = MAP_WEIGHTS / np.sqrt(np.mean(MAP_WEIGHTS**2))


def standardized_features(scene: Scene) -> np.ndarray:
    """:func:`scene_features` as z-scores (clipped to +-5), each block scaled to unit norm.

    Each block (retinotopic, per-object, attribute) is divided by the square root of
    its size and multiplied by its :data:`BLOCK_WEIGHTS` (early retinotopic activity
    dominates the simulated VEP); within the retinotopic block the colour/luminance
    maps weigh more than coverage and edges (:data:`MAP_WEIGHTS`).
    """
    mean, spread = feature_statistics()
    z = np.clip((scene_features(scene) - mean) / spread, -5.0, 5.0)
    for name, cols in BLOCKS.items():
        z[cols] *= BLOCK_WEIGHTS[name] / np.sqrt(cols.stop - cols.start)
    z[BLOCKS["retinotopic"]] *= np.repeat(MAP_WEIGHTS, GRID * GRID)
    return z


def _smooth_random(rng: np.random.Generator, count: int) -> np.ndarray:
    """``count`` smooth random scalp patterns, [64, count], unit RMS per column."""
    patterns = distance_kernel(0.03) @ rng.standard_normal((distance_kernel(0.03).shape[0], count))
    patterns -= patterns.mean(axis=0)
    return patterns / np.sqrt(np.mean(patterns**2, axis=0))


@functools.cache
def _posterior_mask() -> np.ndarray:
    return gaussian_topography((position_of("POz") + position_of("Pz")) / 2 * [1, 1.05, 0.8], 0.045)


def _retinotopic_blobs(
    lateral_m: float, width_m: float, grid: int = GRID, anchor: str = "Oz", vertical_m: float = 0.03
) -> np.ndarray:
    """Blob per visual-field cell over contralateral cortex, [64, grid*grid]."""
    oz = position_of(anchor)
    centres = (np.arange(grid) + 0.5) / grid * 2 - 1  # -1 .. 1, exclusive
    blobs = []
    for row in range(grid):
        elevation = -centres[row]  # row 0 = upper visual field
        for col in range(grid):
            azimuth = centres[col]  # negative = left visual field
            centre = oz + np.array([-lateral_m * azimuth, 0.005, -vertical_m * elevation])
            blobs.append(gaussian_topography(centre, width_m))
    return np.stack(blobs, axis=1)


def _blob_columns(
    rng: np.random.Generator, blobs: np.ndarray, mask: np.ndarray, gain: float, blob_share: float
) -> np.ndarray:
    """Columns of one feature map: modulated blobs plus a random posterior pattern."""
    modulation = 1.0 + 0.6 * _smooth_random(rng, 1)
    blobs = blobs * modulation
    blobs = blobs / np.sqrt(np.mean(blobs**2, axis=0))
    random = mask[:, None] * _smooth_random(rng, blobs.shape[1])
    random = random / np.sqrt(np.mean(random**2, axis=0))
    return gain * (blob_share * blobs + (1.0 - blob_share) * random)


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
    n_object_cells = OBJECT_GRID * OBJECT_GRID
    weights = np.zeros((N_COMPONENTS, mask.shape[0], N_FEATURES))
    retinotopic_blobs = (_retinotopic_blobs(0.045, 0.03), _retinotopic_blobs(0.07, 0.035))
    object_blobs = _retinotopic_blobs(0.08, 0.035, OBJECT_GRID, "POz", 0.02)
    retinotopic_gain = (1.0, 0.8, 0.4, 0.2)
    object_gain = (0.3, 1.0, 0.8, 0.4)
    attribute_gain = (0.3, 0.7, 1.0, 1.0)
    for j in range(N_COMPONENTS):
        for k in range(N_MAPS):
            cols = slice(k * n_cells, (k + 1) * n_cells)
            blobs = retinotopic_blobs[min(j, 1)]
            weights[j, :, cols] = _blob_columns(
                rng, blobs, mask, retinotopic_gain[j], 0.7 if j < 2 else 0.0
            )
        for k in range(N_OBJECT_CHANNELS):
            start = N_RETINOTOPIC + k * n_object_cells
            cols = slice(start, start + n_object_cells)
            weights[j, :, cols] = _blob_columns(
                rng, object_blobs, mask, object_gain[j], 0.6 if j < 3 else 0.0
            )
        weights[j, :, BLOCKS["attribute"]] = (
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
    return 0.85 + 0.3 * min(1.0, fraction / _FOREGROUND_SATURATION)


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
        [-0.05 * min(fraction, _FOREGROUND_SATURATION), 0.008 * (n_objects - 2), 0.0, 0.025 * (n_objects - 2)]
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
    # (sum's start value 0 never survives: there are N_COMPONENTS > 0 terms)
    response = cast(
        np.ndarray, sum(np.outer(sensor_topographies[:, j], courses[j]) for j in range(N_COMPONENTS))
    )
    window = round(EVOKED_RMS_WINDOW_S * sfreq)
    rms = float(np.sqrt(np.mean(response[:, :window] ** 2)))
    response *= amplitude_uv * foreground_gain(scene) / max(rms, 1e-12)
    out = np.zeros((response.shape[0], n_samples))
    lo, hi = max(onset_sample, 0), min(onset_sample + length, n_samples)
    if hi > lo:
        out[:, lo:hi] = response[:, lo - onset_sample : hi - onset_sample]
    return out
