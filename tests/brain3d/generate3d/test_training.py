from __future__ import annotations

import argparse
import json

import pytest

from brain3d.config import load_config
from brain3d.generate3d import build_generator
from brain3d.generate3d.checkpoint import read_denoiser
from brain3d_app.commands.train import train_generator_command


@pytest.mark.slow
def test_quick_training_ships_weights_and_card_and_resumes(tmp_path, capsys, scenes) -> None:
    weights = tmp_path / "weights" / "g3d.safetensors"
    config = load_config(overrides=[f"generator3d.weights={weights}", "generator3d.steps=2", "generator3d.threads=1"])
    args = argparse.Namespace(output=tmp_path / "train", data_dir=tmp_path / "no-data", epochs=None, quick=True, no_resume=False,
                              no_progress=True, ship=True)
    assert train_generator_command(args, config) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["weights"] == str(weights) and weights.is_file()
    card = weights.with_suffix(".md").read_text()
    assert "SIMULATED" in card and "| true | layout |" in card and "| true | diffusion |" in card
    assert "could not decode" in report["evaluation"]["from_decoded_inputs"]["error"]
    _, metadata, _ = read_denoiser(weights)
    assert metadata["command"] == "brain3d train --stage generator3d --quick --ship"
    assert set(report["validation"]) >= {"chamfer", "fscore_001", "fscore_005", "emd", "color_error"}
    assert build_generator(config).generate(scenes[0].description, scenes[0].image).n_points == 1024
    # a second run resumes after the last epoch instead of training again
    assert train_generator_command(args, config) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["history"] == report["history"]


@pytest.mark.slow
def test_training_is_reproducible_from_scratch(tmp_path) -> None:
    from brain3d.generate3d.training import GeneratorRecipe, train_generator
    from brain3d.models.checkpoint import state_dict_sha256

    recipe = GeneratorRecipe().quick().model_copy(update={"n_train_scenes": 32, "n_val_scenes": 1, "epochs": 1})
    digests = []
    for run in ("a", "b"):
        model, _ = train_generator(recipe, tmp_path / run, resume=False, progress=False, eval_steps=1)
        digests.append(state_dict_sha256(model.state_dict()))
    assert digests[0] == digests[1]
