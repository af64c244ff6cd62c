"""The Shap-E backend's loading and mesh code, with a tiny random pipeline built from configs.

A random tiny Shap-E finds no surface, so the end-to-end call checks that the pipeline
loads from a local folder, runs (text encoder, prior, mesh decoder) and turns the empty
result into a clear ModelOutputError; mesh -> cloud is checked on a trimesh sphere.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import trimesh

from brain3d.errors import ModelLoadError, ModelOutputError
from brain3d.generate3d.shap_e import (
    ShapEGenerator,
    description_prompt,
    load_shap_e_pipeline,
    mesh_to_cloud,
)


@pytest.fixture(scope="module")
def tiny_pipeline_dir(tmp_path_factory):
    transformers = pytest.importorskip("transformers")
    from diffusers import HeunDiscreteScheduler, PriorTransformer, ShapEPipeline
    from diffusers.pipelines.shap_e import ShapERenderer

    folder = tmp_path_factory.mktemp("shap_e")
    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for c in "abcdefghijklmnopqrstuvwxyz":
        vocab[c] = len(vocab)
        vocab[c + "</w>"] = len(vocab)
    (folder / "vocab.json").write_text(json.dumps(vocab))
    (folder / "merges.txt").write_text("#version: 0.2\n")
    tokenizer = transformers.CLIPTokenizer(str(folder / "vocab.json"), str(folder / "merges.txt"), model_max_length=77)
    torch.manual_seed(0)
    text_encoder = transformers.CLIPTextModelWithProjection(transformers.CLIPTextConfig(
        bos_token_id=0, eos_token_id=1, pad_token_id=1, hidden_size=32, projection_dim=32, intermediate_size=37,
        num_attention_heads=4, num_hidden_layers=1, vocab_size=len(vocab), max_position_embeddings=77,
    ))
    prior = PriorTransformer(
        num_attention_heads=2, attention_head_dim=16, embedding_dim=32, num_embeddings=32, embedding_proj_dim=32,
        time_embed_dim=128, num_layers=1, clip_embed_dim=64, additional_embeddings=0, time_embed_act_fn="gelu",
        norm_in_type="layer", encoder_hid_proj_type=None, added_emb_type=None,
    )
    renderer = ShapERenderer(param_shapes=((8, 93), (8, 8), (8, 8), (8, 8)), d_latent=32, d_hidden=8, n_output=12,
                             background=(0.1, 0.1, 0.1))
    scheduler = HeunDiscreteScheduler(beta_schedule="exp", num_train_timesteps=1024, prediction_type="sample",
                                      use_karras_sigmas=True, clip_sample=True, clip_sample_range=1.0)
    pipeline = ShapEPipeline(prior=prior, text_encoder=text_encoder, tokenizer=tokenizer, scheduler=scheduler,
                             shap_e_renderer=renderer)
    pipeline.save_pretrained(folder / "pipeline")
    return folder / "pipeline"


@pytest.mark.slow
def test_tiny_pipeline_loads_from_a_local_folder_and_runs(tiny_pipeline_dir, scenes) -> None:
    pipeline = load_shap_e_pipeline(tiny_pipeline_dir, "text")
    generator = ShapEGenerator(pipeline, "text", steps=1, grid_size=16, n_points=64)
    with pytest.raises(ModelOutputError, match="no surface"):
        generator.generate(scenes[0].description)


@pytest.mark.slow
def test_loading_the_wrong_pipeline_kind_is_a_clear_error(tiny_pipeline_dir) -> None:
    with pytest.raises(ModelLoadError, match="ShapEImg2ImgPipeline"):
        load_shap_e_pipeline(tiny_pipeline_dir, "image")


def test_mesh_is_sampled_coloured_and_placed_on_the_described_objects(scenes) -> None:
    sphere = trimesh.creation.icosphere(subdivisions=2, radius=1.0)
    colors = np.tile([1.0, 0.0, 0.0], (len(sphere.vertices), 1))
    desc = scenes[0].description
    cloud = mesh_to_cloud(sphere.vertices, sphere.faces, colors, 500, 0, desc)
    low = np.min([np.asarray(o.position.as_tuple()) - o.size / 2 for o in desc.objects], axis=0)
    high = np.max([np.asarray(o.position.as_tuple()) + o.size / 2 for o in desc.objects], axis=0)
    assert cloud.n_points == 500 and np.all(cloud.colors == [255, 0, 0])
    np.testing.assert_allclose((cloud.points.min(0) + cloud.points.max(0)) / 2, (low + high) / 2, atol=0.05)
    assert np.ptp(cloud.points, axis=0).max() == pytest.approx((high - low).max(), rel=0.05)
    with pytest.raises(ModelOutputError):
        mesh_to_cloud(np.zeros((0, 3)), np.zeros((0, 3), int), None, 10, 0, None)


def test_prompt_names_each_object(scenes) -> None:
    prompt = description_prompt(scenes[0].description)
    for obj in scenes[0].description.objects:
        assert f"{obj.color.name} {obj.shape}" in prompt
    assert description_prompt(None) == "a simple object"
