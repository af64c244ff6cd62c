"""EEGCVPR40 / ImageNet-EEG (Spampinato et al., 2017) torch release -> trial store.

Layout read (as published)::

    eeg_*.pth            torch.save of a dict:
                           dataset: list of {eeg: tensor [128, T] (1000 Hz, T ~ 500),
                                             image: int, label: int, subject: int}
                           labels:  list of WordNet ids (e.g. "n02951358")
                           images:  list of image names (e.g. "n02951358_31190")
    <images_dir>/<wnid>/<image>.JPEG   or   <images_dir>/<image>.JPEG

The file is read with ``torch.load(weights_only=True)``: only tensors, lists, dicts,
numbers and strings are built; a file holding any other pickled object is refused
(:class:`~brain3d.data.loaders.report.DataSetError`). A torch file must be loaded
whole; trials are then converted one by one.

Channels: the release does not label its 128 channels with 10-10 names. By default the
generic labels ``E1..E128`` (:func:`generic_channel_names`) are used, which match no
model channel, so the conversion fails with the ``error`` policy and can only be
zero-filled: pass ``channel_names`` (the cap's 10-10 names, in data order) to map them.

Epochs start at stimulus onset (``tmin_s = 0``; the commonly used 20-460 ms crop is
available through ``tmin_s``/``skip_s``). Stimulus id = index into ``images``.
Descriptions are None and there are no 3D points.
"""

from __future__ import annotations

import logging
import os
import pickle
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from brain3d.data.loaders.media import load_image, placeholder_image
from brain3d.data.loaders.report import DataSetError, LoadReport
from brain3d.data.loaders.window import EpochCutter, LoadOptions, unit_scale
from brain3d.data.montage_mapping import map_channels
from brain3d.data.store import TrialStoreWriter

logger = logging.getLogger(__name__)

DATASET = "EEGCVPR40 (ImageNet-EEG)"
SOURCE_SFREQ = 1000.0
N_CHANNELS = 128


def generic_channel_names(n: int = N_CHANNELS) -> list[str]:
    """Placeholder labels ``E1..En`` (match no 10-10 name, so the policy decides)."""
    return [f"E{i + 1}" for i in range(n)]


def _load_release(path: Path) -> dict:
    import torch

    try:
        content = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise DataSetError(
            f"{path} holds objects other than tensors, lists, dicts, numbers and strings; "
            f"refusing to load it (torch.load weights_only=True said: {str(exc).splitlines()[0]})"
        ) from exc
    except (OSError, RuntimeError, EOFError) as exc:
        raise DataSetError(f"{path} is not a readable torch file ({exc})") from exc
    if not isinstance(content, dict) or not {"dataset", "images"} <= set(content):
        raise DataSetError(f"{path} is not an EEGCVPR40 file: expected a dict with 'dataset', 'labels', 'images'")
    return content


def _find_image(images_dir: Path | None, name: str) -> Path | None:
    if images_dir is None:
        return None
    wnid = name.split("_")[0]
    for candidate in (images_dir / wnid / f"{name}.JPEG", images_dir / f"{name}.JPEG",
                      images_dir / wnid / f"{name}.jpg", images_dir / f"{name}.jpg"):
        if candidate.is_file():
            return candidate
    return None


