"""PNG plots of a bench run (matplotlib, non-interactive ``Agg`` backend).

matplotlib is imported inside each function so importing the bench package stays cheap.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from brain3d_app.bench.figures import Section

logger = logging.getLogger(__name__)


def _pyplot():  # noqa: ANN202 - matplotlib.pyplot module
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def plot_stage_latency(latencies: Mapping[str, np.ndarray], path: Path, title: str) -> Path | None:
    """Histogram and empirical CDF of each stage's latency (ms), one row per stage.

    Returns the path written, or None when there is nothing to plot.
    """
    stages = [(s, v[np.isfinite(v)]) for s, v in latencies.items() if np.isfinite(v).any()]
    if not stages:
        return None
    plt = _pyplot()
    fig, axes = plt.subplots(len(stages), 2, figsize=(10, 2.4 * len(stages)), squeeze=False)
    for (stage, values), (hist_ax, cdf_ax) in zip(stages, axes, strict=True):
        # the tail beyond p99.5 would squash the histogram: it is counted in the label instead
        top = float(np.percentile(values, 99.5)) if values.size >= 20 else float(values.max())
        shown = values[values <= top]
        hist_ax.hist(shown, bins=min(60, max(10, shown.size // 5)), color="tab:blue")
        hist_ax.set_ylabel(f"{stage}\nwindows")
        if shown.size < values.size:
            hist_ax.set_title(f"{values.size - shown.size} above {top:.1f} ms not shown (max {values.max():.1f})",
                              fontsize=8)  # fmt: skip
        ordered = np.sort(values)
        cdf_ax.plot(ordered, np.arange(1, ordered.size + 1) / ordered.size, color="tab:orange")
        for q, style in ((50, ":"), (99, "--")):
            x = np.percentile(values, q)
            cdf_ax.axvline(x, color="gray", linestyle=style, label=f"p{q} {x:.2f} ms")
        cdf_ax.set_ylim(0, 1.01)
        cdf_ax.set_xscale("log")
        cdf_ax.set_ylabel("fraction")
        cdf_ax.legend(loc="lower right", fontsize=8)
    axes[-1][0].set_xlabel("latency from the window's last sample (ms)")
    axes[-1][1].set_xlabel("latency from the window's last sample (ms, log)")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def plot_timeline(series: Mapping[str, np.ndarray], hop_ms: float, path: Path, title: str) -> Path | None:
    """Latency of every stage over the run, with windows a slow stage skipped marked below.

    ``series`` is :func:`brain3d_app.bench.pipeline.timeline`'s output.
    """
    t = series.get("t_s", np.empty(0))
    if t.size == 0:
        return None
    plt = _pyplot()
    fig, (lat_ax, skip_ax) = plt.subplots(2, 1, figsize=(10, 5), sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    stages = [k[:-3] for k in series if k.endswith("_ms")]
    for stage in stages:
        values = series[f"{stage}_ms"]
        if np.isfinite(values).any():
            lat_ax.plot(t[np.isfinite(values)], values[np.isfinite(values)], ".", markersize=3, label=stage)
    lat_ax.axhline(hop_ms, color="red", linestyle="--", linewidth=0.8, label=f"hop ({hop_ms:.0f} ms)")
    lat_ax.set_yscale("log")
    lat_ax.set_ylabel("latency (ms, log)")
    lat_ax.legend(fontsize=7, ncol=4, loc="upper left")
    rows = 0
    for row, stage in enumerate(s for s in ("description", "cloud") if f"{s}_ms" in series or s in stages):
        values = series.get(f"{stage}_ms", np.full(t.size, np.nan))
        skipped = ~np.isfinite(values)
        skip_ax.plot(t[skipped], np.full(skipped.sum(), row), "|", markersize=8, label=f"skipped by {stage}")
        rows += 1
    inference = series.get("inference_ms", np.full(t.size, np.nan))
    behind = np.isfinite(inference) & (inference > hop_ms)
    skip_ax.plot(t[behind], np.full(behind.sum(), rows), "|", color="red", markersize=8, label="behind real time")
    skip_ax.set_yticks([])
    skip_ax.set_ylim(-0.5, rows + 0.5)
    skip_ax.legend(fontsize=7, ncol=3, loc="upper left")
    skip_ax.set_xlabel("window end (s since the first window)")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def plot_fastpath(section: Section, path: Path) -> Path | None:
    """p50 and p99 of every fast-path backend (bars, ms)."""
    names = sorted({k.rsplit(".", 1)[0] for k in section.figures if k.endswith(".p50")})
    if not names:
        return None
    plt = _pyplot()
    p50 = [section.value(f"{n}.p50") or 0.0 for n in names]
    p99 = [section.value(f"{n}.p99") or 0.0 for n in names]
    x = np.arange(len(names))
    fig, ax = plt.subplots(figsize=(10, 4))
    ax.bar(x - 0.2, p50, 0.4, label="p50")
    ax.bar(x + 0.2, p99, 0.4, label="p99")
    ax.set_xticks(x, names, rotation=30, ha="right", fontsize=8)
    ax.set_ylabel("ms per window (batch 1)")
    ax.legend()
    ax.set_title("Fast path backends")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def plot_sweep(
    section: Section, path: Path, panels: Sequence[tuple[str, Sequence[object], str, str, str]]
) -> Path | None:
    """Latency (p50, p99) and CPU against each swept parameter.

    ``panels`` holds ``(prefix, values, latency_figure, cpu_figure, x_label)``: the figures
    ``<prefix>_<value>.<latency_figure>.p50/.p99`` and ``<prefix>_<value>.<cpu_figure>``.
    """
    from brain3d_app.bench.sweeps import sweep_values

    panels = [p for p in panels if any(v is not None for v in sweep_values(section, p[0], p[1], f"{p[2]}.p50"))]
    if not panels:
        return None
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.4), squeeze=False)
    for ax, (prefix, values, latency, cpu, label) in zip(axes[0], panels, strict=True):
        xs = [float(v) for v in values]  # type: ignore[arg-type]
        for q, style in (("p50", "o-"), ("p99", "s--")):
            ys = [np.nan if y is None else y for y in sweep_values(section, prefix, values, f"{latency}.{q}")]
            ax.plot(xs, ys, style, label=f"{latency} {q}")
        ax.set_xlabel(label)
        ax.set_ylabel("ms")
        ax.set_xscale("log", base=2)
        twin = ax.twinx()
        cpus = [np.nan if y is None else y for y in sweep_values(section, prefix, values, cpu)]
        twin.plot(xs, cpus, "^:", color="tab:green", label=f"{cpu} %")
        twin.set_ylabel("CPU % of one core")
        ax.set_ylim(bottom=0)
        twin.set_ylim(bottom=0)
        lines = ax.get_legend_handles_labels()
        more = twin.get_legend_handles_labels()
        ax.legend(lines[0] + more[0], lines[1] + more[1], fontsize=7, loc="upper left")
    fig.suptitle(section.title)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path
