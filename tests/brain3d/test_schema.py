"""Tests of the one structured description schema."""

from __future__ import annotations

import json
import math

import pytest
from pydantic import ValidationError

from brain3d.schema import (
    SCHEMA_VERSION,
    Color,
    Description,
    Position,
    Relation,
    SceneObject,
    check_relations,
    description_json_schema,
    relation_holds,
    relations_from_positions,
    repair_relations,
)


def _object(oid: str, x: float, y: float, z: float, size: float = 0.4) -> SceneObject:
    return SceneObject(
        id=oid,
        category="box",
        shape="cube",
        color=Color.from_name("red"),
        position=Position(x=x, y=y, z=z),
        size=size,
    )


def _description(**overrides: object) -> Description:
    objects = [_object("obj0", -0.8, 0.2, 0.0), _object("obj1", 0.8, 0.2, -1.0)]
    fields = {
        "scene_type": "indoor",
        "objects": objects,
        "spatial_relations": relations_from_positions(objects),
        "source": "test",
    }
    fields.update(overrides)
    return Description(**fields)  # type: ignore[arg-type]


def test_valid_description_round_trips_through_json() -> None:
    desc = _description()
    again = Description.model_validate_json(desc.model_dump_json())
    assert again == desc
    assert desc.schema_version == SCHEMA_VERSION


def test_relations_from_positions_follow_the_thresholds() -> None:
    desc = _description()
    triples = {(r.subject, r.predicate, r.object) for r in desc.spatial_relations}
    assert ("obj0", "left_of", "obj1") in triples
    assert ("obj0", "in_front_of", "obj1") in triples
    assert not any(p in ("above", "below", "on") for _, p, _ in triples)


def test_on_relation_for_stacked_objects() -> None:
    base, top = _object("obj0", 0.0, 0.25, 0.0, 0.5), _object("obj1", 0.0, 0.7, 0.0, 0.4)
    relations = relations_from_positions([base, top])
    assert Relation(subject="obj1", predicate="on", object="obj0") in relations
    assert relation_holds("above", top, base)


def test_relation_naming_unknown_object_is_rejected() -> None:
    bad = [Relation(subject="obj0", predicate="left_of", object="obj9")]
    with pytest.raises(ValidationError, match="unknown object"):
        _description(spatial_relations=bad)


def test_duplicate_ids_are_rejected() -> None:
    with pytest.raises(ValidationError, match="unique"):
        _description(
            objects=[_object("obj0", 0, 0.2, 0), _object("obj0", 1, 0.2, 0)], spatial_relations=[]
        )


@pytest.mark.parametrize("x", [2.0, -1.6, math.nan, math.inf])
def test_position_out_of_bounds_or_not_finite_is_rejected(x: float) -> None:
    with pytest.raises(ValidationError):
        Position(x=x, y=0.5, z=0.0)


def test_negative_height_and_extra_fields_are_rejected() -> None:
    with pytest.raises(ValidationError):
        Position(x=0.0, y=-0.1, z=0.0)
    with pytest.raises(ValidationError):
        Position(x=0.0, y=0.1, z=0.0, w=1.0)  # type: ignore[call-arg]


def test_depth_order_must_name_every_object() -> None:
    with pytest.raises(ValidationError, match="depth"):
        _description(depth={"order": ["obj0"], "distance_m": {}})


def test_json_schema_export() -> None:
    schema = description_json_schema()
    assert schema["x-schema-version"] == SCHEMA_VERSION
    assert {"scene_type", "objects", "spatial_relations", "depth", "geometry", "source"} <= set(
        schema["properties"]
    )
    assert schema["additionalProperties"] is False
    json.dumps(schema)  # serialisable
    shapes = schema["$defs"]["SceneObject"]["properties"]["shape"]["enum"]
    assert set(shapes) == {"cube", "sphere", "cylinder", "cone", "torus", "pyramid"}


def test_check_and_repair_relations() -> None:
    wrong = [
        Relation(subject="obj0", predicate="right_of", object="obj1"),
        Relation(subject="obj0", predicate="above", object="obj1"),
    ]
    desc = _description(spatial_relations=wrong)
    problems = check_relations(desc)
    assert len(problems) == 2 and "right_of" in problems[0]
    repaired = repair_relations(desc)
    assert check_relations(repaired) == []
    assert repaired.spatial_relations == relations_from_positions(desc.objects)
