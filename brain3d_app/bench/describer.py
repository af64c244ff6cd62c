"""Latency of the describer backends (used by ``brain3d_app/bench/standalone/describer.py``; no assertions).

* grounded: the whole ``describe()`` call (input checks, CNN forward, decoding into a
  validated ``Description``) on simulated scene images with a latent, torch at the
  configured thread count (1 by default), after warm-up.
* openai: ``describe()`` against :class:`~brain3d.describe.testing.FakeOpenAIServer`
  on 127.0.0.1 (valid answers: the client's own overhead: PNG + base64 + HTTP + JSON
  parse + validation); and the cost of a call while the circuit breaker is open.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import torch

from brain3d.config import Config
from brain3d.latency import latency_figures


def _images(n: int) -> np.ndarray:
    from brain3d.sim.scenes import generate_scene

    return np.stack([generate_scene(20_000 + i).image for i in range(n)])


def bench_grounded(config: Config, n: int = 500, warmup: int = 30) -> dict[str, Any]:
    """p50/p99 of the grounded ``describe()`` at ``config.describer.threads`` threads."""
    from brain3d.describe.grounded import GroundedDescriber

    describer = GroundedDescriber.from_file(config.describer.weights, threads=config.describer.threads)
    images = _images(32)
    rng = np.random.default_rng(0)
    latents = rng.standard_normal((32, describer.model.config.latent_dim or 1)).astype(np.float32)
    samples = []
    for i in range(warmup + n):
        start = time.perf_counter()
        describer.describe(images[i % 32], latents[i % 32] if describer.model.config.latent_dim else None)
        if i >= warmup:
            samples.append((time.perf_counter() - start) * 1e3)
    from brain3d.describe.head import images_to_tensor

    x, lat = images_to_tensor(images[:1]), torch.from_numpy(latents[:1])
    forward = []
    with torch.inference_mode():
        for i in range(warmup + n):
            start = time.perf_counter()
            describer.model(x, lat if describer.model.config.latent_dim else None)
            if i >= warmup:
                forward.append((time.perf_counter() - start) * 1e3)
    return {"backend": describer.name, "torch_threads": torch.get_num_threads(),
            "what": "describe(image, latent) incl. checks, CNN forward and decoding to a validated Description",
            **latency_figures(samples), "forward_only": latency_figures(forward)}


def bench_openai(n: int = 100) -> dict[str, Any]:
    """p50/p99 against the local test server, and the cost of a call with the breaker open."""
    from brain3d.describe.breaker import CircuitBreaker
    from brain3d.describe.openai_backend import OpenAIDescriber
    from brain3d.describe.testing import FakeOpenAIServer

    image = _images(1)[0]
    with FakeOpenAIServer("valid") as server:
        describer = OpenAIDescriber(server.base_url, "test-server", timeout_s=5.0, max_retries=0,
                                    breaker=CircuitBreaker(1, 3600.0))
        samples = []
        for i in range(n + 5):
            start = time.perf_counter()
            describer.describe(image)
            if i >= 5:
                samples.append((time.perf_counter() - start) * 1e3)
        server.mode = "error"
        describer.describe(image)  # one failure opens the breaker (failures=1)
        open_samples = []
        for _ in range(200):
            start = time.perf_counter()
            describer.describe(image)
            open_samples.append((time.perf_counter() - start) * 1e3)
    return {"backend": "openai (local FakeOpenAIServer on 127.0.0.1, valid JSON answers)",
            "what": "describe(image): PNG+base64, HTTP POST, JSON parse and validation",
            **latency_figures(samples), "breaker_open": latency_figures(open_samples)}
