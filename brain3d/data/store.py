"""The one on-disk format for trials, read by memory mapping (never all into RAM).

A trial store is a folder::

    info.json            channel names, sfreq (Hz), samples, units, image size, points,
                         provenance (simulated or which data set), counts, complete flag
    eeg.npy              float32 [N, C, T], microvolts, as recorded (not normalised)
    images.npy           uint8   [N, H, W, 3], the stimulus image
    points.npy           float32 [N, P, 6], xyz (metres) + rgb (0..1); absent if no 3D
    subjects.npy         int32   [N]
    sessions.npy         int32   [N]
    stimulus_ids.npy     int64   [N], which stimulus was shown (same id = same image)
    descriptions.jsonl   one :class:`~brain3d.schema.Description` JSON (or ``null``) per line

Arrays are ``.npy`` files, opened with ``np.load(mmap_mode="r")``; the writer fills
preallocated memory maps, so neither side holds the data set in memory.
``info.json`` is written last with ``"complete": true``; a store whose writer died
is refused with a clear message.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from brain3d.errors import Brain3DError
from brain3d.schema import Description

logger = logging.getLogger(__name__)

STORE_FORMAT_VERSION = "1"


class StoreError(Brain3DError):
    """A trial store is missing, incomplete or inconsistent."""


class StoreInfo(BaseModel):
    """``info.json`` of a trial store.

    Attributes
    ----------
    channel_names : list of str
        EEG channels in array order.
    sfreq : float
        Sampling rate of ``eeg.npy`` in Hz.
    n_times : int
        Samples per trial.
    image_size : int
        Side of the stored images in pixels.
    n_points : int
        Points per cloud (0 when the store has no 3D ground truth).
    n_trials : int
        Trials written.
    provenance : str
        Where the trials come from; simulated stores say ``SIMULATED``.
    simulated : bool
        True for simulator output (never recorded EEG).
    tmin_s : float
        Time of the first sample relative to stimulus onset, seconds.
    """

    model_config = ConfigDict(extra="forbid")

    format_version: str = STORE_FORMAT_VERSION
    channel_names: list[str]
    sfreq: float = Field(gt=0)
    n_times: int = Field(ge=1)
    units: str = "uV"
    image_size: int = Field(ge=1)
    n_points: int = Field(0, ge=0)
    n_trials: int = Field(0, ge=0)
    provenance: str
    simulated: bool
    tmin_s: float = 0.0
    complete: bool = False
    extra: dict[str, Any] = Field(default_factory=dict)

    @property
    def data_label(self) -> str:
        """What these trials are, for the checkpoints trained on them (says SIMULATED or recorded)."""
        if self.simulated:
            return self.provenance if "SIMULATED" in self.provenance.upper() else f"SIMULATED EEG: {self.provenance}"
        return f"recorded EEG: {self.provenance} ({self.n_trials} trials)"


@dataclass(frozen=True)
class Trial:
    """One trial read from a store.

    Attributes
    ----------
    eeg : np.ndarray
        (C, T) float32 microvolts.
    image : np.ndarray
        (H, W, 3) uint8.
    points : np.ndarray or None
        (P, 6) float32 xyz + rgb.
    subject, session : int
    stimulus_id : int
    description : Description or None
    """

    eeg: np.ndarray
    image: np.ndarray
    points: np.ndarray | None
    subject: int
    session: int
    stimulus_id: int
    description: Description | None


class TrialStoreWriter:
    """Write a trial store of a known size, trial by trial or in blocks.

    Parameters
    ----------
    path : path-like
        Folder to create (must not hold a store already unless ``overwrite``).
    n_trials : int
        Capacity; ``close`` fails unless exactly this many trials were written.
    channel_names : list of str
    sfreq : float
        Hz.
    n_times : int
        Samples per trial.
    image_size : int
        Pixels.
    n_points : int
        Points per cloud, 0 for none.
    provenance : str
        Where the data come from (data set name, or ``SIMULATED ...``).
    simulated : bool
        True for simulator output.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        n_trials: int,
        *,
        channel_names: list[str],
        sfreq: float,
        n_times: int,
        image_size: int,
        n_points: int = 0,
        provenance: str,
        simulated: bool,
        tmin_s: float = 0.0,
        extra: dict[str, Any] | None = None,
        overwrite: bool = False,
    ) -> None:
        self.path = Path(path)
        if (self.path / "info.json").exists() and not overwrite:
            raise StoreError(f"{self.path} already holds a trial store; pass overwrite=True or choose another folder")
        self.path.mkdir(parents=True, exist_ok=True)
        (self.path / "info.json").unlink(missing_ok=True)
        self.info = StoreInfo(
            channel_names=list(channel_names), sfreq=sfreq, n_times=n_times, image_size=image_size,
            n_points=n_points, provenance=provenance, simulated=simulated, tmin_s=tmin_s, extra=extra or {},
        )
        self.capacity = n_trials
        c, t = len(channel_names), n_times
        self._arrays: dict[str, np.memmap] = {
            "eeg": self._open("eeg", (n_trials, c, t), np.float32),
            "images": self._open("images", (n_trials, image_size, image_size, 3), np.uint8),
            "subjects": self._open("subjects", (n_trials,), np.int32),
            "sessions": self._open("sessions", (n_trials,), np.int32),
            "stimulus_ids": self._open("stimulus_ids", (n_trials,), np.int64),
        }
        if n_points:
            self._arrays["points"] = self._open("points", (n_trials, n_points, 6), np.float32)
        else:
            (self.path / "points.npy").unlink(missing_ok=True)
        self._descriptions = open(self.path / "descriptions.jsonl", "w", encoding="utf-8")
        self.count = 0

    def _open(self, name: str, shape: tuple[int, ...], dtype: type) -> np.memmap:
        return np.lib.format.open_memmap(self.path / f"{name}.npy", mode="w+", dtype=dtype, shape=shape)

    def append(
        self,
        eeg: np.ndarray,
        image: np.ndarray,
        *,
        subject: int,
        stimulus_id: int,
        session: int = 0,
        points: np.ndarray | None = None,
        description: Description | None = None,
    ) -> None:
        """Add one trial (shapes as in :class:`Trial`)."""
        if self.count >= self.capacity:
            raise StoreError(f"{self.path}: capacity of {self.capacity} trials exceeded")
        expected = (len(self.info.channel_names), self.info.n_times)
        if eeg.shape != expected:
            raise StoreError(f"trial EEG has shape {eeg.shape}, store expects {expected}")
        if not np.isfinite(eeg).all():
            raise StoreError(f"trial {self.count} has NaN/Inf EEG; clean or drop it before storing")
        size = self.info.image_size
        if image.shape != (size, size, 3) or image.dtype != np.uint8:
            raise StoreError(f"trial image must be uint8 ({size}, {size}, 3), got {image.dtype} {image.shape}")
        i = self.count
        self._arrays["eeg"][i] = eeg
        self._arrays["images"][i] = image
        self._arrays["subjects"][i] = subject
        self._arrays["sessions"][i] = session
        self._arrays["stimulus_ids"][i] = stimulus_id
        if "points" in self._arrays:
            if points is None or points.shape != (self.info.n_points, 6):
                raise StoreError(f"store expects points of shape ({self.info.n_points}, 6) per trial")
            self._arrays["points"][i] = points
        self._descriptions.write((description.model_dump_json() if description else "null") + "\n")
        self.count += 1

    def close(self) -> Path:
        """Flush the arrays and write ``info.json`` (marks the store complete)."""
        if self.count != self.capacity:
            raise StoreError(f"{self.path}: {self.count} of {self.capacity} trials written; store left incomplete")
        for array in self._arrays.values():
            array.flush()
        self._arrays.clear()
        self._descriptions.close()
        info = self.info.model_copy(update={"n_trials": self.count, "complete": True})
        tmp = self.path / "info.json.tmp"
        tmp.write_text(info.model_dump_json(indent=2))
        os.replace(tmp, self.path / "info.json")
        logger.info("wrote %d trials to %s", self.count, self.path)
        return self.path

    def __enter__(self) -> TrialStoreWriter:
        return self

    def __exit__(self, exc_type: object, *_: object) -> None:
        if exc_type is None:
            self.close()
        else:
            self._descriptions.close()


