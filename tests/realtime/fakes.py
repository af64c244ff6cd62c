"""Small fake slow stages for engine tests (module-level so child processes can import them)."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from brain3d.pointcloud import PointCloud
from brain3d.sim.scenes import generate_scene


class FakeDescriber:
    """Returns the simulator's description of a fixed scene after ``delay_s`` of work."""

    name = "fake-describer"

    def __init__(self, delay_s: float = 0.0, fail_every: int = 0) -> None:
        self.delay_s = delay_s
        self.fail_every = fail_every
        self.calls = 0
        self.seen_latents: list[Any] = []
        self.closed = False

    def describe(self, image: np.ndarray, latent: np.ndarray | None) -> Any:
        self.calls += 1
        assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3
        self.seen_latents.append(None if latent is None else latent.shape)
        if self.delay_s:
            time.sleep(self.delay_s)
        if self.fail_every and self.calls % self.fail_every == 0:
            raise RuntimeError(f"fake describer failure on call {self.calls}")
        return generate_scene(self.calls % 7).description

    def close(self) -> None:
        self.closed = True


class FakeGenerator:
    """A point cloud of ``n`` random points after ``delay_s``; raises when ``always_fail``."""

    name = "fake-generator"

    def __init__(self, delay_s: float = 0.0, always_fail: bool = False, n: int = 64, fail_every: int = 0) -> None:
        self.delay_s = delay_s
        self.always_fail = always_fail
        self.fail_every = fail_every
        self.n = n
        self.calls = 0
        self.closed = False

    def generate(self, description: Any, image: np.ndarray | None, *, seed: int | None = None) -> PointCloud:
        self.calls += 1
        if self.delay_s:
            time.sleep(self.delay_s)
        if self.always_fail:
            raise ValueError("fake generator: this backend always fails")
        if self.fail_every and self.calls % self.fail_every == 0:
            raise ValueError(f"fake generator failure on call {self.calls}")
        rng = np.random.default_rng(self.calls)
        return PointCloud(points=rng.uniform(-1, 1, (self.n, 3)).astype(np.float32),
                          colors=rng.integers(0, 255, (self.n, 3), dtype=np.uint8), source="fake")

    def close(self) -> None:
        self.closed = True


def build_fake_describer(config: Any) -> FakeDescriber:
    """Factory for process-mode tests."""
    return FakeDescriber(delay_s=0.05)


def build_fake_generator(config: Any) -> FakeGenerator:
    """Factory for process-mode tests: fails every 3rd call (errors cross the process boundary)."""
    return FakeGenerator(delay_s=0.1, fail_every=3)


def build_crashing_generator(config: Any) -> Any:
    """A generator whose process dies on every call (exercises restarts)."""

    class _Crash(FakeGenerator):
        def generate(self, description: Any, image: np.ndarray | None, *, seed: int | None = None) -> PointCloud:
            import os

            os._exit(3)

    return _Crash()


def build_describer_without_weights(config: Any) -> Any:
    """Fails like a backend whose weights are missing (a restart cannot help)."""
    from brain3d.errors import ModelLoadError

    raise ModelLoadError("fake describer weights /nowhere.safetensors do not exist; ship them")


class SteppingModel:
    """A stage model with a ``before_step`` hook, as the diffusion generator has."""

    name = "stepping"

    def __init__(self) -> None:
        self.before_step: Any = None


def build_stepping_model(config: Any) -> SteppingModel:
    """Factory for the pacing test."""
    return SteppingModel()


def pacer_job(model: SteppingModel, payload: tuple[Any, ...]) -> tuple[str, float]:
    """What the child's hook is, and the due time it reads from the shared schedule."""
    hook = model.before_step
    return type(hook).__name__, float(hook.schedule.due) if hook is not None else -1.0
