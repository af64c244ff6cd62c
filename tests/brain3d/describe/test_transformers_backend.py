"""The transformers describer: schema-constrained decoding with a tiny model built from a config."""

from __future__ import annotations

import functools
import json

import numpy as np
import pytest

pytest.importorskip("transformers")
pytest.importorskip("lmformatenforcer")
pytest.importorskip("tokenizers")

from brain3d.describe.structured import GENERATION_FORMAT  # noqa: E402
from brain3d.describe.transformers_backend import TransformersDescriber  # noqa: E402
from brain3d.schema import Description  # noqa: E402


@functools.lru_cache(maxsize=2)
def _tiny_model_and_tokenizer(seed: int = 0):  # type: ignore[no-untyped-def]
    """A random 1-layer Llama and a BPE tokenizer trained here (generation does not change them)."""
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    from brain3d.describe.prompt import DESCRIBE_PROMPT
    from brain3d.sim.scenes import generate_scene

    corpus = [DESCRIBE_PROMPT, GENERATION_FORMAT]
    for seed_ in range(6):
        corpus.append(generate_scene(seed_).description.model_dump_json())
    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    from tokenizers import decoders

    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=400, special_tokens=["<unk>", "<eos>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(corpus, trainer)
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<unk>", eos_token="<eos>")
    torch.manual_seed(seed)
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                         num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=2048,
                         eos_token_id=tokenizer.eos_token_id, bos_token_id=None, pad_token_id=None)
    return LlamaForCausalLM(config), tokenizer


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1])
def test_constrained_output_of_a_random_tiny_model_validates(seed: int) -> None:
    model, tokenizer = _tiny_model_and_tokenizer(seed)
    describer = TransformersDescriber(model, tokenizer, max_new_tokens=1500, timeout_s=60.0)
    text, cut = describer.generate_text(np.zeros((64, 64, 3), np.uint8))
    assert not cut, text[-200:]
    data = json.loads(text)  # the constrained text itself is JSON
    assert set(data) == {"scene_type", "objects", "spatial_relations"}
    desc, problems = describer.describe_with_problems(np.zeros((64, 64, 3), np.uint8))
    assert isinstance(desc, Description) and desc.objects
    assert desc.source.startswith("transformers") and "does not see the image" in desc.source
    assert any("text-only" in p for p in problems)
    assert "fallback" not in desc.source


def test_generation_cut_short_by_the_token_limit_falls_back_with_the_reason() -> None:
    model, tokenizer = _tiny_model_and_tokenizer(0)
    describer = TransformersDescriber(model, tokenizer, max_new_tokens=3, timeout_s=10.0)
    desc, problems = describer.describe_with_problems(np.zeros((64, 64, 3), np.uint8))
    assert desc.objects == []
    assert any("max_new_tokens" in p for p in problems)


def test_generation_is_stopped_by_the_timeout() -> None:
    model, tokenizer = _tiny_model_and_tokenizer(0)
    describer = TransformersDescriber(model, tokenizer, max_new_tokens=5000, timeout_s=0.05)
    desc, problems = describer.describe_with_problems(np.zeros((64, 64, 3), np.uint8))
    assert desc.objects == [] and any("timeout" in p for p in problems)


def test_missing_model_folder_is_a_model_load_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from brain3d.config import load_config
    from brain3d.describe import build_describer
    from brain3d.errors import ModelLoadError

    config = load_config(overrides=["describer.backend=transformers",
                                    f"describer.transformers.model_path={tmp_path / 'absent'}"])
    with pytest.raises(ModelLoadError, match="not a folder"):
        build_describer(config)


def test_a_saved_tiny_model_loads_from_a_local_folder(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from brain3d.config import load_config
    from brain3d.describe import build_describer

    model, tokenizer = _tiny_model_and_tokenizer(0)
    model.save_pretrained(tmp_path / "tiny")
    tokenizer.save_pretrained(tmp_path / "tiny")
    config = load_config(overrides=["describer.backend=transformers", f"describer.transformers.model_path={tmp_path / 'tiny'}",
                                    "describer.transformers.device=cpu", "describer.transformers.max_new_tokens=4"])
    describer = build_describer(config)
    assert describer.name.startswith("transformers (tiny; text-only")
    desc, problems = describer.describe_with_problems(np.zeros((64, 64, 3), np.uint8))
    assert problems  # 4 tokens cannot finish the JSON: fallback with the reason
