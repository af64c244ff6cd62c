"""Batch-1 latency of the fast path (EEG window in -> latent + image out).

Backends, measured in one run so they can be compared as ratios: torch eager
(eval, ``no_grad``), torch ``inference_mode``, onnxruntime CPU (fp32 and dynamic
int8), and onnxruntime CUDA / TensorRT when this onnxruntime build has them. Each
at 1 and 2 threads. Prints a report and writes JSON; asserts nothing.

Usage::

    .venv/bin/python benchmarks/fastpath.py --json build/bench/fastpath.json

The headline keys (``ort_cpu_p50_ms``, ``ort_cpu_p99_ms``, ``torch_eager_p50_ms``,
``speedup_vs_torch``) use ``--headline-threads`` threads (default 2, both cores)
for both torch and onnxruntime, fp32.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from brain3d.config import load_config
from brain3d.machine import machine_info
from export_onnx import (
    FastPathSession,
    check_parity,
    convert_precision,
    ensure_exported,
    load_model,
    realistic_eeg,
)

logger = logging.getLogger("benchmarks.fastpath")


def time_calls(fn: Callable[[], object], runs: int, warmup: int) -> np.ndarray:
    """Wall time of ``runs`` calls after ``warmup`` calls, in milliseconds."""
    for _ in range(warmup):
        fn()
    samples = np.empty(runs)
    for index in range(runs):
        start = time.perf_counter()
        fn()
        samples[index] = time.perf_counter() - start
    return samples * 1e3


def summarise(samples_ms: np.ndarray) -> dict[str, float]:
    """p50/p95/p99/max/mean of latencies in ms."""
    p50, p95, p99 = np.percentile(samples_ms, [50, 95, 99])
    return {
        "p50_ms": round(float(p50), 4), "p95_ms": round(float(p95), 4), "p99_ms": round(float(p99), 4),
        "max_ms": round(float(samples_ms.max()), 4), "mean_ms": round(float(samples_ms.mean()), 4),
        "runs": int(samples_ms.size),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", type=Path, required=True, help="where to write the figures")
    parser.add_argument("--runs", type=int, default=2000, help="timed runs per backend (default 2000)")
    parser.add_argument("--warmup", type=int, default=200, help="untimed runs first (default 200)")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2], help="thread counts to measure")
    parser.add_argument("--headline-threads", type=int, default=2)
    parser.add_argument("--set", dest="overrides", action="append", default=[], help="config override")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")

    config = load_config(overrides=[f"onnx.path={args.json.parent / 'fastpath.onnx'}", *args.overrides])
    loaded = load_model(config)
    fp32_path, _ = ensure_exported(config, loaded=loaded)
    int8_path = convert_precision(fp32_path, "int8")
    int8_parity = check_parity(loaded.model, int8_path, raise_on_failure=False)
    model = loaded.model.eval()
    window = realistic_eeg(1, model.config.n_channels, model.config.n_times, model.config.sfreq, seed=1)[0]
    batch = torch.from_numpy(window[np.newaxis].copy())

    import onnxruntime as ort

    available = ort.get_available_providers()
    results: dict[str, dict[str, float]] = {}
    for threads in args.threads:
        torch.set_num_threads(threads)

        def eager() -> object:
            with torch.no_grad():
                return model(batch)

        def inference() -> object:
            with torch.inference_mode():
                return model(batch)

        results[f"torch_eager/{threads}t"] = summarise(time_calls(eager, args.runs, args.warmup))
        results[f"torch_inference_mode/{threads}t"] = summarise(time_calls(inference, args.runs, args.warmup))
        for precision, path in (("fp32", fp32_path), ("int8", int8_path)):
            session = FastPathSession(path, providers=("cpu",), intra_op_threads=threads, warmup_runs=0)
            results[f"ort_cpu_{precision}/{threads}t"] = summarise(
                time_calls(lambda s=session: s.run(window), args.runs, args.warmup)
            )
    for name in ("cuda", "tensorrt"):
        provider = {"cuda": "CUDAExecutionProvider", "tensorrt": "TensorrtExecutionProvider"}[name]
        if provider in available:
            session = FastPathSession(fp32_path, providers=(name, "cpu"), warmup_runs=0)
            if session.provider == provider:
                results[f"ort_{name}_fp32"] = summarise(time_calls(lambda s=session: s.run(window), args.runs, args.warmup))

    head = args.headline_threads
    ort_fp32 = results[f"ort_cpu_fp32/{head}t"]
    eager_head = results[f"torch_eager/{head}t"]
    report = {
        "benchmark": "fastpath",
        "what": "batch-1 latency, one EEG window (channels x samples) in -> latent + image out, wall clock",
        "window": {"channels": model.config.n_channels, "samples": model.config.n_times, "sfreq_hz": model.config.sfreq},
        "weights": loaded.source,
        "machine": machine_info(),
        "available_providers": available,
        "headline_threads": head,
        "ort_cpu_p50_ms": ort_fp32["p50_ms"],
        "ort_cpu_p99_ms": ort_fp32["p99_ms"],
        "torch_eager_p50_ms": eager_head["p50_ms"],
        "speedup_vs_torch": round(eager_head["p50_ms"] / ort_fp32["p50_ms"], 3),
        "ort_cpu_int8_p50_ms": results[f"ort_cpu_int8/{head}t"]["p50_ms"],
        "ort_cpu_int8_p99_ms": results[f"ort_cpu_int8/{head}t"]["p99_ms"],
        "int8_speedup_vs_torch": round(eager_head["p50_ms"] / results[f"ort_cpu_int8/{head}t"]["p50_ms"], 3),
        "int8_max_abs_error": int8_parity.worst,
        "targets": {"ort_cpu_p99_ms": 2.5, "speedup_vs_torch": 2.0},
        "backends": results,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2))

    print(f"fast path, batch 1, {args.runs} runs after {args.warmup} warm-up ({report['machine']['cpu']})")
    print(f"{'backend':32s} {'p50 ms':>8s} {'p95 ms':>8s} {'p99 ms':>8s} {'max ms':>8s}")
    for name, stats in results.items():
        print(f"{name:32s} {stats['p50_ms']:8.3f} {stats['p95_ms']:8.3f} {stats['p99_ms']:8.3f} {stats['max_ms']:8.3f}")
    print(
        f"headline ({head} threads, fp32): onnxruntime p50 {report['ort_cpu_p50_ms']:.3f} ms, "
        f"p99 {report['ort_cpu_p99_ms']:.3f} ms; torch eager p50 {report['torch_eager_p50_ms']:.3f} ms; "
        f"speedup x{report['speedup_vs_torch']:.2f}"
    )
    print(
        f"int8 (dynamic, Linear layers): p50 {report['ort_cpu_int8_p50_ms']:.3f} ms, "
        f"p99 {report['ort_cpu_int8_p99_ms']:.3f} ms, max abs error vs torch {int8_parity.worst}"
    )
    print(f"written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
