"""Acquisition over real LSL: our AcquisitionThread vs mne-lsl's StreamLSL, same stream.

A thin wrapper over :func:`brain3d_app.bench.acquisition.compare_acquisition` (the same
code ``brain3d bench`` runs as its ``acquisition`` part; the module docstring there
says exactly what is measured). Prints the figures, writes them as JSON; asserts
nothing.

Usage::

    .venv/bin/python -m brain3d_app.bench.standalone.acquisition --json build/bench/acquisition.json
    .venv/bin/python -m brain3d_app.bench.standalone.acquisition --minutes 2 --speed 1 --json build/bench/acquisition_realtime.json

The default (10 minutes of data at speed 10) takes about 1.5 minutes of wall time.
"""

from __future__ import annotations

import os
from pathlib import Path

# LSL must stay on this machine: before anything imports pylsl or mne_lsl.
os.environ.setdefault("LSLAPICFG", str(Path(__file__).resolve().parents[3] / "tests" / "lsl_api.cfg"))

import argparse  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import sys  # noqa: E402

from brain3d.config import load_config  # noqa: E402
from brain3d.machine import machine_info  # noqa: E402
from brain3d_app.bench.acquisition import AcquisitionSettings, compare_acquisition  # noqa: E402
from brain3d_app.bench.report import section_tables  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", type=Path, required=True, help="where to write the figures")
    parser.add_argument("--minutes", type=float, default=10.0, help="minutes of stream data (default 10)")
    parser.add_argument("--speed", type=float, default=10.0, help="stream time / wall time (default 10)")
    parser.add_argument("--rate", type=float, default=1000.0, help="nominal rate, Hz (default 1000)")
    parser.add_argument("--channels", type=int, default=64, help="channels (default 64)")
    parser.add_argument("--chunk", type=int, default=10, help="samples per pushed chunk (default 10)")
    parser.add_argument("--no-mne", action="store_true", help="only our reader")
    parser.add_argument("--set", dest="overrides", action="append", default=[], help="config override")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    settings = AcquisitionSettings(minutes=args.minutes, speed=args.speed, rate=args.rate, channels=args.channels,
                                   chunk=args.chunk)  # fmt: skip
    section = compare_acquisition(settings, load_config(overrides=args.overrides), with_mne=not args.no_mne)
    report = {"benchmark": "acquisition",
              "machine": machine_info(packages=("numpy", "scipy", "pylsl", "mne", "mne-lsl", "pyxdf", "psutil")),
              "section": section.to_dict()}  # fmt: skip
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=1, default=str))
    print(section.title)
    print(section_tables(section))
    if section.missing:
        print(f"not measured: {section.missing}")
    print(f"written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
