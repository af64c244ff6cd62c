"""The grounded backend: loading, honest labelling, never raising, the shipped weights."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from brain3d.config import load_config
from brain3d.describe import GROUNDED_SOURCE, build_describer
from brain3d.describe.grounded import GroundedDescriber, load_head
from brain3d.errors import ModelLoadError
from brain3d.schema import Description

SHIPPED = Path(__file__).resolve().parents[3] / "weights" / "describer-grounded.safetensors"


def test_build_describer_loads_the_configured_weights(tiny_head_path: Path) -> None:
    config = load_config(overrides=[f"describer.weights={tiny_head_path}"])
    describer = build_describer(config)
    desc, problems = describer.describe_with_problems(np.zeros((64, 64, 3), np.uint8), np.zeros(512, np.float32))
    assert isinstance(desc, Description) and problems == []
    assert desc.source == GROUNDED_SOURCE and "not a language model" in desc.source
    assert desc.timing_ms is not None and desc.timing_ms >= 0
    describer.close()


def test_missing_weights_name_the_fix(tmp_path: Path) -> None:
    config = load_config(overrides=[f"describer.weights={tmp_path / 'none.safetensors'}"])
    with pytest.raises(ModelLoadError, match="--stage describer --ship"):
        build_describer(config)


def test_corrupt_weights_are_refused(tiny_head_path: Path) -> None:
    data = bytearray(tiny_head_path.read_bytes())
    data[-20:] = b"\x00" * 20  # flip tensor bytes: the stored hash no longer matches
    tiny_head_path.write_bytes(bytes(data))
    with pytest.raises(ModelLoadError, match="corrupt"):
        load_head(tiny_head_path)
    tiny_head_path.write_bytes(b"not safetensors")
    with pytest.raises(ModelLoadError):
        load_head(tiny_head_path)


@pytest.mark.parametrize("image, latent", [
    (np.zeros((64, 64), np.uint8), None),
    (np.zeros((64, 64, 3), np.float32), None),
    (np.zeros((64, 64, 3), np.uint8), np.full(512, np.nan, np.float32)),
    (np.zeros((64, 64, 3), np.uint8), np.zeros(7, np.float32)),
])
def test_bad_input_gives_the_fallback_and_problems_never_an_exception(
    tiny_head_path: Path, image: np.ndarray, latent: np.ndarray | None
) -> None:
    describer = GroundedDescriber.from_file(tiny_head_path)
    desc, problems = describer.describe_with_problems(image, latent)
    assert desc.objects == [] and "fallback" in desc.source and problems


def test_larger_images_are_accepted(tiny_head_path: Path) -> None:
    desc = GroundedDescriber.from_file(tiny_head_path).describe(np.zeros((128, 128, 3), np.uint8))
    assert desc.objects


@pytest.mark.skipif(not SHIPPED.is_file(), reason="shipped grounded weights not present")
def test_shipped_weights_describe_a_clean_simulated_scene() -> None:
    from brain3d.sim.scenes import generate_scene

    describer = GroundedDescriber.from_file(SHIPPED)
    scenes = [generate_scene(10_000 + i) for i in range(8)]  # seeds outside training and test
    right = sum(
        describer.describe(s.image).scene_type == s.description.scene_type
        and len(describer.describe(s.image).objects) == len(s.description.objects) for s in scenes
    )
    assert right >= 4  # chance for scene type x count is ~1/9


def test_batchnorm_folding_keeps_the_outputs(tiny_head_path: Path) -> None:
    import torch

    from brain3d.describe.grounded import fuse_batchnorm
    from brain3d.describe.head import images_to_tensor

    model, _ = load_head(tiny_head_path)
    for block in model.features:  # non-trivial running statistics
        block[1].running_mean.uniform_(-0.5, 0.5)
        block[1].running_var.uniform_(0.5, 2.0)
    x = images_to_tensor(np.random.default_rng(0).integers(0, 255, (2, 64, 64, 3), dtype=np.uint8))
    with torch.inference_mode():
        a, b = model.eval()(x), fuse_batchnorm(model)(x)
    assert torch.allclose(a.position, b.position, atol=1e-4) and torch.allclose(a.shape, b.shape, atol=1e-4)
