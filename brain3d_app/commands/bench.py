"""The ``brain3d bench`` handler: options from the command line, a summary on stdout."""

from __future__ import annotations

import argparse
import logging
import os
import shlex
import sys
from pathlib import Path

from brain3d.config import Config
from brain3d.errors import ConfigError

logger = logging.getLogger(__name__)

#: liblsl configuration the bench uses when ``LSLAPICFG`` is not set: its test streams
#: are discoverable on this machine only (no multicast to the network).
MACHINE_ONLY_LSL = "; written by brain3d bench: LSL discovery stays on this machine\n" \
    "[ports]\nIPv6 = disable\n\n[multicast]\nResolveScope = machine\n"  # fmt: skip


def confine_lsl(folder: Path) -> None:
    """Keep LSL discovery on this machine unless the caller configured liblsl already.

    Must run before pylsl is first imported (liblsl reads ``LSLAPICFG`` once).
    """
    if "LSLAPICFG" in os.environ:
        return
    if "pylsl" in sys.modules:
        logger.warning("pylsl is already loaded: the bench's streams use the existing liblsl configuration")
        return
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "lsl_api.cfg"
    path.write_text(MACHINE_ONLY_LSL, encoding="utf-8")
    os.environ["LSLAPICFG"] = str(path)


def bench_command(args: argparse.Namespace, config: Config) -> int:
    """Run ``brain3d bench`` and print where the report is and the targets."""
    from brain3d_app.bench.report import update_docs
    from brain3d_app.bench.runner import BenchOptions, run_bench

    parts = tuple(p.strip() for p in args.parts.split(",") if p.strip())
    if not parts:
        raise ConfigError("--parts is empty: name at least one part")
    argv = sys.argv[1:] if sys.argv and Path(sys.argv[0]).name in ("brain3d", "__main__.py") else []
    command = "brain3d " + shlex.join(argv) if argv else "brain3d bench"
    confine_lsl(args.output.resolve())
    options = BenchOptions(output=args.output, duration_s=args.duration, speed=args.speed, quick=args.quick,
                           parts=parts, command=command, progress=not args.no_progress,
                           viewer_json=args.viewer_json, load=args.load)  # fmt: skip
    run = run_bench(config, options)
    if args.update_docs is not None:
        update_docs(run.folder, args.update_docs)
        print(f"docs          : {args.update_docs}")
    state = "INTERRUPTED (partial)" if run.results["interrupted"] else ("complete" if run.results["complete"] else
                                                                       "finished with failed parts")  # fmt: skip
    print(f"bench         : {state} in {run.results.get('wall_s')} s")
    print(f"report        : {run.report}")
    print(f"results       : {run.folder / 'results.json'}")
    for target in run.results.get("targets", []):
        verdict = {True: "met", False: "NOT MET", None: "not measured"}[target["met"]]
        if target.get("note"):
            verdict += f": {target['note']}"
        value = "-" if target["value"] is None else f"{target['value']:g} {target['unit']}"
        print(f"  {target['target']}: {value} ({verdict})")
    for part, message in run.results.get("errors", {}).items():
        print(f"  failed part {part}: {message}")
    return 130 if run.results["interrupted"] else (0 if run.results["complete"] else 1)
