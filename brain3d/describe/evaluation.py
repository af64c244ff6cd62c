"""Scoring descriptions against ground truth, and the describer evaluation on held-out data.

Objects of a prediction and of the ground truth are paired by the Hungarian algorithm
(``scipy.optimize.linear_sum_assignment``) on centre distance. Figures (micro-averaged
over all scenes):

* ``scene_type_accuracy``, ``object_count_accuracy``: exact match per scene.
* ``shape_f1``, ``color_f1``: F1 of the multisets of shape / colour names per scene
  (true positives = multiset intersection), so they do not depend on the pairing.
* ``position_error_m``: mean centre distance (metres) over paired objects;
  ``size_error_m`` likewise for sizes.
* ``relation_accuracy``: share of ground-truth relation triples that the prediction
  states (object ids mapped through the pairing); ``relation_precision``: share of
  predicted triples that are true; ``relation_f1``.
"""

from __future__ import annotations

import json
import logging
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment

from brain3d.schema import Description

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DescriptionScores:
    """Figures of a set of predicted descriptions against ground truth (module docstring)."""

    n_scenes: int
    scene_type_accuracy: float
    object_count_accuracy: float
    shape_f1: float
    color_f1: float
    position_error_m: float
    size_error_m: float
    relation_accuracy: float
    relation_precision: float
    relation_f1: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready figures, rounded to 4 decimals."""
        return {k: (round(v, 4) if isinstance(v, float) and math.isfinite(v) else v) for k, v in asdict(self).items()}


def match_objects(pred: Description, truth: Description) -> list[tuple[int, int]]:
    """Pairs (predicted index, true index) with the smallest total centre distance."""
    if not pred.objects or not truth.objects:
        return []
    a = np.array([o.position.as_tuple() for o in pred.objects])
    b = np.array([o.position.as_tuple() for o in truth.objects])
    rows, cols = linear_sum_assignment(np.linalg.norm(a[:, None] - b[None], axis=-1))
    return list(zip(rows.tolist(), cols.tolist(), strict=True))


def _f1(tp: int, n_pred: int, n_true: int) -> float:
    return 2 * tp / (n_pred + n_true) if n_pred + n_true else float("nan")


def score_descriptions(predictions: Sequence[Description], truths: Sequence[Description]) -> DescriptionScores:
    """Score predictions against ground truth, scene by scene (see the module docstring)."""
    if len(predictions) != len(truths):
        raise ValueError(f"{len(predictions)} predictions for {len(truths)} ground truths")
    scene_ok = count_ok = 0
    tp = {"shape": 0, "color": 0}
    n_pred_obj = n_true_obj = 0
    pos_err: list[float] = []
    size_err: list[float] = []
    rel_tp = rel_pred = rel_true = 0
    for pred, truth in zip(predictions, truths, strict=True):
        scene_ok += pred.scene_type == truth.scene_type
        count_ok += len(pred.objects) == len(truth.objects)
        n_pred_obj += len(pred.objects)
        n_true_obj += len(truth.objects)
        tp["shape"] += sum((Counter(o.shape for o in pred.objects) & Counter(o.shape for o in truth.objects)).values())
        tp["color"] += sum(
            (Counter(o.color.name for o in pred.objects) & Counter(o.color.name for o in truth.objects)).values()
        )
        pairs = match_objects(pred, truth)
        for i, j in pairs:
            pos_err.append(math.dist(pred.objects[i].position.as_tuple(), truth.objects[j].position.as_tuple()))
            size_err.append(abs(pred.objects[i].size - truth.objects[j].size))
        to_true = {pred.objects[i].id: truth.objects[j].id for i, j in pairs}
        predicted = {(to_true.get(r.subject), r.predicate, to_true.get(r.object)) for r in pred.spatial_relations}
        true = {(r.subject, r.predicate, r.object) for r in truth.spatial_relations}
        rel_tp += len(predicted & true)
        rel_pred += len(pred.spatial_relations)
        rel_true += len(true)
    n = len(truths)
    recall = rel_tp / rel_true if rel_true else float("nan")
    precision = rel_tp / rel_pred if rel_pred else float("nan")
    return DescriptionScores(
        n_scenes=n,
        scene_type_accuracy=scene_ok / n if n else float("nan"),
        object_count_accuracy=count_ok / n if n else float("nan"),
        shape_f1=_f1(tp["shape"], n_pred_obj, n_true_obj),
        color_f1=_f1(tp["color"], n_pred_obj, n_true_obj),
        position_error_m=float(np.mean(pos_err)) if pos_err else float("nan"),
        size_error_m=float(np.mean(size_err)) if size_err else float("nan"),
        relation_accuracy=recall,
        relation_precision=precision,
        relation_f1=_f1(rel_tp, rel_pred, rel_true),
    )


def load_descriptions(store_path: Any, indices: np.ndarray) -> list[Description]:
    """Ground-truth descriptions of some trials of a store (one pass over the JSONL)."""
    wanted = set(int(i) for i in indices)
    out: dict[int, Description] = {}
    with open(f"{store_path}/descriptions.jsonl", encoding="utf-8") as handle:
        for i, line in enumerate(handle):
            if i in wanted:
                out[i] = Description.model_validate(json.loads(line))
    return [out[int(i)] for i in indices]
