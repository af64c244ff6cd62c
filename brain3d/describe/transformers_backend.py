"""Describer backed by a local transformers model, with JSON-schema-constrained decoding.

The model is loaded with ``from_pretrained`` from ``describer.transformers.model_path``
(a local folder; no hub access at run time). A folder whose processor has an image
processor is run as a vision-language model (``AutoModelForImageTextToText``; the image
goes in through the processor's chat template); any other folder as a text-only causal
LM, which cannot see the image: its answer is a prior, and each description's problems
say so.

Constrained decoding: lm-format-enforcer's JSON-schema parser (``JsonSchemaParser`` and
``TokenEnforcer``, which are independent of transformers) drives our own
:class:`~transformers.LogitsProcessor`. lm-format-enforcer 0.11's transformers
integration module does not import under transformers 5 (it imports
``transformers.tokenization_utils``, which moved), outlines pins older transformers and
xgrammar brings its own native build; the core enforcer plus a 20-line processor works
with transformers 5.24 and torch 2.13 as installed. The schema is the compact
:data:`~brain3d.describe.structured.GENERATION_SCHEMA` (all enumerations, bounded
arrays), so every completed answer parses and validates; an answer cut short by
``max_new_tokens`` or the ``timeout_s`` (``generate(max_time=...)``) becomes the
fallback description with the reason in the problems.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import torch

from brain3d.config import TransformersDescriberConfig
from brain3d.describe.base import Describer
from brain3d.describe.prompt import DESCRIBE_PROMPT, JSON_INSTRUCTION
from brain3d.describe.structured import (
    GENERATION_FORMAT,
    GENERATION_SCHEMA,
    description_from_json_text,
)
from brain3d.errors import BackendError, ModelLoadError
from brain3d.schema import Description

if TYPE_CHECKING:  # pragma: no cover
    from brain3d.config import Config

logger = logging.getLogger(__name__)


def _require() -> tuple[Any, Any]:
    try:
        import lmformatenforcer
        import transformers
    except ImportError as exc:  # pragma: no cover - both are dependencies
        raise BackendError(
            f"the transformers describer needs transformers and lm-format-enforcer ({exc}); "
            "install them with `.venv/bin/pip install transformers lm-format-enforcer`"
        ) from exc
    return transformers, lmformatenforcer


def tokenizer_data(tokenizer: Any) -> Any:
    """lm-format-enforcer's view of a transformers tokenizer (vocabulary as strings).

    Same recipe as lm-format-enforcer's transformers integration (decode each token
    after a ``"0"`` to see its leading space), which cannot be imported under
    transformers 5.
    """
    from lmformatenforcer import TokenEnforcerTokenizerData

    token_0 = tokenizer.encode("0", add_special_tokens=False)[-1]
    special = set(tokenizer.all_special_ids)
    regular = []
    for idx in range(len(tokenizer)):
        if idx in special:
            continue
        after_0 = tokenizer.decode([token_0, idx])[1:]
        regular.append((idx, after_0, len(after_0) > len(tokenizer.decode([idx]))))

    def decode(tokens: list[int]) -> str:
        return tokenizer.decode(tokens).rstrip("\ufffd")

    return TokenEnforcerTokenizerData(regular, decode, tokenizer.eos_token_id, False, len(tokenizer))


class SchemaLogitsProcessor:
    """Masks every token the JSON-schema enforcer does not allow next (a transformers LogitsProcessor)."""

    def __init__(self, enforcer: Any) -> None:
        self.enforcer = enforcer

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        mask = torch.full_like(scores, float("-inf"))
        for row, sequence in enumerate(input_ids.tolist()):
            allowed = [t for t in self.enforcer.get_allowed_tokens(sequence).allowed_tokens if t < scores.shape[-1]]
            mask[row, allowed] = 0.0
        # transformers' LogitsProcessor protocol types the scores (and the result) as FloatTensor
        return cast(torch.FloatTensor, scores + mask)


class TransformersDescriber(Describer):
    """Local (vision-)language model with schema-constrained JSON output.

    Parameters
    ----------
    model : transformers model
        ``AutoModelForCausalLM`` or ``AutoModelForImageTextToText``.
    tokenizer : transformers tokenizer
    processor : transformers processor, optional
        With an image processor: the image is passed to the model; without: text only.
    max_new_tokens : int
    timeout_s : float
        Wall-clock limit of one generation (``generate(max_time=...)``).
    """

    def __init__(self, model: Any, tokenizer: Any, processor: Any | None = None, *, max_new_tokens: int = 256,
                 timeout_s: float = 10.0, repair: bool = True, label: str = "local model") -> None:
        super().__init__(repair)
        transformers, _ = _require()
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.processor = processor
        self.max_new_tokens = max_new_tokens
        self.timeout_s = timeout_s
        self.sees_image = processor is not None and getattr(processor, "image_processor", None) is not None
        kind = "vision-language model" if self.sees_image else "text-only language model, does not see the image"
        self.name = f"transformers ({label}; {kind}; schema-constrained)"
        self._tokenizer_data = tokenizer_data(tokenizer)
        self._logits_processor_list = transformers.LogitsProcessorList

    @classmethod
    def from_config(cls, cfg: TransformersDescriberConfig, repair: bool = True) -> TransformersDescriber:
        """Load ``cfg.model_path`` with ``from_pretrained`` (local files only)."""
        transformers, _ = _require()
        if cfg.model_path is None:
            raise ModelLoadError("describer.transformers.model_path is not set; point it at a local model folder")
        path = Path(cfg.model_path)
        if not path.is_dir():
            raise ModelLoadError(f"describer.transformers.model_path {path} is not a folder; download the model "
                                 "there first (no hub access at run time)")
        device = "cuda" if cfg.device == "cuda" or (cfg.device == "auto" and torch.cuda.is_available()) else "cpu"
        try:
            processor = None
            try:
                processor = transformers.AutoProcessor.from_pretrained(path, local_files_only=True)
            except (OSError, ValueError, KeyError, TypeError):
                processor = None
            if processor is not None and getattr(processor, "image_processor", None) is not None:
                model = transformers.AutoModelForImageTextToText.from_pretrained(path, local_files_only=True)
                tokenizer = processor.tokenizer
            else:
                processor = None
                model = transformers.AutoModelForCausalLM.from_pretrained(path, local_files_only=True)
                tokenizer = transformers.AutoTokenizer.from_pretrained(path, local_files_only=True)
        except (OSError, ValueError, KeyError) as exc:
            raise ModelLoadError(f"cannot load a transformers model from {path}: {exc}") from exc
        return cls(model.to(device), tokenizer, processor, max_new_tokens=cfg.max_new_tokens,
                   timeout_s=cfg.timeout_s, repair=repair, label=path.name)

    def _inputs(self, image: np.ndarray) -> dict[str, torch.Tensor]:
        instruction = f"{DESCRIBE_PROMPT}\n{JSON_INSTRUCTION}\n{GENERATION_FORMAT}\n"
        if self.sees_image:
            from PIL import Image

            processor = self.processor
            assert processor is not None  # sees_image implies a processor
            messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": instruction}]}]
            text = processor.apply_chat_template(messages, add_generation_prompt=True)
            inputs = processor(text=text, images=Image.fromarray(image), return_tensors="pt")
        elif getattr(self.tokenizer, "chat_template", None):
            ids = self.tokenizer.apply_chat_template([{"role": "user", "content": instruction}],
                                                     add_generation_prompt=True, return_tensors="pt", return_dict=True)
            inputs = dict(ids)
        else:
            inputs = dict(self.tokenizer(instruction, return_tensors="pt"))
        return {k: v.to(self.model.device) if hasattr(v, "to") else v for k, v in inputs.items()}

    def generate_text(self, image: np.ndarray) -> tuple[str, bool]:
        """Constrained generation for one image. Returns (text, stopped early by time or length)."""
        from lmformatenforcer import TokenEnforcer

        inputs = self._inputs(image)
        prompt_len = inputs["input_ids"].shape[-1]
        from lmformatenforcer import CharacterLevelParserConfig, JsonSchemaParser

        parser = JsonSchemaParser(GENERATION_SCHEMA)
        enforcer = TokenEnforcer(self._tokenizer_data, parser)
        # TokenEnforcer replaces the parser's config with defaults (+ the tokenizer's alphabet);
        # set ours afterwards: fixed field order, at most 2 whitespace characters in a row
        parser.config = CharacterLevelParserConfig(alphabet=self._tokenizer_data.tokenizer_alphabet,
                                                   max_consecutive_whitespaces=2, force_json_field_order=True)
        with torch.inference_mode():
            out = self.model.generate(
                **inputs, max_new_tokens=self.max_new_tokens, do_sample=False, max_time=self.timeout_s,
                logits_processor=self._logits_processor_list([SchemaLogitsProcessor(enforcer)]),
                pad_token_id=self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None
                else self.tokenizer.eos_token_id,
            )
        new = out[0, prompt_len:].tolist()
        finished = bool(new) and new[-1] == self.tokenizer.eos_token_id
        return self.tokenizer.decode(new, skip_special_tokens=True), not finished

    def _describe(self, image: np.ndarray, latent: np.ndarray | None) -> tuple[Description, list[str]]:
        text, cut = self.generate_text(image)
        problems = [] if self.sees_image else ["text-only model: the image was not seen, the description is a prior"]
        if cut:
            problems.append(f"generation stopped by max_new_tokens ({self.max_new_tokens}) or the "
                            f"{self.timeout_s} s timeout before the JSON was complete")
        desc, more = description_from_json_text(text, self.name)
        return desc, problems + more

    def close(self) -> None:
        self.model = self.model.to("cpu") if hasattr(self.model, "to") else self.model


def build(config: Config) -> TransformersDescriber:
    """``describer.backend: transformers`` (registered in :data:`brain3d.registry.DESCRIBERS`)."""
    return TransformersDescriber.from_config(config.describer.transformers, repair=config.describer.repair_relations)
