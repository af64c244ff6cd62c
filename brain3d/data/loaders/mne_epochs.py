"""Write MNE epochs (one batch per subject/recording) into one trial store.

Shared by the generic MNE loader and the EEG-3D loader. Epochs are read one at a time
(``epochs.get_data(item=i)``), so epochs files opened with ``preload=False`` are
streamed; each epoch is read twice (a first pass decides which trials are written,
since the store's size must be known before writing).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from brain3d.data.loaders.media import load_image, load_points, placeholder_image
from brain3d.data.loaders.report import DataSetError, LoadReport
from brain3d.data.loaders.window import EpochCutter, LoadOptions
from brain3d.data.montage_mapping import map_channels
from brain3d.data.store import TrialStoreWriter

if TYPE_CHECKING:
    import mne

logger = logging.getLogger(__name__)


@dataclass
class EpochsBatch:
    """Epochs of one recording plus what each epoch showed.

    Attributes
    ----------
    epochs : mne.BaseEpochs
        EEG epochs (volts, as MNE stores them); ``epochs.tmin`` may be negative.
    stimulus_ids : sequence of int
        One per epoch.
    image_paths : sequence of (Path or None)
        One per epoch; None = no picture (placeholder or skip).
    point_paths : sequence of (Path or None), optional
        One per epoch when the data set has 3D shapes.
    subject, session : int
    label : str
        Name used in skip reasons (e.g. the file name).
    """

    epochs: mne.BaseEpochs
    stimulus_ids: Sequence[int]
    image_paths: Sequence[Path | None]
    point_paths: Sequence[Path | None] | None = None
    subject: int = 0
    session: int = 0
    label: str = "epochs"
    skip_reasons: dict[int, str] = field(default_factory=dict)


def _epoch(epochs: mne.BaseEpochs, index: int, picks: list[int]) -> np.ndarray:
    """One epoch ``(n_eeg, n_times)`` in volts."""
    return epochs.get_data(item=[index], picks=picks, verbose="error")[0]


def write_epochs(
    batches: Sequence[EpochsBatch],
    store_path: str | os.PathLike[str],
    report: LoadReport,
    *,
    options: LoadOptions,
    n_points: int = 0,
    placeholder_images: bool = False,
    extra: dict[str, Any] | None = None,
) -> Path:
    """Convert epochs batches into one trial store (EEG in µV, cut at onset, resampled).

    Parameters
    ----------
    batches : sequence of EpochsBatch
    store_path : path-like
    report : LoadReport
        Filled in place.
    options : LoadOptions
    n_points : int
        Points per trial (0: no 3D); every written trial then needs a point cloud.
    placeholder_images : bool
        Grey image for epochs without a picture instead of skipping them.
    extra : dict, optional
        Stored in ``info.json``'s ``extra``.

    Returns
    -------
    Path
        The store folder.
    """
    plans = []
    first_time: float | None = None
    for batch in batches:
        epochs = batch.epochs
        if not epochs.preload:
            epochs.drop_bad(verbose="error")  # MNE needs this before len(); a no-op when done
        n = len(epochs)
        if len(batch.stimulus_ids) != n or len(batch.image_paths) != n or (
            batch.point_paths is not None and len(batch.point_paths) != n
        ):
            raise DataSetError(f"{batch.label}: {n} epochs but a different number of stimulus ids/images/points")
        picks = [int(i) for i in _eeg_picks(epochs)]
        names = [epochs.ch_names[i] for i in picks]
        mapping = map_channels(names, options.channels, missing=options.missing)
        cutter = EpochCutter(float(epochs.info["sfreq"]), float(epochs.tmin), len(epochs.times), options)
        report.add_channel_report(mapping.report())
        report.note(cutter.describe())
        first_time = cutter.first_time_s if first_time is None else first_time
        if abs(cutter.first_time_s - first_time) > 1e-9:
            raise DataSetError(f"{batch.label}: epochs start at another time than the first batch's; convert separately")
        keep = []
        for i in range(n):
            report.trials_read += 1
            label = f"{batch.label} epoch {i}"
            if i in batch.skip_reasons:
                report.skip(label, batch.skip_reasons[i])
            elif batch.image_paths[i] is None and not placeholder_images:
                report.skip(label, "no image file for this stimulus")
            elif n_points and (batch.point_paths is None or batch.point_paths[i] is None):
                report.skip(label, "no point cloud file for this object")
            elif not np.isfinite(_epoch(epochs, i, picks)).all():
                report.skip(label, "EEG holds NaN/Inf")
            else:
                keep.append(i)
        plans.append((batch, picks, mapping, cutter, keep))
    total = sum(len(plan[4]) for plan in plans)
    if total == 0:
        raise DataSetError(f"no {report.dataset} trial could be converted: {report.skip_reasons}")
    writer = TrialStoreWriter(
        store_path, total, channel_names=list(options.channels), sfreq=options.sfreq, n_times=options.n_times,
        image_size=options.image_size, n_points=n_points, provenance=report.dataset, simulated=False,
        tmin_s=first_time or 0.0, overwrite=options.overwrite, extra=extra,
    )
    images: dict[Path | None, np.ndarray] = {}
    clouds: dict[Path, np.ndarray] = {}
    with writer:
        for batch, picks, mapping, cutter, keep in plans:
            for i in keep:
                image_path = batch.image_paths[i]
                if image_path not in images:
                    if len(images) >= 512:
                        images.pop(next(iter(images)))
                    if image_path is None:
                        report.note("epochs without a picture stored with a grey placeholder image")
                        images[None] = placeholder_image(options.image_size)
                    else:
                        images[image_path] = load_image(image_path, options.image_size)
                points = None
                if n_points:
                    # kept epochs have a point-cloud path whenever n_points (checked above)
                    assert batch.point_paths is not None
                    cloud_path = batch.point_paths[i]
                    assert cloud_path is not None
                    if cloud_path not in clouds:
                        if len(clouds) >= 256:
                            clouds.pop(next(iter(clouds)))
                        clouds[cloud_path] = load_points(cloud_path, n_points)
                    points = clouds[cloud_path]
                eeg = (mapping.apply(cutter(_epoch(batch.epochs, i, picks))) * 1e6).astype(np.float32)
                writer.append(eeg, images[image_path], subject=batch.subject, session=batch.session,
                              stimulus_id=int(batch.stimulus_ids[i]), points=points)
    report.trials_written = writer.count
    report.store_path = Path(store_path)
    logger.info(report.summary())
    return report.store_path


def _eeg_picks(epochs: mne.BaseEpochs) -> np.ndarray:
    import mne

    picks = mne.pick_types(epochs.info, eeg=True, exclude=[])
    if len(picks) == 0:
        raise DataSetError("the recording has no channel of type EEG; set channel types (mne set_channel_types)")
    return picks
