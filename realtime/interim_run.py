"""Interim main job: the fast path on a synthetic test signal, paced like a live stream.

Until the live pipeline exists (issue 8), ``brain3d run`` feeds windows of a
synthetic test signal (1/f background + alpha; not recorded EEG and not the
visual-EEG simulator) through the exported fast path at the configured hop rate and
reports what it did. It measures inference latency (window handed to onnxruntime ->
latent + image back), not yet sample-to-image latency on the LSL clock.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass

import numpy as np

from brain3d.config import Config
from export_onnx import FastPathSession, realistic_eeg

logger = logging.getLogger(__name__)

SOURCE_LABEL = "synthetic test signal (1/f + alpha; not recorded EEG, not the visual-EEG simulator)"


@dataclass
class InterimRunReport:
    """What one interim run did. Latencies in milliseconds."""

    source: str
    provider: str
    precision: str
    trained_weights: bool
    windows: int
    duration_s: float
    window_rate_hz: float
    inference_p50_ms: float
    inference_p99_ms: float
    inference_max_ms: float
    image_mean: float
    image_std: float

    def to_dict(self) -> dict[str, object]:
        """JSON-ready mapping."""
        return asdict(self)


def run_fast_path_on_test_signal(
    config: Config, session: FastPathSession, duration_s: float, *, paced: bool = True
) -> InterimRunReport:
    """Feed ``duration_s`` seconds of test signal through ``session``, window by window.

    Parameters
    ----------
    config : Config
        Window length, hop and rate come from ``window``.
    session : FastPathSession
        An open fast-path session.
    duration_s : float
        Stream time to cover, in seconds.
    paced : bool
        Sleep between windows so windows arrive at the live rate (hop / sfreq).
    """
    window = config.window
    hop_s = window.hop / window.sfreq
    n_windows = max(1, int(duration_s / hop_s))
    n_channels, n_samples = session.input_shape
    # One continuous signal, windowed with the configured hop, as a source would.
    stream = realistic_eeg(1, n_channels, n_samples + window.hop * n_windows, window.sfreq, seed=config.model.seed)[0]
    latencies = np.empty(n_windows)
    image_stats = np.empty((n_windows, 2))
    start = time.perf_counter()
    for index in range(n_windows):
        if paced:
            delay = start + index * hop_s - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
        eeg = np.ascontiguousarray(stream[:, index * window.hop : index * window.hop + n_samples])
        t0 = time.perf_counter()
        output = session.run(eeg)
        latencies[index] = (time.perf_counter() - t0) * 1e3
        image_stats[index] = output.image.mean(), output.image.std()
    elapsed = time.perf_counter() - start
    report = InterimRunReport(
        source=SOURCE_LABEL,
        provider=session.provider,
        precision=session.metadata.precision,
        trained_weights=session.metadata.trained,
        windows=n_windows,
        duration_s=round(elapsed, 3),
        window_rate_hz=round(n_windows / elapsed, 2),
        inference_p50_ms=float(np.percentile(latencies, 50)),
        inference_p99_ms=float(np.percentile(latencies, 99)),
        inference_max_ms=float(latencies.max()),
        image_mean=float(image_stats[:, 0].mean()),
        image_std=float(image_stats[:, 1].mean()),
    )
    logger.info("test-signal run: %d windows in %.1f s", n_windows, elapsed)
    return report
