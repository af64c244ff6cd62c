"""Stage 2: image (+ EEG latent) -> structured, 3D-aware :class:`~brain3d.schema.Description`.

Backends share one interface (:class:`Describer`): ``describe(image, latent)`` always
returns a valid description (falling back, with problems listed, on bad model output).

* ``grounded`` (default, embedded): a trained attribute head on CPU, not a language model.
* ``transformers``: a local language / vision-language model with JSON-schema-constrained
  decoding (lm-format-enforcer).
* ``openai``: any OpenAI-compatible server, with timeouts, retries and a circuit breaker.

:func:`build_describer` builds the backend ``config.describer.backend`` names from
:data:`brain3d.registry.DESCRIBERS` (each backend module has a ``build(config)``; plug-ins
register through the ``brain3d.describers`` entry points).
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
        The backend is unknown or not configured (also caught when the config is validated).
    """
    from brain3d.errors import BackendError
    from brain3d.registry import DESCRIBERS

    describer = DESCRIBERS.create(config.describer.backend, config)
    if not isinstance(describer, Describer):
        raise BackendError(f"describer backend {config.describer.backend!r} built a {type(describer).__name__}, "
                           "not a brain3d.describe.base.Describer; its factory must return a Describer subclass")
    return describer
