"""The whole live pipeline: fast-path latency with the slow stages off and on, 3D rate.

Runs the engine headless on the SIMULATED EEG source (real time, the repository's
configuration, onnxruntime CPU) several times in one process, each for ``--duration``
seconds of steady state (measuring starts once the slow stages have built their models):

* ``off``      : fast path only (acquisition -> prepare_windows -> onnxruntime);
* ``thread``   : + describer and 3D stages built from the configuration, in threads of
  this process (they share the interpreter lock with the fast path);
* ``process``  : + the same stages in their own spawned processes (the engine default).

Figures per mode (milliseconds on the LSL clock): window -> image (last sample of the
window -> decoded image available, including preprocessing: the ``inference`` stamp),
its part inside the engine (``buffered`` -> image), window -> description, window ->
cloud, 3D updates per second, skipped inputs per stage (latest wins), and the fast-path
p99 with the slow stages on divided by the p99 with them off (same run of this script).
The modes are interleaved over ``--rounds`` rounds so that drifts of the machine's load
(other jobs) affect them alike; figures pool the rounds.

By default the simulator streams over a real LSL outlet from its own process
(``--sender process``), as a headset's LSL app is another program: its pushes do not
wait for this interpreter's lock, and each sample is stamped with its due time (the
device clock), so a late push would count as latency. ``--sender inprocess`` reads the
simulator in-process instead, as ``brain3d run``'s default source does.

The simulator releases its samples in blocks of ``--chunk-samples`` (default 1: sample
by sample, so that the figure measures this pipeline and not the simulator's block
size; ``brain3d run`` uses 10 ms blocks, which add up to 10 ms to "window -> image").
Prints JSON; asserts nothing.

Usage::

    .venv/bin/python -m brain3d_app.bench.standalone.pipeline --json build/bench/pipeline.json
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("LSLAPICFG", str(Path(__file__).resolve().parents[3] / "tests" / "lsl_api.cfg"))

import argparse  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from typing import Any  # noqa: E402

TARGET_IMAGE_P99_MS = 5.0
TARGET_CLOUD_RATE = 4.0
#: Longest wait for the slow stages to build their models, seconds.
STAGES_READY_TIMEOUT_S = 300.0
#: Seconds after the stages are ready before measuring starts.
SETTLE_S = 1.5


def _records(engine: Any, started_after: float) -> list[dict[str, Any]]:
    """Trace records (``traces.jsonl`` lines) of windows that ended after ``started_after``."""
    path = Path(engine.session_dir) / "traces.jsonl"
    records = [json.loads(line) for line in path.read_text().splitlines()] if path.is_file() else []
    return [r for r in records if r["window_end"] >= started_after]


def _figures(records: list[dict[str, Any]]) -> dict[str, Any]:
    """p50 / p99 / max of each latency of interest, ms."""
    from brain3d.latency import latency_figures

    def pct(stage: str, origin: str | None = None) -> dict[str, float]:
        values = []
        for r in records:
            lat = r["latency_ms"]
            if stage in lat and (origin is None or origin in lat):
                values.append(lat[stage] - (lat[origin] if origin else 0.0))
        if not values:
            return {"n": 0}
        return latency_figures(values, digits=3)

    return {
        "window_to_buffered": pct("buffered"),
        "window_to_image": pct("inference"),
        "buffered_to_image": pct("inference", "buffered"),
        "image_compute": pct("inference", "preprocessed"),
        "window_to_description": pct("description"),
        "window_to_cloud": pct("cloud"),
    }


STANDINS = {"description": "brain3d_app.bench.standins:build_untrained_describer",
            "cloud": "brain3d_app.bench.standins:build_untrained_generator"}


def run_mode(config: Any, fast_path: Any, mode: str, duration: float, chunk_samples: int, out: Path,
             factories: dict[str, str] | None = None, sender: str = "process") -> dict[str, Any]:
    """One engine run in ``mode``; raw records of its steady state.

    ``sender="process"``: the simulator streams over LSL from its own process, as a
    headset's LSL app would; ``"inprocess"``: the engine reads the simulator directly
    (``brain3d run``'s default source; its generator thread shares this interpreter).
    """
    from acquisition.sim_source import SimulatorSource
    from brain3d.clock import lsl_clock
    from brain3d_app.bench.sender import StreamerProcess
    from realtime.engine import Engine

    streamer = None
    if sender == "process":
        uid = uuid.uuid4().hex[:8]
        streamer = StreamerProcess(config.source.simulate, name_prefix=f"Brain3D-PipelineBench-{uid}",
                                   source_id=f"brain3d-pipeline-bench-{uid}",
                                   max_duration_s=STAGES_READY_TIMEOUT_S + SETTLE_S + duration + 30.0,
                                   wait_for_consumers_s=0.0, chunk_samples=chunk_samples)
        streamer.open()
        config = streamer.select_in(config)
        source = None
    else:
        source = SimulatorSource(config.source.simulate, chunk_samples=chunk_samples)
    engine = Engine(config, source=source, fast_path=fast_path, slow_stages=mode != "off",
                    stage_mode="thread" if mode == "thread" else "process", lsl_outputs=False,
                    session_dir=out, stage_factories=factories)
    if streamer is not None:
        streamer.start()  # the engine's inlet resolves the stream while it starts
    try:
        engine.start()
    except BaseException:
        if streamer is not None:
            streamer.stop()  # the sender process would otherwise outlive a run that never started
        raise
    try:
        ready = engine.wait_stages_ready(STAGES_READY_TIMEOUT_S)
        engine.wait(SETTLE_S)  # let the first inputs through the freshly built models
        ready_at = lsl_clock()
        skipped0 = engine.skipped()
        clouds0 = engine.latency.count("cloud")
        t0 = time.monotonic()
        engine.wait(duration)
        elapsed = time.monotonic() - t0
        clouds = engine.latency.count("cloud") - clouds0
        skipped = {k: n - skipped0[k] for k, n in engine.skipped().items()}
    finally:
        summary = engine.stop()
        lateness = streamer.stop().lateness_ms_p99 if streamer is not None else None
    return {
        "sender_lateness_ms_p99": lateness,
        "ready": ready, "elapsed": elapsed, "clouds": clouds, "skipped": skipped,
        "records": _records(engine, ready_at),
        "backends": summary.backends if summary else {},
        "errors": {k: v["errors"] for k, v in summary.stages.items() if v["errors"]} if summary else {},
        "events": summary.events if summary else {},
    }


def _aggregate(mode: str, runs: list[dict[str, Any]]) -> dict[str, Any]:
    elapsed = sum(r["elapsed"] for r in runs)
    records = [rec for r in runs for rec in r["records"]]
    skipped: dict[str, int] = {}
    for r in runs:
        for k, v in r["skipped"].items():
            skipped[k] = skipped.get(k, 0) + v
    return {
        "mode": mode, "rounds": len(runs), "stages_ready": all(r["ready"] for r in runs),
        "measured_s": round(elapsed, 2), **_figures(records),
        "cloud_updates_per_s": round(sum(r["clouds"] for r in runs) / max(elapsed, 1e-9), 3) if mode != "off" else None,
        "skipped": skipped, "backends": runs[-1]["backends"],
        "sender_lateness_ms_p99": [r["sender_lateness_ms_p99"] for r in runs],
        "errors": [r["errors"] for r in runs], "events": [r["events"] for r in runs],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", type=Path, required=True, help="where to write the figures")
    parser.add_argument("--duration", type=float, default=10.0,
                        help="steady-state seconds per mode and round (default 10)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds over the modes, interleaved (default 3)")
    parser.add_argument("--modes", default="off,thread,process", help="comma-separated: off, thread, process")
    parser.add_argument("--chunk-samples", type=int, default=1, help="simulator block size, samples (default 1)")
    parser.add_argument("--sender", choices=("process", "inprocess"), default="process",
                        help="process (default): the simulator streams over LSL from its own process, as a "
                        "headset's LSL app; inprocess: the engine reads the simulator directly, as brain3d run does")
    parser.add_argument("--untrained-stages", default="", metavar="STAGES",
                        help="comma-separated among description, cloud: time untrained stand-ins of these "
                        "models (same architecture and settings) when their weights are not shipped")
    parser.add_argument("--set", dest="overrides", action="append", default=[], help="config override")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")

    from brain3d.config import load_config
    from brain3d.machine import machine_info
    from export_onnx import open_fast_path

    config = load_config(overrides=["onnx.providers=[cpu]", *args.overrides])
    fast_path = open_fast_path(config)
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    standins = [m.strip() for m in args.untrained_stages.split(",") if m.strip()]
    unknown = sorted(set(standins) - set(STANDINS))
    if unknown:
        parser.error(f"--untrained-stages {unknown}: use description and/or cloud")
    runs: dict[str, list[dict[str, Any]]] = {m: [] for m in modes}
    with tempfile.TemporaryDirectory(prefix="b3d-pipeline-") as tmp:
        for round_ in range(args.rounds):  # modes interleaved: slow drifts of machine load hit all alike
            for mode in modes:
                print(f"pipeline benchmark: round {round_ + 1}/{args.rounds}, mode {mode} "
                      f"({args.duration:g} s)...", file=sys.stderr)
                runs[mode].append(run_mode(config, fast_path, mode, args.duration, args.chunk_samples,
                                           Path(tmp) / f"{mode}-{round_}", {k: STANDINS[k] for k in standins},
                                           sender=args.sender))
    results = {m: _aggregate(m, r) for m, r in runs.items()}
    off = results.get("off", {}).get("window_to_image", {})
    ratios = {m: round(r["window_to_image"]["p99_ms"] / off["p99_ms"], 3)
              for m, r in results.items() if m != "off" and off.get("n") and r["window_to_image"].get("n")}
    default = results.get("process") or results.get("thread") or {}
    report = {
        "benchmark": "pipeline",
        "machine": machine_info(),
        "provider": fast_path.provider,
        "source": f"SIMULATED EEG, {config.source.simulate.sfreq:g} Hz, blocks of {args.chunk_samples} samples, "
                  + ("over LSL from a sender process" if args.sender == "process" else "read in-process"),
        "precision": fast_path.metadata.precision,
        "untrained_stand_ins": standins,
        "load_average_1_5_15": list(os.getloadavg()),
        "config": {"describer": config.describer.backend, "generator3d": config.generator3d.backend,
                   "generator3d_steps": config.generator3d.steps, "onnx_intra_op_threads": config.onnx.intra_op_threads,
                   "torch_threads_slow_stages": config.generator3d.threads},
        "modes": results,
        "fast_path_p99_ratio_on_vs_off": ratios,
        "targets": {
            "window_to_image_p99_ms_max": TARGET_IMAGE_P99_MS,
            "cloud_updates_per_s_min": TARGET_CLOUD_RATE,
            "image_p99_met": bool(default) and default["window_to_image"].get("p99_ms", 1e9) <= TARGET_IMAGE_P99_MS,
            "cloud_rate_met": bool(default) and (default.get("cloud_updates_per_s") or 0) >= TARGET_CLOUD_RATE,
        },
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
