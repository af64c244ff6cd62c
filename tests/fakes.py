"""The one set of test fakes for the slow stages (module-level so child processes import them).

They subclass the real seams (:class:`~brain3d.describe.base.Describer`,
:class:`~brain3d.generate3d.base.Generator3D`), so the engine sees what a backend gives it.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from brain3d.describe.base import Describer
from brain3d.errors import ModelLoadError
from brain3d.generate3d.base import Generator3D
from brain3d.pointcloud import PointCloud
from brain3d.schema import Description
from brain3d.sim.scenes import generate_scene


class FakeDescriber(Describer):
    """The simulator's description of scene ``calls % 7`` after ``delay_s`` of work.

    ``fail_every=k``: every k-th call raises out of :meth:`describe_with_problems`, as a
    backend breaking the never-raise contract would (the engine must count and survive it).
    """

    name = "fake-describer"

    def __init__(self, delay_s: float = 0.0, fail_every: int = 0) -> None:
        super().__init__()
        self.delay_s = delay_s
        self.fail_every = fail_every
        self.calls = 0
        self.seen_latents: list[Any] = []
        self.closed = False

    def describe_with_problems(self, image: np.ndarray,
                               latent: np.ndarray | None = None) -> tuple[Description, list[str]]:  # fmt: skip
        self.calls += 1
        assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3
        self.seen_latents.append(None if latent is None else latent.shape)
        if self.delay_s:
            time.sleep(self.delay_s)
        if self.fail_every and self.calls % self.fail_every == 0:
            raise RuntimeError(f"fake describer failure on call {self.calls}")
        return super().describe_with_problems(image, latent)

    def _describe(self, image: np.ndarray, latent: np.ndarray | None) -> tuple[Description, list[str]]:
        return generate_scene(self.calls % 7).description, []

    def close(self) -> None:
        self.closed = True


class FakeGenerator(Generator3D):
    """A point cloud of ``n`` random points after ``delay_s``; raises when ``always_fail``."""

    name = "fake-generator"

    def __init__(self, delay_s: float = 0.0, always_fail: bool = False, n: int = 64, fail_every: int = 0) -> None:
        super().__init__()
        self.delay_s = delay_s
        self.always_fail = always_fail
        self.fail_every = fail_every
        self.n = n
        self.calls = 0
        self.closed = False

    def generate_batch(self, descriptions: Sequence[Description | None], images: Sequence[np.ndarray | None], *,
                       seeds: Sequence[int] | None = None) -> list[PointCloud]:  # fmt: skip
        return [self._one() for _ in descriptions]

    def _one(self) -> PointCloud:
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


class CrashingGenerator(FakeGenerator):
    """Its process dies on every call (exercises restarts)."""

    def _one(self) -> PointCloud:
        import os

        os._exit(3)


def build_fake_describer(config: Any) -> FakeDescriber:
    """Factory for process-mode tests."""
    return FakeDescriber(delay_s=0.05)


def build_fake_generator(config: Any) -> FakeGenerator:
    """Factory for process-mode tests: fails every 3rd call (errors cross the process boundary)."""
    return FakeGenerator(delay_s=0.1, fail_every=3)


def build_crashing_generator(config: Any) -> CrashingGenerator:
    """A generator whose process dies on every call."""
    return CrashingGenerator()


def build_describer_without_weights(config: Any) -> FakeDescriber:
    """Fails like a backend whose weights are missing (a restart cannot help)."""
    raise ModelLoadError("fake describer weights /nowhere.safetensors do not exist; ship them")


def build_stepping_model(config: Any) -> FakeGenerator:
    """Factory for the pacing test: a generator, whose ``before_step`` the engine sets, as diffusion's."""
    generator = FakeGenerator()
    generator.name = "stepping"
    return generator


def pacer_job(model: Generator3D, payload: tuple[Any, ...]) -> tuple[str, float]:
    """What the child's hook is, and the due time it reads from the shared schedule."""
    hook: Any = model.before_step
    return type(hook).__name__, float(hook.schedule.due) if hook is not None else -1.0


def build_instant_describer(config: Any) -> FakeDescriber:
    """Factory: a describer with no delay (benchmark-mode tests)."""
    return FakeDescriber()


def build_instant_generator(config: Any) -> FakeGenerator:
    """Factory: a generator with no delay (benchmark-mode tests)."""
    return FakeGenerator(n=256)


#: ``Engine`` arguments that run the instant fakes in threads of the test process.
FAKE_STAGES = {
    "stage_mode": "thread",
    "stage_factories": {
        "description": "tests.fakes:build_instant_describer",
        "cloud": "tests.fakes:build_instant_generator",
    },
}
