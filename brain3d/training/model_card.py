"""The model card shipped beside the embedded weights."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def _table(scores: dict[str, Any]) -> str:
    rows = ["| set | trials | n-way | top-1 (chance) | top-5 (chance) | SSIM | pixel r |", "|---|---|---|---|---|---|---|"]
    for name, s in scores.items():
        rows.append(
            f"| {name} | {s['n_trials']} | {s['n_candidates']} | {s['top1']:.3f} ({s['chance_top1']:.3f}) | "
            f"{s['top5']:.3f} ({s['chance_top5']:.3f}) | {s['ssim']:.3f} | {s['pixel_correlation']:.3f} |"
        )
    return "\n".join(rows)


def _objective(settings: dict[str, Any]) -> str:
    """One sentence naming the trained objective (from the training settings)."""
    weight = float(settings.get("identification_weight", 0.0) or 0.0)
    text = "image MSE"
    if weight > 0:
        text += (f" + {weight:g} x an identification (InfoNCE) term: each decoded image must pick its own "
                 "stimulus among the batch's target images, scored like the evaluation below "
                 f"(temperature {settings.get('identification_temperature', 0.1):g}). This term is not in the "
                 "Brain3D design's objective; it is added because MSE alone makes the decoded images of "
                 "different scenes too alike to tell apart. It trades some reconstruction fidelity (lower SSIM and "
                 "pixel r than MSE-only weights) for images that tell scenes apart")
    return text + (". The description and 3D terms of the Brain3D objective are not trained into these "
                   "weights (the describer and 3D heads are trained separately on the same simulator).")


def write_model_card(
    path: str | os.PathLike[str], *, weights: Path, weights_sha256: str, command: str,
    data: dict[str, Any], settings: dict[str, Any], evaluation: dict[str, Any], training_history: list[dict[str, Any]],
) -> Path:
    """Write the Markdown model card.

    Parameters
    ----------
    path : path-like
        Destination ``.md``.
    weights : Path
        The checkpoint described.
    weights_sha256 : str
        Its weights hash.
    command : str
        Command that reproduces the weights.
    data, settings : dict
        Data set spec and training settings.
    evaluation : dict
        Output of :func:`brain3d.training.simulated.evaluate_simulated`.
    training_history : list of dict
        Per-epoch figures.
    """
    headline = evaluation["held_out_subjects"]
    text = f"""# Brain3D embedded model card

**What this is.** The Brain3D encoder + decoder (EEG window -> 512-d latent -> 64x64
image) trained on **SIMULATED EEG** from this repository's closed-loop visual-EEG
simulator (`brain3d.sim`), not on recorded EEG. It decodes the simulator's scenes; it
has never seen a real brain and its figures say nothing about real EEG.

- Weights: `{weights.name}` (safetensors, architecture config inside), weights SHA-256 `{weights_sha256}`
- Reproduce: `{command}`
- Input: 64 channels (10-10 names, BioSemi-64 layout), 256 samples at 256 Hz from stimulus onset,
  average reference, per-window z-score (`brain3d.normalization.prepare_windows`)
- Output: latent [512], image [3, 64, 64] in [-1, 1]

## Data (simulated)

```json
{json.dumps(data, indent=2)}
```

Training subjects and held-out subjects are different simulated heads (gains, latencies,
topographies, spatial mixing); test scenes are never shown in training.

## Training

```json
{json.dumps(settings, indent=2)}
```

Objective: {_objective(settings)} Best epoch by validation identification on a
validation subject excluded from training.

## Results (held-out test scenes)

Identification: each decoded image is compared with the {headline['n_candidates']} candidate true images
by Pearson correlation after subtracting the candidates' mean image, both at
{evaluation['protocol']['compare_resolution']} px (area average; decoded images are low-pass
estimates). Top-k = the shown scene ranks among the k best. Single trials unless marked
"averaged" (the repetitions of a scene averaged per subject before decoding, as the
THINGS-EEG2 retrieval literature does).

{_table({k: v for k, v in evaluation.items() if isinstance(v, dict) and 'top1' in v})}

### As a function of SNR (held-out subjects, single trials)

| SNR (dB) | top-1 | top-5 | SSIM |
|---|---|---|---|
""" + "\n".join(
        f"| {snr} | {s['top1']:.3f} | {s['top5']:.3f} | {s['ssim']:.3f} |" for snr, s in evaluation.get("by_snr_db", {}).items()
    ) + f"""

Targets (issue 4): held-out subjects at the default SNR, single trials, top-1 >= {10 * headline['chance_top1']:.2f}
(10x chance): **{"met" if headline['top1'] >= 10 * headline['chance_top1'] else "not met"}** ({headline['top1']:.3f});
top-5 >= 0.8: **{"met" if headline['top5'] >= 0.8 else "not met"}** ({headline['top5']:.3f}).

## What the figures mean and do not mean

- They measure how well this network inverts this simulator's forward model at the
  stated SNR. Real EEG is noisier, less stationary, and its relation to images is
  unknown; expect far lower figures on recorded data.
- Identification is among {headline['n_candidates']} scenes of a small procedural world (primitives on
  three backgrounds), not natural images.

## Training history

| epoch | train loss | val top-1 | val top-5 |
|---|---|---|---|
""" + "\n".join(
        f"| {r['epoch']} | {r['train_loss']:.4f} | {r['val']['top1'] if r.get('val') else float('nan'):.3f} | "
        f"{r['val']['top5'] if r.get('val') else float('nan'):.3f} |" for r in training_history
    ) + "\n"
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    return target
