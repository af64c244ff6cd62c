"""Numerical parity of an exported graph against the torch model (eval mode)."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field

import numpy as np
import torch

from brain3d.errors import ModelLoadError
from brain3d.models import Brain3D
from export_onnx.precision import PARITY_TOLERANCE
from export_onnx.session import FastPathSession

logger = logging.getLogger(__name__)


def realistic_eeg(batch: int, n_channels: int, n_times: int, sfreq: float, seed: int = 0) -> np.ndarray:
    """EEG-like test input: 1/f background plus a posterior-style 10 Hz alpha, z-scored.

    Synthetic test signal for numerical checks, not recorded EEG. It is z-scored per
    window and channel, as :func:`brain3d.normalization.prepare_windows` leaves input.

    Returns
    -------
    np.ndarray
        (batch, n_channels, n_times) float32.
    """
    rng = np.random.default_rng(seed)
    freqs = np.fft.rfftfreq(n_times, 1.0 / sfreq)
    spectrum = rng.standard_normal((batch, n_channels, freqs.size)) + 1j * rng.standard_normal(
        (batch, n_channels, freqs.size)
    )
    spectrum /= np.maximum(freqs, freqs[1])  # 1/f amplitude = 1/f^2 power
    signal = np.fft.irfft(spectrum, n=n_times, axis=-1)
    t = np.arange(n_times) / sfreq
    alpha_gain = rng.uniform(0.5, 2.0, size=(batch, n_channels, 1))
    phase = rng.uniform(0, 2 * np.pi, size=(batch, n_channels, 1))
    signal = signal / signal.std(axis=-1, keepdims=True) + alpha_gain * np.sin(2 * np.pi * 10 * t + phase)
    signal -= signal.mean(axis=-1, keepdims=True)
    signal /= signal.std(axis=-1, keepdims=True)
    return signal.astype(np.float32)


@dataclass
class ParityReport:
    """Max abs error per (input kind, batch size, output) and whether all are in tolerance."""

    precision: str
    tolerance: dict[str, float]
    max_abs_error: dict[str, float] = field(default_factory=dict)
    provider: str = "CPUExecutionProvider"

    @property
    def worst(self) -> dict[str, float]:
        """Largest error per output over every input tried."""
        worst: dict[str, float] = {}
        for key, value in self.max_abs_error.items():
            output = key.rsplit("/", 1)[-1]
            worst[output] = max(worst.get(output, 0.0), value)
        return worst

    @property
    def passed(self) -> bool:
        """True when every output is within its tolerance."""
        return all(err <= self.tolerance[name] for name, err in self.worst.items())

    def summary(self) -> str:
        """One line for logs: worst error per output against its tolerance."""
        parts = [f"{name} {err:.2e} (<= {self.tolerance[name]:.0e})" for name, err in self.worst.items()]
        verdict = "PASSED" if self.passed else "FAILED"
        return f"{self.precision} parity {verdict} on {self.provider}: " + ", ".join(parts)


def check_parity(
    model: Brain3D,
    onnx_path: str | os.PathLike[str],
    *,
    batch_sizes: tuple[int, ...] = (1, 8),
    tolerance: dict[str, float] | None = None,
    raise_on_failure: bool = True,
    seed: int = 0,
    providers: tuple[str, ...] = ("cpu",),
) -> ParityReport:
    """Compare the graph at ``onnx_path`` with ``model`` on random and realistic EEG.

    Parameters
    ----------
    model : Brain3D
        Reference network; evaluated in eval mode (the caller's mode is restored).
    onnx_path : path-like
        Exported graph (any precision; its tolerance comes from
        :data:`~export_onnx.precision.PARITY_TOLERANCE` unless given).
    batch_sizes : tuple of int
        Batch sizes to test (1 and 8 by default).
    tolerance : dict, optional
        Max abs error per output name.
    raise_on_failure : bool
        Raise :class:`ModelLoadError` when out of tolerance.
    seed : int
        Seed of the random inputs.
    providers : tuple of str
        Config provider names for the session under test (the CPU by default, as at
        export; ``("cuda", "cpu")`` checks the graph as a GPU machine runs it). The
        provider that actually ran is recorded in the report.

    Returns
    -------
    ParityReport
    """
    session = FastPathSession(onnx_path, providers=providers, warmup_runs=0, intra_op_threads=0)
    precision = session.metadata.precision
    report = ParityReport(precision, tolerance or PARITY_TOLERANCE[precision], provider=session.provider)
    cfg = model.config
    rng = np.random.default_rng(seed)
    was_training = model.training
    model.eval()
    try:
        for batch in batch_sizes:
            inputs = {
                "random": rng.standard_normal((batch, cfg.n_channels, cfg.n_times)).astype(np.float32),
                "realistic": realistic_eeg(batch, cfg.n_channels, cfg.n_times, cfg.sfreq, seed + batch),
            }
            for kind, eeg in inputs.items():
                with torch.inference_mode():
                    expected = [t.numpy() for t in model(torch.from_numpy(eeg))]
                got = session.run(eeg)
                for name, ref, out in zip(("latent", "image"), expected, (got.latent, got.image), strict=True):
                    report.max_abs_error[f"{kind}/b{batch}/{name}"] = float(np.max(np.abs(ref - out)))
    finally:
        model.train(was_training)
    logger.info("%s", report.summary())
    if raise_on_failure and not report.passed:
        raise ModelLoadError(f"{onnx_path}: {report.summary()}; the export is not faithful")
    return report
