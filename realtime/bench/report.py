"""``report.md`` of a bench run, and ``docs/benchmarks.md`` from it.

The report is written from ``results.json`` alone (plus the PNGs beside it), so it can
be regenerated without measuring again (:func:`write_report`).
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path
from typing import Any

from realtime.bench.figures import Section

logger = logging.getLogger(__name__)

_LATENCY_KEYS = ("p50", "p95", "p99", "max", "mean", "n")


def _fmt(value: float, unit: str) -> str:
    if unit in ("count", "samples", "channels", "points", "steps") and float(value).is_integer():
        return f"{int(value)}"
    if unit == "ratio":
        return f"x{value:.3f}"
    return f"{value:.3f}" if abs(value) < 100 else f"{value:.1f}"


def section_tables(section: Section) -> str:
    """Markdown tables of a section's figures: latency distributions as rows, other figures below."""
    latency: dict[str, dict[str, Any]] = {}
    plain: list[tuple[str, Any]] = []
    for name, fig in section.figures.items():
        prefix, _, last = name.rpartition(".")
        if prefix and last in _LATENCY_KEYS and (last == "n" or fig.unit == "ms"):
            latency.setdefault(prefix, {})[last] = fig
        else:
            plain.append((name, fig))
    # a ".n" alone (no latency figures beside it) is a plain count
    for prefix in [p for p, figs in latency.items() if set(figs) == {"n"}]:
        plain.append((f"{prefix}.n", latency.pop(prefix)["n"]))
    parts: list[str] = []
    if latency:
        rows = ["| latency (ms) | p50 | p95 | p99 | max | mean | n | device |", "|---|---|---|---|---|---|---|---|"]
        for prefix, figs in latency.items():
            cells = [_fmt(figs[k].value, figs[k].unit) if k in figs else "-" for k in _LATENCY_KEYS]
            device = next((f.device for f in figs.values() if f.device), "") or ""
            rows.append(f"| {prefix} | " + " | ".join(cells) + f" | {device} |")
        parts.append("\n".join(rows))
    if plain:
        rows = ["| figure | value | unit | device |", "|---|---|---|---|"]
        rows += [f"| {name} | {_fmt(fig.value, fig.unit)} | {fig.unit} | {fig.device or ''} |" for name, fig in plain]
        parts.append("\n".join(rows))
    return "\n\n".join(parts)


def _targets_table(targets: list[dict[str, Any]]) -> str:
    rows = ["| target | measured | source figure | verdict |", "|---|---|---|---|"]
    for t in targets:
        measured = "not measured" if t.get("value") is None else f"{_fmt(t['value'], t['unit'])} {t['unit']}"
        verdict = {True: "met", False: "**not met**", None: "not measured"}[t.get("met")]
        if t.get("note"):
            verdict = f"{'not measured' if t.get('met') is None else verdict}: {t['note']}"
        rows.append(f"| {t['target']} | {measured} | {t.get('figure') or t.get('why', '-')} | {verdict} |")
    return "\n".join(rows)


def _busy_warning(results: dict[str, Any]) -> str:
    """A line saying the machine was busy (1-min load average above half its usable cores)."""
    cores = results.get("machine", {}).get("usable_cores") or 1
    loads = [x[0] for x in (results.get("load_average_before"), results.get("load_average_after")) if x]
    if loads and max(loads) > 0.5 * cores:
        return (f"\n\n**The machine was busy** (1-minute load average up to {max(loads):g} on {cores} cores): "
                "absolute figures are pessimistic; regenerate on a quiet machine before quoting them.")
    return ""


def _machine(results: dict[str, Any]) -> str:
    m = results.get("machine", {})
    packages = ", ".join(f"{k} {v}" for k, v in m.get("packages", {}).items())
    gpu = m.get("cuda_device") or "none"
    return (f"- Machine: {m.get('cpu', '?')}, {m.get('usable_cores', '?')} usable cores, "
            f"{m.get('memory_gib', '?')} GiB, GPU: {gpu}; {m.get('platform', '')}, Python {m.get('python', '?')}\n"
            f"- Versions: {packages}\n"
            f"- Load average before / after: {results.get('load_average_before')} / {results.get('load_average_after')}")  # fmt: skip


