"""Describer backed by any OpenAI-compatible server (vLLM, llama.cpp server, Ollama, ...).

HTTP with the standard library (:mod:`urllib.request`): one POST per description, so a
client library would add a dependency without removing code. The image goes as a
base64 PNG data URL; the schema as a ``json_schema`` response format. Each attempt has
``timeout_s``; transport errors, timeouts, HTTP 429 and 5xx are retried
``max_retries`` times with exponential backoff (``backoff_s``, doubling); a
:class:`~brain3d.describe.breaker.CircuitBreaker` opens after ``breaker_failures``
failed requests, after which requests are refused at once (fallback description)
until the cool-down lets one trial through. Server output is untrusted: it is parsed as
JSON and validated (or read by the free-text parser), never executed.
"""

from __future__ import annotations

import base64
import io
import json
import logging
import os
import time
import urllib.error
import urllib.request
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image

from brain3d.config import OpenAIDescriberConfig
from brain3d.describe.base import Describer
from brain3d.describe.breaker import CircuitBreaker
from brain3d.describe.prompt import DESCRIBE_PROMPT, JSON_INSTRUCTION
from brain3d.describe.structured import description_from_json_text
from brain3d.errors import BackendError, ConfigError
from brain3d.schema import Description, description_json_schema

if TYPE_CHECKING:  # pragma: no cover
    from brain3d.config import Config

logger = logging.getLogger(__name__)

_MAX_RESPONSE_BYTES = 1_000_000


def image_data_url(image: np.ndarray) -> str:
    """uint8 (H, W, 3) image -> ``data:image/png;base64,...``."""
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(image)).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


class OpenAIDescriber(Describer):
    """Describe with a chat-completions endpoint of an OpenAI-compatible server.

    Parameters
    ----------
    base_url : str
        e.g. ``http://127.0.0.1:8000/v1``.
    model : str
        Model name the server knows.
    api_key : str, optional
        Bearer token (local servers usually need none).
    timeout_s, max_retries, backoff_s, max_tokens : per-attempt timeout, retries, first backoff, token cap
    breaker : CircuitBreaker, optional
    """

    def __init__(self, base_url: str, model: str, *, api_key: str | None = None, timeout_s: float = 10.0,
                 max_retries: int = 2, backoff_s: float = 0.2, max_tokens: int = 512,
                 breaker: CircuitBreaker | None = None, repair: bool = True) -> None:
        super().__init__(repair)
        if not base_url.startswith(("http://", "https://")):
            raise ConfigError(f"describer.openai.base_url {base_url!r} must start with http:// or https://")
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.model = model
        self.api_key = api_key
        self.timeout_s, self.max_retries, self.backoff_s, self.max_tokens = timeout_s, max_retries, backoff_s, max_tokens
        self.breaker = breaker if breaker is not None else CircuitBreaker()
        self.name = f"openai-compatible server ({model} at {base_url})"
        self._schema = description_json_schema()

    @classmethod
    def from_config(cls, cfg: OpenAIDescriberConfig, repair: bool = True) -> OpenAIDescriber:
        """Build from ``config.describer.openai`` (ConfigError if url or model is missing)."""
        if not cfg.base_url or not cfg.model:
            raise ConfigError("describer.openai.base_url and describer.openai.model must both be set for the "
                              "openai backend, e.g. base_url: http://127.0.0.1:8000/v1")
        return cls(cfg.base_url, cfg.model, api_key=os.environ.get(cfg.api_key_env) or None,
                   timeout_s=cfg.timeout_s, max_retries=cfg.max_retries, backoff_s=cfg.backoff_s,
                   max_tokens=cfg.max_tokens, breaker=CircuitBreaker(cfg.breaker_failures, cfg.breaker_cooldown_s),
                   repair=repair)

    def request_body(self, image: np.ndarray) -> dict[str, Any]:
        """The chat-completions request for one image."""
        return {
            "model": self.model,
            "messages": [
                {"role": "system", "content": JSON_INSTRUCTION},
                {"role": "user", "content": [
                    {"type": "text", "text": DESCRIBE_PROMPT},
                    {"type": "image_url", "image_url": {"url": image_data_url(image)}},
                ]},
            ],
            "response_format": {"type": "json_schema",
                                "json_schema": {"name": "brain3d_description", "schema": self._schema}},
            "max_tokens": self.max_tokens,
            "temperature": 0.0,
        }

    def _post(self, payload: bytes) -> dict[str, Any]:
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        request = urllib.request.Request(self.url, data=payload, headers=headers, method="POST")
        with urllib.request.urlopen(request, timeout=self.timeout_s) as response:  # noqa: S310 - URL from config
            raw = response.read(_MAX_RESPONSE_BYTES + 1)
            declared = response.headers.get("Content-Length")
        if len(raw) > _MAX_RESPONSE_BYTES:
            raise ValueError(f"response larger than {_MAX_RESPONSE_BYTES} bytes")
        # read(n) returns what arrived when the server hangs up early, without an error
        if declared is not None and declared.isdigit() and len(raw) < int(declared):
            raise ConnectionError(f"the answer was cut off: {len(raw)} of {declared} bytes arrived "
                                  "before the server closed the connection")
        try:
            return json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ValueError(f"the answer is not JSON ({exc})") from exc

    def _request(self, image: np.ndarray) -> dict[str, Any]:
        if not self.breaker.allow():
            raise BackendError(f"{self.url}: circuit breaker open after repeated failures; next try in "
                               f"{self.breaker.retry_in_s():.1f} s (check that the server runs)")
        payload = json.dumps(self.request_body(image)).encode()
        last: Exception | None = None
        for attempt in range(self.max_retries + 1):
            if attempt:
                time.sleep(self.backoff_s * 2 ** (attempt - 1))
            try:
                body = self._post(payload)
            except urllib.error.HTTPError as exc:
                last = exc
                if exc.code != 429 and exc.code < 500:
                    break  # the request itself is wrong: retrying will not help
            except (urllib.error.URLError, TimeoutError, ConnectionError, OSError, ValueError) as exc:
                last = exc  # refused, timed out, reset, truncated or non-JSON body
            else:
                self.breaker.record_success()
                return body
            logger.debug("%s attempt %d failed: %s", self.url, attempt + 1, last)
        self.breaker.record_failure()
        raise BackendError(f"{self.url} failed after {self.max_retries + 1} attempt(s): {last}")

    def _describe(self, image: np.ndarray, latent: np.ndarray | None) -> tuple[Description, list[str]]:
        body = self._request(image)
        try:
            content = body["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError) as exc:
            raise BackendError(f"{self.url} answered without choices[0].message.content ({exc})") from exc
        if not isinstance(content, str):
            raise BackendError(f"{self.url} answered content of type {type(content).__name__}, not text")
        # the EEG latent is not sent: a language model cannot read it (by design, not a problem)
        return description_from_json_text(content, self.name)


def build(config: Config) -> OpenAIDescriber:
    """``describer.backend: openai`` (registered in :data:`brain3d.registry.DESCRIBERS`)."""
    return OpenAIDescriber.from_config(config.describer.openai, repair=config.describer.repair_relations)
