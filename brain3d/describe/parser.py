"""Free text in the design's prompt format -> partial :class:`Description` + problems.

The design prompts a language model for::

    Scene Type: indoor
    Main Objects: obj0: red cube at (-0.4, 0.2, 0.1) size 0.4; obj1: blue ball at (0.5, 0.25, -0.2)
    Spatial Relationships: obj0 left_of obj1; the blue ball is behind the red cube
    Depth Information: near: obj0; far: obj1
    Geometry: ...

:func:`parse_free_text` reads such text tolerantly (any header order or case,
markdown emphasis, bullets, synonyms such as "ball" for sphere, "left of" for
``left_of``) and never raises: what it cannot read becomes a problem and a default
(objects without a position are spread left to right on the floor). The text is
untrusted: it is only matched against bounded regular expressions, never executed or
used as a path, and only its first :data:`MAX_TEXT_CHARS` characters are read.
"""

from __future__ import annotations

import logging
import re

from brain3d.describe.base import fallback_description
from brain3d.schema import (
    CAMERA_POSITION,
    COLOR_NAMES,
    PREDICATES,
    SCENE_BOUNDS,
    SCENE_TYPES,
    SHAPES,
    Color,
    Depth,
    Description,
    GeometryNote,
    Position,
    Relation,
    SceneObject,
)
from brain3d.sim.shapes import SHAPE_ASPECT, SHAPE_CATEGORY, SHAPE_NOTES

logger = logging.getLogger(__name__)

MAX_TEXT_CHARS = 20_000
_MAX_OBJECTS = 16
_DEFAULT_SIZE_M = 0.4

_SECTIONS = {
    "scene": r"scene\s*type",
    "objects": r"(?:main\s*)?objects",
    "relations": r"spatial\s*relation(?:ship)?s?|relations",
    "depth": r"depth(?:\s*information)?",
    "geometry": r"geometry",
}
_HEADER = re.compile(
    r"^[ \t>*#\-\d.]*\**\s*(" + "|".join(f"(?P<{k}>{v})" for k, v in _SECTIONS.items()) + r")\s*\**\s*[:\-]\s*\**",
    re.IGNORECASE | re.MULTILINE,
)
_SHAPE_WORDS = {s: s for s in SHAPES} | {
    "box": "cube", "block": "cube", "cuboid": "cube", "ball": "sphere", "globe": "sphere", "orb": "sphere",
    "can": "cylinder", "tube": "cylinder", "pillar": "cylinder", "ring": "torus", "donut": "torus",
    "doughnut": "torus", "tetrahedron": "pyramid", "cones": "cone", "cubes": "cube", "spheres": "sphere",
}
_COLOR_WORDS = {c: c for c in COLOR_NAMES} | {
    "violet": "purple", "magenta": "purple", "teal": "cyan", "turquoise": "cyan", "gold": "yellow", "grey": "white",
    "gray": "white", "silver": "white",
}
_PREDICATE_PHRASES = [
    (r"left[_\s]+of|to\s+the\s+left\s+of", "left_of"), (r"right[_\s]+of|to\s+the\s+right\s+of", "right_of"),
    (r"in[_\s]+front[_\s]+of", "in_front_of"), (r"behind", "behind"), (r"on[_\s]+top[_\s]+of|\bon\b|rests\s+on", "on"),
    (r"above|over", "above"), (r"below|under(?:neath)?|beneath", "below"), (r"inside|within", "inside"),
    (r"near|next\s+to|beside|close\s+to", "near"),
]
_NUMBER = r"[-+]?\d{1,3}(?:\.\d{1,6})?"
_TRIPLE = re.compile(rf"\(\s*({_NUMBER})\s*,\s*({_NUMBER})\s*,\s*({_NUMBER})\s*\)")
_AXIS = re.compile(rf"\b([xyz])\s*[=:]\s*({_NUMBER})", re.IGNORECASE)
_SIZE = re.compile(rf"\bsize\s*[=:]?\s*({_NUMBER})", re.IGNORECASE)
_ID = re.compile(r"\b(obj\d{1,2})\b", re.IGNORECASE)
_WORD = re.compile(r"[a-z]+")


