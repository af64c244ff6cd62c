"""THINGS-EEG2 (Gifford et al., 2022) preprocessed release -> trial store.

Layout read (as published)::

    <eeg_root>/sub-01/preprocessed_eeg_training.npy
    <eeg_root>/sub-01/preprocessed_eeg_test.npy
    <image_root>/image_metadata.npy
    <image_root>/training_images/<concept>/<file>.jpg
    <image_root>/test_images/<concept>/<file>.jpg

Each ``preprocessed_eeg_*.npy`` is a dict saved with ``np.save(allow_pickle=True)``:
``preprocessed_eeg_data`` float [n_images, n_repetitions, n_channels (63 or 17),
n_times], ``ch_names`` list of str, ``times`` seconds (-0.2..0.8 s at 100 Hz in the
release). ``image_metadata.npy`` is a dict with ``train_img_files``,
``train_img_concepts``, ``test_img_files``, ``test_img_concepts``; image ``i`` of a split
is the ``i``-th row of the EEG array.

Trust: these files are unpickled with :func:`~brain3d.data.loaders.safe_npy.load_pickled_npy`,
which builds only dicts/lists/strings/numbers/numpy arrays and refuses anything else.

Units: the release's arrays are multivariate-noise-normalised (whitened), i.e. not
volts; they are stored scaled by ``input_units`` (default ``uV`` = unchanged) and the
store's ``extra`` says so. Descriptions are None and there are no 3D points.

Stimulus ids: training image ``i`` -> ``i``; test image ``j`` ->
:data:`TEST_ID_OFFSET` + ``j`` (distinct from every training id).

Memory: one subject file is held at a time (the pickled format forces loading it whole);
files are read twice (a first pass counts the trials, since the store's size must be
known before writing).
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from brain3d.data.loaders.media import load_image, placeholder_image
from brain3d.data.loaders.report import DataSetError, LoadReport
from brain3d.data.loaders.safe_npy import load_pickled_npy
from brain3d.data.loaders.window import EpochCutter, LoadOptions, unit_scale
from brain3d.data.montage_mapping import ChannelMapping, map_channels
from brain3d.data.store import TrialStoreWriter

logger = logging.getLogger(__name__)

DATASET = "THINGS-EEG2"
#: Added to test-image indices to form their stimulus ids.
TEST_ID_OFFSET = 1_000_000
Split = Literal["training", "test"]
_META_KEYS = {"training": ("train_img_files", "train_img_concepts", "training_images"),
              "test": ("test_img_files", "test_img_concepts", "test_images")}


@dataclass(frozen=True)
class _SplitFile:
    subject: int
    split: Split
    path: Path


def find_subjects(eeg_root: str | os.PathLike[str]) -> list[int]:
    """Subject numbers of the ``sub-XX`` folders under ``eeg_root``."""
    found = [re.fullmatch(r"sub-(\d+)", p.name) for p in Path(eeg_root).iterdir() if p.is_dir()]
    return sorted(int(m.group(1)) for m in found if m)


def _read_eeg_file(path: Path) -> tuple[np.ndarray, list[str], np.ndarray]:
    content = load_pickled_npy(path)
    if not isinstance(content, dict):
        raise DataSetError(f"{path} holds a {type(content).__name__}, expected the release's dict")
    lacking = {"preprocessed_eeg_data", "ch_names", "times"} - set(content)
    if lacking:
        raise DataSetError(f"{path} lacks keys {sorted(lacking)}; is it a THINGS-EEG2 preprocessed file?")
    data = np.asarray(content["preprocessed_eeg_data"])
    names = [str(n) for n in content["ch_names"]]
    times = np.asarray(content["times"], dtype=np.float64)
    if data.ndim != 4 or data.shape[2] != len(names) or data.shape[3] != len(times):
        raise DataSetError(
            f"{path}: preprocessed_eeg_data has shape {data.shape}; expected "
            f"(n_images, n_repetitions, {len(names)} channels, {len(times)} times)"
        )
    if len(times) < 2:
        raise DataSetError(f"{path}: 'times' must hold at least 2 samples to give the rate")
    return data, names, times


def _image_paths(image_root: Path, split: Split) -> list[Path]:
    meta = load_pickled_npy(image_root / "image_metadata.npy")
    files_key, concepts_key, folder = _META_KEYS[split]
    if not isinstance(meta, dict) or files_key not in meta or concepts_key not in meta:
        raise DataSetError(f"{image_root}/image_metadata.npy lacks {files_key}/{concepts_key}")
    files, concepts = list(meta[files_key]), list(meta[concepts_key])
    if len(files) != len(concepts):
        raise DataSetError(f"image_metadata.npy: {len(files)} {files_key} but {len(concepts)} {concepts_key}")
    return [image_root / folder / str(c) / str(f) for c, f in zip(concepts, files, strict=True)]


def load_things_eeg2(
    eeg_root: str | os.PathLike[str],
    image_root: str | os.PathLike[str],
    store_path: str | os.PathLike[str],
    *,
    subjects: Iterable[int] | None = None,
    splits: Sequence[Split] = ("training", "test"),
    average_repetitions: bool = False,
    options: LoadOptions | None = None,
    input_units: str = "uV",
    placeholder_images: bool = False,
) -> tuple[Path, LoadReport]:
    """Convert THINGS-EEG2 preprocessed arrays and images into a trial store.

    Parameters
    ----------
    eeg_root : path-like
        Folder holding ``sub-XX/preprocessed_eeg_{training,test}.npy``.
    image_root : path-like
        The ``image_set`` folder (``image_metadata.npy``, ``training_images/``, ``test_images/``).
    store_path : path-like
        Trial store folder to write.
    subjects : iterable of int, optional
        Subjects to convert (default: every ``sub-XX`` found).
    splits : sequence of {"training", "test"}
        Which files to read per subject.
    average_repetitions : bool
        Store one trial per image (mean over repetitions) instead of one per repetition.
    options : LoadOptions, optional
        Target rate (Hz), samples, image size, channels and missing-channel policy.
    input_units : {"uV", "mV", "V"}
        Units of the arrays (scaled to µV; the release is whitened, see module docs).
    placeholder_images : bool
        Store a grey image when an image file is missing instead of skipping its trials.

    Returns
    -------
    (Path, LoadReport)
        Store folder and what was read, written and skipped.
    """
    options = options or LoadOptions()
    scale = unit_scale(input_units)
    eeg_root, image_root = Path(eeg_root), Path(image_root)
    report = LoadReport(dataset=DATASET)
    chosen = sorted(set(subjects)) if subjects is not None else find_subjects(eeg_root)
    files = []
    for subject in chosen:
        for split in splits:
            path = eeg_root / f"sub-{subject:02d}" / f"preprocessed_eeg_{split}.npy"
            if not path.is_file():
                raise DataSetError(f"{path} not found; check eeg_root or pass subjects=/splits=")
            files.append(_SplitFile(subject, split, path))
    if not files:
        raise DataSetError(f"no sub-XX folders under {eeg_root}; point eeg_root at the preprocessed EEG folder")
    images = {split: _image_paths(image_root, split) for split in splits}

    # Pass 1: count trials and decide skips (store size must be known before writing).
    plans: list[tuple[_SplitFile, np.ndarray]] = []  # keep mask [n_images, n_reps or 1]
    geometry: tuple[int, list[str], np.ndarray] | None = None
    for entry in files:
        data, names, times = _read_eeg_file(entry.path)
        if geometry is None:
            geometry = (data.shape[3], names, times)
        elif names != geometry[1] or not np.allclose(times, geometry[2]):
            raise DataSetError(f"{entry.path} has other channels or times than {files[0].path}; convert them separately")
        paths = images[entry.split]
        if len(paths) != data.shape[0]:
            raise DataSetError(
                f"{entry.path} has {data.shape[0]} images but image_metadata.npy lists {len(paths)} "
                f"{entry.split} images; image_root does not match this release"
            )
        finite = np.isfinite(data).all(axis=(2, 3))
        if average_repetitions:
            finite = finite.all(axis=1, keepdims=True)
        keep = finite.copy()
        for i, image_path in enumerate(paths):
            label = f"sub-{entry.subject:02d} {entry.split} image {i}"
            report.trials_read += keep.shape[1]
            if not image_path.is_file() and not placeholder_images:
                keep[i] = False
                for _ in range(keep.shape[1]):
                    report.skip(label, f"image file missing ({entry.split}_images/<concept>/<file>)")
                continue
            for r in np.flatnonzero(~finite[i]):
                report.skip(f"{label} rep {r}", "EEG holds NaN/Inf")
        plans.append((entry, keep))
        del data
    assert geometry is not None
    n_src, names, times = geometry
    sfreq = 1.0 / float(np.median(np.diff(times)))
    cutter = EpochCutter(sfreq, float(times[0]), n_src, options)
    mapping = map_channels(names, options.channels, missing=options.missing)
    report.add_channel_report(mapping.report())
    report.note(cutter.describe())
    total = int(sum(keep.sum() for _, keep in plans))
    if total == 0:
        raise DataSetError(f"no THINGS-EEG2 trial could be converted: {report.skip_reasons}")

    writer = TrialStoreWriter(
        store_path, total, channel_names=list(options.channels), sfreq=options.sfreq,
        n_times=options.n_times, image_size=options.image_size, n_points=0, provenance=DATASET,
        simulated=False, tmin_s=cutter.first_time_s, overwrite=options.overwrite,
        extra={"source_sfreq": sfreq, "source_channels": names, "averaged_repetitions": average_repetitions,
               "test_stimulus_id_offset": TEST_ID_OFFSET, "input_units": input_units,
               "units_note": "release arrays are MVNN-whitened; scaled by input_units, not true microvolts"},
    )
    with writer:
        for entry, keep in plans:
            data, _, _ = _read_eeg_file(entry.path)
            offset = 0 if entry.split == "training" else TEST_ID_OFFSET
            for row in np.flatnonzero(keep.any(axis=1)):
                _write_image(writer, report, data[row], images[entry.split][int(row)], keep[row], entry.subject,
                             offset + int(row), average_repetitions, cutter, mapping, scale, options)
            del data
    report.trials_written = writer.count
    report.store_path = Path(store_path)
    logger.info(report.summary())
    return report.store_path, report


def _write_image(
    writer: TrialStoreWriter, report: LoadReport, epochs: np.ndarray, image_path: Path, keep: np.ndarray,
    subject: int, stimulus_id: int, average: bool, cutter: EpochCutter, mapping: ChannelMapping,
    scale: float, options: LoadOptions,
) -> None:
    """Write the kept repetitions ``epochs[keep]`` ((n_rep, C, T) source) of one image."""
    if image_path.is_file():
        image = load_image(image_path, options.image_size)
    else:
        image = placeholder_image(options.image_size)
        report.note("missing image files replaced by grey placeholders")
    epochs = np.asarray(epochs, dtype=np.float64)
    if average:
        epochs = epochs.mean(axis=0, keepdims=True)
    eeg = (mapping.apply(cutter(epochs[keep])) * scale).astype(np.float32)
    for trial in eeg:
        writer.append(trial, image, subject=subject, stimulus_id=stimulus_id)