def load_eegcvpr40(
    path: str | os.PathLike[str],
    store_path: str | os.PathLike[str],
    *,
    images_dir: str | os.PathLike[str] | None = None,
    channel_names: Sequence[str] | None = None,
    tmin_s: float = 0.0,
    options: LoadOptions | None = None,
    input_units: str = "uV",
    placeholder_images: bool = False,
) -> tuple[Path, LoadReport]:
    """Convert an EEGCVPR40 ``eeg_*.pth`` file into a trial store.

    Parameters
    ----------
    path : path-like
        The ``.pth`` file.
    store_path : path-like
        Trial store folder to write.
    images_dir : path-like, optional
        ImageNet images as ``<wnid>/<image>.JPEG`` or ``<image>.JPEG``.
    channel_names : sequence of str, optional
        Labels of the rows of ``eeg`` (default :func:`generic_channel_names`).
    tmin_s : float
        Time of the first sample relative to onset, seconds (0 for the release).
    options : LoadOptions, optional
        Target rate, samples, image size, channels and policy.
    input_units : {"uV", "mV", "V"}
        Units of the tensors, scaled to µV.
    placeholder_images : bool
        Use a grey image when a picture is missing instead of skipping the trial.

    Returns
    -------
    (Path, LoadReport)
    """
    options = options or LoadOptions()
    scale = unit_scale(input_units)
    path = Path(path)
    images_root = Path(images_dir) if images_dir is not None else None
    report = LoadReport(dataset=DATASET)
    content = _load_release(path)
    records, image_names = content["dataset"], [str(n) for n in content["images"]]
    if not isinstance(records, list) or not records:
        raise DataSetError(f"{path}: 'dataset' must be a non-empty list of trial dicts")

    plan: list[tuple[int, Path | None]] = []
    n_times_src: int | None = None
    n_channels: int | None = None
    for k, record in enumerate(records):
        report.trials_read += 1
        label = f"trial {k}"
        if not isinstance(record, dict) or not {"eeg", "image", "subject"} <= set(record):
            report.skip(label, "record lacks eeg/image/subject")
            continue
        eeg = record["eeg"]
        shape = tuple(eeg.shape)
        if len(shape) != 2:
            report.skip(label, f"eeg has shape {shape}, expected (channels, times)")
            continue
        n_channels = n_channels or shape[0]
        n_times_src = n_times_src or shape[1]
        if shape != (n_channels, n_times_src):
            report.skip(label, f"eeg shape {shape} differs from the first trial's {(n_channels, n_times_src)}")
            continue
        if not bool(eeg.isfinite().all()):
            report.skip(label, "EEG holds NaN/Inf")
            continue
        index = int(record["image"])
        if not 0 <= index < len(image_names):
            report.skip(label, "image index out of range")
            continue
        image_path = _find_image(images_root, image_names[index])
        if image_path is None and not placeholder_images:
            report.skip(label, "image file missing (looked for <wnid>/<image>.JPEG and <image>.JPEG)")
            continue
        plan.append((k, image_path))
    if not plan or n_channels is None or n_times_src is None:
        raise DataSetError(f"no EEGCVPR40 trial could be converted: {report.skip_reasons}")
    names = list(channel_names) if channel_names is not None else generic_channel_names(n_channels)
    if len(names) != n_channels:
        raise DataSetError(f"{len(names)} channel_names given but the EEG has {n_channels} channels")
    if channel_names is None:
        report.note("channels labelled E1..E128 (release has no 10-10 names); pass channel_names to map them")
    mapping = map_channels(names, options.channels, missing=options.missing)
    report.add_channel_report(mapping.report())
    cutter = EpochCutter(SOURCE_SFREQ, tmin_s, n_times_src, options)
    report.note(cutter.describe())

    writer = TrialStoreWriter(
        store_path, len(plan), channel_names=list(options.channels), sfreq=options.sfreq,
        n_times=options.n_times, image_size=options.image_size, n_points=0, provenance=DATASET,
        simulated=False, tmin_s=cutter.first_time_s, overwrite=options.overwrite,
        extra={"source_sfreq": SOURCE_SFREQ, "source_channels": names, "labels": [str(x) for x in content.get("labels", [])]},
    )
    image_cache: dict[int, np.ndarray] = {}
    with writer:
        for k, image_path in plan:
            record = records[k]
            index = int(record["image"])
            if index not in image_cache:
                if len(image_cache) >= 512:  # bound memory: drop the oldest picture
                    image_cache.pop(next(iter(image_cache)))
                if image_path is None:
                    report.note("missing images replaced by grey placeholders")
                    image_cache[index] = placeholder_image(options.image_size)
                else:
                    image_cache[index] = load_image(image_path, options.image_size)
            eeg = record["eeg"].detach().cpu().numpy()
            trial = (mapping.apply(cutter(eeg)) * scale).astype(np.float32)
            writer.append(trial, image_cache[index], subject=int(record["subject"]), stimulus_id=index)
    report.trials_written = writer.count
    report.store_path = Path(store_path)
    logger.info(report.summary())
    return report.store_path, report
