"""EEG-3D (Neuro-3D, Guo et al., 2025) -> trial store with point clouds.

WARNING: written from the paper's description (64 channels, 250 Hz, -0.2..0.8 s epochs,
objects with 3D shapes), NOT validated against the real release, whose exact file
layout was unknown when this was written. The layout assumed is::

    <root>/sub-01/sub-01_epo.fif        MNE epochs (mne.read_epochs), any tmin/rate
    <root>/sub-01/sub-01_events.csv     one row per epoch, in order: object_id[, image_path]
        (or sub-01_events.json: a list of object ids, or of {"object_id", "image_path"})
    <root>/objects/<object_id>.ply      point cloud or mesh (trimesh), or .npy (P, 3)/(P, 6)
    <root>/images/<object_id>.png|.jpg  picture shown (optional if image_path is given)

If the real release differs, convert it to ``mne.Epochs`` plus per-epoch object ids
and reuse :func:`~brain3d.data.loaders.mne_epochs.write_epochs`.

Stored: EEG in µV cut at onset and resampled to the target; ``points`` (n_points, 6)
= xyz (file units, metres assumed) + rgb 0..1 (grey when uncoloured), sampled or padded
to ``n_points``; stimulus id = the object id if it is an integer, else the object's
index in the sorted list of all object ids (saved in ``info.json`` extra
``object_ids``). Descriptions are None.
"""

from __future__ import annotations

import csv
import json
import logging
import os
import re
from collections.abc import Iterable
from pathlib import Path

from brain3d.data.loaders.mne_epochs import EpochsBatch, write_epochs
from brain3d.data.loaders.report import DataSetError, LoadReport
from brain3d.data.loaders.window import LoadOptions

logger = logging.getLogger(__name__)

DATASET = "EEG-3D (Neuro-3D; assumed layout)"
POINT_SUFFIXES: tuple[str, ...] = (".ply", ".npy", ".obj", ".off", ".glb")
IMAGE_SUFFIXES: tuple[str, ...] = (".png", ".jpg", ".jpeg", ".PNG", ".JPG", ".JPEG")


def read_object_list(path: str | os.PathLike[str]) -> list[tuple[str, Path | None]]:
    """Per-epoch ``(object_id, image_path or None)`` from the CSV or JSON events file."""
    path = Path(path)
    rows: list[tuple[str, Path | None]] = []
    if path.suffix.lower() == ".json":
        entries = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(entries, list):
            raise DataSetError(f"{path} must hold a JSON list (object ids or objects with object_id)")
        for entry in entries:
            if isinstance(entry, dict) and "object_id" in entry:
                image = entry.get("image_path")
                rows.append((str(entry["object_id"]), path.parent / image if image else None))
            elif isinstance(entry, (str, int)):
                rows.append((str(entry), None))
            else:
                raise DataSetError(f"{path}: entries must be object ids or {{'object_id', 'image_path'}}; got {entry!r}")
        return rows
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if "object_id" not in (reader.fieldnames or []):
            raise DataSetError(f"{path} needs a column object_id (optional image_path); has {reader.fieldnames}")
        for row in reader:
            image = (row.get("image_path") or "").strip()
            rows.append((row["object_id"].strip(), path.parent / image if image else None))
    return rows


def _first_file(folder: Path, stem: str, suffixes: tuple[str, ...]) -> Path | None:
    for suffix in suffixes:
        candidate = folder / f"{stem}{suffix}"
        if candidate.is_file():
            return candidate
    return None


def load_eeg3d(
    root: str | os.PathLike[str],
    store_path: str | os.PathLike[str],
    *,
    subjects: Iterable[int] | None = None,
    options: LoadOptions | None = None,
    placeholder_images: bool = False,
) -> tuple[Path, LoadReport]:
    """Convert the (assumed) EEG-3D layout into a trial store with point clouds.

    Parameters
    ----------
    root : path-like
        Folder with ``sub-XX/``, ``objects/`` and ``images/`` (see module docs).
    store_path : path-like
        Trial store folder to write.
    subjects : iterable of int, optional
        Subjects to convert (default: every ``sub-XX`` found).
    options : LoadOptions, optional
        Target rate, samples, image size, ``n_points``, channels and policy.
    placeholder_images : bool
        Grey image where an object has no picture, instead of skipping its epochs.

    Returns
    -------
    (Path, LoadReport)
    """
    import mne

    options = options or LoadOptions()
    root = Path(root)
    report = LoadReport(dataset=DATASET)
    found = {int(m.group(1)): p for p in sorted(root.glob("sub-*")) if (m := re.fullmatch(r"sub-(\d+)", p.name))}
    chosen = sorted(set(subjects)) if subjects is not None else sorted(found)
    if not chosen:
        raise DataSetError(f"no sub-XX folders under {root}; see brain3d.data.loaders.eeg3d for the layout")
    per_subject = []
    for subject in chosen:
        folder = root / f"sub-{subject:02d}"
        epo = folder / f"sub-{subject:02d}_epo.fif"
        events = _first_file(folder, f"sub-{subject:02d}_events", (".csv", ".json"))
        if not epo.is_file() or events is None:
            raise DataSetError(f"{folder} needs sub-{subject:02d}_epo.fif and sub-{subject:02d}_events.csv/.json")
        per_subject.append((subject, epo, read_object_list(events)))
    all_ids = sorted({obj for _, _, rows in per_subject for obj, _ in rows})
    numeric = all(re.fullmatch(r"-?\d+", obj) for obj in all_ids)
    stimulus_of = {obj: int(obj) if numeric else k for k, obj in enumerate(all_ids)}
    batches = []
    for subject, epo, rows in per_subject:
        epochs = mne.read_epochs(epo, preload=False, verbose="error")
        if len(epochs) != len(rows):
            raise DataSetError(f"{epo} has {len(epochs)} epochs but its events file lists {len(rows)} objects")
        images = [img if img is not None and img.is_file() else _first_file(root / "images", obj, IMAGE_SUFFIXES)
                  for obj, img in rows]
        clouds = [_first_file(root / "objects", obj, POINT_SUFFIXES) for obj, _ in rows]
        batches.append(EpochsBatch(epochs, [stimulus_of[obj] for obj, _ in rows], images, clouds,
                                   subject=subject, label=epo.name))
    path = write_epochs(
        batches, store_path, report, options=options, n_points=options.n_points,
        placeholder_images=placeholder_images,
        extra={"object_ids": None if numeric else all_ids, "layout": "assumed from the Neuro-3D paper; unvalidated"},
    )
    return path, report
