"""The asynchronous slow stages (describer, 3D): a worker thread per stage, with the
stage's model running either in that thread or in its own process.

::

    LatestMailbox ──► StageWorker (thread) ──► runner.call(payload) ──► on_result(item)
                                                 │
                                    InThreadRunner: obj.describe / obj.generate here
                                    ProcessRunner : the same in a spawned child process

Why a process: the fast path must not wait for the slow stages. onnxruntime and torch
release the interpreter lock inside their kernels, but a diffusion sampler or a
describer spends part of its time in Python between kernels; in one process those
stretches hold the lock for up to ``sys.getswitchinterval()`` (5 ms) each time the fast
path wants it. A child process has its own interpreter (and its own torch thread pool,
set to ``generator3d.threads``), so the fast path only competes for CPU, not for the
lock. Payloads are small (a 64x64x3 image, a 512-d latent, a description, a 1024-point
cloud: tens of kB), so a :func:`multiprocessing.Pipe` is cheap enough (well under a
millisecond); shared memory would add complexity for nothing at this size.
``brain3d_app/bench/standalone/pipeline.py`` measures both modes.

Errors are never silent: an exception in a stage is counted, reported through
``on_event`` (``stage_error`` with the traceback) and the worker goes on with the next
input; ``max_consecutive_errors`` failures in a row, or a child process that died, make
the worker restart the stage (rebuild the model; at most ``max_restarts`` times), after
which ``on_fatal`` is called with a message that names the stage and the cause.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from brain3d.clock import lsl_clock
from brain3d.errors import BackendError
from brain3d.pointcloud import PointCloud
from brain3d.registry import import_attribute
from brain3d.results import Trace
from brain3d.schema import Description
from realtime.mailbox import LatestMailbox
from realtime.pacing import FastPathSchedule

if TYPE_CHECKING:  # the backend packages load only when a stage builds one (a broken one must not break the engine)
    from brain3d.describe.base import Describer
    from brain3d.generate3d.base import Generator3D

logger = logging.getLogger(__name__)

#: How often a waiting worker checks for stop requests and a dead child, seconds.
POLL_S = 0.05
#: Niceness added to a stage's child process: the slow stages yield the CPU to the fast path.
CHILD_NICENESS = 5
#: Seconds a spawned child may take to import and build its model.
CHILD_START_TIMEOUT_S = 120.0


class StageCrashed(BackendError):
    """The stage's worker process died (or could not start).

    Attributes
    ----------
    retryable : bool
        False when building the model failed for a reason a restart cannot fix
        (missing weights, bad configuration).
    """

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


#: Exceptions (by class name, as they cross the process boundary) that a restart cannot fix.
PERMANENT_BUILD_ERRORS = ("ModelLoadError", "ConfigError")


class StageCancelled(Exception):
    """The engine is stopping; the call was abandoned."""


# ----------------------------------------------------------------------- jobs
def describe_job(describer: Describer, payload: tuple[Any, ...]) -> tuple[Description, list[str]]:
    """``payload = (image (H,W,3) uint8, latent (512,) float32 or None)`` -> (Description, problems).

    What the describer repaired or dropped goes into :attr:`brain3d.results.Described.problems`.
    """
    image, latent = payload
    description, problems = describer.describe_with_problems(image, latent)
    return description, list(problems)


def generate_job(generator: Generator3D, payload: tuple[Any, ...]) -> PointCloud:
    """``payload = (description, image (H,W,3) uint8 or None, seed)`` -> PointCloud."""
    description, image, seed = payload
    return generator.generate(description, image, seed=seed)


def resolve(spec: str) -> Callable[..., Any]:
    """``"package.module:function"`` -> the function (imported here; :func:`brain3d.registry.import_attribute`).

    Raises
    ------
    ValueError
        ``spec`` is not ``"module:function"``.
    AttributeError
        The module has no such callable.
    """
    target = import_attribute(spec)
    if not callable(target):
        raise AttributeError(f"factory spec {spec!r}: the module has no callable of that name")
    return target


# -------------------------------------------------------------------- runners
class StageRunner(Protocol):
    """Runs one stage's model call somewhere (this thread or a child process)."""

    mode: str

    def start(self) -> None:
        """Build the model (may take seconds; called from the worker thread)."""

    def call(self, payload: tuple[Any, ...], cancel: threading.Event) -> Any:
        """Run the job on ``payload``; raise the stage's exception, StageCrashed or StageCancelled."""

    def restart(self) -> None:
        """Drop the model (and process) and build it again."""

    def kill(self) -> None:
        """Abort a stuck call where possible (processes: terminate the child)."""

    def close(self) -> None:
        """Release the model (and join the child)."""


