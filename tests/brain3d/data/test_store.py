"""The trial store: round trip through memory maps, incomplete and damaged stores."""

from __future__ import annotations

import numpy as np
import pytest

from brain3d.data import StoreError, TrialStore, TrialStoreWriter
from brain3d.sim.scenes import generate_scene


def _write(path, n=4, n_points=16, finish=True):
    writer = TrialStoreWriter(
        path, n, channel_names=["O1", "O2", "Oz"], sfreq=256.0, n_times=32, image_size=64,
        n_points=n_points, provenance="test", simulated=True,
    )
    rng = np.random.default_rng(0)
    for i in range(n):
        scene = generate_scene(i, n_points=max(n_points, 1))
        points = np.concatenate([scene.points, scene.colors], axis=1)[:n_points] if n_points else None
        writer.append(
            rng.standard_normal((3, 32)).astype(np.float32), scene.image, subject=i % 2, session=0,
            stimulus_id=100 + i, points=points, description=scene.description,
        )
    if finish:
        writer.close()
    return writer


def test_round_trip_through_memory_maps(tmp_path):
    _write(tmp_path / "s")
    store = TrialStore(tmp_path / "s")
    assert len(store) == 4
    assert isinstance(store.eeg, np.memmap)
    trial = store[2]
    assert trial.eeg.shape == (3, 32) and trial.image.shape == (64, 64, 3)
    assert trial.points.shape == (16, 6)
    assert trial.stimulus_id == 102 and trial.subject == 0
    assert trial.description == generate_scene(2).description
    assert list(store.indices_for_subjects({1})) == [1, 3]


def test_store_without_points(tmp_path):
    _write(tmp_path / "s", n_points=0)
    store = TrialStore(tmp_path / "s")
    assert store.points is None and store[0].points is None


def test_unfinished_store_is_refused(tmp_path):
    writer = _write(tmp_path / "s", finish=False)
    with pytest.raises(StoreError, match="writer did not finish"):
        TrialStore(tmp_path / "s")
    writer.capacity = 6  # pretend two trials are still owed
    with pytest.raises(StoreError, match="4 of 6 trials written"):
        writer.close()


def test_bad_trials_are_refused(tmp_path):
    writer = TrialStoreWriter(
        tmp_path / "s", 1, channel_names=["Cz"], sfreq=100.0, n_times=8, image_size=64,
        provenance="test", simulated=False,
    )
    image = np.zeros((64, 64, 3), np.uint8)
    with pytest.raises(StoreError, match="shape"):
        writer.append(np.zeros((2, 8), np.float32), image, subject=0, stimulus_id=0)
    with pytest.raises(StoreError, match="NaN"):
        writer.append(np.full((1, 8), np.nan, np.float32), image, subject=0, stimulus_id=0)


def test_existing_store_is_not_overwritten_by_accident(tmp_path):
    _write(tmp_path / "s")
    with pytest.raises(StoreError, match="already holds"):
        _write(tmp_path / "s")


def test_damaged_store_is_explained(tmp_path):
    _write(tmp_path / "s")
    (tmp_path / "s" / "images.npy").unlink()
    with pytest.raises(StoreError, match="images.npy is missing"):
        TrialStore(tmp_path / "s")