def _sections(text: str) -> dict[str, str]:
    found = list(_HEADER.finditer(text))
    out: dict[str, str] = {}
    for i, match in enumerate(found):
        key = next(k for k in _SECTIONS if match.group(k))
        end = found[i + 1].start() if i + 1 < len(found) else len(text)
        out.setdefault(key, text[match.end() : end].strip())
    return out


def _items(block: str) -> list[str]:
    parts = re.split(r"[\n;]|(?:,\s*(?=(?:and\s+)?(?:a|an|the|one|obj\d)\b))", block)
    return [p.strip(" \t-*•.") for p in parts if p and p.strip(" \t-*•.")]


def _clamp(value: float, axis: str) -> float:
    low, high = SCENE_BOUNDS[axis]
    return min(max(value, low), high)


def _parse_object(item: str, index: int, problems: list[str]) -> SceneObject | None:
    words = _WORD.findall(item.lower())
    shape = next((_SHAPE_WORDS[w] for w in words if w in _SHAPE_WORDS), None)
    if shape is None:
        problems.append(f"object {index}: no known shape in {item[:60]!r}; skipped")
        return None
    color = next((_COLOR_WORDS[w] for w in words if w in _COLOR_WORDS), None)
    if color is None:
        problems.append(f"object {index}: no palette colour in {item[:60]!r}; white assumed")
        color = "white"
    size = _DEFAULT_SIZE_M
    if (m := _SIZE.search(item)) is not None:
        size = min(max(float(m.group(1)), 0.05), 3.0)
    position: tuple[float, float, float] | None = None
    if (m := _TRIPLE.search(item)) is not None:
        position = (float(m.group(1)), float(m.group(2)), float(m.group(3)))
    else:
        axes = {a.lower(): float(v) for a, v in _AXIS.findall(item)}
        if len(axes) == 3:
            position = (axes["x"], axes["y"], axes["z"])
    oid = _ID.search(item)
    object_id = oid.group(1).lower() if oid else f"obj{index}"
    clamped = None
    if position is not None:
        clamped = (_clamp(position[0], "x"), _clamp(position[1], "y"), _clamp(position[2], "z"))
        if clamped != position:
            problems.append(f"{object_id}: position {position} outside the scene bounds; clamped")
    else:
        problems.append(f"{object_id}: no position given; placed by default")
    return SceneObject(
        id=object_id, category=SHAPE_CATEGORY[shape], shape=shape, color=Color.from_name(color),
        position=Position(x=clamped[0], y=clamped[1], z=clamped[2]) if clamped else Position(x=0.0, y=size / 2, z=0.0),
        size=size, confidence=0.5,
    )


def _spread_defaults(objects: list[SceneObject], placed: set[str]) -> list[SceneObject]:
    """Objects without a position go left to right on the floor, 0.6 m apart."""
    missing = [o for o in objects if o.id not in placed]
    out = []
    for obj in objects:
        if obj.id in placed:
            out.append(obj)
            continue
        k = missing.index(obj)
        x = _clamp((k - (len(missing) - 1) / 2) * 0.6, "x")
        out.append(obj.model_copy(update={"position": Position(x=x, y=min(obj.size / 2, 2.0), z=0.0)}))
    return out


def _resolve(ref: str, objects: list[SceneObject]) -> str | None:
    """Object id named by a reference: an id, or the (colour) shape words."""
    if (m := _ID.search(ref)) is not None:
        oid = m.group(1).lower()
        return oid if any(o.id == oid for o in objects) else None
    words = set(_WORD.findall(ref.lower()))
    shapes = {_SHAPE_WORDS[w] for w in words if w in _SHAPE_WORDS}
    colors = {_COLOR_WORDS[w] for w in words if w in _COLOR_WORDS}
    hits = [o for o in objects if (not shapes or o.shape in shapes) and (not colors or o.color.name in colors)
            and (shapes or colors)]
    return hits[0].id if len(hits) == 1 else None


