"""Training and evaluation of the grounded describer head on SIMULATED data.

Inputs are the trial store's stimulus images *and* the images the shipped fast-path
model decodes from the trials' SIMULATED EEG (with their latents), so the head learns
to read blurred decoded images, not only clean renders. Decoded images and latents are
computed once per (fast-path weights, store) and cached as ``.npy`` files.

``brain3d train --stage describer --ship`` reproduces ``weights/describer-grounded.safetensors``
and its model card in one command (about 10 minutes on 1 CPU thread).
"""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field

from brain3d.config import Config
from brain3d.data.store import TrialStore
from brain3d.describe.evaluation import DescriptionScores, score_descriptions
from brain3d.describe.grounded import load_head, save_head
from brain3d.describe.head import (
    GroundedHead,
    GroundedHeadConfig,
    HeadTargets,
    decode_description,
    description_loss,
    encode_targets,
    images_to_tensor,
)
from brain3d.models import Brain3D, load_checkpoint
from brain3d.models.checkpoint import read_checkpoint
from brain3d.normalization import prepare_windows
from brain3d.schema import Description

logger = logging.getLogger(__name__)

SIMULATED_LABEL = "SIMULATED data (brain3d.sim scenes and SIMULATED EEG), not recorded EEG"


class DescriberRecipe(BaseModel):
    """Everything that determines the shipped grounded head.

    Attributes
    ----------
    head : GroundedHeadConfig
    epochs, batch_size, lr, weight_decay : training schedule (AdamW, cosine decay)
    latent_dropout : float
        Probability that a decoded sample is shown without its latent (so the head
        also works when no latent is given).
    decoded_trials : int or None
        Training trials decoded by the fast path (None: all).
    extra_scenes : int
        Further clean simulator scenes (seeds after the store's training stimuli, never
        the test seeds) added to the store's unique stimulus images.
    clean_per_epoch, decoded_per_epoch : int
        Samples drawn per epoch from the clean images (no latent) and the decoded ones.
    seed : int
    """

    model_config = ConfigDict(extra="forbid")

    head: GroundedHeadConfig = Field(default_factory=GroundedHeadConfig)
    epochs: int = Field(10, ge=1)
    batch_size: int = Field(128, ge=1)
    lr: float = Field(3e-3, gt=0)
    weight_decay: float = Field(1e-4, ge=0)
    latent_dropout: float = Field(0.3, ge=0, le=1)
    decoded_trials: int | None = Field(12000, ge=1)
    extra_scenes: int = Field(6000, ge=0)
    clean_per_epoch: int = Field(8000, ge=0)
    decoded_per_epoch: int = Field(6000, ge=0)
    seed: int = 0

    def quick(self) -> DescriberRecipe:
        """A small smoke-test recipe."""
        return self.model_copy(update={"epochs": 1, "decoded_trials": 1024, "extra_scenes": 0,
                                       "clean_per_epoch": 1000, "decoded_per_epoch": 1000})


