"""Write ``docs/benchmarks.md`` from the benchmarks' JSON files, targets beside figures.

Usage::

    .venv/bin/python benchmarks/fastpath.py --json build/bench/fastpath.json
    .venv/bin/python benchmarks/acquisition.py --json build/bench/acquisition.json
    .venv/bin/python benchmarks/report.py --bench-dir build/bench --output docs/benchmarks.md

Sections for benchmarks whose JSON is missing are left out (and say so).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def _verdict(ok: bool) -> str:
    return "met" if ok else "**not met**"


def _machine(report: dict[str, Any]) -> str:
    m = report.get("machine", {})
    packages = ", ".join(f"{k} {v}" for k, v in m.get("packages", {}).items())
    return f"{m.get('cpu', '?')}, {m.get('usable_cores', '?')} cores, {m.get('memory_gib', '?')} GiB; {packages}"


def fastpath_section(r: dict[str, Any]) -> str:
    """Markdown for ``benchmarks/fastpath.py`` output."""
    rows = "\n".join(
        f"| {name} | {s['p50_ms']:.3f} | {s['p95_ms']:.3f} | {s['p99_ms']:.3f} | {s['max_ms']:.3f} |"
        for name, s in r["backends"].items()
    )
    head = r["headline_threads"]
    return f"""## Fast path (batch 1: window in -> latent + image out)

Machine: {_machine(r)}. Providers available: {", ".join(r["available_providers"])}.
Weights: {r["weights"]}. {r["backends"][f"ort_cpu_fp32/{head}t"]["runs"]} timed runs per backend after warm-up.

| backend / threads | p50 ms | p95 ms | p99 ms | max ms |
|---|---|---|---|---|
{rows}

| target | measured ({head} threads) | |
|---|---|---|
| onnxruntime CPU p99 <= 2.5 ms (fp32) | {r["ort_cpu_p99_ms"]:.3f} ms | {_verdict(r["ort_cpu_p99_ms"] <= 2.5)} |
| onnxruntime CPU p99 <= 2.5 ms (int8 option) | {r["ort_cpu_int8_p99_ms"]:.3f} ms | {_verdict(r["ort_cpu_int8_p99_ms"] <= 2.5)} |
| >= 2x faster than torch eager at the median (fp32) | x{r["speedup_vs_torch"]:.2f} | {_verdict(r["speedup_vs_torch"] >= 2)} |
| >= 2x faster than torch eager at the median (int8) | x{r["int8_speedup_vs_torch"]:.2f} | {_verdict(r["int8_speedup_vs_torch"] >= 2)} |

int8 accuracy cost (max abs error vs torch fp32, random + EEG-like input, batch 1 and 8):
latent {r["int8_max_abs_error"]["latent"]:.2e}, image {r["int8_max_abs_error"]["image"]:.2e} (image range [-1, 1]).
"""


def acquisition_section(r: dict[str, Any]) -> str:
    """Markdown for ``benchmarks/acquisition.py`` output."""
    s, o, m = r["settings"], r["ours"], r.get("mne_lsl", {})
    chunk_ms = s["chunk_samples"] / s["rate_hz"] * 1e3 / s["speed"]
    ptw = o.get("push_to_window_steady", o["push_to_window"])
    ptd = o.get("push_to_data_steady", o["push_to_data"])
    mne_ptd = m.get("push_to_data_steady", m.get("push_to_data", {}))
    lost = r["samples_sent"] - o["samples_received"]
    return f"""## Acquisition ({s["channels"]} ch at {s["rate_hz"]:g} Hz, {s["minutes"]:g} min of data at speed {s["speed"]:g}, chunks of {s["chunk_samples"]})

Machine: {_machine(r)}. Readers: {s["readers"]}. Load average before / after:
{r.get("load_average_before")} / {r.get("load_average_after")}. At speed {s["speed"]:g} a chunk period is
{chunk_ms:.2f} ms of wall time.

