"""Description scores: pairing by position, F1 of shapes/colours, relation accuracy."""

from __future__ import annotations

import math

from brain3d.describe.evaluation import score_descriptions
from brain3d.schema import Color, relations_from_positions
from brain3d.sim.scenes import generate_scene


def test_ground_truth_against_itself_scores_perfectly() -> None:
    truths = [generate_scene(s).description for s in range(10)]
    scores = score_descriptions(truths, truths)
    assert scores.scene_type_accuracy == scores.object_count_accuracy == 1.0
    assert scores.shape_f1 == scores.color_f1 == 1.0 and scores.position_error_m == 0.0
    assert scores.relation_accuracy == 1.0 and scores.relation_precision == 1.0


def test_renamed_and_reordered_objects_still_match() -> None:
    truth = next(d for d in (generate_scene(s).description for s in range(50)) if len(d.objects) == 3)
    renamed = [o.model_copy(update={"id": f"x{i}"}) for i, o in enumerate(reversed(truth.objects))]
    pred = truth.model_copy(update={"objects": renamed, "spatial_relations": relations_from_positions(renamed),
                                    "depth": truth.depth.model_copy(update={"order": [], "distance_m": {}}),
                                    "geometry": []})
    scores = score_descriptions([pred], [truth])
    assert scores.shape_f1 == 1.0 and scores.position_error_m < 1e-9
    assert len(pred.spatial_relations) == len(truth.spatial_relations)


def test_wrong_colour_and_missing_object_lower_the_scores() -> None:
    truth = next(d for d in (generate_scene(s).description for s in range(50)) if len(d.objects) == 2)
    first = truth.objects[0]
    other = next(c for c in ("red", "blue") if c != first.color.name)
    pred = truth.model_copy(update={
        "objects": [first.model_copy(update={"color": Color.from_name(other)})], "spatial_relations": [],
        "depth": truth.depth.model_copy(update={"order": [], "distance_m": {}}), "geometry": []})
    scores = score_descriptions([pred], [truth])
    assert scores.object_count_accuracy == 0.0
    assert math.isclose(scores.shape_f1, 2 / 3) and scores.color_f1 < scores.shape_f1
    assert scores.relation_accuracy == 0.0
