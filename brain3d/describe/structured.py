"""Untrusted JSON from a language model -> valid :class:`Description` (+ problems).

Language-model backends may answer with the full schema
(:func:`~brain3d.schema.description_json_schema`) or with the compact
:data:`GENERATION_SCHEMA` that constrained decoding uses (ids, shapes, colour names and
a 5 cm grid of positions and sizes, all enumerations, so every constrained answer is
finite and in range). :func:`description_from_json_text` accepts either: it fills the
derived fields (category, palette RGB, depth, geometry), clamps numbers into the scene
bounds, drops references to unknown objects, and falls back to the free-text parser
for text that is not JSON. Nothing in the text is executed or used as a path.
"""

from __future__ import annotations

import json
import logging
import math
from typing import Any

from pydantic import ValidationError

from brain3d.describe.parser import parse_free_text
from brain3d.schema import (
    CAMERA_POSITION,
    COLOR_NAMES,
    COLOR_PALETTE,
    PREDICATES,
    SCENE_BOUNDS,
    SCENE_TYPES,
    SCHEMA_VERSION,
    SHAPES,
    Description,
)
from brain3d.sim.shapes import SHAPE_ASPECT, SHAPE_CATEGORY, SHAPE_NOTES

logger = logging.getLogger(__name__)

#: Most objects / relations a constrained answer may hold.
GENERATION_MAX_OBJECTS = 3
GENERATION_MAX_RELATIONS = 6
_GRID_M = 0.05


def _grid(low: float, high: float) -> list[float]:
    n = int(round((high - low) / _GRID_M))
    return [round(low + i * _GRID_M, 2) for i in range(n + 1)]


#: Compact JSON Schema for constrained decoding (everything an enumeration; fixed field order).
GENERATION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "scene_type": {"type": "string", "enum": list(SCENE_TYPES)},
        "objects": {
            "type": "array", "minItems": 1, "maxItems": GENERATION_MAX_OBJECTS,
            "items": {
                "type": "object",
                "properties": {
                    "id": {"type": "string", "enum": [f"obj{i}" for i in range(GENERATION_MAX_OBJECTS)]},
                    "shape": {"type": "string", "enum": list(SHAPES)},
                    "color": {"type": "string", "enum": list(COLOR_NAMES)},
                    "x": {"type": "number", "enum": _grid(*SCENE_BOUNDS["x"])},
                    "y": {"type": "number", "enum": _grid(*SCENE_BOUNDS["y"])},
                    "z": {"type": "number", "enum": _grid(*SCENE_BOUNDS["z"])},
                    "size": {"type": "number", "enum": _grid(0.1, 1.5)},
                },
                "required": ["id", "shape", "color", "x", "y", "z", "size"],
                "additionalProperties": False,
            },
        },
        "spatial_relations": {
            "type": "array", "maxItems": GENERATION_MAX_RELATIONS,
            "items": {
                "type": "object",
                "properties": {
                    "subject": {"type": "string", "enum": [f"obj{i}" for i in range(GENERATION_MAX_OBJECTS)]},
                    "predicate": {"type": "string", "enum": list(PREDICATES)},
                    "object": {"type": "string", "enum": [f"obj{i}" for i in range(GENERATION_MAX_OBJECTS)]},
                },
                "required": ["subject", "predicate", "object"],
                "additionalProperties": False,
            },
        },
    },
    "required": ["scene_type", "objects", "spatial_relations"],
    "additionalProperties": False,
}


#: One-line statement of :data:`GENERATION_SCHEMA` for prompts (positions and sizes in metres).
GENERATION_FORMAT = (
    'JSON format: {"scene_type": "indoor|outdoor|object", "objects": [{"id": "obj0", "shape": "...", '
    '"color": "...", "x": 0.0, "y": 0.2, "z": 0.0, "size": 0.4}], "spatial_relations": '
    '[{"subject": "obj0", "predicate": "...", "object": "obj1"}]}; numbers on a 0.05 m grid'
)


def _number(value: Any, default: float) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return default
    return out if math.isfinite(out) else default