class TrialStore:
    """Read a trial store through memory maps.

    Parameters
    ----------
    path : path-like
        Store folder.

    Attributes
    ----------
    info : StoreInfo
    eeg, images, points, subjects, sessions, stimulus_ids : np.ndarray
        Read-only memory maps (``points`` is None without 3D ground truth).
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        info_path = self.path / "info.json"
        if not info_path.is_file():
            hint = "its writer did not finish; rebuild it" if (self.path / "eeg.npy").exists() else "build one first"
            raise StoreError(f"{self.path} is not a complete trial store (no info.json): {hint}")
        self.info = StoreInfo.model_validate_json(info_path.read_text())
        if not self.info.complete:
            raise StoreError(f"{self.path} is marked incomplete; rebuild it")
        self.eeg = self._load("eeg")
        self.images = self._load("images")
        self.subjects = self._load("subjects")
        self.sessions = self._load("sessions")
        self.stimulus_ids = self._load("stimulus_ids")
        self.points = self._load("points") if self.info.n_points else None
        n = self.info.n_trials
        for name in ("eeg", "images", "subjects", "sessions", "stimulus_ids"):
            if len(getattr(self, name)) != n:
                raise StoreError(f"{self.path}/{name}.npy has {len(getattr(self, name))} rows, info.json says {n}")
        self._description_offsets = self._index_descriptions()

    def _load(self, name: str) -> np.ndarray:
        file = self.path / f"{name}.npy"
        if not file.is_file():
            raise StoreError(f"{file} is missing; the store is damaged, rebuild it")
        try:
            return np.load(file, mmap_mode="r", allow_pickle=False)
        except ValueError as exc:
            raise StoreError(f"{file} is not a readable array ({exc}); rebuild the store") from exc

    def _index_descriptions(self) -> np.ndarray:
        offsets = [0]
        with open(self.path / "descriptions.jsonl", "rb") as handle:
            for line in handle:
                offsets.append(offsets[-1] + len(line))
        if len(offsets) - 1 != self.info.n_trials:
            raise StoreError(f"{self.path}/descriptions.jsonl has {len(offsets) - 1} lines, expected {self.info.n_trials}")
        return np.asarray(offsets, dtype=np.int64)

    def __len__(self) -> int:
        return self.info.n_trials

    def description(self, index: int) -> Description | None:
        """The description of trial ``index`` (read from disk on demand)."""
        start, stop = self._description_offsets[index], self._description_offsets[index + 1]
        with open(self.path / "descriptions.jsonl", "rb") as handle:
            handle.seek(int(start))
            raw = handle.read(int(stop - start))
        data = json.loads(raw)
        return None if data is None else Description.model_validate(data)

    def __getitem__(self, index: int) -> Trial:
        return Trial(
            eeg=np.asarray(self.eeg[index]),
            image=np.asarray(self.images[index]),
            points=None if self.points is None else np.asarray(self.points[index]),
            subject=int(self.subjects[index]),
            session=int(self.sessions[index]),
            stimulus_id=int(self.stimulus_ids[index]),
            description=self.description(index),
        )

    def indices_for_subjects(self, subjects: list[int] | set[int]) -> np.ndarray:
        """Trial indices whose subject is in ``subjects``."""
        return np.flatnonzero(np.isin(np.asarray(self.subjects), list(subjects)))