def _attach_pacer(model: Any, pacing: FastPathSchedule | None) -> None:
    """Give a model that samples in steps (``before_step``) the fast-path pacer."""
    if pacing is not None and hasattr(model, "before_step"):
        model.before_step = pacing.pacer()


class InThreadRunner:
    """The stage's model runs in the worker thread of this process.

    Parameters
    ----------
    job : callable
        ``job(model, payload) -> result``.
    instance : object, optional
        A ready model (describer / generator); restarts keep it.
    factory : callable, optional
        ``factory(config) -> model``, used when ``instance`` is None and on restarts.
    config : Config, optional
        For ``factory``.
    pacing : FastPathSchedule, optional
        Keeps a stepwise sampler's steps away from the fast path (:mod:`realtime.pacing`).
    """

    mode = "thread"

    def __init__(self, job: Callable[[Any, tuple[Any, ...]], Any], *, instance: Any = None,
                 factory: Callable[[Any], Any] | None = None, config: Any = None,
                 pacing: FastPathSchedule | None = None) -> None:  # fmt: skip
        if instance is None and factory is None:
            raise ValueError("InThreadRunner needs an instance or a factory")
        self.job = job
        self.instance = instance
        self.factory = factory
        self.config = config
        self.pacing = pacing
        self._owned = instance is None

    def start(self) -> None:
        if self.instance is None:
            assert self.factory is not None
            self.instance = self.factory(self.config)
        _attach_pacer(self.instance, self.pacing)

    def call(self, payload: tuple[Any, ...], cancel: threading.Event) -> Any:
        if cancel.is_set():
            raise StageCancelled
        return self.job(self.instance, payload)

    def restart(self) -> None:
        if self._owned and self.factory is not None:
            self.close()
            self.instance = None
            self.start()

    def kill(self) -> None:
        """Threads cannot be interrupted; the stuck call is only reported."""

    def close(self) -> None:
        if self._owned and self.instance is not None:
            close = getattr(self.instance, "close", None)
            if callable(close):
                close()


def _child_main(conn: Any, factory_spec: str, config: Any, job: Callable[..., Any], torch_threads: int,
                pacing: FastPathSchedule | None = None) -> None:  # fmt: skip
    """Entry point of a stage's child process: build the model, then serve jobs."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when we stop
    try:
        os.nice(CHILD_NICENESS)  # on a busy CPU the fast path (parent) gets the core first
    except OSError:  # pragma: no cover - not permitted on some systems
        pass
    try:
        import torch

        torch.set_num_threads(max(1, torch_threads))
    except Exception:  # noqa: BLE001 - torch-free stages are fine
        pass
    try:
        model = resolve(factory_spec)(config)
        _attach_pacer(model, pacing)
    except BaseException as exc:  # noqa: BLE001 - reported to the parent
        conn.send(("failed", (type(exc).__name__, str(exc)), traceback.format_exc()))
        return
    conn.send(("ready", getattr(model, "name", type(model).__name__), None))
    try:
        while True:
            message = conn.recv()
            if message[0] == "stop":
                break
            try:
                result = job(model, message[1])
            except Exception as exc:  # noqa: BLE001 - reported to the parent
                conn.send(("error", f"{type(exc).__name__}: {exc}", traceback.format_exc()))
            else:
                conn.send(("ok", result, None))
    except (EOFError, OSError, KeyboardInterrupt):
        pass
    close = getattr(model, "close", None)
    if callable(close):
        try:
            close()
        except Exception:  # noqa: BLE001 - exiting anyway
            logger.exception("closing the stage's model failed")
    conn.close()
    # Nothing left to flush: skip the interpreter's teardown (torch's takes seconds on a busy CPU).
    os._exit(0)


class ChildStageError(Exception):
    """An exception raised inside a stage's child process (message and traceback kept)."""

    def __init__(self, message: str, remote_traceback: str) -> None:
        super().__init__(message)
        self.remote_traceback = remote_traceback


