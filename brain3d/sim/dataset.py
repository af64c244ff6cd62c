"""SIMULATED visual-EEG data sets with known ground truth, written as trial stores.

Two stores per build, so that every evaluation question has its held-out part:

- ``train``: training subjects x trials, each trial one of ``n_train_stimuli`` scenes.
- ``test``: ``n_test_stimuli`` scenes never used in training, shown ``test_repetitions``
  times to every training subject (within-subject evaluation) and to held-out subjects
  (leave-subjects-out evaluation).

Stimulus ids are scene seeds, so any ground truth (image, description, point cloud,
meshes) can be regenerated from an id with :func:`brain3d.sim.scenes.generate_scene`.
Training scene seeds start at 0, test scene seeds at :data:`TEST_SEED_OFFSET`;
training subjects are numbered from 0, held-out subjects from
:data:`HELD_OUT_SUBJECT_OFFSET`. All of it is SIMULATED EEG, not recorded.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from brain3d.channels import STANDARD_64
from brain3d.data.store import StoreError, TrialStore, TrialStoreWriter
from brain3d.schema import Description
from brain3d.sim.eeg import DEFAULT_SNR_DB, SIMULATED_NOTE, simulate_trial
from brain3d.sim.scenes import generate_scene
from brain3d.sim.subject import SubjectParams

logger = logging.getLogger(__name__)

#: Bump when the simulator's output changes for the same seeds, so stale stores are rebuilt.
SIMULATOR_VERSION = "2"
TEST_SEED_OFFSET = 1_000_000
HELD_OUT_SUBJECT_OFFSET = 1000


class SimulatedDatasetSpec(BaseModel):
    """Size and difficulty of a simulated data set.

    Attributes
    ----------
    n_train_subjects, n_held_out_subjects : int
        Simulated subjects used for training / only for testing.
    n_train_stimuli, n_test_stimuli : int
        Distinct training scenes / held-out test scenes (50 for 50-way identification).
    trials_per_train_subject : int
        Training trials per training subject (scenes drawn with replacement).
    test_repetitions : int
        Presentations of each test scene per subject.
    snr_db : float
        Single-trial SNR in dB (see :mod:`brain3d.sim.eeg`).
    sfreq : float
        Rate of the stored trials, Hz (the model's rate).
    n_times : int
        Samples per trial from stimulus onset.
    image_size : int
        Stimulus image side, pixels.
    seed : int
        Seed of trial noise and scene draws.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    # 20 subjects x 1500 trials rather than 10 x 2400: for the same budget, more heads
    # generalise better to unseen subjects (held-out top-5 0.76 -> see weights/MODEL_CARD.md).
    n_train_subjects: int = Field(20, ge=1)
    n_held_out_subjects: int = Field(4, ge=0)
    n_train_stimuli: int = Field(3000, ge=1)
    n_test_stimuli: int = Field(50, ge=2)
    trials_per_train_subject: int = Field(1500, ge=1)
    test_repetitions: int = Field(4, ge=1)
    snr_db: float = DEFAULT_SNR_DB
    sfreq: float = Field(256.0, gt=0)
    n_times: int = Field(256, ge=1)
    image_size: int = 64
    seed: int = 0

    @property
    def train_subjects(self) -> list[int]:
        """Ids of the training subjects."""
        return list(range(self.n_train_subjects))

    @property
    def held_out_subjects(self) -> list[int]:
        """Ids of the subjects never seen in training."""
        return [HELD_OUT_SUBJECT_OFFSET + i for i in range(self.n_held_out_subjects)]

    @property
    def test_stimuli(self) -> list[int]:
        """Scene seeds of the held-out test scenes."""
        return [TEST_SEED_OFFSET + i for i in range(self.n_test_stimuli)]


@dataclass(frozen=True)
class _Job:
    subject: int
    stimuli: tuple[int, ...]
    noise_seed: int
    spec: SimulatedDatasetSpec


def _simulate_block(job: _Job) -> tuple[np.ndarray, np.ndarray, list[Description]]:
    """EEG (n, 64, T) float32 µV, images (n, H, W, 3) uint8 and descriptions of one block."""
    subject = SubjectParams.from_seed(job.subject)
    rng = np.random.default_rng(job.noise_seed)
    spec = job.spec
    eeg = np.empty((len(job.stimuli), len(STANDARD_64), spec.n_times), np.float32)
    images = np.empty((len(job.stimuli), spec.image_size, spec.image_size, 3), np.uint8)
    descriptions = []
    for row, seed in enumerate(job.stimuli):
        scene = generate_scene(seed, image_size=spec.image_size, n_points=16)
        eeg[row] = simulate_trial(scene, subject, rng, sfreq=spec.sfreq, n_samples=spec.n_times, snr_db=spec.snr_db)
        images[row] = scene.image
        descriptions.append(scene.description)
    return eeg, images, descriptions


def _jobs(spec: SimulatedDatasetSpec, part: str, block: int = 250) -> Iterator[_Job]:
    rng = np.random.default_rng([spec.seed, 0 if part == "train" else 1])
    if part == "train":
        for subject in spec.train_subjects:
            stimuli = rng.integers(0, spec.n_train_stimuli, spec.trials_per_train_subject)
            for start in range(0, len(stimuli), block):
                yield _Job(subject, tuple(int(s) for s in stimuli[start : start + block]), int(rng.integers(2**31)), spec)
    else:
        for subject in spec.train_subjects + spec.held_out_subjects:
            stimuli = np.repeat(spec.test_stimuli, spec.test_repetitions)
            rng.shuffle(stimuli)
            yield _Job(subject, tuple(int(s) for s in stimuli), int(rng.integers(2**31)), spec)


def _count(spec: SimulatedDatasetSpec, part: str) -> int:
    if part == "train":
        return spec.n_train_subjects * spec.trials_per_train_subject
    return (spec.n_train_subjects + spec.n_held_out_subjects) * spec.n_test_stimuli * spec.test_repetitions


def build_simulated_store(
    path: str | os.PathLike[str], spec: SimulatedDatasetSpec, part: str, *, workers: int = 2, overwrite: bool = False
) -> TrialStore:
    """Simulate one part (``"train"`` or ``"test"``) of a data set into a trial store.

    Parameters
    ----------
    path : path-like
        Store folder.
    spec : SimulatedDatasetSpec
        What to simulate.
    part : {"train", "test"}
        Which part.
    workers : int
        Processes simulating in parallel (1 = in this process).
    overwrite : bool
        Replace an existing store.

    Returns
    -------
    TrialStore
        The finished store, opened for reading.
    """
    if part not in ("train", "test"):
        raise ValueError(f"part must be 'train' or 'test', not {part!r}")
    writer = TrialStoreWriter(
        path, _count(spec, part), channel_names=list(STANDARD_64), sfreq=spec.sfreq, n_times=spec.n_times,
        image_size=spec.image_size, provenance=f"{SIMULATED_NOTE}; {part} part",
        simulated=True, extra={"spec": spec.model_dump(), "part": part, "simulator_version": SIMULATOR_VERSION},
        overwrite=overwrite,
    )
    jobs = list(_jobs(spec, part))
    executor = ProcessPoolExecutor(workers) if workers > 1 else None
    try:
        blocks = executor.map(_simulate_block, jobs) if executor else map(_simulate_block, jobs)
        for job, (eeg, images, descriptions) in zip(jobs, blocks, strict=True):
            for row, seed in enumerate(job.stimuli):
                writer.append(
                    eeg[row], images[row], subject=job.subject, stimulus_id=seed, description=descriptions[row]
                )
    finally:
        if executor is not None:
            executor.shutdown()
    writer.close()
    logger.info("simulated %s store: %d trials (SIMULATED EEG) in %s", part, writer.count, path)
    return TrialStore(path)


def ensure_simulated_dataset(
    root: str | os.PathLike[str], spec: SimulatedDatasetSpec, *, workers: int = 2
) -> tuple[TrialStore, TrialStore]:
    """The ``train`` and ``test`` stores of ``spec`` under ``root``, simulated if missing or different."""
    stores = []
    for part in ("train", "test"):
        path = Path(root) / part
        try:
            store = TrialStore(path)
            extra = store.info.extra
            if extra.get("spec") == spec.model_dump() and extra.get("simulator_version") == SIMULATOR_VERSION:
                stores.append(store)
                continue
        except StoreError as exc:
            logger.info("simulating %s store: %s", part, exc)
        stores.append(build_simulated_store(path, spec, part, workers=workers, overwrite=True))
    return stores[0], stores[1]


def build_subject_store(
    path: str | os.PathLike[str], spec: SimulatedDatasetSpec, subject: int, stimuli: list[int], *,
    noise_seed: int = 0, overwrite: bool = True,
) -> TrialStore:
    """One subject's trials on the given stimuli (e.g. calibration data for a new subject).

    Parameters
    ----------
    path : path-like
        Store folder.
    spec : SimulatedDatasetSpec
        SNR, rate, window and image size come from here.
    subject : int
        Simulated subject id (ids never used in training make a new subject).
    stimuli : list of int
        Scene seeds, one trial each, in order.
    noise_seed : int
        Seed of the trial noise.
    """
    writer = TrialStoreWriter(
        path, len(stimuli), channel_names=list(STANDARD_64), sfreq=spec.sfreq, n_times=spec.n_times,
        image_size=spec.image_size, provenance=f"{SIMULATED_NOTE}; subject {subject}", simulated=True,
        extra={"spec": spec.model_dump(), "subject": subject}, overwrite=overwrite,
    )
    eeg, images, descriptions = _simulate_block(_Job(subject, tuple(stimuli), noise_seed, spec))
    for row, seed in enumerate(stimuli):
        writer.append(eeg[row], images[row], subject=subject, stimulus_id=seed, description=descriptions[row])
    writer.close()
    return TrialStore(path)
