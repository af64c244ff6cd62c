"""Numerical parity of an exported graph against the torch model (eval mode)."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field

import numpy as np
import torch

from brain3d.errors import ModelLoadError
from brain3d.models import Brain3D
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


@dataclass(frozen=True)
class ParityTolerance:
    """What one output of a graph must meet against the torch model (fp32, eval mode).

    A bound that is None is not checked. Errors relative to the output's spread do not
    depend on the scale of the weights, and correlations catch a graph whose output is
    small but wrong (an all-zero latent has a small absolute error when latents are small).

    Attributes
    ----------
    max_abs : float or None
        Largest absolute error over every element.
    max_rms_rel : float or None
        RMS error divided by the standard deviation of the reference output (over every
        element of the batch): 0 is exact, 1 is as far off as a constant at the mean.
    min_corr : float or None
        Pearson correlation between graph and reference over every element.
    min_input_corr : float or None
        Pearson correlation of the deviations from the batch mean, i.e. of the part of the
        output that depends on the input. Checked on batches > 1 whose reference varies
        over the batch by more than :data:`INPUT_SPREAD_MIN` of its spread (a network
        whose output ignores its input, such as an untrained decoder, has no such part).
    """

    max_abs: float | None = None
    max_rms_rel: float | None = None
    min_corr: float | None = None
    min_input_corr: float | None = None


#: Across-batch spread, relative to the output's spread, below which ``min_input_corr``
#: is not checked (the output does not depend on the input enough to correlate).
INPUT_SPREAD_MIN = 0.01

#: Bounds per precision and output. fp32 is the issue's 1e-4 max abs error; fp16 carries
#: ~3 significant digits through 9 layers (measured on the shipped weights: latent
#: 5.3e-3, image 1.5e-3). The int8 bounds sit just beyond the worst the shipped weights
#: reached (2026-12-07, this CPU) over random, realistic and held-out prepared SIMULATED
#: windows, batches 1, 8 and 32, three seeds: int8 RMS error / spread 0.009 (latent) and
#: 0.019 (image), correlation >= 0.9998 overall and on the input-dependent part;
#: int8_static 0.048 and 0.088, correlation 0.9988 / 0.9961 overall and 0.9977 / 0.9929
#: on the input-dependent part. The bounds leave about 2x that error (and 2x 1 - r), so
#: that other trained or calibrated weights, which quantise a little differently, do not
#: fail at export, while an all-zero latent (RMS 1.0, no correlation) or a mean image
#: (input-dependent correlation 0) fails by far. Max abs errors of the int8 graphs are not
#: bounded: one element in 30,000 can be off by a spread (measured 9.95 for a latent of
#: std 9.8), which says nothing about the graph as a whole.
PARITY_TOLERANCE: dict[str, dict[str, ParityTolerance]] = {
    "fp32": {"latent": ParityTolerance(max_abs=1e-4), "image": ParityTolerance(max_abs=1e-4)},
    "fp16": {"latent": ParityTolerance(max_abs=5e-2), "image": ParityTolerance(max_abs=2e-2)},
    "int8": {
        "latent": ParityTolerance(max_rms_rel=0.03, min_corr=0.999, min_input_corr=0.999),
        "image": ParityTolerance(max_rms_rel=0.04, min_corr=0.999, min_input_corr=0.998),
    },
    "int8_static": {
        "latent": ParityTolerance(max_rms_rel=0.1, min_corr=0.995, min_input_corr=0.99),
        "image": ParityTolerance(max_rms_rel=0.2, min_corr=0.99, min_input_corr=0.98),
    },
}


@dataclass(frozen=True)
class OutputAgreement:
    """How one output of the graph agrees with the reference on one batch.

    Attributes
    ----------
    max_abs : float
        Largest absolute error.
    rms_rel : float
        RMS error / standard deviation of the reference.
    corr : float
        Pearson correlation over every element (NaN when either side is constant).
    input_corr : float or None
        Pearson correlation of the deviations from the batch mean; None when the batch
        has one window or the reference hardly varies over it (see :class:`ParityTolerance`).
    """

    max_abs: float
    rms_rel: float
    corr: float
    input_corr: float | None

    @classmethod
    def of(cls, reference: np.ndarray, output: np.ndarray) -> OutputAgreement:
        """Compare ``output`` with ``reference`` (same shape, batch first)."""
        ref = np.asarray(reference, dtype=np.float64)
        out = np.asarray(output, dtype=np.float64)
        error = out - ref
        spread = float(ref.std())
        rms = float(np.sqrt(np.mean(error**2)))
        rms_rel = rms / spread if spread > 0 else (0.0 if rms == 0 else float("inf"))
        input_corr = None
        if ref.shape[0] > 1:
            ref_dev, out_dev = ref - ref.mean(axis=0), out - out.mean(axis=0)
            if spread > 0 and ref_dev.std() > INPUT_SPREAD_MIN * spread:
                input_corr = _pearson(ref_dev, out_dev)
        return cls(float(np.max(np.abs(error))), rms_rel, _pearson(ref, out), input_corr)

    def problems(self, tolerance: ParityTolerance) -> list[str]:
        """Every bound of ``tolerance`` this agreement misses (NaN misses every bound)."""
        found = []
        if tolerance.max_abs is not None and not self.max_abs <= tolerance.max_abs:
            found.append(f"max abs error {self.max_abs:.2e} > {tolerance.max_abs:.0e}")
        if tolerance.max_rms_rel is not None and not self.rms_rel <= tolerance.max_rms_rel:
            found.append(f"RMS error {self.rms_rel:.3f} of the spread > {tolerance.max_rms_rel}")
        if tolerance.min_corr is not None and not self.corr >= tolerance.min_corr:
            found.append(f"correlation {self.corr:.4f} < {tolerance.min_corr}")
        if (tolerance.min_input_corr is not None and self.input_corr is not None
                and not self.input_corr >= tolerance.min_input_corr):
            found.append(f"input-dependent correlation {self.input_corr:.4f} < {tolerance.min_input_corr}")
        return found


def _pearson(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a.ravel() - a.mean(), b.ravel() - b.mean()
    denominator = float(np.sqrt(np.dot(a, a) * np.dot(b, b)))
    return float(np.dot(a, b) / denominator) if denominator > 0 else float("nan")


@dataclass
class ParityReport:
    """Agreement per (input kind, batch size, output) and whether all are in tolerance."""

    precision: str
    tolerance: dict[str, ParityTolerance]
    agreement: dict[str, OutputAgreement] = field(default_factory=dict)
    provider: str = "CPUExecutionProvider"

    @property
    def max_abs_error(self) -> dict[str, float]:
        """Largest absolute error per ``kind/bN/output`` key."""
        return {key: a.max_abs for key, a in self.agreement.items()}

    @property
    def worst(self) -> dict[str, float]:
        """Largest absolute error per output over every input tried."""
        worst: dict[str, float] = {}
        for key, value in self.max_abs_error.items():
            output = key.rsplit("/", 1)[-1]
            worst[output] = max(worst.get(output, 0.0), value)
        return worst

    def problems(self) -> dict[str, list[str]]:
        """Missed bounds per ``kind/bN/output`` key (empty when the graph is faithful)."""
        found = {}
        for key, agreement in self.agreement.items():
            missed = agreement.problems(self.tolerance[key.rsplit("/", 1)[-1]])
            if missed:
                found[key] = missed
        return found

    @property
    def passed(self) -> bool:
        """True when every output is within its tolerance on every input."""
        return not self.problems()

    def summary(self) -> str:
        """One line for logs: the worst figures per output, and what was missed."""
        parts = []
        for name in self.tolerance:
            rows = [a for key, a in self.agreement.items() if key.rsplit("/", 1)[-1] == name]
            if not rows:
                continue
            input_corrs = [a.input_corr for a in rows if a.input_corr is not None]
            parts.append(
                f"{name} max abs {max(a.max_abs for a in rows):.2e}, RMS/spread {max(a.rms_rel for a in rows):.3f}, "
                f"r {min(a.corr for a in rows):.4f}"
                + (f", input r {min(input_corrs):.4f}" if input_corrs else "")
            )
        problems = self.problems()
        verdict = "PASSED" if not problems else "FAILED (" + "; ".join(
            f"{key}: {', '.join(missed)}" for key, missed in problems.items()) + ")"
        return f"{self.precision} parity {verdict} on {self.provider}: " + "; ".join(parts)


def check_parity(
    model: Brain3D,
    graph: str | os.PathLike[str] | FastPathSession,
    *,
    batch_sizes: tuple[int, ...] = (1, 8),
    tolerance: dict[str, ParityTolerance] | None = None,
    raise_on_failure: bool = True,
    seed: int = 0,
    providers: tuple[str, ...] = ("cpu",),
    inputs: dict[str, np.ndarray] | None = None,
) -> ParityReport:
    """Compare a graph with ``model`` on random and realistic EEG (and any ``inputs``).

    Parameters
    ----------
    model : Brain3D
        Reference network; evaluated in eval mode (the caller's mode is restored).
    graph : path-like or FastPathSession
        Exported graph (any precision; its tolerance comes from
        :data:`PARITY_TOLERANCE` unless given), or an open session: the very graph and
        provider a run uses.
    batch_sizes : tuple of int
        Batch sizes of the random and realistic inputs (1 and 8 by default).
    tolerance : dict, optional
        :class:`ParityTolerance` per output name.
    raise_on_failure : bool
        Raise :class:`ModelLoadError` when out of tolerance.
    seed : int
        Seed of the random inputs.
    providers : tuple of str
        Config provider names for the session under test when ``graph`` is a path (the
        CPU by default, as at export; ``("cuda", "cpu")`` checks the graph as a GPU
        machine runs it). The provider that actually ran is recorded in the report.
    inputs : dict of str to np.ndarray, optional
        More model-ready batches (batch, channels, samples) by name, e.g. prepared
        windows of a recording; checked as they are.

    Returns
    -------
    ParityReport
    """
    if isinstance(graph, FastPathSession):
        session, source = graph, str(graph.path)
    else:
        session = FastPathSession(graph, providers=providers, warmup_runs=0, intra_op_threads=0)
        source = str(graph)
    precision = session.metadata.precision
    report = ParityReport(precision, tolerance or PARITY_TOLERANCE[precision], provider=session.provider)
    cfg = model.config
    rng = np.random.default_rng(seed)
    batches: dict[str, np.ndarray] = {}
    for batch in batch_sizes:
        batches[f"random/b{batch}"] = rng.standard_normal((batch, cfg.n_channels, cfg.n_times)).astype(np.float32)
        batches[f"realistic/b{batch}"] = realistic_eeg(batch, cfg.n_channels, cfg.n_times, cfg.sfreq, seed + batch)
    for name, eeg in (inputs or {}).items():
        batches[f"{name}/b{len(eeg)}"] = np.asarray(eeg, dtype=np.float32)
    was_training = model.training
    model.eval()
    try:
        for key, eeg in batches.items():
            with torch.inference_mode():
                expected = [t.numpy() for t in model(torch.from_numpy(eeg))]
            got = session.run(eeg)
            for name, ref, out in zip(("latent", "image"), expected, (got.latent, got.image), strict=True):
                report.agreement[f"{key}/{name}"] = OutputAgreement.of(ref, out)
    finally:
        model.train(was_training)
    logger.info("%s", report.summary())
    if raise_on_failure and not report.passed:
        raise ModelLoadError(f"{source}: {report.summary()}; the export is not faithful")
    return report
