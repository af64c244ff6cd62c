"""Loaders: small fixtures written in each data set's published format, converted to stores."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from brain3d.channels import STANDARD_64
from brain3d.data import TrialStore
from brain3d.data.loaders import (
    TEST_ID_OFFSET,
    DataSetError,
    EpochCutter,
    LoadOptions,
    load_eeg3d,
    load_eegcvpr40,
    load_mne_recording,
    load_things_eeg2,
)
from brain3d.errors import ChannelError

POSTERIOR_17 = "P7 P5 P3 P1 Pz P2 P4 P6 P8 PO7 PO3 POz PO4 PO8 O1 Oz O2".split()
OPTS = LoadOptions(sfreq=256.0, n_times=128, image_size=16, n_points=32, missing="interpolate")


def _jpg(path, color=(200, 30, 30), size=(40, 30)):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, color).save(path)


def _dominant_hz(x, sfreq):
    spectrum = np.abs(np.fft.rfft(x - x.mean()))
    return np.fft.rfftfreq(len(x), 1 / sfreq)[np.argmax(spectrum)]


def _signals(names, times, rng):
    """[C, T]: Oz = ramp 1000*t (µV), Pz = 10 Hz sine, others noise."""
    data = rng.standard_normal((len(names), len(times)))
    data[names.index("Oz")] = 1000 * times
    data[names.index("Pz")] = np.sin(2 * np.pi * 10 * times)
    return data


# ----------------------------------------------------------------------- THINGS-EEG2
def _things(tmp_path, names, missing_image=True):
    sfreq, times = 100.0, np.round(np.arange(-20, 80) / 100.0, 6)  # -0.2..0.79 s at 100 Hz
    rng = np.random.default_rng(0)
    eeg_root, image_root = tmp_path / "eeg", tmp_path / "image_set"
    meta = {"train_img_files": [], "train_img_concepts": [], "test_img_files": [], "test_img_concepts": []}
    for split, n_img, folder in (("train", 3, "training_images"), ("test", 2, "test_images")):
        for i in range(n_img):
            concept, file = f"{i + 1:05d}_thing{i}", f"thing{i}_{split}.jpg"
            meta[f"{split}_img_files"].append(file)
            meta[f"{split}_img_concepts"].append(concept)
            if not (missing_image and split == "train" and i == 2):
                _jpg(image_root / folder / concept / file, color=(10 * i, 100, 200))
    np.save(image_root / "image_metadata.npy", meta, allow_pickle=True)
    for split, n_img in (("training", 3), ("test", 2)):
        data = np.stack([[_signals(names, times, rng) for _ in range(2)] for _ in range(n_img)]).astype(np.float32)
        content = {"preprocessed_eeg_data": data, "ch_names": list(names), "times": times}
        (eeg_root / "sub-01").mkdir(parents=True, exist_ok=True)
        np.save(eeg_root / "sub-01" / f"preprocessed_eeg_{split}.npy", content, allow_pickle=True)
    return eeg_root, image_root, sfreq


def test_things_eeg2_63_channels_interpolated(tmp_path):
    names = [c for c in STANDARD_64 if c != "Iz"]
    eeg_root, image_root, _ = _things(tmp_path, names)
    path, report = load_things_eeg2(eeg_root, image_root, tmp_path / "store", options=OPTS)
    store = TrialStore(path)
    # 3 train images x 2 reps + 2 test x 2 reps, minus train image 2 (missing file): 8 trials
    assert report.trials_read == 10 and report.trials_written == 8 == len(store)
    assert list(report.skip_reasons.values()) == [2] and "image file missing" in next(iter(report.skip_reasons))
    assert store.eeg.shape == (8, 64, 128) and store.images.shape == (8, 16, 16, 3)
    assert store.info.sfreq == 256.0 and store.info.tmin_s == pytest.approx(0.0)
    assert list(store.stimulus_ids) == [0, 0, 1, 1, TEST_ID_OFFSET, TEST_ID_OFFSET, TEST_ID_OFFSET + 1, TEST_ID_OFFSET + 1]
    assert "Iz" in report.channel_report and "interpolated" in report.channel_report
    # onset alignment: Oz is a ramp 1000*t µV, so stored sample k must read 1000*k/256
    oz = store.eeg[0, STANDARD_64.index("Oz")]
    expected = 1000 * np.arange(128) / 256
    assert np.allclose(oz[2:120], expected[2:120], atol=2.0)
    assert _dominant_hz(store.eeg[0, STANDARD_64.index("Pz")], 256.0) == pytest.approx(10, abs=2.1)
    assert store.description(0) is None and store.points is None
    assert np.allclose(store.images[0, 8, 8], (0, 100, 200), atol=6)  # resized JPEG, right colour


def test_things_eeg2_17_channels_zero_filled_and_averaged(tmp_path):
    eeg_root, image_root, _ = _things(tmp_path, POSTERIOR_17, missing_image=False)
    opts = LoadOptions(n_times=128, image_size=16, missing="zero")
    path, report = load_things_eeg2(eeg_root, image_root, tmp_path / "s", options=opts, average_repetitions=True,
                                    splits=("test",))
    store = TrialStore(path)
    assert store.eeg.shape == (2, 64, 128) and not report.skipped
    assert np.all(store.eeg[:, STANDARD_64.index("Fp1")] == 0)
    with pytest.raises(ChannelError, match="channels.missing"):
        load_things_eeg2(eeg_root, image_root, tmp_path / "s2", options=LoadOptions(n_times=128, image_size=16))


def test_things_window_longer_than_epoch_is_explained(tmp_path):
    eeg_root, image_root, _ = _things(tmp_path, POSTERIOR_17, missing_image=False)
    with pytest.raises(DataSetError, match=r"n_times <= 204"):
        load_things_eeg2(eeg_root, image_root, tmp_path / "s", options=LoadOptions(n_times=256, missing="zero"))


def test_things_refuses_arbitrary_pickled_objects(tmp_path):
    eeg_root, image_root, _ = _things(tmp_path, POSTERIOR_17, missing_image=False)
    np.save(eeg_root / "sub-01" / "preprocessed_eeg_test.npy", {"preprocessed_eeg_data": _Evil()}, allow_pickle=True)
    with pytest.raises(DataSetError, match="refusing to unpickle"):
        load_things_eeg2(eeg_root, image_root, tmp_path / "s", options=OPTS, splits=("test",))


class _Evil:
    def __reduce__(self):
        return (print, ("this must never run",))


# ------------------------------------------------------------------------- EEGCVPR40
def _cvpr(tmp_path, evil=False):
    torch = pytest.importorskip("torch")
    times = np.arange(500) / 1000.0
    names = list(STANDARD_64) + [f"X{i}" for i in range(64)]
    rng = np.random.default_rng(1)
    records = [
        {"eeg": torch.tensor(_signals(names, times, rng), dtype=torch.float32), "image": k % 3, "label": 0, "subject": 1 + k % 2}
        for k in range(4)
    ]
    images = ["n02951358_1", "n02951358_2", "n03452741_7"]
    for name in images[:2]:
        _jpg(tmp_path / "imgs" / name.split("_")[0] / f"{name}.JPEG", size=(50, 40))
    content = {"dataset": records, "labels": ["n02951358", "n03452741"], "images": images}
    if evil:
        content["dataset"].append(_Evil())
    torch.save(content, tmp_path / "eeg_test.pth")
    return tmp_path / "eeg_test.pth", names


def test_eegcvpr40_weights_only_with_names(tmp_path):
    pth, names = _cvpr(tmp_path)
    path, report = load_eegcvpr40(pth, tmp_path / "s", images_dir=tmp_path / "imgs", channel_names=names,
                                  options=LoadOptions(n_times=100, image_size=16))
    store = TrialStore(path)
    assert report.trials_read == 4 and report.trials_written == 3  # image index 2 has no file
    assert "image file missing" in next(iter(report.skip_reasons))
    assert store.eeg.shape == (3, 64, 100) and list(store.stimulus_ids) == [0, 1, 0]
    assert list(store.subjects) == [1, 2, 2]
    assert _dominant_hz(store.eeg[0, STANDARD_64.index("Pz")], 256.0) == pytest.approx(10, abs=2.6)
    assert np.allclose(store.eeg[0, STANDARD_64.index("Oz"), 2:90], 1000 * np.arange(2, 90) / 256, atol=2.0)
    assert "64 source channels dropped" in report.channel_report


def test_eegcvpr40_default_names_and_placeholders(tmp_path):
    pth, _ = _cvpr(tmp_path)
    with pytest.raises(ChannelError, match="matches a model channel"):
        load_eegcvpr40(pth, tmp_path / "s", options=LoadOptions(n_times=100, image_size=16, missing="zero"),
                       placeholder_images=True)
    names = ["Oz", "Pz"] + [f"E{i}" for i in range(126)]
    path, report = load_eegcvpr40(pth, tmp_path / "s", channel_names=names, placeholder_images=True,
                                  options=LoadOptions(n_times=100, image_size=16, missing="zero"))
    assert report.trials_written == 4 and np.all(TrialStore(path).images == 128)
    assert "62 zero-filled" in report.channel_report


def test_eegcvpr40_refuses_arbitrary_objects(tmp_path):
    pth, _ = _cvpr(tmp_path, evil=True)
    with pytest.raises(DataSetError, match="refusing to load"):
        load_eegcvpr40(pth, tmp_path / "s")


# ---------------------------------------------------------------------------- EEG-3D
def test_eeg3d_epochs_and_point_clouds(tmp_path):
    mne = pytest.importorskip("mne")
    trimesh = pytest.importorskip("trimesh")
    sub = tmp_path / "sub-01"
    sub.mkdir()
    times = np.arange(-50, 200) / 250.0  # -0.2..0.796 s at 250 Hz
    rng = np.random.default_rng(2)
    data = np.stack([_signals(list(STANDARD_64), times, rng) for _ in range(4)]) * 1e-6  # volts
    info = mne.create_info(list(STANDARD_64), 250.0, "eeg")
    mne.EpochsArray(data, info, tmin=-0.2, verbose="error").save(sub / "sub-01_epo.fif", verbose="error")
    (sub / "sub-01_events.csv").write_text("object_id\nchair\nmug\nchair\nlamp\n")
    (tmp_path / "objects").mkdir()
    cloud = trimesh.PointCloud(rng.random((50, 3)), colors=np.tile([255, 0, 0, 255], (50, 1)).astype(np.uint8))
    cloud.export(tmp_path / "objects" / "chair.ply")
    np.save(tmp_path / "objects" / "mug.npy", rng.random((10, 3)))
    for obj in ("chair", "mug", "lamp"):
        _jpg(tmp_path / "images" / f"{obj}.png")
    path, report = load_eeg3d(tmp_path, tmp_path / "s", options=OPTS)
    store = TrialStore(path)
    assert report.trials_written == 3 and "no point cloud" in next(iter(report.skip_reasons))
    assert store.points.shape == (3, 32, 6) and store.eeg.shape == (3, 64, 128)
    assert np.allclose(store.points[0, :, 3:], [1, 0, 0])  # red chair
    assert np.allclose(store.points[1, :, 3:], 0.5)  # uncoloured mug is grey
    assert list(store.stimulus_ids) == [0, 2, 0] and store.info.extra["object_ids"] == ["chair", "lamp", "mug"]
    assert np.allclose(store.eeg[0, STANDARD_64.index("Oz"), 2:120], 1000 * np.arange(2, 120) / 256, atol=2.0)


# ----------------------------------------------------------------------- generic MNE
def _raw(names, sfreq=250.0, seconds=6.0):
    import mne

    times = np.arange(int(seconds * sfreq)) / sfreq
    data = _signals(list(STANDARD_64), times % 1.0, np.random.default_rng(3)) * 1e-6  # names in STANDARD_64 order
    data[STANDARD_64.index("Pz")] = np.sin(2 * np.pi * 10 * times) * 1e-6
    raw = mne.io.RawArray(data, mne.create_info(names, sfreq, "eeg"), verbose="error")
    raw.set_annotations(mne.Annotations([1.0, 2.0, 3.0, 5.5], [0.1] * 4, ["1", "2", "T0", "1"]))
    return raw


def test_generic_fif_with_annotations_physionet_names(tmp_path):
    pytest.importorskip("mne")
    names = [n.capitalize() + "." * max(1, 4 - len(n)) for n in STANDARD_64]  # "Fc5.", "Fp1."
    _raw(names).save(tmp_path / "rec_raw.fif", verbose="error")
    for i in (1, 2):
        _jpg(tmp_path / "pics" / f"{i}.png")
    path, report = load_mne_recording(tmp_path / "rec_raw.fif", tmp_path / "s", images_dir=tmp_path / "pics",
                                      options=LoadOptions(n_times=128, image_size=16), subject=7)
    store = TrialStore(path)
    assert list(store.stimulus_ids) == [1, 2] and list(store.subjects) == [7, 7]
    reasons = " ".join(report.skip_reasons)
    assert "T0" in str(report.skipped) and "outside the recording" in reasons  # event at 5.5 s runs past the end
    assert "64 of 64" in report.channel_report
    # the ramp restarts at each whole second (a jump at onset rings for a few samples)
    assert np.allclose(store.eeg[0, STANDARD_64.index("Oz"), 20:120], 1000 * np.arange(20, 120) / 256, atol=2.0)
    assert _dominant_hz(store.eeg[1, STANDARD_64.index("Pz")], 256.0) == pytest.approx(10, abs=2.1)


def test_generic_csv_events_and_epochs_object(tmp_path):
    mne = pytest.importorskip("mne")
    raw = _raw(list(STANDARD_64), sfreq=1000.0, seconds=6.0)
    _jpg(tmp_path / "a.jpg")
    (tmp_path / "events.csv").write_text("onset_s,stimulus_id,image_path\n1.0,5,a.jpg\n2.0,6,missing.jpg\n")
    path, report = load_mne_recording(raw, tmp_path / "s", events_csv=tmp_path / "events.csv",
                                      options=LoadOptions(n_times=64, image_size=16))
    assert list(TrialStore(path).stimulus_ids) == [5] and "no image file" in str(report.skipped)
    epochs = mne.Epochs(raw, np.array([[1000, 0, 3], [2000, 0, 4]]), tmin=-0.1, tmax=0.5, baseline=None, verbose="error")
    path, report = load_mne_recording(epochs, tmp_path / "e", placeholder_images=True,
                                      options=LoadOptions(n_times=64, image_size=16))
    store = TrialStore(path)
    assert list(store.stimulus_ids) == [3, 4] and np.all(store.images == 128)
    assert np.allclose(store.eeg[0, STANDARD_64.index("Oz"), 20:60], 1000 * np.arange(20, 60) / 256, atol=2.0)


def test_generic_edf_export(tmp_path):
    pytest.importorskip("edfio", reason="mne.export to EDF needs the optional 'edfio' package, not installed")
    mne = pytest.importorskip("mne")
    raw = _raw([n.upper() for n in STANDARD_64])
    mne.export.export_raw(tmp_path / "rec.edf", raw, fmt="edf", verbose="error")
    path, _ = load_mne_recording(tmp_path / "rec.edf", tmp_path / "s", placeholder_images=True,
                                 options=LoadOptions(n_times=128, image_size=16))
    assert list(TrialStore(path).stimulus_ids) == [1, 2]


# ----------------------------------------------------------------------------- cutter
@pytest.mark.parametrize("src", [100.0, 250.0, 1000.0])
def test_cutter_keeps_frequency_and_onset(src):
    times = np.arange(int(-0.2 * src), int(1.5 * src)) / src
    x = np.stack([np.sin(2 * np.pi * 7 * times), 1000 * times])
    cutter = EpochCutter(src, float(times[0]), len(times), LoadOptions(n_times=256))
    y = cutter(x)
    assert y.shape == (2, 256)
    assert _dominant_hz(y[0], 256.0) == pytest.approx(7, abs=1.01)
    assert np.allclose(y[1, 2:250], 1000 * np.arange(2, 250) / 256, atol=2.0)