def _parse_relations(block: str, objects: list[SceneObject], problems: list[str]) -> list[Relation]:
    relations: list[Relation] = []
    for item in _items(block):
        for phrase, predicate in _PREDICATE_PHRASES:
            m = re.search(rf"\b(?:{phrase})\b", item, re.IGNORECASE)
            if m is None:
                continue
            a, b = _resolve(item[: m.start()], objects), _resolve(item[m.end() :], objects)
            if a is None or b is None or a == b:
                problems.append(f"relation {item[:60]!r}: cannot tell which objects it names; dropped")
            else:
                rel = Relation(subject=a, predicate=predicate, object=b)
                if rel not in relations:
                    relations.append(rel)
            break
        else:
            problems.append(f"relation {item[:60]!r}: no known predicate ({', '.join(PREDICATES)}); dropped")
    return relations


def parse_free_text(text: str, source: str = "free-text") -> tuple[Description, list[str]]:
    """Parse free text in the design's format into a valid :class:`Description`.

    Parameters
    ----------
    text : str
        Untrusted model output.
    source : str
        The backend that produced it (written into ``source``).

    Returns
    -------
    description : Description
        Always valid; the fallback (no objects) when nothing could be read.
    problems : list of str
        Everything that was missing, out of range, ambiguous or dropped.
    """
    problems: list[str] = []
    try:
        if not isinstance(text, str):
            return fallback_description(source, [f"expected text, got {type(text).__name__}"]), [
                f"expected text, got {type(text).__name__}"]
        if len(text) > MAX_TEXT_CHARS:
            problems.append(f"text longer than {MAX_TEXT_CHARS} characters; the rest is ignored")
            text = text[:MAX_TEXT_CHARS]
        sections = _sections(text)
        for key in _SECTIONS:
            if key not in sections and key in ("scene", "objects"):
                problems.append(f"no '{key}' section found")
        scene_words = _WORD.findall(sections.get("scene", "").lower())
        scene = next((w for w in scene_words if w in SCENE_TYPES), None)
        if scene is None and "objects" in scene_words:
            scene = "object"
        if scene is None:
            problems.append("scene type missing or not one of indoor/outdoor/object; 'object' assumed")
            scene = "object"
        objects: list[SceneObject] = []
        given: set[str] = set()
        for item in _items(sections.get("objects", "")):
            if len(objects) >= _MAX_OBJECTS:
                problems.append(f"more than {_MAX_OBJECTS} objects; the rest dropped")
                break
            n_before = len(problems)
            obj = _parse_object(item, len(objects), problems)
            if obj is None:
                continue
            if any(o.id == obj.id for o in objects):
                problems.append(f"object id {obj.id} repeated; renamed obj{len(objects)}")
                obj = obj.model_copy(update={"id": f"obj{len(objects)}"})
                while any(o.id == obj.id for o in objects):
                    obj = obj.model_copy(update={"id": obj.id + "_"})
            if not any("no position given" in p for p in problems[n_before:]):
                given.add(obj.id)
            objects.append(obj)
        if not objects:
            problems.append("no objects could be read")
        objects = _spread_defaults(objects, given)
        relations = _parse_relations(sections.get("relations", ""), objects, problems) if objects else []
        distance = {o.id: round(CAMERA_POSITION[2] - o.position.z, 3) for o in objects}
        desc = Description(
            scene_type=scene,
            objects=objects,
            spatial_relations=relations,
            depth=Depth(order=sorted(distance, key=lambda k: (distance[k], k)), distance_m=distance),
            geometry=[GeometryNote(object_id=o.id, primitive=o.shape, aspect=SHAPE_ASPECT[o.shape],
                                   note=SHAPE_NOTES[o.shape]) for o in objects],
            source=source,
        )
        return desc, problems
    except Exception as exc:  # noqa: BLE001 - untrusted text must never raise into the pipeline
        logger.warning("free-text parse failed: %s", exc)
        problems.append(f"parse failed: {type(exc).__name__}: {exc}")
        return fallback_description(source, problems), problems
