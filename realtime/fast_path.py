"""The fast path of a live run: window -> prepare_windows -> onnxruntime -> :class:`Decoded`.

Where the work runs (``Engine(fast_path_thread=...)``):

* ``"acquisition"`` (default): the acquisition thread decodes each window as soon as it
  is cut (:meth:`FastPath.on_window`), so no thread hand-off sits between the last sample
  and the image; when one read completes several windows (a backlog) only the newest is
  decoded, the others count as skipped. The results go through the ``results`` mailbox
  to the fast-path thread, which publishes them (:meth:`FastPath.loop`).
* ``"own"``: the acquisition thread hands each window through the ``windows`` mailbox to
  the fast-path thread, which decodes and publishes it (:meth:`FastPath.loop`).

Each mailbox carries one item type; what the fast path never took is counted in
:attr:`FastPath.skipped`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol, TypeVar

import numpy as np

from brain3d.config import PreprocessingConfig
from brain3d.normalization import WindowPreparer, prepare_windows
from brain3d.results import Decoded, Window
from realtime.mailbox import LatestMailbox
from realtime.pacing import FastPathSchedule

if TYPE_CHECKING:  # onnxruntime and torch load only when a fast path is opened
    from export_onnx.metadata import FastPathMetadata
    from export_onnx.session import FastPathOutput

logger = logging.getLogger(__name__)

FastPathThread = Literal["acquisition", "own"]
T = TypeVar("T")


class FastPathModel(Protocol):
    """What the engine needs of an open fast path (:class:`export_onnx.session.FastPathSession`)."""

    provider: str
    metadata: FastPathMetadata

    def run(self, eeg: np.ndarray) -> FastPathOutput:
        """(batch, channels, samples) model-ready windows -> latent + image."""
        ...


@dataclass
class Inferred:
    """A window with its fast-path outputs and LSL-clock stamps (seconds).

    Attributes
    ----------
    window : Window
    out : FastPathOutput
        ``latent`` (1, latent_dim) and ``image`` (1, 3, H, W) in [-1, 1].
    started, done : float
        LSL time the onnxruntime call started / returned.
    lag : float
        LSL time the fast path took the window minus its last sample's time.
    """

    window: Window
    out: FastPathOutput
    started: float
    done: float
    lag: float


def to_uint8_hwc(image: np.ndarray) -> np.ndarray:
    """(3, H, W) in [-1, 1] -> (H, W, 3) uint8."""
    return np.ascontiguousarray(np.clip(np.rint((image.transpose(1, 2, 0) + 1.0) * 127.5), 0, 255).astype(np.uint8))


class FastPath:
    """Decodes windows and hands each result to ``publish`` on the fast-path thread.

    Parameters
    ----------
    model : FastPathModel
        The open fast path.
    preprocessing : PreprocessingConfig
        Reference and normalisation of :func:`~brain3d.normalization.prepare_windows`.
    thread : {"acquisition", "own"}
        Where prepare + onnxruntime run (module docstring).
    publish : callable
        ``publish(inferred, decoded)``, called on the fast-path thread for every result.
    on_failure : callable
        ``on_failure(seq, exc)`` when decoding or the model's output fails; the fast path
        then stops (a persistent failure ends the run).
    clock : callable
        LSL clock.
    pacing : FastPathSchedule, optional
        Told when the next window is due (the 3D stage yields to it).
    simulated : bool
        Whether the source's EEG is simulated (carried by every :class:`Decoded`).
    """

    def __init__(self, model: FastPathModel, preprocessing: PreprocessingConfig, *, thread: FastPathThread,
                 publish: Callable[[Inferred, Decoded], None], on_failure: Callable[[int, BaseException], None],
                 clock: Callable[[], float], pacing: FastPathSchedule | None = None,
                 simulated: bool = False) -> None:  # fmt: skip
        if thread not in ("acquisition", "own"):
            raise ValueError(f"fast_path_thread={thread!r}: use 'acquisition' or 'own'")
        self.model = model
        self.preprocessing = preprocessing
        self.thread = thread
        self.publish = publish
        self.on_failure = on_failure
        self.clock = clock
        self.pacing = pacing
        self.simulated = simulated
        self.windows: LatestMailbox[Window] = LatestMailbox("inference")
        self.results: LatestMailbox[Inferred] = LatestMailbox("inference results")
        self.superseded = 0
        self.failed = False
        self.hop_s = 0.0
        self.due_early_s = 0.0
        #: Throw-away model runs before windows were due (:meth:`warm`), and their seconds.
        self.warm_runs = 0
        self.warm_s = 0.0
        self._last_eeg: np.ndarray | None = None
        self._compute_s = 0.0
        #: Prepare each window into kept buffers (``realtime.reuse_buffers``; switchable live).
        self.reuse_buffers = False
        self._preparer = WindowPreparer(preprocessing.reference, preprocessing.normalization)

    def set_timing(self, hop_s: float, due_early_s: float) -> None:
        """The hop between windows and how early the next one may end, seconds of LSL clock."""
        self.hop_s, self.due_early_s = hop_s, due_early_s

    @property
    def skipped(self) -> int:
        """Windows the fast path never decoded or published because newer ones replaced them."""
        return self.windows.overwritten + self.results.overwritten + self.superseded

    def on_window(self, window: Window, backlog: bool = False) -> None:
        """Acquisition thread: decode ``window`` here, or hand it over (``"own"``).

        ``backlog`` says a newer window of the same read comes next (latest wins: this one
        is skipped).
        """
        if self.thread == "own":
            self.windows.put(window)
            return
        if self.failed:
            return
        if backlog:
            self.superseded += 1
            return
        inferred = self.infer(window)
        if inferred is not None:
            self.results.put(inferred)

    def infer(self, window: Window) -> Inferred | None:
        """prepare_windows + onnxruntime on one window; None after a failure (reported)."""
        clock = self.clock
        try:
            trace = window.trace
            lag = clock() - window.t_last
            if self.reuse_buffers and window.data.ndim == 2:
                eeg = self._preparer(window.data)
            else:
                eeg = prepare_windows(window.data, self.preprocessing.reference, self.preprocessing.normalization)
            trace.mark("preprocessed", clock())
            started = clock()
            out = self.model.run(eeg)
            done = clock()
            trace.mark("inference", done)
            self._last_eeg = eeg  # with reuse_buffers the kept buffer: unchanged until the next window
            self._compute_s = done - started if self._compute_s == 0.0 else 0.8 * self._compute_s + 0.2 * (done - started)
            if self.pacing is not None:  # also tells a paused 3D step that this window is done
                # one input period early: windows end on input samples, so consecutive ends
                # differ from the hop by less than that (acquisition.preprocessing.window_phases)
                self.pacing.expect(time.monotonic() + (window.t_last + self.hop_s - self.due_early_s - done))
        except Exception as exc:  # noqa: BLE001 - reported; a persistent failure ends the run
            self._fail(window.seq, exc)
            return None
        return Inferred(window, out, started, done, lag)

    def set_reuse_buffers(self, on: bool) -> None:
        """Prepare windows into kept buffers (``realtime.reuse_buffers``) or new arrays."""
        self.reuse_buffers = bool(on)

    def warm(self, due_in_s: float) -> bool:
        """Run the model once on the previous window (result discarded) so its weights and
        buffers are in cache when the next window is cut ``due_in_s`` seconds from now.

        Skipped (False) when nothing was decoded yet, the fast path runs in its own thread,
        or less than two model runs' time is left (a late warm-up would delay the window).
        """
        eeg = self._last_eeg
        if eeg is None or self.thread != "acquisition" or self.failed or due_in_s < 2.0 * self._compute_s:
            return False
        started = time.perf_counter()
        try:
            self.model.run(eeg)
        except Exception:  # noqa: BLE001 - the real window's run reports a persistent failure
            logger.debug("warm-up run failed", exc_info=True)
            return False
        self.warm_runs += 1
        self.warm_s += time.perf_counter() - started
        return True

    def _fail(self, seq: int, exc: BaseException) -> None:
        logger.error("fast path failed on window %d: %s: %s", seq, type(exc).__name__, exc, exc_info=exc)
        self.failed = True
        self.close()
        self.on_failure(seq, exc)

    def _publish(self, inferred: Inferred) -> bool:
        window, out = inferred.window, inferred.out
        try:
            decoded = Decoded(seq=window.seq, latent=np.array(out.latent[0], dtype=np.float32),
                              image=to_uint8_hwc(out.image[0]), trace=window.trace, simulated=self.simulated)
        except Exception as exc:  # noqa: BLE001 - malformed model output ends the run
            self._fail(window.seq, exc)
            return False
        self.publish(inferred, decoded)
        return True

    def _decode_and_publish(self, window: Window) -> bool:
        inferred = self.infer(window)
        return inferred is not None and self._publish(inferred)

    def loop(self, halt: threading.Event) -> None:
        """The fast-path thread's body: publish every decoded window (``"acquisition"``), or
        decode and publish every handed-over one (``"own"``), until ``halt`` or a failure."""
        if self.thread == "own":
            _serve(self.windows, self._decode_and_publish, halt)
        else:
            _serve(self.results, self._publish, halt)

    def close(self) -> None:
        """Wake and end the fast-path thread."""
        self.windows.close()
        self.results.close()


def _serve(box: LatestMailbox[T], handle: Callable[[T], bool], halt: threading.Event) -> None:
    """Hand each item of ``box`` to ``handle`` until ``halt``, the box closes, or ``handle`` returns False."""
    while not halt.is_set():
        item = box.get(timeout=0.1)
        if item is None:
            if box.closed:
                return
            continue
        if not handle(item):
            return


__all__ = ["FastPath", "FastPathModel", "FastPathThread", "Inferred", "to_uint8_hwc"]
