"""The bench's SIMULATED EEG sender in its own process, as an amplifier's LSL app would be.

A headset's LSL app is another program: it does not share this process's interpreter
lock, so it pushes each sample when it is due however busy the engine is. Running the
:class:`~brain3d.sim.lsl_stream.SimulationStreamer` in a thread of the measuring process
would let the engine's Python threads delay the pushes and count that sender lateness
as pipeline latency (samples are stamped with their due time, like a device clock).
:class:`StreamerProcess` has the streamer's interface (``open``, ``start``, ``join``,
``stop``, ``source_id``, ``marker_source_id``) and runs it in a spawned child.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
from typing import Any

from brain3d.config import Config, SimulateSourceConfig
from brain3d.errors import StreamError

logger = logging.getLogger(__name__)

#: Seconds the child may take to import pylsl and open its outlets.
OPEN_TIMEOUT_S = 60.0


def _sender_main(conn: Any, config: SimulateSourceConfig, kwargs: dict[str, Any]) -> None:
    """Child: open the streamer, stream on "start", report stats on "stop" or at the end."""
    import signal

    from brain3d.sim.lsl_stream import SimulationStreamer

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when we stop
    try:
        streamer = SimulationStreamer(config, **kwargs)
        streamer.open()
    except BaseException as exc:  # noqa: BLE001 - reported to the parent
        conn.send(("failed", f"{type(exc).__name__}: {exc}"))
        return
    conn.send(("opened", (streamer.source_id, streamer.marker_source_id)))
    started = finished_sent = False
    while True:
        if conn.poll(0.05):
            command = conn.recv()
            if command == "start":
                streamer.start()
                started = True
            elif command == "stop":
                try:
                    conn.send(("stats", streamer.stop()))
                except Exception as exc:  # noqa: BLE001 - reported to the parent
                    conn.send(("failed", f"{type(exc).__name__}: {exc}"))
                return
        if started and not finished_sent and streamer.join(0):
            conn.send(("finished", None))
            finished_sent = True


class StreamerProcess:
    """A :class:`~brain3d.sim.lsl_stream.SimulationStreamer` in a spawned child process.

    Parameters
    ----------
    config : SimulateSourceConfig
        The simulator's settings.
    **kwargs
        ``SimulationStreamer`` arguments (``name_prefix``, ``source_id``, ``speed``,
        ``max_duration_s``, ``wait_for_consumers_s``, ``chunk_samples``...).
    """

    def __init__(self, config: SimulateSourceConfig, **kwargs: Any) -> None:
        self.config = config
        self.kwargs = kwargs
        self.source_id = ""
        self.marker_source_id = ""
        self._conn: Any = None
        self._process: Any = None
        self._finished = False

    def open(self) -> None:
        """Start the child and wait until its outlets exist."""
        ctx = mp.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._process = ctx.Process(target=_sender_main, args=(child, self.config, self.kwargs),
                                    name="bench-sender", daemon=True)
        self._process.start()
        child.close()
        if not self._conn.poll(OPEN_TIMEOUT_S):
            self._kill()
            raise StreamError(f"the bench's sender process did not open its LSL outlets in {OPEN_TIMEOUT_S:.0f} s")
        kind, payload = self._conn.recv()
        if kind != "opened":
            self._kill()
            raise StreamError(f"the bench's sender process failed to open: {payload}")
        self.source_id, self.marker_source_id = payload

    def select_in(self, config: Config) -> Config:
        """A copy of ``config`` whose source is an LSL inlet on this stream (by ``source_id``)."""
        selected = config.model_copy(deep=True)
        selected.source.kind = "lsl"
        selected.source.lsl.name = None
        selected.source.lsl.type = None
        selected.source.lsl.source_id = self.source_id
        return selected

    def start(self) -> None:
        """Begin streaming (real time from now)."""
        self._conn.send("start")

    def join(self, timeout: float | None = None) -> bool:
        """True once the stream has pushed all its data (``max_duration_s``)."""
        if not self._finished and self._conn.poll(timeout):
            kind, _ = self._conn.recv()
            self._finished = kind == "finished"
        if not self._process.is_alive() and not self._finished:
            raise StreamError(f"the bench's sender process died (exit code {self._process.exitcode})")
        return self._finished

    def stop(self) -> Any:
        """Stop streaming, end the child; the streamer's :class:`StreamStats`."""
        try:
            self._conn.send("stop")
            while self._conn.poll(10.0):
                kind, payload = self._conn.recv()
                if kind == "stats":
                    return payload
                if kind == "failed":
                    raise StreamError(f"the bench's sender process failed: {payload}")
            raise StreamError("the bench's sender process did not report its statistics")
        finally:
            self._process.join(5.0)
            self._kill()

    def _kill(self) -> None:
        if self._process is not None and self._process.is_alive():
            self._process.kill()
            self._process.join(2.0)
