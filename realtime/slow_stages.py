"""The slow stages of a live run, wired: describer and 3D workers behind latest-wins mailboxes.

::

    Decoded ─► LatestMailbox[Decoded] ─► describer worker ─► Described ─► on_described
    Described ─► LatestMailbox[Described] ─► 3D worker ─► PointCloud ─► on_cloud

Each stage runs a backend the caller passed (in a thread of this process) or one its
factory builds from the configuration (in a child process by default, or a thread):
:mod:`realtime.stages` has the runners and the worker.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

from brain3d.config import Config
from brain3d.errors import BackendError
from brain3d.pointcloud import PointCloud
from brain3d.registry import import_attribute
from brain3d.results import Decoded, Described
from realtime.mailbox import LatestMailbox
from realtime.pacing import FastPathSchedule
from realtime.stages import (
    InThreadRunner,
    ProcessRunner,
    StageRunner,
    StageWorker,
    describe_job,
    generate_job,
    resolve,
)

if TYPE_CHECKING:  # the backend packages load only when a stage builds one (a broken one must not break the engine)
    from brain3d.describe.base import Describer
    from brain3d.generate3d.base import Generator3D

logger = logging.getLogger(__name__)

#: Factories of the slow stages (``module:function``, built in the worker).
DEFAULT_FACTORIES = {
    "description": "brain3d.describe:build_describer",
    "cloud": "brain3d.generate3d:build_generator",
}
StageMode = Literal["auto", "thread", "process"]


def check_factory(stage: str, spec: str) -> None:
    """Import a configured stage's factory here, so that a broken install fails the start.

    Raises
    ------
    BackendError
        ``module:function`` cannot be imported (the import error's message is kept), or
        the module has no such callable.
    """
    module, _, attr = spec.partition(":")
    try:
        factory = import_attribute(spec)
    except Exception as exc:  # noqa: BLE001 - any import failure is the user's to see
        raise BackendError(
            f"the {stage} stage cannot start: importing {module} failed ({type(exc).__name__}: {exc}). "
            "Repair the installation (bash scripts/setup.sh), or run without the slow stages "
            "(--fast-path-only)"
        ) from exc
    if not callable(factory):
        raise BackendError(f"the {stage} stage cannot start: {module} has no callable {attr!r} (factory {spec!r})")


class SlowStages:
    """The describer and 3D workers of one run and their inboxes.

    Parameters
    ----------
    config : Config
    describer, generator : Describer / Generator3D, optional
        Ready backends (run in threads of this process); default: built by the factories.
    factories : dict
        ``{"description"|"cloud": "module:function" or None}`` (None: stage off).
    mode : {"auto", "thread", "process"}
        Where factory-built stages run ("auto": process).
    pacing : FastPathSchedule, optional
        Shared with the 3D backend's ``before_step``.
    on_described : callable
        ``on_described(decoded, (description, problems))``, on the describer's worker thread.
    on_cloud : callable
        ``on_cloud(described, cloud)``, on the 3D worker thread.
    on_event, on_fatal, clock
        Passed to every :class:`~realtime.stages.StageWorker`.

    Raises
    ------
    BackendError
        A configured factory cannot be imported.
    """

    def __init__(self, config: Config, *, describer: Describer | None, generator: Generator3D | None,
                 factories: dict[str, str | None], mode: StageMode, pacing: FastPathSchedule | None,
                 on_described: Callable[[Decoded, tuple[Any, list[str]]], None],
                 on_cloud: Callable[[Described, PointCloud], None],
                 on_event: Callable[[str, dict[str, Any]], None], on_fatal: Callable[[str], None],
                 clock: Callable[[], float]) -> None:  # fmt: skip
        self.config = config
        self.mode = mode
        self.factories = factories
        self.pacing = pacing
        self.descriptions: LatestMailbox[Decoded] = LatestMailbox("description")
        self.clouds: LatestMailbox[Described] = LatestMailbox("cloud")
        self.workers: dict[str, StageWorker[Any]] = {}
        describe = self._runner("description", describer, describe_job)
        generate = self._runner("cloud", generator, generate_job)
        if any(isinstance(r, InThreadRunner) and r.factory is not None for r in (describe, generate)):
            try:
                import torch

                torch.set_num_threads(config.generator3d.threads)
            except ImportError:  # pragma: no cover
                pass
        common: dict[str, Any] = {"on_event": on_event, "on_fatal": on_fatal, "clock": clock}
        if describe is not None:
            self.workers["description"] = StageWorker[Decoded](
                "description", self.descriptions, describe, payload=lambda d: (d.image, d.latent),
                on_result=on_described, **common)
        if generate is not None:
            self.workers["cloud"] = StageWorker[Described](
                "cloud", self.clouds, generate, payload=lambda d: (d.description, d.image, None),
                on_result=on_cloud, **common)

    def _runner(self, name: str, instance: Describer | Generator3D | None, job: Callable[..., Any]) -> StageRunner | None:
        pacing = self.pacing if name == "cloud" else None
        if instance is not None:
            needed = "describe_with_problems" if name == "description" else "generate"
            if not callable(getattr(instance, needed, None)):
                seam = "brain3d.describe.base.Describer" if name == "description" else "brain3d.generate3d.base.Generator3D"
                raise BackendError(f"the {name} stage got a {type(instance).__name__}, which has no {needed}(); "
                                   f"pass a {seam} subclass")
            return InThreadRunner(job, instance=instance, pacing=pacing)
        spec = self.factories.get(name)
        if spec is None:  # turned off by the caller
            return None
        check_factory(name, spec)
        threads = self.config.describer.threads if name == "description" else self.config.generator3d.threads
        if self.mode == "thread":
            return InThreadRunner(job, factory=resolve(spec), config=self.config, pacing=pacing)
        return ProcessRunner(job, spec, self.config, torch_threads=threads, name=name, pacing=pacing)

    def start(self) -> None:
        """Start every worker (models load in their threads or child processes)."""
        for worker in self.workers.values():
            worker.start()

    def stop(self) -> None:
        """Stop and join every worker, releasing the models."""
        for worker in self.workers.values():
            worker.stop()

    def wait_ready(self, timeout: float | None, finished: Callable[[], bool]) -> bool:
        """Wait until every stage built its model; False on timeout, a dead stage or ``finished()``."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not all(w.ready for w in self.workers.values()):
            if finished() or any(w.dead for w in self.workers.values()):
                return False
            if deadline is not None and time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True

    def describe(self, decoded: Decoded) -> None:
        """Leave ``decoded`` for the describer (latest wins)."""
        if "description" in self.workers:
            self.descriptions.put(decoded)

    def generate(self, described: Described) -> None:
        """Leave ``described`` for the 3D stage (latest wins)."""
        if "cloud" in self.workers:
            self.clouds.put(described)

    def skipped(self) -> dict[str, int]:
        """Inputs each stage never took because a newer one replaced it."""
        return {"description": self.descriptions.overwritten, "cloud": self.clouds.overwritten}

    def errors(self, stage: str) -> int:
        """Inputs on which ``stage`` raised."""
        worker = self.workers.get(stage)
        return worker.counters.errors if worker is not None else 0

    def restarts(self, stage: str) -> int:
        """Times ``stage`` was rebuilt."""
        worker = self.workers.get(stage)
        return worker.counters.restarts if worker is not None else 0

    def modes(self) -> dict[str, str]:
        """Stage -> ``"thread"`` or ``"process"``."""
        return {name: worker.mode for name, worker in self.workers.items()}

    def pids(self) -> list[int]:
        """Process ids of the stages running in child processes (for CPU pinning)."""
        pids = [getattr(worker.runner, "pid", None) for worker in self.workers.values()]
        return [pid for pid in pids if isinstance(pid, int)]

    def backends(self) -> dict[str, str]:
        """Stage -> the model it runs."""
        return {name: worker.backend_label for name, worker in self.workers.items()}


__all__ = ["DEFAULT_FACTORIES", "SlowStages", "StageMode", "check_factory"]