class ProcessRunner:
    """The stage's model runs in a spawned child process; jobs go over a Pipe.

    Parameters
    ----------
    job : callable
        Module-level ``job(model, payload) -> result`` (pickled by reference).
    factory_spec : str
        ``"package.module:function"`` building the model from ``config`` in the child.
    config : Config
        Sent to the child (pickled).
    torch_threads : int
        ``torch.set_num_threads`` in the child.
    name : str
        Process name.
    pacing : FastPathSchedule, optional
        Shared with the child: keeps a stepwise sampler's steps away from the fast
        path (:mod:`realtime.pacing`).
    """

    mode = "process"

    def __init__(self, job: Callable[..., Any], factory_spec: str, config: Any, *, torch_threads: int = 1,
                 name: str = "stage", pacing: FastPathSchedule | None = None) -> None:
        self.job = job
        self.pacing = pacing
        self.factory_spec = factory_spec
        self.config = config
        self.torch_threads = int(torch_threads)
        self.name = name
        self.model_name: str | None = None
        self._ctx = mp.get_context("spawn")
        self._process: Any = None
        self._conn: Any = None
        self._lock = threading.Lock()
        #: Set by the worker: abandons a start in progress when the engine stops.
        self.cancel: threading.Event | None = None

    @property
    def pid(self) -> int | None:
        """Process id of the child (None when not running)."""
        return None if self._process is None else self._process.pid

    def start(self) -> None:
        parent, child = self._ctx.Pipe(duplex=True)
        process = self._ctx.Process(
            target=_child_main,
            args=(child, self.factory_spec, self.config, self.job, self.torch_threads, self.pacing),
            name=f"brain3d-{self.name}", daemon=True,
        )
        process.start()
        child.close()
        with self._lock:
            self._process, self._conn = process, parent
        deadline = time.monotonic() + CHILD_START_TIMEOUT_S
        while not parent.poll(POLL_S):
            if self.cancel is not None and self.cancel.is_set():
                self.kill()
                raise StageCancelled
            if not process.is_alive() and not parent.poll(0):
                process.join(2)
                raise StageCrashed(f"{self.name}: the worker process died while starting (exit code {process.exitcode})")
            if time.monotonic() > deadline:
                self.kill()
                raise StageCrashed(f"{self.name}: the worker process did not start within {CHILD_START_TIMEOUT_S:g} s")
        try:
            kind, info, tb = parent.recv()
        except (EOFError, OSError) as exc:
            raise StageCrashed(f"{self.name}: the worker process died while starting "
                               f"(exit code {process.exitcode})") from exc
        if kind == "failed":
            process.join(5)
            error_type, message = info
            logger.debug("%s: worker process traceback:\n%s", self.name, tb)
            raise StageCrashed(f"{self.name}: building the model failed: {error_type}: {message}",
                               retryable=error_type not in PERMANENT_BUILD_ERRORS)
        self.model_name = str(info)
        logger.info("%s: %s ready in process %d", self.name, self.model_name, process.pid)

    def call(self, payload: tuple[Any, ...], cancel: threading.Event) -> Any:
        process, conn = self._process, self._conn
        if process is None or conn is None:
            raise StageCrashed(f"{self.name}: the worker process is not running")
        try:
            conn.send(("job", payload))
            while not conn.poll(POLL_S):
                if cancel.is_set():
                    raise StageCancelled
                if not process.is_alive():
                    process.join(2)
                    raise StageCrashed(f"{self.name}: the worker process died (exit code {process.exitcode})")
            kind, result, tb = conn.recv()
        except (EOFError, OSError) as exc:
            process.join(2)  # a pipe closed by a dying child: wait for its exit code
            raise StageCrashed(f"{self.name}: the worker process died (exit code {process.exitcode}; "
                               f"{type(exc).__name__} on its pipe)") from exc
        if kind == "error":
            raise ChildStageError(result, tb or "")
        return result

    def restart(self) -> None:
        self.kill()
        self.start()

    def kill(self) -> None:
        with self._lock:
            process, conn = self._process, self._conn
            self._process = self._conn = None
        if process is not None and process.is_alive():
            process.terminate()
            process.join(2)
            if process.is_alive():
                process.kill()
                process.join(2)
        if conn is not None:
            conn.close()

    def close(self) -> None:
        with self._lock:
            process, conn = self._process, self._conn
            self._process = self._conn = None
        if conn is not None:
            try:
                conn.send(("stop", None))
            except (OSError, BrokenPipeError):
                pass
        if process is not None:
            process.join(5)
            if process.is_alive():
                logger.warning("%s: worker process did not stop within 5 s; terminating it", self.name)
                process.terminate()
                process.join(2)
        if conn is not None:
            conn.close()


