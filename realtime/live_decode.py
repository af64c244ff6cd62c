"""The live fast path: a source's windows decoded as they arrive, scored against ground truth.

This is the engine's first stage, before the asynchronous describer and 3D stages
exist (issue 8): the acquisition thread (source -> raw recording -> preprocessing ->
windows) hands each usable window to the fast path, which prepares it exactly as in
training (:func:`brain3d.normalization.prepare_windows`), runs onnxruntime, and stamps
the window's trace. Latency is measured on the LSL clock from the window's last sample
to the decoded image being available.

When the source knows what was shown (the simulator's stimuli), each decoded window
that starts at a stimulus onset is identified among the images shown during the run,
so the live figure can be compared with the offline evaluation.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from acquisition.pipeline import AcquisitionThread, source_from_config
from acquisition.sim_source import SimulatorSource
from brain3d.clock import lsl_clock
from brain3d.config import Config
from brain3d.normalization import prepare_windows
from brain3d.results import Window
from brain3d.sim.scenes import generate_scene
from brain3d.training.evaluation import score_decoded
from brain3d.training.metrics import to_unit_range, uint8_to_unit
from export_onnx import FastPathSession

logger = logging.getLogger(__name__)


@dataclass
class LiveRunReport:
    """What one live run did. Latencies in milliseconds on the LSL clock."""

    source: str
    simulated: bool
    provider: str
    precision: str
    trained_weights: bool
    duration_s: float
    windows_decoded: int
    windows_skipped: int
    samples_received: int
    sample_to_image_p50_ms: float
    sample_to_image_p99_ms: float
    sample_to_image_max_ms: float
    inference_p50_ms: float
    inference_p99_ms: float
    identification: dict[str, Any] | None = None
    events: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready mapping."""
        return asdict(self)


class _FastPath:
    """Decodes windows in the acquisition thread and keeps what scoring needs."""

    def __init__(self, config: Config, session: FastPathSession, clock: Any) -> None:
        self.config = config
        self.session = session
        self.clock = clock
        self.latency_ms: list[float] = []
        self.inference_ms: list[float] = []
        self.starts: list[float] = []
        self.images: list[np.ndarray] = []
        self._lock = threading.Lock()

    def __call__(self, window: Window) -> None:
        prep = self.config.preprocessing
        eeg = prepare_windows(window.data, prep.reference, prep.normalization)
        started = self.clock()
        output = self.session.run(eeg)
        done = self.clock()
        window.trace.mark("inference", done)
        with self._lock:
            self.inference_ms.append((done - started) * 1e3)
            self.latency_ms.append(window.trace.latency("inference") * 1e3)
            self.starts.append(window.t_first)
            self.images.append(output.image[0])


def _score(fast: _FastPath, stimuli: list[tuple[float, int, Any]], tolerance_s: float) -> dict[str, Any] | None:
    """Identify each onset-aligned decoded window among the stimuli shown."""
    if len(stimuli) < 2 or not fast.starts:
        return None
    starts = np.asarray(fast.starts)
    decoded, shown = [], []
    for onset, seed, _ in stimuli:
        nearest = int(np.argmin(np.abs(starts - onset)))
        if abs(starts[nearest] - onset) <= tolerance_s:
            decoded.append(fast.images[nearest])
            shown.append(seed)
    if len(set(shown)) < 2:
        return None
    candidates = np.array(sorted(set(shown)))
    images = np.stack([generate_scene(int(s)).image for s in candidates])
    truth_images = uint8_to_unit(images)
    position = {int(s): i for i, s in enumerate(candidates)}
    decoded_unit = to_unit_range(torch.from_numpy(np.stack(decoded)))
    truth = truth_images[torch.as_tensor([position[s] for s in shown])]
    scores = score_decoded(decoded_unit, np.asarray(shown), truth, candidates, truth_images)
    return {"scored_windows": len(shown), **scores.to_dict(),
            "note": "onset-aligned windows identified among the stimuli shown in this run"}


def run_live_fast_path(
    config: Config, session: FastPathSession, duration_s: float, *, recording: Path | None = None,
    player: Any = None,
) -> LiveRunReport:
    """Run the configured source through acquisition and the fast path for ``duration_s``.

    Parameters
    ----------
    config : Config
        Source, channels, window, preprocessing.
    session : FastPathSession
        Open fast-path session (checked against ``config``).
    duration_s : float
        Seconds to run.
    recording : Path, optional
        Write the raw stream here (XDF).
    player : acquisition.replay.Player, optional
        The running player when ``source.kind`` is ``replay``.

    Returns
    -------
    LiveRunReport
    """
    source = source_from_config(config, player=player)
    fast = _FastPath(config, session, lsl_clock)
    acquisition = AcquisitionThread(source, config, on_window=fast, recorder=recording)
    acquisition.start()
    started = time.monotonic()
    try:
        while time.monotonic() - started < duration_s and acquisition.running:
            time.sleep(0.05)
    finally:
        stats = acquisition.stop()
    elapsed = time.monotonic() - started
    stimuli = source.drain_stimuli() if isinstance(source, SimulatorSource) else []
    window = config.window
    identification = _score(fast, stimuli, tolerance_s=window.hop / window.sfreq / 2)
    latency = np.asarray(fast.latency_ms) if fast.latency_ms else np.array([np.nan])
    inference = np.asarray(fast.inference_ms) if fast.inference_ms else np.array([np.nan])
    description = source.description
    report = LiveRunReport(
        source=f"{config.source.kind}: {description.name}"
        + (" (SIMULATED EEG, not recorded)" if description.simulated else ""),
        simulated=description.simulated,
        provider=session.provider,
        precision=session.metadata.precision,
        trained_weights=session.metadata.trained,
        duration_s=round(elapsed, 3),
        windows_decoded=len(fast.latency_ms),
        windows_skipped=int(stats.get("windows_skipped", 0)),
        samples_received=int(stats.get("samples_received", 0)),
        sample_to_image_p50_ms=float(np.percentile(latency, 50)),
        sample_to_image_p99_ms=float(np.percentile(latency, 99)),
        sample_to_image_max_ms=float(np.max(latency)),
        inference_p50_ms=float(np.percentile(inference, 50)),
        inference_p99_ms=float(np.percentile(inference, 99)),
        identification=identification,
        events={str(k): int(v) for k, v in stats.get("events", {}).items()},
    )
    logger.info("live run: %d windows decoded in %.1f s", report.windows_decoded, elapsed)
    return report
