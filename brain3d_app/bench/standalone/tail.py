"""Latency-tail guards, each measured on and off within the same engine sessions (issue 19).

For every candidate knob of ``config.realtime`` (busy poll, warm-up before the window
is due, core pinning, garbage collector off the hot path) and every condition (quiet;
a CPU hog on the other core), ``--runs`` SIMULATED-EEG sessions run through the live
engine. During each session the knob is switched on and off every ``--block`` seconds
(:meth:`realtime.tail.TailGuards.apply`; the first state alternates between sessions),
so both states see the same machine: on a shared VM the hypervisor's steal time moves
a whole session's p99 by 2x, which separate on and off sessions cannot tell from the
knob. Windows are assigned to the state active when their last sample was due
(windows due within :data:`SETTLE_S` after a switch, or decoded after the next switch,
are left out). Each session gives
one paired figure, push -> image p99 (on) / p99 (off); a knob is kept when the median
over sessions is <= 0.9 in every condition. Its CPU cost (busy-poll spin, warm-up runs,
collections, percent of one core while on) and the process's CPU on and off (sampled
every 0.25 s) are reported.

Usage::

    .venv/bin/python -m brain3d_app.bench.standalone.tail --json build/bench/tail.json \\
        --markdown build/bench/tail.md --runs 3 --seconds 40

Asserts nothing; prints the table and writes JSON (and Markdown for docs/realtime.md).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from brain3d.config import Config
#: Candidate -> the ``config.realtime`` override that turns it on.
CANDIDATES = {
    "busy_poll": {"busy_poll_ms": 1.5},
    "warm_before_due": {"warm_before_due": True},
    "pin_cores": {"pin_cores": True},
    "gc_off_hot_path": {"gc_off_hot_path": True},
    "reuse_buffers": {"reuse_buffers": True},
}
#: Kept when the median p99 ratio (on / off) is at most this in every condition.
KEEP_RATIO = 0.9
#: Windows due this soon after a switch are left out (the old state may still act), s.
SETTLE_S = 0.15


class Switcher:
    """Switches one knob of a running engine on and off every ``block_s`` seconds.

    Records each switch as (LSL time, monotonic time, state) for the windows and the CPU
    samples to be assigned afterwards.
    """

    def __init__(self, off: Config, on: Config, block_s: float, first: str) -> None:
        import threading

        self.configs = {"off": off.realtime, "on": on.realtime}
        self.block_s = block_s
        self.first = first
        self.switches: list[tuple[float, float, str]] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __call__(self, engine: Any) -> None:
        import threading

        self._thread = threading.Thread(target=self._run, args=(engine,), name="bench-switcher", daemon=True)
        self._thread.start()

    def _run(self, engine: Any) -> None:
        from brain3d.clock import lsl_clock

        state = self.first
        while not self._stop.is_set() and not engine.finished:
            if engine.tail is not None:
                engine.tail.apply(self.configs[state])
            self.switches.append((lsl_clock(), time.monotonic(), state))
            self._stop.wait(self.block_s)
            state = "on" if state == "off" else "off"

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2.0)

    def state_at(self, times: Any, column: int, settle_s: float | None = None) -> list[str | None]:
        """The state active at each time (None: before the first switch, or within
        ``settle_s`` after one; default :data:`SETTLE_S` on the LSL clock, column 0)."""
        import bisect

        settle = (SETTLE_S if column == 0 else 0.0) if settle_s is None else settle_s
        starts = [sw[column] for sw in self.switches]
        out: list[str | None] = []
        for t in times:
            k = bisect.bisect_right(starts, t) - 1
            out.append(None if k < 0 or t - starts[k] < settle else self.switches[k][2])
        return out


def _session(off: Any, on: Any, folder: Path, seconds: float, slow_stages: bool, block_s: float,
             first: str) -> dict[str, Any]:  # fmt: skip
    """One session with the knob switched every ``block_s``; per-state figures."""
    import numpy as np

    from brain3d.latency import latency_figures
    from brain3d_app.bench.pipeline import decoded_push_times, run_session

    switcher = Switcher(off, on, block_s, first)
    try:
        run = run_session(off, folder, duration_s=seconds, slow_stages=slow_stages, on_streaming=switcher)
    finally:
        switcher.close()
    times = decoded_push_times(run)
    ends, image, pushed = times["end"], times["inference"], times["pushed"]
    # a window counts for a state only if that state held from its due time to its image
    at_due = switcher.state_at(ends, 0)
    at_image = switcher.state_at(image, 0, settle_s=0.0)
    states = np.array([a if a == b else None for a, b in zip(at_due, at_image)], dtype=object)
    out: dict[str, Any] = {"switches": len(switcher.switches), "summary_realtime": run.summary.get("realtime")}
    t0 = run.usage.started_monotonic if run.usage is not None else 0.0
    samples = run.usage.samples if run.usage is not None else []
    cpu_states = switcher.state_at([t0 + t for t, _cpu, _rss in samples], 1)
    for state in ("off", "on"):
        keep = (states == state) & np.isfinite(pushed)
        out[state] = {**latency_figures((image[keep] - pushed[keep]) * 1e3),
                      "process_cpu": statistics.mean([c for (_t, c, _r), st in zip(samples, cpu_states) if st == state]
                                                     or [float("nan")])}  # fmt: skip
    guards = run.summary.get("realtime") or {}
    on_s = max(1e-9, run.wall_s / 2)
    spent = ((guards.get("busy_poll") or {}).get("spin_s") or 0.0) + (guards.get("warm_s") or 0.0) + (
        guards.get("gc_collect_s") or 0.0)
    out["knob_cpu_percent_while_on"] = 100.0 * spent / on_s
    out["steal_percent"] = None if run.usage is None else run.usage.steal_percent
    return out


@contextlib.contextmanager
def _condition(name: str) -> Iterator[dict[str, Any]]:
    info: dict[str, Any] = {}
    if name != "loaded":
        yield info
        return
    from brain3d_app.bench.load import CpuHog

    hog = CpuHog()
    with hog:
        yield info
    info.update(hog.describe())


def _ratio(pair: dict[str, Any]) -> float | None:
    on, off = pair["on"].get("p99_ms"), pair["off"].get("p99_ms")
    return on / off if on and off else None


def _verdicts(results: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for cand, per_cond in results.items():
        ratios = {}
        for cond, sessions in per_cond.items():
            values = [r for r in (_ratio(p) for p in sessions) if r is not None]
            ratios[cond] = round(statistics.median(values), 3) if values else None
        keep = bool(ratios) and all(r is not None and r <= KEEP_RATIO for r in ratios.values())
        out[cand] = {"median_p99_ratio_on_over_off": ratios, "keep": keep}
    return out


def _markdown(report: dict[str, Any]) -> str:
    machine = report["machine"]
    lines = [f"Machine: {machine.get('cpu')}, {machine.get('usable_cores', '?')} usable cores; {report['runs']} "
             f"sessions of {report['seconds']:g} s per candidate and condition, knob switched every "
             f"{report['block_s']:g} s, slow stages {'on' if report['slow_stages'] else 'off'}; started "
             f"{report['started_utc']} UTC.", "",
             "| candidate | condition | push->image p99 off / on (ms), per session | ratio on/off per session | median "
             "| p50 off / on (ms, median) | knob CPU while on (% of a core) | process CPU off / on (%) | steal (%) | kept |",
             "|---|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for cand, per_cond in report["results"].items():
        verdict = report["verdicts"][cand]
        for cond, sessions in per_cond.items():
            pairs = "; ".join(f"{p['off']['p99_ms']:.2f} / {p['on']['p99_ms']:.2f}" for p in sessions)
            ratios = ", ".join(f"{r:.2f}" for r in (_ratio(p) for p in sessions) if r is not None)
            med = statistics.median
            p50 = f"{med(p['off']['p50_ms'] for p in sessions):.2f} / {med(p['on']['p50_ms'] for p in sessions):.2f}"
            cpu = (f"{med(p['off']['process_cpu'] for p in sessions):.1f} / "
                   f"{med(p['on']['process_cpu'] for p in sessions):.1f}")  # fmt: skip
            knob = med(p["knob_cpu_percent_while_on"] for p in sessions)
            steal = ", ".join("-" if p["steal_percent"] is None else f"{p['steal_percent']:.1f}" for p in sessions)
            lines.append(f"| {cand} | {cond} | {pairs} | {ratios} | {verdict['median_p99_ratio_on_over_off'][cond]} "
                         f"| {p50} | {knob:.2f} | {cpu} | {steal} | {'yes' if verdict['keep'] else 'no'} |")  # fmt: skip
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", type=Path, required=True)
    parser.add_argument("--markdown", type=Path, default=None)
    parser.add_argument("--candidates", default=",".join(CANDIDATES), help="comma-separated subset")
    parser.add_argument("--conditions", default="quiet,loaded", help="quiet,loaded")
    parser.add_argument("--runs", type=int, default=3, help="sessions per candidate and condition (default 3)")
    parser.add_argument("--seconds", type=float, default=40.0, help="seconds of stream per session")
    parser.add_argument("--block", type=float, default=1.0, help="seconds between switches of the knob")
    parser.add_argument("--slow-stages", action="store_true", help="run the describer and 3D stages too")
    parser.add_argument("--set", dest="overrides", action="append", default=[], help="config override")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s: %(message)s")
    from brain3d.config import load_config
    from brain3d.machine import machine_info
    from brain3d_app.commands.bench import confine_lsl

    confine_lsl(args.json.resolve().parent)
    base = load_config(overrides=args.overrides)
    candidates = [c.strip() for c in args.candidates.split(",") if c.strip()]
    unknown = [c for c in candidates if c not in CANDIDATES]
    if unknown:
        parser.error(f"unknown candidates {unknown}: choose among {', '.join(CANDIDATES)}")
    started = time.strftime("%Y-%m-%d %H:%M", time.gmtime())
    results: dict[str, dict[str, list[dict[str, Any]]]] = {c: {} for c in candidates}
    conditions: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="brain3d-tail-") as tmp:
        for cond in [c.strip() for c in args.conditions.split(",") if c.strip()]:
            with _condition(cond) as info:
                for cand in candidates:
                    on = base.model_copy(update={"realtime": base.realtime.model_copy(update=CANDIDATES[cand])})
                    off = base.model_copy(update={"realtime": base.realtime.model_copy(
                        update={k: type(v)(0) for k, v in CANDIDATES[cand].items()})})  # fmt: skip
                    for run in range(args.runs):
                        got = _session(off, on, Path(tmp) / f"{cond}-{cand}-{run}", args.seconds, args.slow_stages,
                                       args.block, "off" if run % 2 == 0 else "on")  # fmt: skip
                        results[cand].setdefault(cond, []).append(got)
                        print(f"{cond:7s} {cand:16s} session {run}: push->image p99 off {got['off']['p99_ms']} / "
                              f"on {got['on']['p99_ms']} ms (n {got['off']['n']} / {got['on']['n']}), "
                              f"steal {got['steal_percent']}", flush=True)  # fmt: skip
            conditions[cond] = info
    report = {"benchmark": "tail guards", "machine": machine_info(), "started_utc": started, "runs": args.runs,
              "seconds": args.seconds, "block_s": args.block, "slow_stages": args.slow_stages,
              "conditions": conditions, "candidates": {c: CANDIDATES[c] for c in candidates}, "results": results,
              "verdicts": _verdicts(results)}  # fmt: skip
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=1, default=str))
    text = _markdown(report)
    if args.markdown is not None:
        args.markdown.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