# --------------------------------------------------------------------- worker
@dataclass
class StageCounters:
    """What one stage did so far."""

    processed: int = 0
    errors: int = 0
    restarts: int = 0


class StageItem(Protocol):
    """What a stage's input carries: its window's sequence number and trace."""

    seq: int
    trace: Trace


#: The item a stage's mailbox carries (``Decoded`` for the describer, ``Described`` for 3D).
Item = TypeVar("Item", bound=StageItem)


class StageWorker(Generic[Item]):
    """Takes the newest input from its mailbox, runs the stage, hands the result on.

    Parameters
    ----------
    name : str
        Stage name as in traces: ``"description"`` or ``"cloud"``.
    inbox : LatestMailbox
        Items (one type per mailbox) with ``.seq`` and ``.trace``.
    runner : StageRunner
    payload : callable
        ``payload(item) -> tuple`` for the runner's job.
    on_result : callable
        ``on_result(item, result)`` after the stage marked its trace stamp.
    on_event : callable
        ``on_event(kind, detail)`` for ``stage_error``, ``stage_restarted``, ``stage_crashed``.
    on_fatal : callable
        ``on_fatal(message)`` once restarts are exhausted (the engine stops the run).
    clock : callable
        LSL clock.
    max_consecutive_errors : int
        Failures in a row that trigger a restart.
    max_restarts : int
        Restarts allowed before the stage is declared dead.
    """

    def __init__(self, name: str, inbox: LatestMailbox[Item], runner: StageRunner, *,
                 payload: Callable[[Item], tuple[Any, ...]], on_result: Callable[[Item, Any], None], on_event: Callable[[str, dict[str, Any]], None],
                 on_fatal: Callable[[str], None], clock: Callable[[], float] = lsl_clock,
                 max_consecutive_errors: int = 5, max_restarts: int = 2) -> None:
        self.name = name
        self.inbox = inbox
        self.runner = runner
        self.payload = payload
        self.on_result = on_result
        self.on_event = on_event
        self.on_fatal = on_fatal
        self.clock = clock
        self.max_consecutive_errors = int(max_consecutive_errors)
        self.max_restarts = int(max_restarts)
        self.counters = StageCounters()
        self.ready = False
        self.dead = False
        self.busy_since: float | None = None
        self.current_seq: int | None = None
        self.last_output: float | None = None
        self._stop = threading.Event()
        if hasattr(runner, "cancel"):
            runner.cancel = self._stop
        self._thread = threading.Thread(target=self._run, name=f"stage-{name}", daemon=True)

    @property
    def mode(self) -> str:
        """``"thread"`` or ``"process"``."""
        return self.runner.mode

    @property
    def backend_label(self) -> str:
        """The model this stage runs (its ``name``), or ``"not started"``."""
        instance = getattr(self.runner, "instance", None)
        label = getattr(self.runner, "model_name", None) or getattr(instance, "name", None)
        return str(label or (type(instance).__name__ if instance is not None else "not started"))

    def start(self) -> None:
        """Start the worker thread (the model is built there, not here)."""
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop taking inputs, abandon a call in progress, join, release the model."""
        self._stop.set()
        self.inbox.close()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)
            if self._thread.is_alive():
                logger.warning("%s: still busy after %.0f s (a call in this process cannot be interrupted)",
                               self.name, timeout)
        try:
            self.runner.close()
        except Exception:  # noqa: BLE001 - closing must not stop the shutdown
            logger.exception("%s: closing the stage failed", self.name)

    def holding(self) -> set[int]:
        """Sequence numbers this stage still holds (in progress or waiting in its mailbox)."""
        held = set()
        if self.current_seq is not None:
            held.add(self.current_seq)
        pending = self.inbox.peek()
        if pending is not None:
            held.add(pending.seq)
        return held

    # ---------------------------------------------------------------- the loop
    def _build(self, restart: bool) -> bool:
        try:
            if restart:
                self.runner.restart()
            else:
                self.runner.start()
        except StageCancelled:
            return False
        except Exception as exc:  # noqa: BLE001 - reported, then restart or fatal
            logger.error("%s: could not %s the stage: %s", self.name, "restart" if restart else "start", exc)
            self.on_event("stage_error", {"stage": self.name, "error": f"{type(exc).__name__}: {exc}",
                                          "while": "restarting" if restart else "starting"})
            permanent = (isinstance(exc, StageCrashed) and not exc.retryable) or \
                type(exc).__name__ in PERMANENT_BUILD_ERRORS
            if permanent:
                self._die(f"the {self.name} stage cannot start: {exc}")
            return False
        return True

    def _die(self, message: str) -> None:
        if not self.dead:
            self.dead = True
            self.on_fatal(message)

    def _restart_or_die(self, cause: str) -> bool:
        while self.counters.restarts < self.max_restarts and not self._stop.is_set() and not self.dead:
            self.counters.restarts += 1
            logger.warning("%s: restarting the stage (%d/%d): %s", self.name, self.counters.restarts,
                           self.max_restarts, cause)
            self.on_event("stage_restarted", {"stage": self.name, "restart": self.counters.restarts,
                                              "cause": cause})
            if self._build(restart=True):
                return True
        if self._stop.is_set() or self.dead:
            return False
        self._die(f"the {self.name} stage failed and was restarted {self.counters.restarts} times without "
                  f"recovering (last cause: {cause}); check its backend configuration "
                  f"({'describer' if self.name == 'description' else 'generator3d'} section) and the log")
        return False

    def _run(self) -> None:
        if not self._build(restart=False) and not self._restart_or_die("the stage could not start"):
            return
        self.ready = True
        consecutive = 0
        while not self._stop.is_set():
            item = self.inbox.get(timeout=0.1)
            if item is None:
                continue
            self.current_seq = item.seq
            self.busy_since = self.clock()
            try:
                result = self.runner.call(self.payload(item), self._stop)
            except StageCancelled:
                break
            except StageCrashed as exc:
                self.counters.errors += 1
                self.on_event("stage_crashed", {"stage": self.name, "seq": item.seq, "error": str(exc)})
                if not self._restart_or_die(str(exc)):
                    break
                consecutive = 0
            except Exception as exc:  # noqa: BLE001 - a stage error never stops the fast path
                self.counters.errors += 1
                consecutive += 1
                tb = getattr(exc, "remote_traceback", None) or traceback.format_exc()
                logger.warning("%s: failed on window %d: %s: %s", self.name, item.seq, type(exc).__name__, exc)
                self.on_event("stage_error", {"stage": self.name, "seq": item.seq,
                                              "error": f"{type(exc).__name__}: {exc}", "traceback": tb})
                if consecutive >= self.max_consecutive_errors:
                    if not self._restart_or_die(f"{consecutive} errors in a row, last {type(exc).__name__}: {exc}"):
                        break
                    consecutive = 0
            else:
                consecutive = 0
                done = self.clock()
                item.trace.mark(self.name, done)
                self.counters.processed += 1
                self.last_output = done
                try:
                    self.on_result(item, result)
                except Exception:  # noqa: BLE001 - reported by the engine
                    logger.exception("%s: handing the result on failed", self.name)
            finally:
                self.busy_since = None
                self.current_seq = None
