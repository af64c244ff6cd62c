"""The realtime engine: source -> windows -> fast path -> describer -> 3D -> sinks.

::

    AcquisitionThread ──────────────► LatestMailbox ─► fast path thread (publish)
      (read, record raw, preprocess,   results          │  Decoded (every window) ─► sinks, LSL latent
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
  windows to the fast-path thread instead (:mod:`realtime.fast_path`).
* **Latest-wins.** Every hand-off is a one-slot :class:`~realtime.mailbox.LatestMailbox`;
  a stage always takes the newest input; what it never took is counted as ``skipped``
  for that stage (``summary.json``, :class:`~realtime.sinks.StageFigures`).
* **One trace, one clock.** Each window's :class:`~brain3d.results.Trace` (LSL clock)
  travels with the window and is shared by its ``Decoded``, ``Described`` and ``Cloud``:
  ``buffered`` (windower), ``preprocessed``, ``inference``, ``description``, ``cloud``,
  and ``display_image`` / ``display_cloud``, which a viewer sink marks itself when a
  frame shows the window's image / cloud (the engine reads them when it writes the
  trace: :mod:`realtime.tracing`). Latency = that stamp - the window's last-sample time.
* **Health** (:mod:`realtime.health`): the supervisor thread checks the stream, the
  lag and the slow stages, and sends the status to the sinks.
* **Slow stages** built from the configuration run in their own spawned processes by
  default (``stage_mode="auto"``; see :mod:`realtime.stages` for why); describer or
  generator objects passed in run in threads of this process.
* **Stopping.** :meth:`Engine.request_stop` only sets a flag (safe in signal handlers);
  :meth:`Engine.stop` also tears down: acquisition stopped (recorder flushed and
  closed), workers joined, traces and ``summary.json`` written, sinks closed.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from acquisition.base import Source, SourceEvent
from acquisition.pipeline import AcquisitionThread, PipelineEvent, source_from_config
from brain3d.clock import lsl_clock
from brain3d.config import Config
from brain3d.errors import BackendError, Brain3DError
from brain3d.pointcloud import PointCloud
from brain3d.results import STAGES, Cloud, Decoded, Described, Window
from realtime.fast_path import FastPath, FastPathModel, FastPathThread, Inferred
from realtime.health import EventLog, HealthMonitor, HealthSettings, held_by
from realtime.lifecycle import Run
from realtime.pacing import FastPathSchedule
from realtime.scoring import LiveScorer
from realtime.session import SessionWriter, new_session_dir
from realtime.sinks import EngineStatus, Sink, SinkSet
from realtime.slow_stages import DEFAULT_FACTORIES, SlowStages, StageMode
from realtime.stages import StageWorker
from realtime.tail import TailGuards
from realtime.tracing import LatencyBook, RunSummary

if TYPE_CHECKING:  # the backend packages load only when a stage builds one (a broken one must not break the engine)
    from brain3d.describe.base import Describer
    from brain3d.generate3d.base import Generator3D

logger = logging.getLogger(__name__)

#: The stages whose figures :attr:`Engine.status` carries.
STATUS_STAGES = ("inference", "description", "cloud", "display_image", "display_cloud")


class Engine(Run[RunSummary]):
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
        Default: :func:`acquisition.pipeline.source_from_config` (the registered
        ``source.kind``; ``replay`` brings its own player).
    describer : Describer, optional
    generator : Generator3D, optional
        Ready describer / 3D generator (run in threads of this process). Default:
        built from ``config`` by ``brain3d.describe.build_describer`` and
        ``brain3d.generate3d.build_generator`` (in child processes unless
        ``stage_mode="thread"``). A stage whose factory cannot be imported fails
        :meth:`start` with the import error's message (never a silent run without it).
    session_dir : Path, optional
        Default: a new ``<output.dir>/<UTC time>-<source>/``.
    slow_stages : bool
        False runs the fast path only (for measuring the slow stages' cost).
    fast_path : FastPathModel, optional
        An open fast path (default: :func:`export_onnx.open_fast_path` at :meth:`start`).
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
        Where prepare_windows + onnxruntime run (:mod:`realtime.fast_path`).
        ``"acquisition"`` (default): in the acquisition thread, as soon as the window is
        cut (the thread hand-off it saves cost 0.15-0.2 ms at the median and 0.3-0.5 ms at
        p99 here). ``"own"``: in the fast-path thread.
    clock : callable
        LSL clock.
    """

    def __init__(
        self,
        config: Config,
        *,
        sinks: Iterable[Sink] = (),
        source: Source | None = None,
        describer: Describer | None = None,
        generator: Generator3D | None = None,
        session_dir: str | Path | None = None,
        slow_stages: bool = True,
        fast_path: FastPathModel | None = None,
        stage_mode: StageMode = "auto",
        stage_factories: dict[str, str | None] | None = None,
        lsl_outputs: bool = True,
        health: HealthSettings | None = None,
        wait_for_stages_s: float | None = None,
        fast_path_thread: FastPathThread = "acquisition",
        clock: Callable[[], float] = lsl_clock,
    ) -> None:
        super().__init__()
        if stage_mode not in ("auto", "thread", "process"):
            raise ValueError(f"stage_mode={stage_mode!r}: use 'auto', 'thread' or 'process'")
        if fast_path_thread not in ("acquisition", "own"):
            raise ValueError(f"fast_path_thread={fast_path_thread!r}: use 'acquisition' or 'own'")
        self.fast_path_thread: FastPathThread = fast_path_thread
        self.config = config
        self._extra_sinks = list(sinks)
        self._source_arg = source
        self._describer_arg = describer
        self._generator_arg = generator
        self._session_arg = session_dir
        self.slow_stages = bool(slow_stages)
        self._model = fast_path
        self.stage_mode = stage_mode
        self.factories: dict[str, str | None] = {**DEFAULT_FACTORIES, **(stage_factories or {})}
        self.lsl_outputs_enabled = bool(lsl_outputs)
        self.health = health or HealthSettings()
        self.wait_for_stages_s = wait_for_stages_s
        self.clock = clock

        self.session_dir: Path | None = None
        self.writer: SessionWriter | None = None
        self.lsl: Any = None
        self.source: Source | None = None
        self.acquisition: AcquisitionThread | None = None
        self.fast: FastPath | None = None
        self.scorer: LiveScorer | None = None
        self.stages: SlowStages | None = None
        #: The ``config.realtime`` latency-tail guards (built at start).
        self.tail: TailGuards | None = None
        #: The next window's due time, shared with the 3D stage (None: it does not yield).
        self.pacing: FastPathSchedule | None = (
            FastPathSchedule() if config.generator3d.yield_to_fast_path else None)
        self.events = EventLog(clock)
        self.monitor = HealthMonitor(self.health, self.events, fatal=self._fatal, request_stop=self.request_stop,
                                     clock=clock)
        #: Latencies per stage and the traces waiting to be written.
        self.latency = LatencyBook(None, self.health.trace_hold_s)
        self.sinks = SinkSet(self._sink_failed)
        self._weights = ""  # the fast path's weights label, read once it is open
        self._windows = 0
        self._simulated = False
        self._source_name = ""
        self._sfreq = 0.0
        self._started_mono: float | None = None
        self._ended_mono: float | None = None
        self._error: str | None = None
        self._threads: list[threading.Thread] = []

    # ================================================================ lifecycle
    def _open(self) -> None:
        config = self.config
        self.session_dir = Path(self._session_arg) if self._session_arg is not None else \
            new_session_dir(config.output.dir, config.source.kind)
        self.writer = SessionWriter(self.session_dir, config_yaml=config.to_yaml())
        self.events.writer = self.latency.writer = self.writer
        self.sinks.add(self.writer)
        self.events("run_started", "engine", {"source_kind": config.source.kind, "session": str(self.session_dir)})
        if self.slow_stages:  # first: their models load (child processes) while the fast path opens
            self.stages = SlowStages(
                config, describer=self._describer_arg, generator=self._generator_arg, factories=self.factories,
                mode=self.stage_mode, pacing=self.pacing, on_described=self._on_described, on_cloud=self._on_cloud,
                on_event=self._stage_event, on_fatal=self._fatal, clock=self.clock)
            self.stages.start()
        if self._model is None:
            from export_onnx import open_fast_path

            self._model = open_fast_path(config)
        self.fast = FastPath(self._model, config.preprocessing, thread=self.fast_path_thread, publish=self._publish,
                             on_failure=self._fast_path_failed, clock=self.clock, pacing=self.pacing)
        self.fast.set_timing(config.window.hop / config.window.sfreq, 0.0)  # refined once the source is open
        self.tail = TailGuards(config.realtime, warm=self.fast.warm, reuse_buffers=self.fast.set_reuse_buffers)
        source = self.source = self._source_arg if self._source_arg is not None else source_from_config(config)
        self._wait_for_stages()
        self.acquisition = AcquisitionThread(source, config, on_window=self._on_window, on_event=self._on_source_event,
                                             recorder=self.session_dir / "recording.xdf",
                                             **self.tail.acquisition_kwargs())  # fmt: skip
        self.acquisition.start()  # opens the source: a missing stream raises here
        description = source.description
        self._simulated = self.fast.simulated = bool(description.simulated)
        self._sfreq = float(description.sfreq)
        # a simulator or a replay faster than real time stamps samples at sfreq * speed (LSL clock)
        speed = float(source.speed or 1.0)
        hop_s = config.window.hop / config.window.sfreq / speed
        self.fast.set_timing(hop_s, 1.0 / (self._sfreq * speed) if self._sfreq > 0 else 0.0)
        self._source_name = f"{config.source.kind}: {description.name}" + (
            " (SIMULATED EEG, not recorded)" if self._simulated else "")
        if LiveScorer.supports(source):
            self.scorer = LiveScorer(source, tolerance_s=hop_s / 2)
        if self.lsl_outputs_enabled:
            from realtime.lsl_outputs import LSLOutputs

            self.lsl = LSLOutputs(config.model.latent_dim, simulated=self._simulated, weights=self._weights_label())
            self.sinks.add(self.lsl)
        for sink in self._extra_sinks:
            self.sinks.add(sink)
        self._started_mono = time.monotonic()
        self.monitor.last_window_mono = self._started_mono
        self.events("source_opened", "engine", {"source": self._source_name,
                                                "stage_modes": self.stages.modes() if self.stages else {}})
        for target, name in ((self.fast.loop, "fast-path"), (self._supervise, "supervisor")):
            thread = threading.Thread(target=target, args=(self._halt,), name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        own = [self._threads[0].native_id] if self.fast_path_thread == "own" else []  # it decodes too
        self.tail.start([self.acquisition.native_thread_id, *own], self.stages.pids if self.stages else list,
                        reads=self.acquisition.reads)
        logger.info("engine started: %s -> %s", self._source_name, self.session_dir)

    def _wait_for_stages(self) -> None:
        if not (self.wait_for_stages_s and self.workers):
            return
        logger.info("waiting for the %s stage(s) to load their models (at most %.0f s)",
                    " and ".join(self.workers), self.wait_for_stages_s)
        ready = self.wait_stages_ready(self.wait_for_stages_s)
        if self._error is not None:
            raise BackendError(f"the run could not start: {self._error}")
        if not ready:
            logger.warning("slow stages not ready after %.0f s; starting the source anyway", self.wait_for_stages_s)

    @property
    def workers(self) -> dict[str, StageWorker[Any]]:
        """The slow stages' workers by stage name (empty with the fast path only)."""
        return self.stages.workers if self.stages is not None else {}

    def wait_stages_ready(self, timeout: float | None = None) -> bool:
        """Wait until every slow stage has built its model (child processes take seconds).

        Returns
        -------
        bool
            True when all are ready (or there are none); False on timeout, a dead
            stage or a finished run.
        """
        return self.stages is None or self.stages.wait_ready(timeout, lambda: self.finished)

    @property
    def summary(self) -> RunSummary | None:
        """What the run did, once it stopped (:meth:`stop` returns it too)."""
        return self.result

    # ============================================================ data path
    def _on_window(self, window: Window) -> None:
        """Acquisition thread: the window goes to the fast path (decoded here or handed over)."""
        self.monitor.window_arrived()
        acquisition, fast = self.acquisition, self.fast
        if fast is not None:
            fast.on_window(window, backlog=acquisition is not None and acquisition.windows_pending > 0)

    def _publish(self, inferred: Inferred, decoded: Decoded) -> None:
        """Fast-path thread: one decoded window to the sinks, the describer and the scorer."""
        window = inferred.window
        self._windows += 1
        self.latency.add_decoded(window.seq, window.trace, inferred.done - inferred.started)
        self.monitor.check_lag(inferred.lag)
        self.sinks.dispatch("on_decoded", decoded)
        if self.stages is not None:
            self.stages.describe(decoded)
        if self.scorer is not None:
            self.scorer.add(window.t_first, inferred.out.image[0])
        if self.tail is not None:
            self.tail.after_window()

    def _fast_path_failed(self, seq: int, exc: BaseException) -> None:
        error = f"{type(exc).__name__}: {exc}"
        self.events("stage_error", "inference", {"stage": "inference", "seq": seq, "error": error})
        self._fatal(f"the fast path failed on window {seq}: {error}")

    def _on_described(self, decoded: Decoded, result: tuple[Any, list[str]]) -> None:
        description, problems = result
        item = Described(seq=decoded.seq, description=description, image=decoded.image, trace=decoded.trace,
                         problems=problems)
        self.latency.add("description", item.trace)
        self.sinks.dispatch("on_described", item)
        if self.stages is not None:
            self.stages.generate(item)

    def _on_cloud(self, described: Described, cloud: PointCloud) -> None:
        item = Cloud(seq=described.seq, cloud=cloud, description=described.description, trace=described.trace)
        self.latency.add("cloud", item.trace)
        self.sinks.dispatch("on_cloud", item)

    def _sink_failed(self, sink: str, method: str, exc: BaseException) -> None:
        self.events("sink_error", "engine", {"sink": sink, "method": method, "error": f"{type(exc).__name__}: {exc}"})

    # =============================================================== health
    def _on_source_event(self, event: SourceEvent | PipelineEvent) -> None:
        self.events(str(event.kind.value), "acquisition", dict(event.detail), when=float(event.time))

    def _stage_event(self, kind: str, detail: dict[str, Any]) -> None:
        self.events(kind, str(detail.get("stage", "stage")), detail)

    def _fatal(self, message: str) -> None:
        if self._error is None:
            self._error = message
        logger.error("the run stops: %s", message)
        self.events("run_failed", "engine", {"error": message})
        self.request_stop("error")

    def _supervise(self, halt: threading.Event) -> None:
        """Supervisor thread: health checks, traces, status to the sinks."""
        next_status = 0.0
        while not halt.wait(0.05):
            now = time.monotonic()
            self.monitor.check_stream(now, self.acquisition, self._finished.is_set())
            self.monitor.check_stages(self.workers)
            self.latency.flush(held_by(self.workers.values()))
            if self.tail is not None:
                self.tail.idle()
            if now >= next_status:
                next_status = now + self.health.status_interval_s
                self.sinks.dispatch("on_status", self.status)

    # =============================================================== status
    def skipped(self) -> dict[str, int]:
        """Inputs each stage never processed because newer ones replaced them (latest wins)."""
        stages = self.stages.skipped() if self.stages is not None else {}
        return {"inference": self.fast.skipped if self.fast is not None else 0, **stages}

    def _weights_label(self) -> str:
        """The fast path's weights in one line (from the graph's metadata; kept once it is open)."""
        if not self._weights and self._model is not None:
            metadata = getattr(self._model, "metadata", None)
            self._weights = str(getattr(metadata, "weights_label", "")) or "unknown weights (the graph has no metadata)"
        return self._weights

    @property
    def status(self) -> EngineStatus:
        """A snapshot for heads-up displays (cheap; a few times per second is fine)."""
        started = self._started_mono
        elapsed = 0.0 if started is None else (self._ended_mono or time.monotonic()) - started
        skipped = self.skipped()
        stages = {s: self.latency.figures(s, skipped=skipped.get(s, 0), errors=self._errors(s)) for s in STATUS_STAGES}
        return EngineStatus(
            source=self._source_name, simulated=self._simulated,
            stream="stopped" if self._halt.is_set() else self.monitor.stream_state, sfreq=self._sfreq,
            elapsed_s=elapsed, windows=self._windows, stages=stages,
            provider=str(getattr(self._model, "provider", "")), weights=self._weights_label(),
        )

    def _errors(self, stage: str) -> int:
        return self.stages.errors(stage) if self.stages is not None else 0

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
                self.events("run_failed", "acquisition", {"error": str(exc)})
                stats = self.acquisition.stats()
        self._halt.set()
        if self.fast is not None:
            self.fast.close()
        if self.pacing is not None:
            self.pacing.clear()
        for thread in self._threads:
            thread.join(10)
        if self.stages is not None:
            self.stages.stop()
        if self.tail is not None:
            self.tail.stop()
        self.latency.flush(final=True)
        summary = self.result = self._summarise(stats, self._score())
        self.events("run_stopped", "engine", {"stopped_by": summary.stopped_by, "error": summary.error})
        self.sinks.close(keep=(self.writer,))
        if self.writer is not None:
            if not self.writer.closed:
                self.writer.write_json("summary.json", summary.to_dict())
            self.writer.close()
        logger.info("engine stopped (%s): %d windows; session %s", summary.stopped_by, self._windows,
                    self.session_dir)

    def _score(self) -> dict[str, Any] | None:
        if self.scorer is None:
            return None
        try:
            return self.scorer.score()
        except Exception as exc:  # noqa: BLE001 - scoring must not lose the session
            logger.exception("live scoring failed")
            return {"error": f"{type(exc).__name__}: {exc}"}

    def _close_partial(self) -> None:
        closers: list[Callable[[], Any] | None] = [getattr(self.acquisition, "stop", None)]
        if self.acquisition is None and self.source is not None:
            closers.append(self.source.close)  # built but never opened by the acquisition thread
        closers += [getattr(self.stages, "stop", None), getattr(self.tail, "stop", None)]
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
        skipped = self.skipped()
        stages: dict[str, dict[str, Any]] = {}
        for stage in STAGES:
            stages[stage] = {**self.latency.stage_summary(stage), "skipped": skipped.get(stage, 0),
                             "errors": self._errors(stage),
                             "restarts": self.stages.restarts(stage) if self.stages is not None else 0}
        metadata = getattr(self._model, "metadata", None)
        return RunSummary(
            session_dir=str(self.session_dir), source=self._source_name, simulated=self._simulated,
            provider=str(getattr(self._model, "provider", "")), precision=str(getattr(metadata, "precision", "")),
            trained_weights=bool(getattr(metadata, "trained", False)), weights=self._weights_label(),
            duration_s=round(duration, 3), windows=self._windows,
            windows_unusable=int(stats.get("windows_skipped", 0)),
            samples_received=int(stats.get("samples_received", 0)), stages=stages,
            inference_compute_ms=self.latency.compute_summary(),
            cloud_updates_per_s=round(self.latency.count("cloud") / duration, 3),
            stage_modes=self.stages.modes() if self.stages is not None else {},
            backends=self.stages.backends() if self.stages is not None else {},
            identification=identification, events=self.events.counts,
            stopped_by=self._stop_reason or "stop requested", error=self._error, realtime=self._tail_stats(stats),
        )

    def _tail_stats(self, acquisition_stats: dict[str, Any]) -> dict[str, Any]:
        """What the latency-tail guards did: settings, busy-poll spin, warm-ups, collections."""
        fast = self.fast
        return {**(self.tail.stats() if self.tail is not None else {}), "busy_poll": acquisition_stats.get("busy_poll"),
                "warm_runs": fast.warm_runs if fast is not None else 0,
                "warm_s": round(fast.warm_s, 4) if fast is not None else 0.0}


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
