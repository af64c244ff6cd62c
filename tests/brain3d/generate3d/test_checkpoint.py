from __future__ import annotations

import pytest
import torch
from safetensors.torch import load_file, save_file

from brain3d.errors import ModelLoadError
from brain3d.generate3d.checkpoint import read_denoiser, save_denoiser


def test_round_trip_restores_config_weights_and_extras(tmp_path, tiny_model) -> None:
    path = tmp_path / "g.safetensors"
    digest = save_denoiser(tiny_model, path, {"note": "x"}, {"opt.a": torch.ones(2)})
    model, metadata, extra = read_denoiser(path)
    assert model.config == tiny_model.config and metadata["weights_sha256"] == digest and metadata["note"] == "x"
    for (name, a), b in zip(tiny_model.state_dict().items(), model.state_dict().values(), strict=True):
        torch.testing.assert_close(a, b, msg=name)
    torch.testing.assert_close(extra["opt.a"], torch.ones(2))


def test_missing_truncated_foreign_and_tampered_files_are_clear_errors(tmp_path, tiny_model) -> None:
    with pytest.raises(ModelLoadError, match="brain3d train --stage generator3d"):
        read_denoiser(tmp_path / "none.safetensors")
    path = tmp_path / "g.safetensors"
    save_denoiser(tiny_model, path)
    truncated = tmp_path / "t.safetensors"
    truncated.write_bytes(path.read_bytes()[:200])
    with pytest.raises(ModelLoadError, match="corrupt or truncated"):
        read_denoiser(truncated)
    foreign = tmp_path / "f.safetensors"
    save_file({"w": torch.ones(1)}, str(foreign))
    with pytest.raises(ModelLoadError, match="not a 3D diffusion checkpoint"):
        read_denoiser(foreign)
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as handle:
        metadata = handle.metadata()
    state = load_file(str(path))
    state["point_in.weight"] = state["point_in.weight"] + 1
    tampered = tmp_path / "x.safetensors"
    save_file(state, str(tampered), metadata=metadata)
    with pytest.raises(ModelLoadError, match="do not match the hash"):
        read_denoiser(tampered)
