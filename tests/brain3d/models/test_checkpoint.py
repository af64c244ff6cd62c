"""Checkpoints: safetensors round trip with config, mismatch and corruption errors."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from brain3d.errors import ModelLoadError
from brain3d.models import (
    Brain3D,
    Brain3DConfig,
    load_checkpoint,
    load_weights,
    read_checkpoint,
    save_checkpoint,
    state_dict_sha256,
)


@pytest.fixture
def checkpoint(tmp_path, model_factory):
    model = model_factory(Brain3DConfig.for_channels(32, n_times=256, image_size=128), seed=3)
    path = tmp_path / "model.safetensors"
    save_checkpoint(model, path, extra_metadata={"note": "test"})
    return model, path


def test_round_trip_restores_config_and_outputs(checkpoint):
    model, path = checkpoint
    loaded = load_checkpoint(path)
    assert loaded.config == model.config
    assert not loaded.training
    eeg = torch.randn(2, 32, 256)
    with torch.inference_mode():
        for a, b in zip(model(eeg), loaded(eeg), strict=True):
            torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_metadata_carries_config_hash_and_extras(checkpoint):
    model, path = checkpoint
    with safe_open(str(path), framework="pt") as handle:
        metadata = handle.metadata()
    assert Brain3DConfig.model_validate(json.loads(metadata["brain3d_config"])) == model.config
    assert metadata["weights_sha256"] == state_dict_sha256(model.state_dict())
    assert metadata["note"] == "test"


def test_loading_into_a_mismatched_architecture_names_the_tensors(checkpoint):
    _, path = checkpoint
    other = Brain3D(Brain3DConfig.for_channels(64, n_times=256, image_size=64))
    with pytest.raises(ModelLoadError) as info:
        load_weights(other, path)
    message = str(info.value)
    assert "encoder.spatial_attention.squeeze_excite.0.weight" in message  # 32 vs 64 channels
    assert "(8, 64)" in message and "(4, 32)" in message
    assert "decoder.upsample" in message  # 128 px has one more stage than 64 px


def test_missing_tensors_are_named(tmp_path, checkpoint):
    model, _ = checkpoint
    state = {k: v for k, v in model.state_dict().items() if not k.startswith("decoder.fc.2")}
    path = tmp_path / "partial.safetensors"
    save_file(state, str(path), metadata={"brain3d_config": model.config.model_dump_json()})
    with pytest.raises(ModelLoadError, match=r"missing from checkpoint: decoder\.fc\.2\.bias, decoder\.fc\.2\.weight"):
        load_checkpoint(path)


def test_truncated_file_is_a_clear_error(tmp_path, checkpoint):
    _, path = checkpoint
    broken = tmp_path / "truncated.safetensors"
    broken.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(ModelLoadError, match="corrupt or truncated"):
        load_checkpoint(broken)


def test_flipped_bytes_in_the_tensor_data_are_detected(tmp_path, checkpoint):
    _, path = checkpoint
    data = bytearray(path.read_bytes())
    data[-1000] ^= 0xFF  # inside the last tensor, header untouched
    broken = tmp_path / "bitrot.safetensors"
    broken.write_bytes(bytes(data))
    with pytest.raises(ModelLoadError, match="do not match the weights hash"):
        read_checkpoint(broken)


def test_non_safetensors_files_are_refused_without_unpickling(tmp_path):
    pickled = tmp_path / "model.pt"
    torch.save({"weight": torch.zeros(2)}, pickled)
    with pytest.raises(ModelLoadError, match="cannot be read as safetensors"):
        load_checkpoint(pickled)


def test_missing_file_says_how_to_get_one(tmp_path):
    with pytest.raises(ModelLoadError, match="brain3d train"):
        load_checkpoint(tmp_path / "absent.safetensors")


def test_checkpoint_without_config_is_refused(tmp_path):
    path = tmp_path / "bare.safetensors"
    save_file({"x": torch.zeros(1)}, str(path))
    with pytest.raises(ModelLoadError, match="no 'brain3d_config'"):
        load_checkpoint(path)


def test_hash_depends_on_values_names_and_shapes():
    base = {"a": torch.zeros(2, 2)}
    assert state_dict_sha256(base) == state_dict_sha256({"a": torch.zeros(2, 2)})
    assert state_dict_sha256(base) != state_dict_sha256({"a": torch.ones(2, 2)})
    assert state_dict_sha256(base) != state_dict_sha256({"b": torch.zeros(2, 2)})
    assert state_dict_sha256(base) != state_dict_sha256({"a": torch.zeros(4)})
    assert state_dict_sha256({"n": torch.tensor(3)})  # 0-d tensors hash too


def test_half_precision_storage_loads_into_a_float_model(tmp_path, model_factory):
    model = model_factory(seed=4)
    path = tmp_path / "half.safetensors"
    save_checkpoint(model, path, dtype=torch.float16)
    full = tmp_path / "full.safetensors"
    save_checkpoint(model, full)
    assert path.stat().st_size < 0.6 * full.stat().st_size
    loaded = load_checkpoint(path)
    assert next(loaded.parameters()).dtype == torch.float32
    assert loaded.encoder.conv[1].num_batches_tracked.dtype == torch.int64
    eeg = torch.randn(1, 64, 256)
    with torch.inference_mode():
        torch.testing.assert_close(loaded(eeg)[1], model(eeg)[1], atol=2e-2, rtol=0)


def test_training_data_is_what_the_checkpoint_says_never_an_assumption(tmp_path, model_factory):
    from brain3d.models import read_checkpoint, training_data, untrained_label, weights_label
    from brain3d.models.checkpoint import UNKNOWN_TRAINING_DATA

    path = tmp_path / "w.safetensors"
    save_checkpoint(model_factory(), path, {"data": "recorded EEG: lab-7 (1200 trials)"})
    assert training_data(read_checkpoint(path)[2]) == "recorded EEG: lab-7 (1200 trials)"
    assert weights_label(True, training_data(read_checkpoint(path)[2])) == "trained on recorded EEG: lab-7 (1200 trials)"
    save_checkpoint(model_factory(), path, {"train_store": "THINGS-EEG2"})  # older checkpoints: the store
    assert training_data(read_checkpoint(path)[2]) == "THINGS-EEG2"
    save_checkpoint(model_factory(), path)
    assert training_data(read_checkpoint(path)[2]) == UNKNOWN_TRAINING_DATA
    untrained = weights_label(False, untrained_label(3))
    assert untrained.startswith("UNTRAINED: random initialisation (seed 3)") and "meaningless" in untrained