def complete_description_dict(data: dict[str, Any], source: str, problems: list[str]) -> dict[str, Any]:
    """Fill derived fields, clamp numbers, drop dangling references; appends to ``problems``."""
    raw_objects = data.get("objects")
    objects_in: list[Any] = raw_objects if isinstance(raw_objects, list) else []
    objects, seen = [], set()
    for i, raw in enumerate(objects_in[:16]):
        if not isinstance(raw, dict):
            problems.append(f"object {i} is not a JSON object; dropped")
            continue
        shape = raw.get("shape")
        if shape not in SHAPES:
            problems.append(f"object {i}: shape {str(shape)[:30]!r} is not one of {SHAPES}; dropped")
            continue
        color = raw.get("color")
        name = color.get("name") if isinstance(color, dict) else color
        if name not in COLOR_NAMES:
            problems.append(f"object {i}: colour {str(name)[:30]!r} unknown; white assumed")
            name = "white"
        rgb = color.get("rgb") if isinstance(color, dict) else None
        if not (isinstance(rgb, list | tuple) and len(rgb) == 3):
            rgb = COLOR_PALETTE[name]
        rgb = [min(max(_number(c, 0.5), 0.0), 1.0) for c in rgb]
        oid = raw.get("id")
        if not isinstance(oid, str) or not oid or oid in seen or len(oid) > 32 or not oid[0].isalpha() \
                or not oid.replace("_", "").isalnum():
            problems.append(f"object {i}: id {str(oid)[:30]!r} missing, repeated or malformed; renamed")
            oid = f"obj{i}"
            while oid in seen:
                oid += "_"
        seen.add(oid)
        raw_position = raw.get("position")
        pos: dict[Any, Any] = raw_position if isinstance(raw_position, dict) else raw
        size = min(max(_number(raw.get("size"), 0.4), 0.05), 3.0)
        xyz = {}
        for axis in "xyz":
            low, high = SCENE_BOUNDS[axis]
            value = _number(pos.get(axis), size / 2 if axis == "y" else 0.0)
            if not low <= value <= high:
                problems.append(f"{oid}: {axis} = {value} outside the scene bounds; clamped")
            xyz[axis] = min(max(value, low), high)
        category = raw.get("category")
        objects.append({
            "id": oid, "category": category if isinstance(category, str) and 0 < len(category) <= 64
            else SHAPE_CATEGORY[shape], "shape": shape, "color": {"name": name, "rgb": rgb},
            "position": xyz, "size": size,
            "confidence": min(max(_number(raw.get("confidence"), 0.5), 0.0), 1.0),
        })
    relations = []
    for rel in data.get("spatial_relations") or []:
        if not isinstance(rel, dict):
            continue
        s, p, o = rel.get("subject"), rel.get("predicate"), rel.get("object")
        if s in seen and o in seen and s != o and p in PREDICATES:
            if {"subject": s, "predicate": p, "object": o} not in relations:
                relations.append({"subject": s, "predicate": p, "object": o})
        else:
            problems.append(f"relation {str(s)[:20]} {str(p)[:20]} {str(o)[:20]} names unknown objects or "
                            "predicate; dropped")
    distance = {o["id"]: round(CAMERA_POSITION[2] - o["position"]["z"], 3) for o in objects}
    scene = data.get("scene_type")
    if scene not in SCENE_TYPES:
        problems.append(f"scene_type {str(scene)[:30]!r} unknown; 'object' assumed")
        scene = "object"
    return {
        "schema_version": SCHEMA_VERSION, "scene_type": scene, "objects": objects,
        "spatial_relations": relations,
        "depth": {"order": sorted(distance, key=lambda k: (distance[k], k)), "distance_m": distance},
        "geometry": [{"object_id": o["id"], "primitive": o["shape"], "aspect": SHAPE_ASPECT[o["shape"]],
                      "note": SHAPE_NOTES[o["shape"]]} for o in objects],
        "source": source, "timing_ms": None,
    }


def description_from_json_text(text: str, source: str) -> tuple[Description, list[str]]:
    """Untrusted model text -> valid description + problems (never raises)."""
    problems: list[str] = []
    if not isinstance(text, str):
        text = ""
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        problems.append(f"model output is not valid JSON ({exc}); read as free text")
        desc, more = parse_free_text(text, source)
        return desc, problems + more
    if not isinstance(data, dict):
        problems.append("model output JSON is not an object; read as free text")
        desc, more = parse_free_text(text, source)
        return desc, problems + more
    try:
        return Description.model_validate(complete_description_dict(data, source, problems)), problems
    except (ValidationError, ValueError, TypeError) as exc:  # should not happen after completion
        problems.append(f"model JSON could not be repaired ({exc}); fallback")
        from brain3d.describe.base import fallback_description

        return fallback_description(source, problems), problems
