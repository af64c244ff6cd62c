from __future__ import annotations

from brain3d.config import load_config
from brain3d.generate3d.checkpoint import save_denoiser
from brain3d.generate3d.evaluation import evaluate_generation
from brain3d.sim.dataset import SimulatedDatasetSpec


def test_evaluation_compares_backends_and_steps_on_held_out_scenes(tmp_path, tiny_model) -> None:
    weights = tmp_path / "g.safetensors"
    save_denoiser(tiny_model, weights)
    config = load_config(overrides=[f"generator3d.weights={weights}", "generator3d.steps=2", "generator3d.threads=1"])
    spec = SimulatedDatasetSpec(n_test_stimuli=2)
    result = evaluate_generation(config, None, spec, tmp_path, n_scenes=2, n_sweep_scenes=1, steps_sweep=(1, 2))
    assert "SIMULATED" in result["data"] and result["n_scenes"] == 2
    truth = result["from_true_inputs"]
    assert set(truth) == {"layout", "diffusion", "diffusion_image_only"}
    # the layout of the true description is nearly the ground truth; an untrained model is not
    assert truth["layout"]["chamfer"] < 0.03 < truth["diffusion"]["chamfer"]
    assert set(result["by_steps"]) >= {"1", "2"} and "from_decoded_inputs" not in result


def test_missing_weights_are_reported_not_raised(tmp_path) -> None:
    config = load_config(overrides=[f"generator3d.weights={tmp_path / 'none.safetensors'}"])
    result = evaluate_generation(config, None, SimulatedDatasetSpec(n_test_stimuli=2), tmp_path, n_scenes=1)
    assert "does not exist" in result["diffusion_error"] and "layout" in result["from_true_inputs"]