| figure | ours | mne-lsl StreamLSL |
|---|---|---|
| samples sent / received | {r["samples_sent"]} / {o["samples_received"]} | {r["samples_sent"]} / {m.get("samples_distinct", "-")} distinct ({m.get("duplicate_samples", "-")} duplicates) |
| samples recorded (XDF read back) | {o["samples_in_xdf"]} | - |
| push-to-data p50 / p99 ms (steady) | {ptd["p50_ms"]:.2f} / {ptd["p99_ms"]:.2f} | {mne_ptd.get("p50_ms", float("nan")):.2f} / {mne_ptd.get("p99_ms", float("nan")):.2f} |
| push-to-window p50 / p99 ms (steady) | {ptw["p50_ms"]:.2f} / {ptw["p99_ms"]:.2f} | - |
| windows emitted / expected | {o["windows_emitted"]} / {o["windows_expected"]} | - |

| target | measured | |
|---|---|---|
| zero lost samples (sent = received = recorded) | lost {lost}, recorded {o["samples_in_xdf"]} | {_verdict(lost == 0 and o["samples_in_xdf"] == r["samples_sent"])} |
| push-to-window p99 <= chunk period ({chunk_ms:.2f} ms wall) + 1 ms | {ptw["p99_ms"]:.2f} ms | {_verdict(ptw["p99_ms"] <= chunk_ms + 1)} |
| push-to-data p99 below mne-lsl's in the same run | {ptd["p99_ms"]:.2f} vs {mne_ptd.get("p99_ms", float("nan")):.2f} ms | {_verdict(ptd["p99_ms"] < mne_ptd.get("p99_ms", float("inf")))} |
"""


NOTES = """## Notes

- Commands: `benchmarks/fastpath.py --json build/bench/fastpath.json`;
  `benchmarks/acquisition.py --json build/bench/acquisition.json` (10 min of data at speed
  10); `benchmarks/acquisition.py --minutes 2 --speed 1 --json build/bench/acquisition_realtime.json`;
  then `benchmarks/report.py`.
- This machine is a shared 2-core VM; repeated fast-path runs vary by about ±30 % in
  absolute terms (fp32 2-thread p50 between 1.9 and 2.8 ms on the same day). Ratios in
  one run are stable.
- Accelerated acquisition runs shrink the chunk period (10 samples at 1 kHz = 10 ms of
  stream = 1 ms of wall time at speed 10), so the push-to-window target is much harder
  there than at real time.
- mne-lsl ships its own liblsl, whose clock origin differs from pylsl's; its latencies
  are converted with its clock-sync offset (about -20 ms here) and are indicative. At
  speed 10 its 2 s buffer holds only 0.2 s of wall time, which explains its missed
  samples in the accelerated run.
- GAP flags in the real-time run: the benchmark's publisher stamps chunks with their
  push time, so a late push leaves a step of more than 1.5 sample periods inside a
  window; such windows are flagged, counted and still decoded.
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bench-dir", type=Path, default=Path("build/bench"))
    parser.add_argument("--output", type=Path, default=Path("docs/benchmarks.md"))
    args = parser.parse_args(argv)
    sections = ["# Benchmarks\n\nLatest figures from the development machine (2 cores, no GPU), "
                "regenerated with `benchmarks/report.py`. Benchmarks assert nothing; targets are "
                "from the issues.\n"]
    for name, render in (
        ("fastpath", fastpath_section),
        ("acquisition", acquisition_section),  # >= 10 min of data, accelerated
        ("acquisition_realtime", acquisition_section),  # optional shorter run at speed 1
    ):
        path = args.bench_dir / f"{name}.json"
        if path.is_file():
            sections.append(render(json.loads(path.read_text())))
        elif name != "acquisition_realtime":
            sections.append(f"## {name}\n\nNot measured in this report ({path} missing).\n")
    sections.append(NOTES)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text("\n".join(sections), encoding="utf-8")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