# ------------------------------------------------------------------------------ data
def to_uint8_images(decoded: torch.Tensor) -> np.ndarray:
    """Decoder output (B, 3, H, W) in [-1, 1] -> uint8 (B, H, W, 3), as the live path shows it."""
    return ((decoded.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1).contiguous().numpy()


def decode_trials(model: Brain3D, store: TrialStore, indices: np.ndarray, batch_size: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """Run the fast-path model on trials' EEG.

    Returns
    -------
    images : uint8 (N, H, W, 3); latents : float32 (N, latent_dim)
    """
    model.eval()
    images, latents = [], []
    with torch.inference_mode():
        for start in range(0, len(indices), batch_size):
            rows = np.sort(indices[start : start + batch_size])
            latent, image = model(torch.from_numpy(prepare_windows(np.asarray(store.eeg[rows]))))
            images.append(to_uint8_images(image))
            latents.append(latent.float().numpy())
    return np.concatenate(images), np.concatenate(latents)


def cached_decoded(model: Brain3D, weights_hash: str, store: TrialStore, indices: np.ndarray,
                   cache_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    """:func:`decode_trials` with an on-disk cache keyed by weights hash, store and indices."""
    indices = np.sort(np.asarray(indices))
    key = f"{store.path.name}-{weights_hash[:12]}-{len(indices)}-{int(indices.sum()) % 1_000_003}"
    img_file, lat_file = cache_dir / f"decoded-{key}-images.npy", cache_dir / f"decoded-{key}-latents.npy"
    if img_file.is_file() and lat_file.is_file():
        return np.load(img_file), np.load(lat_file)
    start = time.perf_counter()
    images, latents = decode_trials(model, store, indices)
    cache_dir.mkdir(parents=True, exist_ok=True)
    np.save(img_file, images)
    np.save(lat_file, latents)
    logger.info("decoded %d trials in %.0f s (cached in %s)", len(indices), time.perf_counter() - start, cache_dir)
    return images, latents


def cached_scenes(first_seed: int, n: int, image_size: int, cache_dir: Path) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """Clean images and ground truth of simulator scenes ``first_seed .. first_seed + n - 1`` (cached)."""
    from brain3d.sim.dataset import TEST_SEED_OFFSET
    from brain3d.sim.scenes import generate_scene

    if first_seed + n > TEST_SEED_OFFSET:
        raise ValueError(f"extra scene seeds would reach the test seeds ({TEST_SEED_OFFSET}); use fewer")
    key = f"scenes-{first_seed}-{n}-{image_size}"
    img_file, desc_file = cache_dir / f"{key}-images.npy", cache_dir / f"{key}-descriptions.jsonl"
    if img_file.is_file() and desc_file.is_file():
        return np.load(img_file), [json.loads(line) for line in desc_file.read_text().splitlines()]
    start = time.perf_counter()
    scenes = [generate_scene(seed, image_size=image_size, n_points=16) for seed in range(first_seed, first_seed + n)]
    images = np.stack([s.image for s in scenes])
    truth = [s.description.model_dump(mode="json") for s in scenes]
    cache_dir.mkdir(parents=True, exist_ok=True)
    np.save(img_file, images)
    desc_file.write_text("".join(json.dumps(t) + "\n" for t in truth))
    logger.info("simulated %d extra clean scenes in %.0f s", n, time.perf_counter() - start)
    return images, truth


def read_description_dicts(store: TrialStore) -> list[dict[str, Any]]:
    """Every trial's ground truth as plain dicts (fast; the simulator wrote them validated)."""
    with open(store.path / "descriptions.jsonl", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


# -------------------------------------------------------------------------- training
def train_head(recipe: DescriberRecipe, true_images: np.ndarray, true_targets: HeadTargets,
               decoded_images: np.ndarray, decoded_latents: np.ndarray, decoded_targets: HeadTargets,
               *, progress: bool = False) -> tuple[GroundedHead, list[dict[str, float]]]:
    """Train a head on clean images (no latent) and decoded images (with latent dropout).

    Returns
    -------
    model : GroundedHead (eval mode); history : per-epoch mean loss and seconds
    """
    torch.manual_seed(recipe.seed)
    rng = np.random.default_rng(recipe.seed)
    model = GroundedHead(recipe.head)
    n_true, n_dec = len(true_images), len(decoded_images)
    # sample ids: < n_true clean images, >= n_true decoded images
    n_clean = min(recipe.clean_per_epoch, n_true) if n_true else 0
    n_decoded = min(recipe.decoded_per_epoch, n_dec) if n_dec else 0
    steps = recipe.epochs * int(np.ceil((n_clean + n_decoded) / recipe.batch_size))
    opt = torch.optim.AdamW(model.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=recipe.lr, total_steps=steps, pct_start=0.1)
    history = []
    for epoch in range(recipe.epochs):
        model.train()
        start, total, batches = time.perf_counter(), 0.0, 0
        order = rng.permutation(np.concatenate([rng.choice(n_true, n_clean, replace=False),
                                                n_true + rng.choice(n_dec, n_decoded, replace=False)]))
        for b0 in range(0, len(order), recipe.batch_size):
            ids = order[b0 : b0 + recipe.batch_size]
            clean, dec = ids[ids < n_true], ids[ids >= n_true] - n_true
            images = np.concatenate([true_images[clean], decoded_images[dec]])
            latents = np.concatenate([np.zeros((len(clean), decoded_latents.shape[1]), np.float32),
                                      decoded_latents[dec].astype(np.float32)])
            keep = np.concatenate([np.zeros(len(clean)), rng.random(len(dec)) >= recipe.latent_dropout])
            latents *= keep[:, None].astype(np.float32)
            targets = _concat_targets(true_targets.index(clean), decoded_targets.index(dec))
            x = images_to_tensor(images)
            if rng.random() < 0.5:  # mirror augmentation would break left/right: only brightness jitter
                x = (x * float(rng.uniform(0.9, 1.1))).clamp_(-1, 1)
            loss = description_loss(model(x, torch.from_numpy(latents) if recipe.head.latent_dim else None), targets)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item()
            batches += 1
        history.append({"epoch": epoch + 1, "loss": total / max(batches, 1), "seconds": time.perf_counter() - start})
        logger.info("describer epoch %d/%d: loss %.4f (%.0f s)", epoch + 1, recipe.epochs, history[-1]["loss"],
                    history[-1]["seconds"])
        if progress:
            print(f"describer epoch {epoch + 1}/{recipe.epochs}: loss {history[-1]['loss']:.4f} "
                  f"({history[-1]['seconds']:.0f} s)", flush=True)
    return model.eval(), history


def _concat_targets(a: HeadTargets, b: HeadTargets) -> HeadTargets:
    return HeadTargets(*(torch.cat([getattr(a, f), getattr(b, f)]) for f in HeadTargets.__dataclass_fields__))


def predict(model: GroundedHead, images: np.ndarray, latents: np.ndarray | None, batch_size: int = 256) -> list[Description]:
    """Descriptions for a batch of uint8 images (and latents), batched for evaluation."""
    out: list[Description] = []
    model.eval()
    with torch.inference_mode():
        for start in range(0, len(images), batch_size):
            lat = None if latents is None else torch.from_numpy(latents[start : start + batch_size].astype(np.float32))
            result = model(images_to_tensor(images[start : start + batch_size]), lat)
            out.extend(decode_description(result, i) for i in range(result.scene.shape[0]))
    return out


# ------------------------------------------------------------------------- evaluation
def evaluate_head(model: GroundedHead, fastpath: Brain3D, weights_hash: str, test: TrialStore,
                  subjects: list[int], cache_dir: Path) -> dict[str, Any]:
    """Describer figures on the test store's trials of ``subjects`` (held-out scenes).

    ``from_decoded_images`` is the figure that matters (the live path's input);
    ``from_true_images`` is the ceiling (the stimulus image, no latent).
    """
    indices = np.sort(test.indices_for_subjects(subjects))
    dicts = read_description_dicts(test)
    truth = [Description.model_validate(dicts[i]) for i in indices]
    images, latents = cached_decoded(fastpath, weights_hash, test, indices, cache_dir)
    true_images = np.asarray(test.images[indices])

    def scores(preds: list[Description]) -> dict[str, Any]:
        return score_descriptions(preds, truth).to_dict()

    return {
        "data": SIMULATED_LABEL,
        "protocol": "held-out simulated subjects on held-out scenes (test store); objects paired by the "
                    "Hungarian algorithm on centre distance; see brain3d.describe.evaluation",
        "subjects": subjects,
        "n_trials": int(len(indices)),
        "from_decoded_images": scores(predict(model, images, latents)),
        "from_decoded_images_no_latent": scores(predict(model, images, None)),
        "from_true_images": scores(predict(model, true_images, None)),
    }


def evaluate_describer(config: Config, fastpath: Brain3D, data_dir: str | os.PathLike[str], subjects: list[int],
                       cache_dir: str | os.PathLike[str] = "build/describer") -> dict[str, Any]:
    """``brain3d evaluate``'s description figures for the configured grounded head."""
    head, _ = load_head(config.describer.weights)
    weights_hash = _hash_of_model(fastpath)  # the model's own tensors: also right for a --weights override
    result = evaluate_head(head, fastpath, weights_hash, TrialStore(Path(data_dir) / "test"), subjects, Path(cache_dir))
    result["backend"] = "grounded (trained attribute head, not a language model)"
    result["weights"] = str(config.describer.weights)
    return result


def _hash_of_model(model: Brain3D) -> str:
    from brain3d.models.checkpoint import state_dict_sha256

    return state_dict_sha256(model.state_dict())


# ------------------------------------------------------------------------------ ship
def train_describer(config: Config, recipe: DescriberRecipe, *, data_dir: str | os.PathLike[str],
                    output_dir: str | os.PathLike[str], ship: bool = False, command: str = "",
                    progress: bool = True) -> dict[str, Any]:
    """Train the grounded head on the simulated store, evaluate it, optionally ship it.

    Parameters
    ----------
    config : Config
        ``model.weights`` is the fast-path checkpoint that decodes the training EEG;
        ``describer.weights`` is where ``ship`` installs the head (+ ``.md`` model card).
    recipe : DescriberRecipe
    data_dir : path
        Folder with the ``train`` and ``test`` trial stores (``brain3d train`` builds them).
    output_dir : path
        Checkpoint, decoded-image cache and results.
    """
    from brain3d.sim.dataset import SimulatedDatasetSpec

    started = time.perf_counter()
    data_dir, output_dir = Path(data_dir), Path(output_dir)
    train, test = TrialStore(data_dir / "train"), TrialStore(data_dir / "test")
    spec = SimulatedDatasetSpec.model_validate(train.info.extra.get("spec", {}))
    fastpath = load_checkpoint(config.model.weights)
    weights_hash = read_checkpoint(config.model.weights)[2].get("weights_sha256") or _hash_of_model(fastpath)
    dicts = read_description_dicts(train)
    rng = np.random.default_rng(recipe.seed)
    n = len(train)
    dec_idx = np.sort(rng.choice(n, recipe.decoded_trials, replace=False)) if recipe.decoded_trials and recipe.decoded_trials < n else np.arange(n)
    stim = np.asarray(train.stimulus_ids)
    _, first = np.unique(stim, return_index=True)
    true_idx = np.sort(first)
    logger.info("decoding %d training trials with the fast-path model", len(dec_idx))
    dec_images, dec_latents = cached_decoded(fastpath, weights_hash, train, dec_idx, output_dir)
    k = recipe.head.max_objects
    clean_images = np.asarray(train.images[true_idx])
    clean_truth = [dicts[i] for i in true_idx]
    if recipe.extra_scenes:
        first_seed = int(stim.max()) + 1
        extra_images, extra_truth = cached_scenes(first_seed, recipe.extra_scenes, train.info.image_size, output_dir)
        clean_images = np.concatenate([clean_images, extra_images])
        clean_truth += extra_truth
    model, history = train_head(
        recipe, clean_images, encode_targets(clean_truth, k),
        dec_images, dec_latents, encode_targets([dicts[i] for i in dec_idx], k), progress=progress,
    )
    evaluation = evaluate_head(model, fastpath, weights_hash, test, spec.held_out_subjects, output_dir)
    metadata = {
        "data": SIMULATED_LABEL, "command": command, "recipe": recipe.model_dump_json(),
        "fastpath_weights_sha256": weights_hash,
    }
    checkpoint = output_dir / "describer-grounded.safetensors"
    head_hash = save_head(model, checkpoint, metadata)
    result = {
        "data": SIMULATED_LABEL, "checkpoint": str(checkpoint), "weights_sha256": head_hash,
        "fastpath_weights_sha256": weights_hash, "n_clean_images": int(len(clean_images)),
        "n_store_stimuli": int(len(true_idx)), "n_decoded_trials": int(len(dec_idx)),
        "history": history, "evaluation": evaluation, "seconds": round(time.perf_counter() - started, 1),
        "command": command,
    }
    (output_dir / "describer-result.json").write_text(json.dumps(result, indent=2))
    if ship:
        target = Path(config.describer.weights)
        save_head(model, target, metadata)
        write_describer_card(target.with_suffix(".md"), result, recipe)
        result["shipped_to"] = str(target)
    return result


def write_describer_card(path: Path, result: dict[str, Any], recipe: DescriberRecipe) -> None:
    """Write the model card of the shipped grounded head."""
    ev = result["evaluation"]
    names = list(DescriptionScores.__dataclass_fields__)[1:]
    rows = "\n".join(
        f"| {name} | {ev['from_decoded_images'][name]} | {ev['from_decoded_images_no_latent'][name]} "
        f"| {ev['from_true_images'][name]} |" for name in names
    )
    params = sum(p.numel() for p in GroundedHead(recipe.head).parameters())
    path.write_text(f"""# Grounded describer head (`{path.with_suffix('.safetensors').name}`)

**What it is:** a trained attribute head (small CNN over the 64x64 decoded image plus an MLP
over the 512-d EEG latent; {params:,} parameters), **not a language model**. It predicts
scene type, object count and, for up to {recipe.head.max_objects} object slots, primitive shape,
palette colour, 3D position and size with probabilities; `brain3d.describe.head.decode_description`
turns them into a schema-valid `Description` (relations from positions, depth and geometry derived).

**Data: {SIMULATED_LABEL}.** Trained on {result['n_clean_images']} clean renders without latent
(the `train` store's {result['n_store_stimuli']} unique scenes plus {recipe.extra_scenes} further simulator
scenes, never the test scenes; {recipe.clean_per_epoch} drawn per epoch) and on
the images and latents that the shipped fast-path model (weights sha256
`{result['fastpath_weights_sha256'][:16]}...`) decodes from {result['n_decoded_trials']} SIMULATED EEG trials
({recipe.decoded_per_epoch} drawn per epoch; latent withheld with probability {recipe.latent_dropout}). It knows only the simulator's six
primitives and eight colours; it has never seen a real photograph or recorded EEG.

**Reproduce:** `{result['command'] or 'brain3d train --stage describer --ship'}`
({result['seconds']:.0f} s here; recipe in the checkpoint metadata `recipe`).

## Evaluation (held-out simulated subjects {ev['subjects']}, held-out scenes, {ev['n_trials']} trials)

Objects paired by the Hungarian algorithm on centre distance; relation accuracy = share of
ground-truth relation triples reproduced (see `brain3d.describe.evaluation`).

| figure | decoded image + latent (live input) | decoded image only | true image (ceiling) |
|---|---|---|---|
{rows}

## Training

Recipe: `{recipe.model_dump_json()}`

Loss per epoch: {', '.join(f"{h['loss']:.3f}" for h in result['history'])}
""")
