"""Describer latency: grounded head on CPU (1 thread) and the openai backend vs a local server.

Prints the figures and writes them as JSON; asserts nothing. Target: grounded p99 <= 10 ms.

Usage::

    .venv/bin/python -m brain3d_app.bench.standalone.describer --json build/bench/describer.json
"""

from __future__ import annotations

import argparse
import json
import logging
import os
from pathlib import Path

from brain3d.config import load_config  # noqa: E402
from brain3d.machine import machine_info  # noqa: E402
from brain3d_app.bench.describer import bench_grounded, bench_openai  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", type=Path, required=True, help="where to write the figures")
    parser.add_argument("--n", type=int, default=500, help="grounded calls measured (default 500)")
    parser.add_argument("--n-http", type=int, default=100, help="openai calls measured (default 100)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], help="config override")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    config = load_config(overrides=args.overrides)
    report = {
        "benchmark": "describer",
        "machine": machine_info(packages=("torch", "numpy", "pydantic")),
        "target": {"grounded_p99_ms": 10.0},
        "load_average_before": os.getloadavg(),
        "grounded": bench_grounded(config, n=args.n),
        "openai": bench_openai(n=args.n_http),
    }
    report["load_average_after"] = os.getloadavg()  # other work on the machine inflates the tails
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=1, default=str))
    print(json.dumps({k: report[k] for k in ("load_average_before", "grounded", "openai", "load_average_after")},
                     indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
