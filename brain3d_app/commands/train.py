"""``brain3d train --stage describer|generator3d``: the training commands of the slow stages.

Thin over :func:`brain3d.describe.training.train_describer` and
:func:`brain3d.generate3d.training.train_generator`; they print their report as JSON.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path
from typing import Any

import torch

from brain3d.config import Config
from brain3d.describe.training import DescriberRecipe, train_describer
from brain3d.generate3d.checkpoint import save_denoiser
from brain3d.generate3d.training import DATA_LABEL, GeneratorRecipe, train_generator

logger = logging.getLogger(__name__)


def train_describer_command(args: argparse.Namespace, config: Config) -> int:
    """``brain3d train --stage describer``: train (and with ``--ship`` install) the grounded head."""
    recipe = DescriberRecipe()
    if getattr(args, "quick", False):
        recipe = recipe.quick()
    if getattr(args, "epochs", None):
        recipe = recipe.model_copy(update={"epochs": args.epochs})
    torch.set_num_threads(max(1, config.describer.threads))
    output = Path(args.output)
    if output == Path("build/train"):  # the CLI's default is the fast path's folder
        output = Path("build/describer")
    command = ("brain3d train --stage describer" + (" --quick" if args.quick else "")
               + (f" --epochs {args.epochs}" if args.epochs else "") + (" --ship" if args.ship else ""))
    result = train_describer(config, recipe, data_dir=args.data_dir, output_dir=output, ship=args.ship,
                             command=command, progress=not args.no_progress)
    print(json.dumps({k: v for k, v in result.items() if k != "history"}, indent=2))
    return 0


def _evaluate_shipped(config: Config, weights: Path, data_dir: Path | None, quick: bool) -> dict[str, Any]:
    """``brain3d evaluate``'s stage-3 figures for the model card (decoded part when the
    fast-path weights and the simulated test store are there; otherwise it says why)."""
    from brain3d.generate3d.evaluation import evaluate_generation
    from brain3d.training.simulated import EmbeddedRecipe

    config = config.model_copy(deep=True)
    config.generator3d.weights = weights
    try:
        from brain3d.models import load_checkpoint

        model = load_checkpoint(config.model.weights)
    except Exception as exc:  # the card still gets the true-input figures
        logger.warning("no fast-path model for decoded-input figures: %s", exc)
        model = None
    return evaluate_generation(
        config, model, EmbeddedRecipe().data, Path(data_dir or "build/sim-data"),
        n_scenes=4 if quick else None, n_sweep_scenes=2 if quick else 12,
        steps_sweep=(2, 4) if quick else (5, 10, 15, 25, 50, 100),
    )


def train_generator_command(args: argparse.Namespace, config: Config) -> int:
    """``brain3d train --stage generator3d``: train, and with ``--ship`` install weights + card.

    ``args`` has ``output``, ``data_dir`` (unused: scenes are generated from seeds),
    ``epochs``, ``quick``, ``no_resume``, ``no_progress`` and ``ship``.
    """
    from brain3d.generate3d.model_card import write_generator_card

    recipe = GeneratorRecipe()
    if getattr(args, "quick", False):
        recipe = recipe.quick()
    if getattr(args, "epochs", None):
        recipe = recipe.model_copy(update={"epochs": int(args.epochs)})
    output = Path(args.output) / "generator3d"
    model, report = train_generator(
        recipe, output, resume=not args.no_resume, progress=not args.no_progress,
        eval_steps=config.generator3d.steps, eval_guidance=config.generator3d.guidance_scale,
    )
    command = (
        "brain3d train --stage generator3d" + (" --quick" if args.quick else "")
        + (f" --epochs {args.epochs}" if args.epochs else "") + (" --ship" if args.ship else "")
    )
    report["command"] = command
    target = output / "generator3d-diffusion.safetensors"
    if args.ship:
        target = Path(config.generator3d.weights)
    save_denoiser(model, target, {"recipe": recipe.model_dump_json(), "command": command, "data": DATA_LABEL,
                                  "report": json.dumps({k: v for k, v in report.items() if k != "history"})})
    report["weights"] = str(target)
    if args.ship:
        report["evaluation"] = _evaluate_shipped(config, target, args.data_dir, quick=bool(getattr(args, "quick", False)))
        card = write_generator_card(target.with_suffix(".md"), recipe, report)
        report["model_card"] = str(card)
    print(json.dumps(report, indent=2))
    return 0
