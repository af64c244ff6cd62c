"""Fast path, batch 1: onnxruntime (each available execution provider) vs torch eager.

One EEG window in -> latent + image out, wall clock, in one run so the backends can be
compared as ratios: torch eager (``no_grad``) and ``inference_mode``, onnxruntime CPU
fp32, dynamic int8 and static int8 at each thread count, and onnxruntime CUDA /
TensorRT at fp32 and fp16, each with its parity against torch (and torch on CUDA),
when present. Every figure records the device that produced it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from brain3d.config import Config
from brain3d_app.bench.figures import Section

logger = logging.getLogger(__name__)

_GPU_PROVIDERS = {"cuda": "CUDAExecutionProvider", "tensorrt": "TensorrtExecutionProvider"}


def time_calls(fn: Callable[[], object], runs: int, warmup: int, budget_s: float | None = None) -> np.ndarray:
    """Wall time of up to ``runs`` calls of ``fn`` after ``warmup`` untimed calls, milliseconds.

    ``budget_s`` bounds the timed loop (wall seconds): on a slow or busy machine fewer
    calls are timed, and the returned array is shorter (its length is reported as ``n``).
    """
    for _ in range(warmup):
        fn()
    samples = np.empty(runs)
    deadline = None if budget_s is None else time.perf_counter() + budget_s
    count = 0
    for index in range(runs):
        start = time.perf_counter()
        fn()
        end = time.perf_counter()
        samples[index] = end - start
        count += 1
        if deadline is not None and end > deadline:
            break
    return samples[:count] * 1e3


@dataclass(frozen=True)
class _Timing:
    """How each backend is timed: calls, untimed warm-up calls and the wall budget."""

    runs: int
    warmup: int
    budget_s: float | None

    def __call__(self, fn: Callable[[], object]) -> np.ndarray:
        """:func:`time_calls` of ``fn`` with these settings, milliseconds."""
        return time_calls(fn, self.runs, self.warmup, self.budget_s)


def _export_graphs(config: Config, loaded: Any, int8: bool) -> dict[str, Path]:
    """The CPU graphs to time: fp32 (exported if stale), and the dynamic and static int8 ones."""
    from export_onnx import convert_precision, ensure_exported
    from export_onnx.fastpath import calibration_windows

    fp32_path, _ = ensure_exported(config.model_copy(update={"onnx": config.onnx.model_copy(update={"precision": "fp32"})}),
                                   loaded=loaded)  # fmt: skip
    cpu_graphs: dict[str, Path] = {"fp32": fp32_path}
    if int8:
        cpu_graphs["int8"] = convert_precision(fp32_path, "int8")
        cpu_graphs["int8_static"] = convert_precision(fp32_path, "int8_static", calibration=calibration_windows(config))
    return cpu_graphs


def _measure_cpu(section: Section, model: Any, batch: Any, window: np.ndarray, cpu_graphs: dict[str, Path],
                 n: int, timing: _Timing, tick: Callable[[str], None]) -> None:  # fmt: skip
    """torch eager, torch inference_mode and onnxruntime CPU at ``n`` threads, and the speed-ups."""
    import torch

    from export_onnx import FastPathSession

    cpu_name = "CPU"
    torch.set_num_threads(n)

    def eager() -> object:
        with torch.no_grad():
            return model(batch)

    def inference() -> object:
        with torch.inference_mode():
            return model(batch)

    section.add_latency(f"torch_eager_{n}t", timing(eager), device=f"torch {cpu_name}")
    tick(f"torch eager {n}t")
    section.add_latency(f"torch_inference_mode_{n}t", timing(inference), device=f"torch {cpu_name}")
    tick(f"torch inference_mode {n}t")
    for precision, path in cpu_graphs.items():
        session = FastPathSession(path, providers=("cpu",), intra_op_threads=n, warmup_runs=0)
        section.add_latency(f"ort_cpu_{precision}_{n}t", timing(partial(session.run, window)), device=session.provider)
        tick(f"onnxruntime cpu {precision} {n}t")
    eager_p50 = section.value(f"torch_eager_{n}t.p50")
    for precision in cpu_graphs:
        ort_p50 = section.value(f"ort_cpu_{precision}_{n}t.p50")
        if eager_p50 and ort_p50:
            section.add(f"speedup_vs_torch_{precision}_{n}t", eager_p50 / ort_p50, "ratio")


def _measure_ort_gpu(section: Section, model: Any, fp32_path: Path, window: np.ndarray, available: Sequence[str],
                     timing: _Timing, tick: Callable[[str], None]) -> None:  # fmt: skip
    """onnxruntime CUDA / TensorRT at fp32 and fp16 with parity against torch, where loadable."""
    from export_onnx import FastPathSession, check_parity, convert_precision
    from export_onnx.session import provider_library_problem

    gpu_parity: dict[str, dict[str, object]] = {}
    for name, provider in _GPU_PROVIDERS.items():
        if provider not in available:
            section.missing[f"ort_{name}_fp32"] = f"{provider} not in this onnxruntime build"
            continue
        if (problem := provider_library_problem(provider)) is not None:
            section.missing[f"ort_{name}_fp32"] = f"{provider} in this build but not loadable: {problem}"
            continue
        for precision in ("fp32", "fp16"):
            key = f"ort_{name}_{precision}"
            path = convert_precision(fp32_path, precision)
            session = FastPathSession(path, providers=(name, "cpu"), warmup_runs=0)
            if session.provider != provider:
                section.missing[key] = f"{provider} listed but fell back to {session.provider}"
                break
            section.add_latency(key, timing(partial(session.run, window)), device=provider)
            parity = check_parity(model, path, providers=(name, "cpu"), raise_on_failure=False)
            gpu_parity[key] = {"max_abs_error": parity.worst,
                               "tolerance": {k: asdict(v) for k, v in parity.tolerance.items()},
                               "passed": parity.passed, "summary": parity.summary(),
                               "provider": parity.provider}  # fmt: skip
            tick(f"onnxruntime {name} {precision}")
    if gpu_parity:
        section.info["gpu_parity_vs_torch_cpu_fp32"] = gpu_parity


def _measure_torch_cuda(section: Section, model: Any, batch: Any, timing: _Timing) -> None:
    """torch eager on CUDA (model moved back to the CPU after) and the onnxruntime GPU speed-ups."""
    import torch

    if not torch.cuda.is_available():
        section.missing["torch_eager_cuda"] = "torch has no CUDA device here"
        return
    device = torch.device("cuda")
    gpu_model, gpu_batch = model.to(device), batch.to(device)

    def eager_cuda() -> object:
        with torch.no_grad():
            out = gpu_model(gpu_batch)
        torch.cuda.synchronize()
        return out

    section.add_latency("torch_eager_cuda", timing(eager_cuda), device=f"torch {torch.cuda.get_device_name(0)}")
    model.to("cpu")
    for name in _GPU_PROVIDERS:
        gpu_p50 = section.value(f"ort_{name}_fp32.p50")
        if gpu_p50:
            cuda_p50 = section.value("torch_eager_cuda.p50")
            assert cuda_p50 is not None  # measured just above
            section.add(f"speedup_vs_torch_cuda_{name}", cuda_p50 / gpu_p50, "ratio")


def measure_fastpath(
    config: Config,
    *,
    runs: int = 500,
    warmup: int = 50,
    threads: Sequence[int] = (1, 2),
    int8: bool = True,
    budget_s: float | None = None,
    tick: Callable[[str], None] | None = None,
) -> Section:
    """Batch-1 latency of every fast-path backend available here.

    Parameters
    ----------
    config : Config
        ``model`` (weights), ``onnx`` (graph path; exported if stale), window shape.
    runs, warmup : int
        Timed and untimed calls per backend.
    threads : sequence of int
        Intra-op thread counts for the CPU backends (torch and onnxruntime alike).
    int8 : bool
        Also measure the dynamic and the static int8 graphs (quantised now; static int8
        on SIMULATED calibration windows, as ``brain3d export`` does).
    budget_s : float, optional
        Longest timed loop per backend, wall seconds (fewer than ``runs`` calls then).
    tick : callable, optional
        Called with a label after each backend (progress bars).

    Returns
    -------
    Section
        Figures ``<backend>_<threads>t.p50`` ... in ms, ``speedup_vs_torch_<threads>t``
        (ratio torch eager p50 / onnxruntime fp32 p50), the device of each.
    """
    import onnxruntime as ort
    import torch

    from export_onnx import load_model, realistic_eeg

    tick = tick or (lambda _label: None)
    timing = _Timing(runs, warmup, budget_s)
    section = Section("fastpath", "Fast path, batch 1 (window in -> latent + image out)")
    loaded = load_model(config)
    cpu_graphs = _export_graphs(config, loaded, int8)
    fp32_path = cpu_graphs["fp32"]
    model = loaded.model.eval()
    mc = model.config
    window = realistic_eeg(1, mc.n_channels, mc.n_times, mc.sfreq, seed=1)[0]
    batch = torch.from_numpy(window[np.newaxis].copy())
    available = ort.get_available_providers()
    old_threads = torch.get_num_threads()
    try:
        for n in threads:
            _measure_cpu(section, model, batch, window, cpu_graphs, n, timing, tick)
        _measure_ort_gpu(section, model, fp32_path, window, available, timing, tick)
        _measure_torch_cuda(section, model, batch, timing)
    finally:
        torch.set_num_threads(old_threads)
    section.device = ", ".join(sorted({f.device for f in section.figures.values() if f.device}))
    section.info = {
        "what": "batch-1 latency, one EEG window (channels x samples) in -> latent + image out, wall clock",
        "window": {"channels": mc.n_channels, "samples": mc.n_times, "sfreq_hz": mc.sfreq},
        "weights": loaded.source, "trained_weights": loaded.trained,
        "graph": str(fp32_path), "available_providers": list(available),
        "runs": runs, "warmup": warmup, "threads": list(threads), "budget_s_per_backend": budget_s,
        **section.info,
    }
    return section
