"""The model card of the shipped 3D diffusion weights (written by ``--ship``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel


def _evaluation_lines(evaluation: dict[str, Any] | None) -> list[str]:
    if not evaluation:
        return ["No evaluation at shipping time; run `brain3d evaluate` (`generation3d`).", ""]
    lines = [
        f"## Evaluation at shipping time ({evaluation.get('n_scenes')} held-out SIMULATED test scenes)",
        "",
        "| inputs | backend | Chamfer | F@1% | F@5% | EMD | colour | ms/cloud |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for part, label in (("from_true_inputs", "true"), ("from_decoded_inputs", "decoded")):
        for name, row in (evaluation.get(part) or {}).items():
            if isinstance(row, dict) and "chamfer" in row:
                lines.append(
                    f"| {label} | {name} | {row['chamfer']:.4f} | {row['fscore_001']:.3f} | {row['fscore_005']:.3f} "
                    f"| {row['emd']:.4f} | {row['color_error']:.3f} | {row['ms_per_cloud']:.0f} |"
                )
    decoded = evaluation.get("from_decoded_inputs") or {}
    lines += ["", f"Decoded inputs: {decoded.get('eeg', 'not evaluated')}; describer: "
              f"{decoded.get('describer', '-')}" + (f"; {decoded['error']}" if "error" in decoded else ""), ""]
    steps = evaluation.get("by_steps") or {}
    if steps:
        lines += ["Quality vs sampling steps (true inputs, "
                  f"{steps.get('n_scenes')} scenes):", "", "| steps | Chamfer | F@5% | ms/cloud |", "|---|---|---|---|"]
        lines += [f"| {k} | {v['chamfer']:.4f} | {v['fscore_005']:.3f} | {v['ms_per_cloud']:.0f} |"
                  for k, v in steps.items() if isinstance(v, dict)]
        lines.append("")
    lines += ["Full figures: `brain3d evaluate --json out/eval.json` (`generation3d`).", ""]
    return lines


def write_generator_card(path: Path, recipe: BaseModel, report: dict[str, Any]) -> Path:
    """Write the Markdown model card next to the weights; returns its path."""
    validation = report.get("validation", {})
    denoiser = getattr(recipe, "denoiser", None)
    lines = [
        "# Brain3D point-cloud diffusion (`generator3d-diffusion.safetensors`)",
        "",
        "**Data: SIMULATED scenes.** Trained only on procedural scenes of `brain3d.sim` "
        "(1-3 primitives: cube, sphere, cylinder, cone, torus, pyramid; palette colours; "
        "ground-truth descriptions, 64x64 renders and 1024-point area-uniform surface clouds). "
        "It has never seen real objects or real 3D data and will not generalise to them.",
        "",
        "## Architecture",
        "",
        "Point-E-style conditional diffusion over N points (xyz + rgb), but each point attends "
        "only to a few condition tokens (1 scene token, one token per object from shape, colour, "
        "position and size, and a grid of image tokens from a 3-layer strided CNN over the 64x64 "
        "image), never to other points; adaptive layer norm from the time step. Classifier-free "
        "guidance: description and image dropped independently in training; guidance scale at "
        "sampling (1 = off). Schedules from `diffusers` (DDPM training, DPM-Solver++ 2M / DDIM sampling).",
        "",
        f"- config: `{denoiser.model_dump_json() if denoiser is not None else '?'}`",
        f"- parameters: {report.get('parameters')}",
        "",
        "## Training",
        "",
        f"- command: `{report.get('command')}` (one command reproduces this file; 1 CPU thread)",
        f"- recipe: `{recipe.model_dump_json()}`",
        f"- optimizer steps: {report.get('optimizer_steps')}, final loss {report.get('final_loss')}, "
        f"time {report.get('train_seconds', 0):.0f} s on {report.get('machine')}",
        "",
        "## Validation (held-out simulated scenes, true description + image)",
        "",
        "Conventions in `brain3d/generate3d/metrics.py` (Chamfer not squared, divided by the "
        "ground-truth bounding-box diagonal; F-score at 1 % and 5 % of it; EMD on 256-point "
        "subsamples; colour error as mean RGB distance in 0..1).",
        "",
        "```json",
        json.dumps(validation, indent=2),
        "```",
        "",
        *_evaluation_lines(report.get("evaluation")),
        "Speed: `brain3d_app/bench/standalone/generate3d.py` (clouds/s, p50/p99 by steps and threads).",
        "",
        "## Limitations",
        "",
        "- Given the TRUE description, the layout baseline is better (it is the simulator's own "
        "surface sampler, so it matches the ground-truth distribution exactly); the diffusion model "
        "blurs surfaces (F-score at 1 % is low). Unlike the layout it also works from the image "
        "alone; compare the rows above for decoded inputs before preferring either.",
        "- Points are modelled independently given the scene (no point-to-point attention): right for "
        "i.i.d. surface samples, but no global consistency between points.",
        "- Classifier-free guidance is trained, but guidance > 1 measured worse on these scenes; "
        "the default is 1 (off).",
        "- Only the six primitives, eight palette colours and 1-3 objects of the simulator.",
        "",
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines))
    return path
