"""Any MNE-readable recording (or an ``mne.Epochs``) -> trial store.

Input is one of

* a file ``mne.io.read_raw`` reads (FIF, EDF/BDF, BrainVision ``.vhdr``, EEGLAB ``.set``)
  opened without preloading, with stimulus events from
    - a CSV with columns ``onset_s`` (seconds from the file's first sample),
      ``stimulus_id`` (int) and optionally ``image_path`` (relative to the CSV's folder
      or absolute), or
    - the file's annotations: descriptions that are integers are stimulus ids; others
      are looked up in ``annotation_ids`` (unmapped ones are reported as skipped);
* an ``mne.io.Raw`` object (same events options);
* an ``mne.Epochs`` object: stimulus ids from ``stimulus_ids`` or the event codes.

Pictures come from ``image_path`` (CSV) or ``images_dir/<stimulus_id>.(png|jpg|jpeg|JPEG)``;
epochs without one are skipped unless ``placeholder_images``. Epochs run from onset for
the target window (plus a short pre/post context used only by the resampler); events too
close to the recording's edges or inside ``BAD_*`` annotations are skipped with MNE's
reason. EEG channels only (MNE channel type ``eeg``), converted from volts to µV.
"""

from __future__ import annotations

import csv
import logging
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from brain3d.data.loaders.mne_epochs import EpochsBatch, write_epochs
from brain3d.data.loaders.report import DataSetError, LoadReport
from brain3d.data.loaders.window import EpochCutter, LoadOptions

if TYPE_CHECKING:
    import mne

logger = logging.getLogger(__name__)

DATASET = "MNE recording"
IMAGE_SUFFIXES: tuple[str, ...] = (".png", ".jpg", ".jpeg", ".JPEG", ".JPG", ".PNG")
CONTEXT_S = 0.1  # seconds of signal kept around the window for the resampler


def read_events_csv(path: str | os.PathLike[str]) -> tuple[list[float], list[int], list[Path | None]]:
    """Read ``onset_s, stimulus_id[, image_path]`` rows.

    Returns
    -------
    (onsets_s, stimulus_ids, image_paths)
        Onsets in seconds from the first sample; image paths resolved against the CSV's
        folder (None where the column is absent or empty).
    """
    path = Path(path)
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        columns = set(reader.fieldnames or [])
        if not {"onset_s", "stimulus_id"} <= columns:
            raise DataSetError(f"{path} needs columns onset_s, stimulus_id (optional image_path); has {sorted(columns)}")
        onsets, ids, images = [], [], []
        for line, row in enumerate(reader, start=2):
            try:
                onsets.append(float(row["onset_s"]))
                ids.append(int(row["stimulus_id"]))
            except ValueError as exc:
                raise DataSetError(f"{path}:{line}: onset_s must be seconds and stimulus_id an integer ({exc})") from exc
            image = (row.get("image_path") or "").strip()
            images.append((path.parent / image) if image else None)
    return onsets, ids, images


def _image_in_dir(images_dir: Path | None, stimulus_id: int) -> Path | None:
    if images_dir is None:
        return None
    for suffix in IMAGE_SUFFIXES:
        candidate = images_dir / f"{stimulus_id}{suffix}"
        if candidate.is_file():
            return candidate
    return None


def _existing(path: Path | None) -> Path | None:
    return path if path is not None and path.is_file() else None


def _epochs_from_raw(
    raw: mne.io.BaseRaw, onsets_samples: np.ndarray, options: LoadOptions
) -> tuple[mne.Epochs, dict[int, str]]:
    """Non-preloaded epochs around each onset (absolute sample numbers) and drop reasons."""
    import mne

    sfreq = float(raw.info["sfreq"])
    probe = EpochCutter(sfreq, 0.0, 10**9, options)  # only for its up/down factors
    down = probe.down
    pre = down * math.ceil(CONTEXT_S * sfreq / down)
    post = math.ceil(options.n_times * sfreq / options.sfreq) + math.ceil(CONTEXT_S * sfreq)
    events = np.column_stack([onsets_samples, np.zeros(len(onsets_samples), int), np.arange(1, len(onsets_samples) + 1)])
    epochs = mne.Epochs(
        raw, events.astype(np.int64), event_id=None, tmin=-pre / sfreq, tmax=(post - 1) / sfreq, baseline=None,
        preload=False, reject_by_annotation=True, event_repeated="drop", verbose="error", on_missing="ignore",
    )
    epochs.drop_bad(verbose="error")
    reasons: dict[int, str] = {}
    kept = set(int(i) for i in epochs.selection)
    for i in range(len(onsets_samples)):
        if i not in kept:
            why = ", ".join(epochs.drop_log[i]) if i < len(epochs.drop_log) and epochs.drop_log[i] else "dropped by MNE"
            reasons[i] = "epoch outside the recording" if why in ("NO_DATA", "TOO_SHORT") else f"MNE dropped the epoch ({why})"
    return epochs, reasons


