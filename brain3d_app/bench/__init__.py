"""Benchmark mode (``brain3d bench``): figures people can quote, with units and devices.

Library API::

    from brain3d_app.bench import BenchOptions, run_bench
    run = run_bench(config, BenchOptions(output=Path("build/bench/latest")))
    run.results["targets"], run.report          # results.json content, report.md

Modules: :mod:`~brain3d_app.bench.figures` (results schema), :mod:`~brain3d_app.bench.sampling`
(CPU / memory), :mod:`~brain3d_app.bench.fastpath` (onnxruntime vs torch),
:mod:`~brain3d_app.bench.acquisition` (ours vs mne-lsl), :mod:`~brain3d_app.bench.pipeline`
(the engine session), :mod:`~brain3d_app.bench.sweeps`, :mod:`~brain3d_app.bench.plots`,
:mod:`~brain3d_app.bench.report`, :mod:`~brain3d_app.bench.runner`.
"""

from brain3d_app.bench.figures import UNITS, Figure, Section
from brain3d_app.bench.report import render_report, update_docs, write_report
from brain3d_app.bench.runner import PARTS, BenchOptions, BenchRun, run_bench

__all__ = [
    "PARTS", "UNITS", "BenchOptions", "BenchRun", "Figure", "Section", "render_report", "run_bench",
    "update_docs", "write_report",
]  # fmt: skip
