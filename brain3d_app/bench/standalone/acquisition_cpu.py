"""CPU time of the acquisition thread per input sample (front end, resampling grids, windows).

A replayed block of ``--seconds`` of 64-channel µV data at ``--rate`` Hz is fed to
:class:`acquisition.pipeline.AcquisitionThread` in chunks of ``--chunk`` samples as fast
as the thread takes them (no LSL, no pacing, no recording, no model), so the figure is
the thread's own work per sample: reading the chunk, the input front end (channel
mapping, NaN bridging, anti-alias filter), each resampling grid (two at 500 Hz) and the
windowers. Thread CPU time comes from the kernel (psutil). Repeated ``--repeats`` times;
prints JSON (median and spread); asserts nothing.

Usage::

    .venv/bin/python -m brain3d_app.bench.standalone.acquisition_cpu --rate 500 --json build/bench/acquisition_cpu.json
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import psutil

from acquisition.base import Chunk, Source, SourceEvent, StreamDescription
from acquisition.pipeline import AcquisitionThread
from brain3d.channels import STANDARD_64
from brain3d.config import load_config


class BlockSource(Source):
    """A fixed block of samples, served chunk by chunk as fast as it is read."""

    def __init__(self, data: np.ndarray, sfreq: float, chunk: int) -> None:
        self.data, self.sfreq, self.chunk = data, sfreq, chunk
        self.sent = 0
        self._description = StreamDescription("cpu-bench", "EEG", "cpu-bench-1", tuple(STANDARD_64), sfreq, "uV")

    @property
    def description(self) -> StreamDescription:
        return self._description

    def open(self) -> None:
        pass

    def read(self, timeout: float = 0.0, min_samples: int = 1) -> Chunk | None:
        if self.sent >= len(self.data):
            time.sleep(min(timeout, 0.01))
            return None
        stop = min(self.sent + self.chunk, len(self.data))
        stamps = 1000.0 + np.arange(self.sent, stop) / self.sfreq
        block = self.data[self.sent:stop]
        self.sent = stop
        return Chunk(block, stamps)

    def drain_events(self) -> list[SourceEvent]:
        return []

    def close(self) -> None:
        pass


def measure(rate: float, seconds: float, chunk: int) -> dict[str, float]:
    """One run: thread CPU seconds and wall seconds for ``seconds`` of data at ``rate`` Hz."""
    rng = np.random.default_rng(0)
    n = int(rate * seconds)
    t = np.arange(n) / rate
    data = (20 * np.sin(2 * np.pi * 10 * t)[:, None] + rng.normal(0, 5, (n, 64))).astype(np.float32)
    source = BlockSource(data, rate, chunk)
    windows = [0]
    acq = AcquisitionThread(source, load_config(), on_window=lambda _w: windows.__setitem__(0, windows[0] + 1),
                            read_timeout_s=0.0)
    process = psutil.Process()
    acq.start()
    tid = acq.native_thread_id

    def thread_cpu() -> float:
        return next((th.user_time + th.system_time for th in process.threads() if th.id == tid), float("nan"))

    wall0 = time.perf_counter()
    while acq.samples_received < n and acq.running:
        time.sleep(0.01)
    cpu = thread_cpu()  # the thread started with the run: its whole CPU time is this work
    wall = time.perf_counter() - wall0
    acq.stop()
    return {"cpu_s": cpu, "wall_s": wall, "samples": float(n), "windows": float(windows[0]),
            "cpu_us_per_sample": 1e6 * cpu / n}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=500.0, help="input rate, Hz (default 500)")
    parser.add_argument("--seconds", type=float, default=120.0, help="seconds of data per run (default 120)")
    parser.add_argument("--chunk", type=int, default=10, help="samples per chunk (default 10)")
    parser.add_argument("--repeats", type=int, default=5, help="runs (default 5)")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    runs = [measure(args.rate, args.seconds, args.chunk) for _ in range(args.repeats)]
    per_sample = [r["cpu_us_per_sample"] for r in runs]
    report = {
        "benchmark": "acquisition_cpu", "rate_hz": args.rate, "seconds": args.seconds, "chunk": args.chunk,
        "cpu_us_per_sample_median": statistics.median(per_sample),
        "cpu_us_per_sample_min": min(per_sample), "cpu_us_per_sample_max": max(per_sample),
        "runs": runs, "load_average": os.getloadavg(),
    }
    text = json.dumps(report, indent=1)
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