def load_mne_recording(
    source: str | os.PathLike[str] | mne.io.BaseRaw | mne.BaseEpochs,
    store_path: str | os.PathLike[str],
    *,
    events_csv: str | os.PathLike[str] | None = None,
    annotation_ids: Mapping[str, int] | None = None,
    stimulus_ids: Sequence[int] | None = None,
    images_dir: str | os.PathLike[str] | None = None,
    subject: int = 0,
    session: int = 0,
    options: LoadOptions | None = None,
    placeholder_images: bool = False,
) -> tuple[Path, LoadReport]:
    """Cut a recording at its stimulus events and write the trials into a store.

    Parameters
    ----------
    source : path-like, mne.io.BaseRaw or mne.BaseEpochs
        Recording file, raw object, or epochs (``epochs.tmin`` may be negative).
    store_path : path-like
        Trial store folder to write.
    events_csv : path-like, optional
        Events table (see module docs); default: the recording's annotations.
    annotation_ids : mapping of str to int, optional
        Annotation description -> stimulus id, for non-integer descriptions.
    stimulus_ids : sequence of int, optional
        For epochs input: one id per epoch kept after MNE's ``drop_bad`` (default: the
        epochs' event codes).
    images_dir : path-like, optional
        Folder of ``<stimulus_id>.<ext>`` pictures.
    subject, session : int
        Stored with every trial.
    options : LoadOptions, optional
    placeholder_images : bool
        Grey image where no picture exists, instead of skipping the trial.

    Returns
    -------
    (Path, LoadReport)
    """
    import mne

    options = options or LoadOptions()
    pictures = Path(images_dir) if images_dir is not None else None
    report = LoadReport(dataset=DATASET)
    if isinstance(source, mne.BaseEpochs):
        if not source.preload:
            source.drop_bad(verbose="error")  # settles which epochs exist (MNE needs it for len())
        ids = list(stimulus_ids) if stimulus_ids is not None else [int(c) for c in source.events[:, 2]]
        batch = EpochsBatch(source, ids, [_image_in_dir(pictures, i) for i in ids], subject=subject,
                            session=session, label="epochs")
        path = write_epochs([batch], store_path, report, options=options, placeholder_images=placeholder_images)
        return path, report
    raw = source if isinstance(source, mne.io.BaseRaw) else mne.io.read_raw(source, preload=False, verbose="error")
    label = Path(raw.filenames[0]).name if raw.filenames and raw.filenames[0] else "raw"
    report.dataset = f"{DATASET} {label}"
    sfreq = float(raw.info["sfreq"])
    if events_csv is not None:
        onsets_s, ids, image_paths = read_events_csv(events_csv)
        samples = np.round(np.asarray(onsets_s) * sfreq).astype(np.int64) + raw.first_samp
        images = [_existing(p) or _image_in_dir(pictures, i) for p, i in zip(image_paths, ids, strict=True)]
        unmapped: list[str] = []
    else:
        onsets, ids, unmapped = [], [], []
        if len(raw.annotations):
            events, codes = mne.events_from_annotations(raw, verbose="error")  # BAD_/EDGE excluded
            description_of = {code: name for name, code in codes.items()}
            for sample, _, code in events:
                description = description_of[int(code)]
                if annotation_ids is not None and description in annotation_ids:
                    stimulus = int(annotation_ids[description])
                elif description.strip().lstrip("-").isdigit():
                    stimulus = int(description)
                else:
                    unmapped.append(description)
                    continue
                onsets.append(int(sample))
                ids.append(stimulus)
        samples = np.asarray(onsets, dtype=np.int64)
        images = [_image_in_dir(pictures, i) for i in ids]
    for description in unmapped:
        report.trials_read += 1
        report.skip(f"annotation {description!r}", "annotation is not a stimulus id (pass annotation_ids)")
    if len(samples) == 0:
        raise DataSetError(f"{label}: no stimulus events found; pass events_csv or annotation_ids")
    epochs, reasons = _epochs_from_raw(raw, samples, options)
    kept = [int(i) for i in epochs.selection]
    if pictures is None and events_csv is None and not placeholder_images:
        raise DataSetError("no pictures for the events: pass images_dir, an events_csv with image_path, or placeholder_images=True")
    batch = EpochsBatch(
        epochs, [ids[i] for i in kept], [images[i] for i in kept], subject=subject, session=session, label=label,
    )
    for i, why in reasons.items():
        report.trials_read += 1
        report.skip(f"{label} event {i} (stimulus {ids[i]})", why)
    path = write_epochs([batch], store_path, report, options=options, placeholder_images=placeholder_images,
                        extra={"source_file": label, "source_sfreq": sfreq})
    return path, report
