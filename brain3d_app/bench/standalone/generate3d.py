"""3D generation speed and quality on this CPU: clouds/s, latency p50/p99, Chamfer by steps.

For 1024-point clouds, batch 1, the point diffusion backend at 5, 10, 15, 20, 25, 50 and 100
sampling steps (100 is the quality reference) with 1 and 2 torch threads, and the
layout baseline. Chamfer (and F-score, EMD, colour error; conventions in
:mod:`brain3d.generate3d.metrics`) is measured on held-out SIMULATED test scenes from
their true description and image; sampling is deterministic, so quality is measured
once (1 thread). ``chosen`` names the fewest steps whose Chamfer is within 10 % of the
100-step result and its speed against the targets (>= 5 clouds/s with 2 threads,
>= 3 with 1). Prints and writes JSON figures; asserts nothing.

Usage::

    .venv/bin/python -m brain3d_app.bench.standalone.generate3d --json build/bench/generate3d.json
    .venv/bin/python -m brain3d_app.bench.standalone.generate3d --json /tmp/g.json --repeats 5 --scenes 4   # quick
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

import numpy as np  # noqa: E402
import torch  # noqa: E402

from brain3d.config import load_config  # noqa: E402
from brain3d.generate3d.diffusion_generator import DiffusionGenerator  # noqa: E402
from brain3d.generate3d.evaluation import score_generator  # noqa: E402
from brain3d.generate3d.layout import LayoutGenerator  # noqa: E402
from brain3d.latency import latency_figures  # noqa: E402
from brain3d.machine import machine_info  # noqa: E402
from brain3d.sim.dataset import TEST_SEED_OFFSET  # noqa: E402
from brain3d.sim.scenes import generate_scene  # noqa: E402

TARGETS = {"1": 3.0, "2": 5.0}


def _latencies(generator, scenes, repeats: int) -> dict[str, float]:  # noqa: ANN001
    generator.generate(scenes[0].description, scenes[0].image, seed=0)  # warm-up
    times = []
    for i in range(repeats):
        scene = scenes[i % len(scenes)]
        start = time.perf_counter()
        generator.generate(scene.description, scene.image, seed=i)
        times.append(time.perf_counter() - start)
    ms = np.asarray(times) * 1e3
    return {"clouds_per_s": float(1e3 / ms.mean()), **latency_figures(ms)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", type=Path, required=True, help="where to write the figures")
    parser.add_argument("--steps", type=int, nargs="+", default=[5, 10, 15, 20, 25, 50, 100], help="step counts")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2], help="torch thread counts")
    parser.add_argument("--repeats", type=int, default=30, help="timed clouds per setting (default 30)")
    parser.add_argument("--scenes", type=int, default=24, help="held-out scenes for quality (default 24)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], help="config override")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    config = load_config(overrides=args.overrides)
    section = config.generator3d
    scenes = [generate_scene(TEST_SEED_OFFSET + i, n_points=section.n_points) for i in range(args.scenes)]
    descriptions, images = [s.description for s in scenes], [s.image for s in scenes]
    diffusion = DiffusionGenerator.from_file(
        section.weights, n_points=section.n_points, guidance_scale=section.guidance_scale, sampler=section.sampler,
        fallback="error",
    )
    layout = LayoutGenerator(section.n_points)
    report: dict = {
        "benchmark": "generate3d",
        "machine": machine_info(packages=("torch", "numpy", "diffusers", "scipy", "trimesh")),
        "settings": {"n_points": section.n_points, "batch": 1, "guidance_scale": section.guidance_scale,
                     "sampler": section.sampler, "weights": str(section.weights), "quality_scenes": args.scenes,
                     "data": "SIMULATED held-out scenes, true description + image"},
        "diffusion": {}, "layout": {},
    }
    torch.set_num_threads(1)
    report["layout"]["quality"] = score_generator(layout, scenes, descriptions, images)
    for steps in args.steps:
        diffusion.steps = steps
        report["diffusion"][str(steps)] = {"quality": score_generator(diffusion, scenes, descriptions, images)}
    for threads in args.threads:
        torch.set_num_threads(threads)
        report["layout"][f"threads_{threads}"] = _latencies(layout, scenes, args.repeats)
        for steps in args.steps:
            diffusion.steps = steps
            repeats = max(3, args.repeats * 10 // max(steps, 10))
            report["diffusion"][str(steps)][f"threads_{threads}"] = _latencies(diffusion, scenes, repeats)
    if "100" in report["diffusion"]:
        reference = report["diffusion"]["100"]["quality"]["chamfer"]
        within = [s for s in sorted(args.steps) if report["diffusion"][str(s)]["quality"]["chamfer"] <= 1.1 * reference]
        chosen = within[0]
        entry = report["diffusion"][str(chosen)]
        report["chosen"] = {
            "steps": chosen, "chamfer": entry["quality"]["chamfer"], "chamfer_100_steps": reference,
            **{f"clouds_per_s_threads_{t}": entry[f"threads_{t}"]["clouds_per_s"] for t in args.threads},
            **{f"meets_target_threads_{t}": entry[f"threads_{t}"]["clouds_per_s"] >= TARGETS.get(str(t), 0)
               for t in args.threads},
        }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=1, default=str))
    print(f"{'backend':<10}{'steps':>6}{'chamfer':>9}{'F@5%':>7}" + "".join(
        f"{f'cl/s t{t}':>10}{f'p50 t{t}':>9}{f'p99 t{t}':>9}" for t in args.threads))
    rows = [("layout", "-", report["layout"])] + [("diffusion", s, report["diffusion"][str(s)]) for s in args.steps]
    for name, steps, entry in rows:
        quality = entry["quality"]
        print(f"{name:<10}{steps!s:>6}{quality['chamfer']:>9.4f}{quality['fscore_005']:>7.3f}" + "".join(
            f"{entry[f'threads_{t}']['clouds_per_s']:>10.1f}{entry[f'threads_{t}']['p50_ms']:>9.1f}"
            f"{entry[f'threads_{t}']['p99_ms']:>9.1f}" for t in args.threads))
    if "chosen" in report:
        print("chosen:", json.dumps(report["chosen"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
