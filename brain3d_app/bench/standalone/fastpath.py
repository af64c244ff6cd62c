"""Batch-1 latency of the fast path: onnxruntime (each provider; fp32, int8, static int8) vs torch eager.

A thin wrapper over :func:`brain3d_app.bench.fastpath.measure_fastpath` (the same code
``brain3d bench`` runs as its ``fastpath`` part). Prints the figures, writes them as
JSON (a ``brain3d_app.bench.figures.Section``: every figure with its unit and device);
asserts nothing.

Usage::

    .venv/bin/python -m brain3d_app.bench.standalone.fastpath --json build/bench/fastpath.json
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from brain3d.config import load_config  # noqa: E402
from brain3d.machine import machine_info  # noqa: E402
from brain3d_app.bench.fastpath import measure_fastpath  # noqa: E402
from brain3d_app.bench.report import section_tables  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", type=Path, required=True, help="where to write the figures")
    parser.add_argument("--runs", type=int, default=2000, help="timed runs per backend (default 2000)")
    parser.add_argument("--warmup", type=int, default=200, help="untimed runs first (default 200)")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2], help="thread counts to measure")
    parser.add_argument("--no-int8", action="store_true", help="leave out the int8 graphs (dynamic and static)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], help="config override")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    config = load_config(overrides=args.overrides)
    section = measure_fastpath(config, runs=args.runs, warmup=args.warmup, threads=args.threads, int8=not args.no_int8)
    report = {"benchmark": "fastpath", "machine": machine_info(), "section": section.to_dict()}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=1, default=str))
    print(f"{section.title} ({report['machine']['cpu']}, {args.runs} runs after {args.warmup} warm-up)")
    print(section_tables(section))
    print(f"written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
