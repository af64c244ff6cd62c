"""The realtime engine: source -> windows -> fast path -> describer -> 3D -> sinks.

::

    AcquisitionThread ──────────────► LatestMailbox ─► fast path thread (publish)
      (read, record raw, preprocess,   "inference"      │  Decoded (every window) ─► sinks, LSL latent
       cut, prepare_windows + onnxruntime)              ▼
                          LatestMailbox ─► describer stage  ─► Described ─► sinks, LSL event
                          "description"     │ (thread or child process)
                                            ▼
                          LatestMailbox ─► 3D stage ─► Cloud ─► sinks, LSL "cloud_ready"
                          "cloud"            (thread or child process)

    supervisor thread: health (stall, falling behind, stuck / crashed stages), status
    to sinks 4x per second, traces.jsonl, end of stream and fatal errors.

* **No hand-off before the image.** The acquisition thread runs the fast path itself as
  soon as it cuts a window (``fast_path_thread="acquisition"``, the default); a read that
  completes several windows decodes only the newest. ``fast_path_thread="own"`` hands
  windows to the fast-path thread instead.
* **Latest-wins.** Every hand-off is a one-slot :class:`~realtime.mailbox.LatestMailbox`;
  a stage always takes the newest input; what it never took is counted as ``skipped``
  for that stage (``summary.json``, :class:`~realtime.sinks.StageFigures`).
* **One trace, one clock.** Each window's :class:`~brain3d.results.Trace` (LSL clock)
  travels with the window and is shared by its ``Decoded``, ``Described`` and ``Cloud``:
  ``buffered`` (windower), ``preprocessed``, ``inference``, ``description``, ``cloud``,
  and ``display``, which a viewer sink marks itself (``item.trace.mark("display",
  lsl_clock())`` when a frame shows the item; the engine reads it when it writes the
  trace). Latency = that stamp - the window's last-sample time.
* **Slow stages** built from the configuration run in their own spawned processes by
  default (``stage_mode="auto"``; see :mod:`realtime.stages` for why); describer or
  generator objects passed in run in threads of this process.
* **Stopping.** :meth:`Engine.request_stop` only sets a flag (safe in signal handlers);
  :meth:`Engine.stop` also tears down: acquisition stopped (recorder flushed and
  closed), workers joined, traces and ``summary.json`` written, sinks closed.
"""

from __future__ import annotations

import importlib
import logging
import signal
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from brain3d.clock import lsl_clock
from brain3d.config import Config
from brain3d.errors import BackendError, Brain3DError
from brain3d.latency import LatencyStats
from brain3d.normalization import prepare_windows
from brain3d.results import Cloud, Decoded, Described, Trace, Window
from realtime.mailbox import LatestMailbox
from realtime.pacing import FastPathSchedule
from realtime.scoring import LiveScorer
from realtime.session import SessionWriter, new_session_dir
from realtime.sinks import EngineStatus, Sink, StageFigures
from realtime.stages import (
    InThreadRunner,
    ProcessRunner,
    StageRunner,
    StageWorker,
    describe_job,
    generate_job,
    resolve,
)

logger = logging.getLogger(__name__)

#: Stage names in trace order.
STAGES = ("buffered", "preprocessed", "inference", "description", "cloud", "display")
#: Factories of the slow stages (``module:function``, built in the worker).
DEFAULT_FACTORIES = {
    "description": "brain3d.describe:build_describer",
    "cloud": "brain3d.generate3d:build_generator",
}
StageMode = Literal["auto", "thread", "process"]
FastPathThread = Literal["acquisition", "own"]
#: Results per stage that :attr:`Engine.status` percentiles cover (the summary covers all).
STATUS_WINDOW = 1000


@dataclass(frozen=True)
class HealthSettings:
    """Thresholds of the health checks, seconds.

    Attributes
    ----------
    stall_s : float
        No window for this long (while the source should deliver) = stream stalled.
    behind_s : float
        A window reaching the fast path this long after its last sample = falling
        behind real time.
    stuck_s : float
        A slow stage busy with one input this long while newer inputs wait = stuck.
    kill_stuck_s : float
        A stuck stage in a child process is killed (and restarted) after this long.
    status_interval_s : float
        Period of ``on_status`` calls.
    trace_hold_s : float
        A window's trace is written once no stage holds it and it is this old (later
        ``display`` marks are then not recorded).
    """

    stall_s: float = 2.0
    behind_s: float = 0.5
    stuck_s: float = 30.0
    kill_stuck_s: float = 120.0
    status_interval_s: float = 0.25
    trace_hold_s: float = 2.0