def render_report(results: dict[str, Any], image_prefix: str = "") -> str:
    """Markdown for a ``results.json`` mapping; PNG links are ``image_prefix + name``."""
    status = "interrupted (Ctrl-C): figures measured so far" if results.get("interrupted") else (
        "complete" if results.get("complete") else "incomplete")  # fmt: skip
    lines = [
        "# Brain3D Live latency benchmark",
        "",
        f"Produced by `{results.get('command', 'brain3d bench')}` from {results.get('started_utc')} to "
        f"{results.get('finished_utc')} UTC ({status}). Figures are measured, never asserted; every figure "
        "has its unit and the device or execution provider that produced it. "
        + ("The engine session replays a recording (see the pipeline section)."
           if results.get("config", {}).get("source", {}).get("kind") == "replay" else
           "The EEG is SIMULATED (the closed-loop simulator over a real LSL outlet), not recorded.")
        + _busy_warning(results),
        "",
        _machine(results),
        f"- Mode: {'quick (smoke test, too short to quote)' if results.get('options', {}).get('quick') else 'full'}; "
        f"options: `{json.dumps(results.get('options', {}))}`",
        "",
        "## Targets",
        "",
        _targets_table(results.get("targets", [])),
        "",
    ]
    if results.get("errors"):
        lines += ["## Parts that failed", ""]
        lines += [f"- **{part}**: {msg}" for part, msg in results["errors"].items()]
        lines.append("")
    for name, data in results.get("sections", {}).items():
        section = Section.from_dict(name, data)
        lines += [f"## {section.title}", "", f"Device / execution provider: {section.device or 'CPU'}.", ""]
        for png in data.get("plots", []):
            lines += [f"![{name}]({image_prefix}{png})", ""]
        lines += [section_tables(section), ""]
        if section.missing:
            lines += ["Not measured: " + "; ".join(f"`{k}`: {v}" for k, v in section.missing.items()) + ".", ""]
        if section.info:
            lines += ["<details><summary>settings and details</summary>", "", "```json",
                      json.dumps(section.info, indent=1, default=str), "```", "", "</details>", ""]  # fmt: skip
    for name in results.get("skipped_parts", []):
        lines += [f"## {name}", "", f"Not run: {results['skipped_parts'][name]}", ""]
    lines += ["## Configuration", "", "<details><summary>resolved config.yaml of the run</summary>", "", "```yaml",
              results.get("config_yaml", "").rstrip(), "```", "", "</details>", ""]  # fmt: skip
    lines += ["## Notes", "", *[f"- {note}" for note in results.get("notes", [])], ""]
    return "\n".join(lines)


def write_report(folder: Path) -> Path:
    """Write ``<folder>/report.md`` from ``<folder>/results.json``."""
    results = json.loads((folder / "results.json").read_text(encoding="utf-8"))
    path = folder / "report.md"
    path.write_text(render_report(results), encoding="utf-8")
    return path


def update_docs(folder: Path, docs_md: Path) -> Path:
    """Copy a bench folder's report to ``docs_md``, its PNGs to ``<docs_md without .md>/``.

    Parameters
    ----------
    folder : Path
        A bench output folder (``results.json`` and the PNGs).
    docs_md : Path
        E.g. ``docs/benchmarks.md``; images go to ``docs/benchmarks/``.
    """
    results = json.loads((folder / "results.json").read_text(encoding="utf-8"))
    images = docs_md.with_suffix("")
    images.mkdir(parents=True, exist_ok=True)
    for old in images.glob("*.png"):
        old.unlink()
    for data in results.get("sections", {}).values():
        for png in data.get("plots", []):
            shutil.copy2(folder / png, images / png)
    header = (f"<!-- generated by `{results.get('command', 'brain3d bench')}`; do not edit by hand. "
              f"Regenerate: brain3d bench --output build/bench/latest --update-docs -->\n\n")  # fmt: skip
    docs_md.write_text(header + render_report(results, image_prefix=f"{images.name}/"), encoding="utf-8")
    logger.info("wrote %s and %d plots in %s", docs_md, len(list(images.glob("*.png"))), images)
    return docs_md
