"""Benchmark mode (``brain3d bench``): figures people can quote, with units and devices.

Library API::

    from realtime.bench import BenchOptions, run_bench
    run = run_bench(config, BenchOptions(output=Path("build/bench/latest")))
    run.results["targets"], run.report          # results.json content, report.md

Modules: :mod:`~realtime.bench.figures` (results schema), :mod:`~realtime.bench.sampling`
(CPU / memory), :mod:`~realtime.bench.fastpath` (onnxruntime vs torch),
:mod:`~realtime.bench.acquisition` (ours vs mne-lsl), :mod:`~realtime.bench.pipeline`
(the engine session), :mod:`~realtime.bench.sweeps`, :mod:`~realtime.bench.plots`,
:mod:`~realtime.bench.report`, :mod:`~realtime.bench.runner`.
"""

from realtime.bench.figures import UNITS, Figure, Section
from realtime.bench.report import render_report, update_docs, write_report
from realtime.bench.runner import PARTS, BenchOptions, BenchRun, run_bench

__all__ = [
    "PARTS", "UNITS", "BenchOptions", "BenchRun", "Figure", "Section", "render_report", "run_bench",
    "update_docs", "write_report",
]  # fmt: skip