@dataclass
class RunSummary:
    """What one run did (``summary.json``). Latencies in ms on the LSL clock, from the
    window's last sample to each stage's result. ``weights`` names the fast path's weights
    and what trained them, from the checkpoint's own metadata (``trained on ...`` or
    ``UNTRAINED ...``)."""

    session_dir: str
    source: str
    simulated: bool
    provider: str
    precision: str
    trained_weights: bool
    weights: str
    duration_s: float
    windows: int
    windows_unusable: int
    samples_received: int
    stages: dict[str, dict[str, Any]]
    inference_compute_ms: dict[str, float]
    cloud_updates_per_s: float
    stage_modes: dict[str, str]
    backends: dict[str, str]
    identification: dict[str, Any] | None
    events: dict[str, int]
    stopped_by: str
    error: str | None = None
    latency_definition: str = "LSL time of the window's last sample -> the stage's result available"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready mapping (NaN, e.g. the percentiles of a stage with no result, becomes None)."""
        return _no_nan(asdict(self))


def _no_nan(value: Any) -> Any:
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, dict):
        return {k: _no_nan(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_no_nan(v) for v in value]
    return value


@dataclass
class _Inferred:
    """A window with its fast-path outputs (``FastPathOutput``) and LSL-clock stamps."""

    window: Window
    out: Any
    started: float
    done: float
    lag: float


def _percentiles(values: list[float]) -> dict[str, float]:
    return LatencyStats.of(values).pick("p50", "p99", "max", suffix="_ms")  # type: ignore[return-value]


def _to_uint8_hwc(image: np.ndarray) -> np.ndarray:
    """(3, H, W) in [-1, 1] -> (H, W, 3) uint8."""
    return np.ascontiguousarray(np.clip(np.rint((image.transpose(1, 2, 0) + 1.0) * 127.5), 0, 255).astype(np.uint8))


def _check_factory(stage: str, spec: str) -> None:
    """Import a configured stage's factory here, so that a broken install fails the start.

    Raises
    ------
    BackendError
        ``module:function`` cannot be imported (the import error's message is kept), or
        the module has no such callable.
    """
    module, _, attr = spec.partition(":")
    try:
        factory = getattr(importlib.import_module(module), attr, None)
    except Exception as exc:  # noqa: BLE001 - any import failure is the user's to see
        raise BackendError(
            f"the {stage} stage cannot start: importing {module} failed ({type(exc).__name__}: {exc}). "
            "Repair the installation (bash scripts/setup.sh), or run without the slow stages "
            "(--fast-path-only)"
        ) from exc
    if not callable(factory):
        raise BackendError(f"the {stage} stage cannot start: {module} has no callable {attr!r} (factory {spec!r})")


class Engine:
    """The live pipeline of one run.

    Parameters
    ----------
    config : Config
        The whole configuration (source, window, preprocessing, onnx, describer,
        generator3d, output).
    sinks : iterable of Sink
        Extra sinks (viewer, offscreen renderer). The session writer and the LSL
        outputs are added by the engine.
    source : acquisition.base.Source, optional
        Default: built from ``config.source`` (``replay`` starts a player).
    describer, generator : object, optional
        Ready describer / 3D generator (run in threads of this process). Default:
        built from ``config`` by ``brain3d.describe.build_describer`` and
        ``brain3d.generate3d.build_generator`` (in child processes unless
        ``stage_mode="thread"``). A stage whose factory cannot be imported fails
        :meth:`start` with the import error's message (never a silent run without it).
    session_dir : Path, optional
        Default: a new ``<output.dir>/<UTC time>-<source>/``.
    slow_stages : bool
        False runs the fast path only (for measuring the slow stages' cost).
    fast_path : export_onnx.FastPathSession, optional
        An open session (default: :func:`export_onnx.open_fast_path` at :meth:`start`).
    stage_mode : {"auto", "thread", "process"}
        Where stages built from the configuration run ("auto": process).
    stage_factories : dict, optional
        ``{"description"|"cloud": "module:function"}`` overriding the factories; None
        turns that stage off.
    lsl_outputs : bool
        Publish the latent and event streams.
    health : HealthSettings, optional
    wait_for_stages_s : float, optional
        Before opening the source, wait up to this long for the slow stages to load
        their models (so that the whole run has descriptions and clouds); a stage that
        cannot start then fails :meth:`start`. None: start the source at once.
    fast_path_thread : {"acquisition", "own"}
        Where prepare_windows + onnxruntime run. ``"acquisition"`` (default): in the
        acquisition thread, as soon as the window is cut, so that no thread hand-off sits
        between the last sample and the image (the hand-off cost 0.15-0.2 ms at the
        median and 0.3-0.5 ms at p99 here); when one read completes several windows (a backlog) only the newest is
        decoded and the others count as skipped (latest wins). The fast-path thread then
        publishes each result (sinks, LSL latent, describer). ``"own"``: the acquisition
        thread hands each window to the fast-path thread through the latest-wins mailbox.
    clock : callable
        LSL clock.
    """

    def __init__(
        self,
        config: Config,
        *,
        sinks: Iterable[Sink] = (),
        source: Any = None,
        describer: Any = None,
        generator: Any = None,
        session_dir: str | Path | None = None,
        slow_stages: bool = True,
        fast_path: Any = None,
        stage_mode: StageMode = "auto",
        stage_factories: dict[str, str | None] | None = None,
        lsl_outputs: bool = True,
        health: HealthSettings | None = None,
        wait_for_stages_s: float | None = None,
        fast_path_thread: FastPathThread = "acquisition",
        clock: Callable[[], float] = lsl_clock,
    ) -> None:
        if stage_mode not in ("auto", "thread", "process"):
            raise ValueError(f"stage_mode={stage_mode!r}: use 'auto', 'thread' or 'process'")
        if fast_path_thread not in ("acquisition", "own"):
            raise ValueError(f"fast_path_thread={fast_path_thread!r}: use 'acquisition' or 'own'")
        self.fast_path_thread = fast_path_thread
        self.config = config
        self._extra_sinks = list(sinks)
        self._source_arg = source
        self._describer_arg = describer
        self._generator_arg = generator
        self._session_arg = session_dir
        self.slow_stages = bool(slow_stages)
        self._fast_path = fast_path
        self.stage_mode = stage_mode
        self.factories: dict[str, str | None] = {**DEFAULT_FACTORIES, **(stage_factories or {})}
        self.lsl_outputs_enabled = bool(lsl_outputs)
        self.health = health or HealthSettings()
        self.wait_for_stages_s = wait_for_stages_s
        self.clock = clock

        self.session_dir: Path | None = None
        self.writer: SessionWriter | None = None
        self.lsl: Any = None
        self.source: Any = None
        self.player: Any = None
        self.acquisition: Any = None
        self.scorer: LiveScorer | None = None
        self.summary: RunSummary | None = None
        self.workers: dict[str, StageWorker] = {}
        #: The next window's due time, shared with the 3D stage (None: it does not yield).
        self.pacing: FastPathSchedule | None = (
            FastPathSchedule() if config.generator3d.yield_to_fast_path else None)
        self._hop_s = config.window.hop / config.window.sfreq
        self._due_early_s = 0.0
        self._sinks: list[Any] = []
        self._weights = ""  # the fast path's weights label, read once it is open
        # "own": acquisition -> windows -> fast-path thread (prepare + onnxruntime + publish);
        # "acquisition": acquisition thread (prepare + onnxruntime) -> results -> fast-path thread (publish)
        self._inbox: LatestMailbox[Any] = LatestMailbox("inference")
        self._superseded = 0
        self._boxes: dict[str, LatestMailbox[Any]] = {"description": LatestMailbox("description"),
                                                      "cloud": LatestMailbox("cloud")}
        self._lat: dict[str, list[float]] = {s: [] for s in STAGES}
        self._compute_ms: list[float] = []
        self._traces: dict[int, tuple[Trace, float]] = {}
        self._traces_lock = threading.Lock()
        self._events: dict[str, int] = {}
        self._events_lock = threading.Lock()
        self._stream_state = "ok"
        self._last_window_mono: float | None = None
        self._behind_since: float | None = None
        self._last_lag_ok_mono = 0.0
        self._stuck_reported: dict[str, float] = {}
        self._windows = 0
        self._simulated = False
        self._source_name = ""
        self._sfreq = 0.0
        self._started_mono: float | None = None
        self._ended_mono: float | None = None
        self._stop_reason: str | None = None
        self._error: str | None = None
        self._finished = threading.Event()
        self._halt = threading.Event()
        self._teardown_lock = threading.Lock()
        self._teardown_owner: int | None = None
        self._teardown_done = threading.Event()
        self._started = False
        self._threads: list[threading.Thread] = []

    # ================================================================ lifecycle
    def start(self) -> Engine:
        """Open everything and start the threads (returns at once after opening).

        Raises
        ------
        Brain3DError
            The fast path, the source or the session folder could not be opened (all
            that was opened is closed again).
        """
        if self._started:
            raise RuntimeError("Engine.start() was already called; create a new Engine for another run")
        self._started = True
        try:
            self._open()
        except BaseException:
            self._halt.set()
            self._finished.set()
            self._close_partial()
            raise
        return self

    def _open(self) -> None:
        from acquisition.pipeline import AcquisitionThread, source_from_config

        config = self.config
        label = config.source.kind
        self.session_dir = Path(self._session_arg) if self._session_arg is not None else \
            new_session_dir(config.output.dir, label)
        self.writer = SessionWriter(self.session_dir, config_yaml=config.to_yaml())
        self._sinks = [self.writer]
        self._event("run_started", "engine", {"source_kind": label, "session": str(self.session_dir)})
        if self.slow_stages:  # first: their models load (child processes) while the fast path opens
            self._build_workers()
            for worker in self.workers.values():
                worker.start()
        if self._fast_path is None:
            from export_onnx import open_fast_path

            self._fast_path = open_fast_path(config)
        if self._source_arg is not None:
            self.source = self._source_arg
        else:
            if config.source.kind == "replay":
                from acquisition.replay import Player

                replay = config.source.replay
                if replay.path is None:
                    from brain3d.errors import ConfigError

                    raise ConfigError("source.kind is 'replay' but source.replay.path is not set; "
                                      "use --source replay:FILE or --set source.replay.path=FILE")
                self.player = Player(replay.path, speed=replay.speed, loop=replay.loop,
                                     start_offset_s=replay.start_offset_s)
                self.player.open()
            self.source = source_from_config(config, player=self.player)
        if self.wait_for_stages_s and self.workers:
            logger.info("waiting for the %s stage(s) to load their models (at most %.0f s)",
                        " and ".join(self.workers), self.wait_for_stages_s)
            ready = self.wait_stages_ready(self.wait_for_stages_s)
            if self._error is not None:
                raise BackendError(f"the run could not start: {self._error}")
            if not ready:
                logger.warning("slow stages not ready after %.0f s; starting the source anyway",
                               self.wait_for_stages_s)
        self.acquisition = AcquisitionThread(
            self.source, config, on_window=self._on_window, on_event=self._on_source_event,
            recorder=self.session_dir / "recording.xdf",
        )
        self.acquisition.start()  # opens the source: a missing stream raises here
        description = self.source.description
        self._simulated = bool(description.simulated)
        self._sfreq = float(description.sfreq)
        # a simulator or a replay faster than real time stamps samples at sfreq * speed (LSL clock)
        speed = float(getattr(self.source, "speed", None) or getattr(self.player, "speed", None) or 1.0)
        self._hop_s = config.window.hop / config.window.sfreq / speed
        self._due_early_s = 1.0 / (self._sfreq * speed) if self._sfreq > 0 else 0.0
        self._source_name = f"{config.source.kind}: {description.name}" + (
            " (SIMULATED EEG, not recorded)" if self._simulated else "")
        if LiveScorer.supports(self.source):
            self.scorer = LiveScorer(self.source, tolerance_s=self._hop_s / 2)
        if self.lsl_outputs_enabled:
            from realtime.lsl_outputs import LSLOutputs

            self.lsl = LSLOutputs(config.model.latent_dim, simulated=self._simulated, weights=self._weights_label())
            self._sinks.append(self.lsl)
        self._sinks.extend(self._extra_sinks)
        if self.player is not None:
            self.player.start()
        self._started_mono = time.monotonic()
        self._last_window_mono = self._started_mono
        self._event("source_opened", "engine", {"source": self._source_name,
                                                "stage_modes": {k: w.mode for k, w in self.workers.items()}})
        for target, name in ((self._fast_loop, "fast-path"), (self._supervise, "supervisor")):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        logger.info("engine started: %s -> %s", self._source_name, self.session_dir)

    def _runner(self, name: str, instance: Any, job: Callable[..., Any]) -> StageRunner | None:
        pacing = self.pacing if name == "cloud" else None
        if instance is not None:
            return InThreadRunner(job, instance=instance, pacing=pacing)
        spec = self.factories[name]
        if spec is None:  # turned off by the caller
            return None
        _check_factory(name, spec)
        section = self.config.describer if name == "description" else self.config.generator3d
        threads = int(getattr(section, "threads", 1) or 1)
        if self.stage_mode == "thread":
            return InThreadRunner(job, factory=resolve(spec), config=self.config, pacing=pacing)
        return ProcessRunner(job, spec, self.config, torch_threads=threads, name=name, pacing=pacing)

    def _build_workers(self) -> None:
        runners = {
            "description": self._runner("description", self._describer_arg, describe_job),
            "cloud": self._runner("cloud", self._generator_arg, generate_job),
        }
        if any(isinstance(r, InThreadRunner) and r.factory is not None for r in runners.values() if r):
            try:
                import torch

                torch.set_num_threads(self.config.generator3d.threads)
            except ImportError:  # pragma: no cover
                pass
        if runners["description"] is not None:
            self.workers["description"] = StageWorker(
                "description", self._boxes["description"], runners["description"],
                payload=lambda d: (d.image, d.latent), on_result=self._on_described,
                on_event=self._stage_event, on_fatal=self._fatal, clock=self.clock)
        if runners["cloud"] is not None:
            seed = None
            self.workers["cloud"] = StageWorker(
                "cloud", self._boxes["cloud"], runners["cloud"],
                payload=lambda d: (d.description, d.image, seed), on_result=self._on_cloud,
                on_event=self._stage_event, on_fatal=self._fatal, clock=self.clock)

    def request_stop(self, reason: str = "stop requested") -> None:
        """Ask the run to end (returns at once; safe from any thread and signal handlers)."""
        if self._stop_reason is None:
            self._stop_reason = reason
        self._finished.set()

    def stop(self) -> RunSummary | None:
        """Stop and tear down (idempotent, any thread): acquisition stopped and its
        recording closed, workers joined, traces and ``summary.json`` written, sinks closed.

        Returns
        -------
        RunSummary or None
            None when the engine never started (or another thread is tearing down and
            this call came from inside that teardown, e.g. a signal handler).
        """
        self.request_stop()
        if not self._started:
            return None
        if self._teardown_done.is_set():
            return self.summary
        if not self._teardown_lock.acquire(blocking=False):
            if self._teardown_owner == threading.get_ident():
                return None  # a signal handler interrupting our own teardown
            self._teardown_done.wait(120)
            return self.summary
        self._teardown_owner = threading.get_ident()
        try:
            if not self._teardown_done.is_set():
                self._teardown()
        finally:
            self._teardown_done.set()
            self._teardown_lock.release()
        return self.summary

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until the run is finished (stop requested, source ended or a fatal error).

        Returns
        -------
        bool
            True when finished, False on timeout.
        """
        return self._finished.wait(timeout)

    def wait_stages_ready(self, timeout: float | None = None) -> bool:
        """Wait until every slow stage has built its model (child processes take seconds).

        Returns
        -------
        bool
            True when all are ready (or there are none); False on timeout, a dead
            stage or a finished run.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        while not all(w.ready for w in self.workers.values()):
            if self.finished or any(w.dead for w in self.workers.values()):
                return False
            if deadline is not None and time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True

    @property
    def finished(self) -> bool:
        """True once the run should end or has ended."""
        return self._finished.is_set()

    def run(self, duration_s: float | None) -> RunSummary:
        """Start, run for ``duration_s`` seconds (None: until stopped), stop; the summary.

        Raises
        ------
        Brain3DError
            A fatal error ended the run (the session folder is complete nonetheless).
        """
        self.start()
        try:
            if not self.wait(duration_s):
                self.request_stop("duration reached")
        finally:
            summary = self.stop()
        assert summary is not None
        return summary

    def __enter__(self) -> Engine:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    # ============================================================ data path
    def _on_window(self, window: Window) -> None:
        """Acquisition thread: decode the window here, or hand it to the fast-path thread."""
        self._last_window_mono = time.monotonic()
        if self.fast_path_thread == "own":
            self._inbox.put(window)
            return
        if self._error is not None:
            return  # the fast path failed for good; the run is stopping
        acquisition = self.acquisition
        if acquisition is not None and acquisition.windows_pending:
            self._superseded += 1  # latest wins: a newer window of this read comes next
            return
        inferred = self._infer(window)
        if inferred is not None:
            self._inbox.put(inferred)

    def _infer(self, window: Window) -> _Inferred | None:
        """prepare_windows + onnxruntime on one window; None after a fatal failure."""
        prep = self.config.preprocessing
        clock = self.clock
        try:
            trace = window.trace
            lag = clock() - window.t_last
            eeg = prepare_windows(window.data, prep.reference, prep.normalization)
            trace.mark("preprocessed", clock())
            started = clock()
            out = self._fast_path.run(eeg)
            done = clock()
            trace.mark("inference", done)
            if self.pacing is not None:  # also tells a paused 3D step that this window is done
                # one input period early: windows end on input samples, so consecutive ends
                # differ from the hop by less than that (acquisition.preprocessing.window_phases)
                self.pacing.expect(time.monotonic() + (window.t_last + self._hop_s - self._due_early_s - done))
        except Exception as exc:  # noqa: BLE001 - reported; a persistent failure ends the run
            self._event("stage_error", "inference", {"stage": "inference", "seq": window.seq,
                                                     "error": f"{type(exc).__name__}: {exc}"})
            logger.exception("fast path failed on window %d", window.seq)
            self._fatal(f"the fast path failed on window {window.seq}: {type(exc).__name__}: {exc}")
            self._inbox.close()
            return None
        return _Inferred(window, out, started, done, lag)

    def _fast_loop(self) -> None:
        """Fast-path thread: decode handed-over windows (``"own"``) and publish every result."""
        simulated = self._simulated
        while not self._halt.is_set():
            item = self._inbox.get(timeout=0.1)
            if item is None:
                if self._inbox.closed:
                    return
                continue
            inferred = item if isinstance(item, _Inferred) else self._infer(item)
            if inferred is None:
                return
            window, out, started, done, lag = (inferred.window, inferred.out, inferred.started,
                                               inferred.done, inferred.lag)
            trace = window.trace
            try:
                decoded = Decoded(seq=window.seq, latent=np.array(out.latent[0], dtype=np.float32),
                                  image=_to_uint8_hwc(out.image[0]), trace=trace, simulated=simulated)
            except Exception as exc:  # noqa: BLE001 - malformed model output ends the run
                self._event("stage_error", "inference", {"stage": "inference", "seq": window.seq,
                                                         "error": f"{type(exc).__name__}: {exc}"})
                logger.exception("fast path output unusable on window %d", window.seq)
                self._fatal(f"the fast path failed on window {window.seq}: {type(exc).__name__}: {exc}")
                return
            self._windows += 1
            self._compute_ms.append((done - started) * 1e3)
            for stage in ("buffered", "preprocessed", "inference"):
                if stage in trace.stamps:
                    self._lat[stage].append(trace.latency(stage) * 1e3)
            with self._traces_lock:
                self._traces[window.seq] = (trace, time.monotonic())
            self._check_lag(lag)
            self._dispatch("on_decoded", decoded)
            if "description" in self.workers:
                self._boxes["description"].put(decoded)
            if self.scorer is not None:
                self.scorer.add(window.t_first, out.image[0])

    def _on_described(self, decoded: Decoded, result: tuple[Any, list[str]]) -> None:
        description, problems = result
        item = Described(seq=decoded.seq, description=description, image=decoded.image, trace=decoded.trace,
                         problems=problems)
        self._lat["description"].append(item.trace.latency("description") * 1e3)
        self._dispatch("on_described", item)
        if "cloud" in self.workers:
            self._boxes["cloud"].put(item)

    def _on_cloud(self, described: Described, cloud: Any) -> None:
        item = Cloud(seq=described.seq, cloud=cloud, description=described.description, trace=described.trace)
        self._lat["cloud"].append(item.trace.latency("cloud") * 1e3)
        self._dispatch("on_cloud", item)

    def _dispatch(self, method: str, item: Any) -> None:
        for sink in list(self._sinks):
            try:
                getattr(sink, method)(item)
            except Exception as exc:  # noqa: BLE001 - a bad sink is detached, never fatal
                logger.exception("sink %s failed in %s; detached", type(sink).__name__, method)
                self._event("sink_error", "engine", {"sink": type(sink).__name__, "method": method,
                                                     "error": f"{type(exc).__name__}: {exc}"})
                if sink in self._sinks:
                    self._sinks.remove(sink)

    # =============================================================== health
    def _event(self, kind: str, origin: str, detail: dict[str, Any] | None = None, when: float | None = None) -> None:
        with self._events_lock:
            self._events[kind] = self._events.get(kind, 0) + 1
        if self.writer is not None:
            self.writer.event(kind, self.clock() if when is None else when, origin, detail)

    def _on_source_event(self, event: Any) -> None:
        kind = str(getattr(event.kind, "value", event.kind))
        self._event(kind, "acquisition", dict(event.detail), when=float(event.time))

    def _stage_event(self, kind: str, detail: dict[str, Any]) -> None:
        self._event(kind, str(detail.get("stage", "stage")), detail)

    def _fatal(self, message: str) -> None:
        if self._error is None:
            self._error = message
        logger.error("the run stops: %s", message)
        self._event("run_failed", "engine", {"error": message})
        self.request_stop("error")

    def _check_lag(self, lag: float) -> None:
        now = time.monotonic()
        if lag > self.health.behind_s:
            self._last_lag_ok_mono = 0.0
            if self._behind_since is None:
                self._behind_since = now
                self._stream_state = "behind"
                self._event("falling_behind", "engine", {"lag_s": round(lag, 4),
                                                         "threshold_s": self.health.behind_s})
        elif self._behind_since is not None:
            if not self._last_lag_ok_mono:
                self._last_lag_ok_mono = now
            elif now - self._last_lag_ok_mono > 2.0:
                self._event("caught_up", "engine", {"behind_for_s": round(now - self._behind_since, 3)})
                self._behind_since = None
                self._stream_state = "ok"

    def _supervise(self) -> None:
        next_status = 0.0
        while not self._halt.wait(0.05):
            now = time.monotonic()
            self._check_stream(now)
            self._check_stages()
            self._flush_traces(final=False)
            if now >= next_status:
                next_status = now + self.health.status_interval_s
                self._dispatch("on_status", self.status)

    def _check_stream(self, now: float) -> None:
        acq = self.acquisition
        if acq is not None and not acq.running and not self._finished.is_set():
            if acq.error is not None:
                self._fatal(f"acquisition failed: {type(acq.error).__name__}: {acq.error}")
            elif acq.ended:  # the source's end_of_stream event is in events.jsonl already
                self.request_stop("end of stream")
            return
        last = self._last_window_mono
        if last is None:
            return
        silent = now - last
        if silent > self.health.stall_s and self._stream_state != "stalled":
            self._stream_state = "stalled"
            self._event("stream_stalled", "engine", {"no_window_for_s": round(silent, 3)})
        elif silent <= self.health.stall_s and self._stream_state == "stalled":
            self._stream_state = "ok"
            self._event("stream_resumed", "engine", {})

    def _check_stages(self) -> None:
        now = self.clock()
        for name, worker in self.workers.items():
            busy = worker.busy_since
            if busy is None:
                self._stuck_reported.pop(name, None)
                continue
            busy_for = now - busy
            if busy_for > self.health.stuck_s and worker.inbox.pending and self._stuck_reported.get(name) != busy:
                self._stuck_reported[name] = busy
                self._event("stage_stuck", name, {"stage": name, "busy_for_s": round(busy_for, 3),
                                                  "seq": worker.current_seq})
            if busy_for > self.health.kill_stuck_s and worker.mode == "process":
                logger.error("%s: stuck for %.0f s; killing its worker process", name, busy_for)
                worker.runner.kill()

    def _flush_traces(self, final: bool) -> None:
        if self.writer is None:
            return
        held: set[int] = set()
        if not final:
            for worker in self.workers.values():
                held |= worker.holding()
        now = time.monotonic()
        ready: list[tuple[int, Trace]] = []
        with self._traces_lock:
            for seq, (trace, born) in list(self._traces.items()):
                if final or (now - born > self.health.trace_hold_s and seq not in held):
                    ready.append((seq, trace))
                    del self._traces[seq]
        for seq, trace in sorted(ready, key=lambda x: x[0]):
            if "display" in trace.stamps:
                self._lat["display"].append(trace.latency("display") * 1e3)
            self.writer.trace(seq, trace)

    # =============================================================== status
    def _skipped(self) -> dict[str, int]:
        return {"inference": self._inbox.overwritten + self._superseded,
                **{name: box.overwritten for name, box in self._boxes.items()}}

    def _figures(self, stage: str) -> StageFigures:
        values = self._lat[stage]
        pct = _percentiles(values[-STATUS_WINDOW:])  # recent results: cheap at 4 Hz in long runs
        worker = self.workers.get(stage)
        return StageFigures(count=len(values), p50_ms=pct["p50_ms"], p99_ms=pct["p99_ms"],
                            skipped=self._skipped().get(stage, 0),
                            errors=worker.counters.errors if worker is not None else 0)

    def _weights_label(self) -> str:
        """The fast path's weights in one line (from the graph's metadata; kept once it is open)."""
        if not self._weights and self._fast_path is not None:
            metadata = getattr(self._fast_path, "metadata", None)
            self._weights = str(getattr(metadata, "weights_label", "")) or "unknown weights (the graph has no metadata)"
        return self._weights

    @property
    def status(self) -> EngineStatus:
        """A snapshot for heads-up displays (cheap; a few times per second is fine)."""
        started = self._started_mono
        elapsed = 0.0 if started is None else (self._ended_mono or time.monotonic()) - started
        stream = "stopped" if self._halt.is_set() else self._stream_state
        return EngineStatus(
            source=self._source_name, simulated=self._simulated, stream=stream, sfreq=self._sfreq,
            elapsed_s=elapsed, windows=self._windows,
            stages={s: self._figures(s) for s in ("inference", "description", "cloud", "display")},
            provider=getattr(self._fast_path, "provider", ""), weights=self._weights_label(),
        )

    # ============================================================= teardown
    def _teardown(self) -> None:
        self._ended_mono = time.monotonic()
        stats: dict[str, Any] = {}
        if self.acquisition is not None:
            try:
                stats = self.acquisition.stop()
            except Brain3DError as exc:
                if self._error is None:
                    self._error = str(exc)
                self._event("run_failed", "acquisition", {"error": str(exc)})
                stats = self.acquisition.stats()
        self._halt.set()
        self._inbox.close()
        if self.pacing is not None:
            self.pacing.clear()
        for thread in self._threads:
            thread.join(10)
        for worker in self.workers.values():
            worker.stop()
        if self.player is not None:
            self.player.stop()
        self._flush_traces(final=True)
        identification = None
        if self.scorer is not None:
            try:
                identification = self.scorer.score()
            except Exception as exc:  # noqa: BLE001 - scoring must not lose the session
                logger.exception("live scoring failed")
                identification = {"error": f"{type(exc).__name__}: {exc}"}
        self.summary = self._summarise(stats, identification)
        self._event("run_stopped", "engine", {"stopped_by": self.summary.stopped_by, "error": self.summary.error})
        detached_or_unused = [s for s in self._extra_sinks if s not in self._sinks]
        for sink in [*self._sinks, *detached_or_unused]:
            if sink is self.writer:
                continue
            try:
                sink.close()
            except Exception:  # noqa: BLE001 - every sink gets closed
                logger.exception("closing sink %s failed", type(sink).__name__)
        if self.writer is not None:
            if not self.writer.closed:
                self.writer.write_json("summary.json", self.summary.to_dict())
            self.writer.close()
        logger.info("engine stopped (%s): %d windows; session %s", self.summary.stopped_by, self._windows,
                    self.session_dir)

    def _close_partial(self) -> None:
        closers = [getattr(self.acquisition, "stop", None), getattr(self.player, "stop", None)]
        closers += [worker.stop for worker in self.workers.values()]
        closers += [getattr(self.writer, "close", None)]
        for closer in closers:
            if closer is None:
                continue
            try:
                closer()
            except Exception:  # noqa: BLE001 - the original error is what matters
                logger.debug("cleanup after a failed start", exc_info=True)

    def _summarise(self, stats: dict[str, Any], identification: dict[str, Any] | None) -> RunSummary:
        started = self._started_mono or self._ended_mono or time.monotonic()
        duration = max(1e-9, (self._ended_mono or time.monotonic()) - started)
        skipped = self._skipped()
        stages: dict[str, dict[str, Any]] = {}
        for stage in STAGES:
            worker = self.workers.get(stage)
            stages[stage] = {
                "count": len(self._lat[stage]), **_percentiles(self._lat[stage]),
                "skipped": skipped.get(stage, 0),
                "errors": worker.counters.errors if worker is not None else 0,
                "restarts": worker.counters.restarts if worker is not None else 0,
            }
        session = self._fast_path
        metadata = getattr(session, "metadata", None)
        backends = {}
        for name, worker in self.workers.items():
            runner = worker.runner
            instance = getattr(runner, "instance", None)
            label = getattr(runner, "model_name", None) or getattr(instance, "name", None)
            backends[name] = str(label or (type(instance).__name__ if instance is not None else "not started"))
        return RunSummary(
            session_dir=str(self.session_dir), source=self._source_name, simulated=self._simulated,
            provider=str(getattr(session, "provider", "")),
            precision=str(getattr(metadata, "precision", "")),
            trained_weights=bool(getattr(metadata, "trained", False)),
            weights=self._weights_label(),
            duration_s=round(duration, 3), windows=self._windows,
            windows_unusable=int(stats.get("windows_skipped", 0)),
            samples_received=int(stats.get("samples_received", 0)),
            stages=stages,
            inference_compute_ms=_percentiles(self._compute_ms),
            cloud_updates_per_s=round(len(self._lat["cloud"]) / duration, 3),
            stage_modes={k: w.mode for k, w in self.workers.items()},
            backends=backends,
            identification=identification,
            events=dict(self._events),
            stopped_by=self._stop_reason or "stop requested",
            error=self._error,
        )


def install_signal_handlers(engine: Engine) -> Callable[[], None]:
    """SIGINT and SIGTERM ask ``engine`` to stop (a second SIGINT raises KeyboardInterrupt).

    Call from the main thread. Returns a function restoring the previous handlers.
    """
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}

    def handler(signum: int, _frame: Any) -> None:
        name = signal.Signals(signum).name
        if signum == signal.SIGINT and engine.finished:
            raise KeyboardInterrupt
        logger.warning("%s received: stopping the run cleanly", name)
        engine.request_stop(name)

    for sig in previous:
        signal.signal(sig, handler)

    def restore() -> None:
        for sig, old in previous.items():
            signal.signal(sig, old)

    return restore


__all__ = ["Engine", "HealthSettings", "RunSummary", "STAGES", "install_signal_handlers"]
