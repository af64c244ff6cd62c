"""Stage 2: image (+ EEG latent) -> structured, 3D-aware :class:`~brain3d.schema.Description`.

Backends share one interface (:class:`Describer`): ``describe(image, latent)`` always
returns a valid description (falling back, with problems listed, on bad model output).

* ``grounded`` (default, embedded): a trained attribute head on CPU, not a language model.
* ``transformers``: a local language / vision-language model with JSON-schema-constrained
  decoding (lm-format-enforcer).
* ``openai``: any OpenAI-compatible server, with timeouts, retries and a circuit breaker.

:func:`build_describer` picks the backend from ``config.describer``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from brain3d.describe.base import Describer, fallback_description
from brain3d.describe.head import GROUNDED_SOURCE
from brain3d.describe.parser import parse_free_text

if TYPE_CHECKING:
    from brain3d.config import Config

__all__ = ["GROUNDED_SOURCE", "Describer", "build_describer", "fallback_description", "parse_free_text"]


def build_describer(config: Config) -> Describer:
    """Build the configured backend.

    Raises
    ------
    ModelLoadError
        Grounded weights or the local model are missing or corrupt.
    BackendError
        The chosen backend cannot start (e.g. transformers not installed).
    ConfigError
        The backend is not configured (also caught when the config is validated).
    """
    cfg = config.describer
    if cfg.backend == "grounded":
        from brain3d.describe.grounded import GroundedDescriber

        return GroundedDescriber.from_file(cfg.weights, threads=cfg.threads, repair=cfg.repair_relations)
    if cfg.backend == "openai":
        from brain3d.describe.openai_backend import OpenAIDescriber

        return OpenAIDescriber.from_config(cfg.openai, repair=cfg.repair_relations)
    if cfg.backend == "transformers":
        from brain3d.describe.transformers_backend import TransformersDescriber

        return TransformersDescriber.from_config(cfg.transformers, repair=cfg.repair_relations)
    from brain3d.errors import ConfigError

    raise ConfigError(f"describer.backend {cfg.backend!r} is unknown; use grounded, transformers or openai")
