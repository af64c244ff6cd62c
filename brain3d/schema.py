"""The one structured scene description (``Description``), version ``1.0``.

Every producer and consumer of scene descriptions uses this schema: the simulator's
ground truth, every describer backend, the 3D conditioning and the session files.

Coordinate frame (the "scene frame")
------------------------------------
Right-handed, in metres:

* ``x`` points to the viewer's right,
* ``y`` points up (the floor is the plane ``y = 0``),
* ``z`` points toward the viewer.

The reference viewer (the camera the simulator renders from, and the viewpoint that
viewer-relative predicates such as ``left_of`` and ``in_front_of`` refer to) stands at
:data:`CAMERA_POSITION` = ``(0, 0.6, 3)`` m and looks straight down ``-z`` (no tilt,
no roll, ``+y`` is image-up) with a vertical field of view of
:data:`CAMERA_VFOV_DEG` = 30 degrees and square pixels (a close, narrow view, so objects
fill a good part of the image).

Object positions are the centres of the objects and must lie inside the scene bounds
``|x| <= 1.5``, ``0 <= y <= 2``, ``|z| <= 1.5`` (:data:`SCENE_BOUNDS`). Every primitive
is centred on its position and fits in an axis-aligned cube of edge ``size`` that it
touches at top and bottom (so an object resting on the floor has ``y = size / 2``).

Relations
---------
:func:`relations_from_positions` is the one function that derives relations from
positions; :func:`relation_holds` is the one test of a single relation. Thresholds (all
metres, applied to object centres unless stated):

* ``left_of`` / ``right_of``: ``x_a < x_b - 0.2`` / ``x_a > x_b + 0.2``
  (:data:`LATERAL_THRESHOLD_M`).
* ``above`` / ``below``: ``y_a > y_b + 0.2`` / ``y_a < y_b - 0.2``
  (:data:`VERTICAL_THRESHOLD_M`).
* ``in_front_of`` / ``behind``: ``z_a > z_b + 0.2`` / ``z_a < z_b - 0.2`` (in front =
  nearer the viewer; :data:`DEPTH_THRESHOLD_M`).
* ``on``: a's bottom (``y_a - size_a/2``) is within 0.05 m (:data:`ON_TOLERANCE_M`) of
  b's top (``y_b + size_b/2``) and a's centre is horizontally (x-z plane) within
  ``size_b / 2`` of b's centre.
* ``near``: the gap between bounding spheres of radius ``size/2`` is below 0.3 m
  (:data:`NEAR_GAP_M`): ``|p_a - p_b| - (size_a + size_b)/2 < 0.3``.
* ``inside``: a's bounding sphere lies within b's inscribed half-size:
  ``|p_a - p_b| + size_a/2 <= size_b/2``.
"""

from __future__ import annotations

import itertools
import json
import logging
import math
import os
import sys
from pathlib import Path
from typing import Annotated, Final, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, model_validator

logger = logging.getLogger(__name__)

#: Version of this schema; bump on any incompatible change.
SCHEMA_VERSION: Final = "1.0"

#: Scene bounds in metres, per axis: (min, max).
SCENE_BOUNDS: dict[str, tuple[float, float]] = {
    "x": (-1.5, 1.5),
    "y": (0.0, 2.0),
    "z": (-1.5, 1.5),
}

#: Reference viewer position in the scene frame (metres); it looks down -z.
CAMERA_POSITION: tuple[float, float, float] = (0.0, 0.6, 3.0)
#: Reference viewer vertical field of view (degrees); pixels are square.
CAMERA_VFOV_DEG: float = 30.0

LATERAL_THRESHOLD_M = 0.2
VERTICAL_THRESHOLD_M = 0.2
DEPTH_THRESHOLD_M = 0.2
ON_TOLERANCE_M = 0.05
NEAR_GAP_M = 0.3

SceneType = Literal["indoor", "outdoor", "object"]
ShapeName = Literal["cube", "sphere", "cylinder", "cone", "torus", "pyramid"]
ColorName = Literal["red", "orange", "yellow", "green", "cyan", "blue", "purple", "white"]
Predicate = Literal[
    "left_of", "right_of", "above", "below", "in_front_of", "behind", "on", "near", "inside"
]

SHAPES: tuple[str, ...] = get_args(ShapeName)
SCENE_TYPES: tuple[str, ...] = get_args(SceneType)
PREDICATES: tuple[str, ...] = get_args(Predicate)

#: The fixed colour palette: name -> linear RGB in 0..1.
COLOR_PALETTE: dict[str, tuple[float, float, float]] = {
    "red": (0.85, 0.12, 0.10),
    "orange": (0.95, 0.50, 0.08),
    "yellow": (0.95, 0.85, 0.15),
    "green": (0.15, 0.70, 0.20),
    "cyan": (0.10, 0.75, 0.80),
    "blue": (0.12, 0.25, 0.85),
    "purple": (0.55, 0.18, 0.70),
    "white": (0.95, 0.95, 0.95),
}
COLOR_NAMES: tuple[str, ...] = get_args(ColorName)

_Unit = Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)]


def _bounded(axis: str) -> object:
    low, high = SCENE_BOUNDS[axis]
    return Field(ge=low, le=high, allow_inf_nan=False, description=f"{axis} in metres")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Position(_Model):
    """Object centre in the scene frame (metres; see the module docstring)."""

    x: float = _bounded("x")  # type: ignore[assignment]
    y: float = _bounded("y")  # type: ignore[assignment]
    z: float = _bounded("z")  # type: ignore[assignment]

    def as_tuple(self) -> tuple[float, float, float]:
        """Return ``(x, y, z)`` in metres."""
        return (self.x, self.y, self.z)


class Color(_Model):
    """A palette colour name plus the RGB actually meant (each channel 0..1)."""

    name: ColorName
    rgb: tuple[_Unit, _Unit, _Unit]

    @classmethod
    def from_name(cls, name: str) -> Color:
        """Build the colour with the palette's RGB for ``name``."""
        return cls(name=name, rgb=COLOR_PALETTE[name])


class SceneObject(_Model):
    """One object of the scene: a primitive shape with colour, position and size."""

    id: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_]*$", max_length=32, examples=["obj0"])
    category: str = Field(min_length=1, max_length=64, description="free-text category")
    shape: ShapeName
    color: Color
    position: Position
    size: float = Field(
        gt=0.0, le=3.0, allow_inf_nan=False, description="edge of the bounding cube, metres"
    )
    confidence: _Unit = 1.0


class Relation(_Model):
    """``subject predicate object``, e.g. ``obj0 left_of obj1`` (viewer-relative)."""

    subject: str
    predicate: Predicate
    object: str


class Depth(_Model):
    """Depth of the objects as seen by the reference viewer.

    ``order`` lists object ids near -> far; ``distance_m`` maps object ids to their
    view-space depth (metres along the viewing axis, ``CAMERA_POSITION.z - z``).
    Either may be empty when a backend cannot estimate it.
    """

    order: list[str] = Field(default_factory=list)
    distance_m: dict[str, Annotated[float, Field(gt=0.0, allow_inf_nan=False)]] = Field(
        default_factory=dict
    )


class GeometryNote(_Model):
    """A short note about one object's form: its primitive and aspect (width / height)."""

    object_id: str
    primitive: ShapeName
    aspect: float = Field(gt=0.0, le=20.0, allow_inf_nan=False, description="width/height")
    note: str = Field(default="", max_length=200)


class Description(_Model):
    """The structured description of one scene (schema version :data:`SCHEMA_VERSION`).

    Validation beyond types: object ids are unique; relations, depth entries and
    geometry notes name existing objects; a relation's subject differs from its object;
    ``depth.order`` (when given) names every object exactly once. Positions are finite
    and inside :data:`SCENE_BOUNDS` (checked by :class:`Position`). Consistency of
    relations with positions is *not* enforced (backends may be wrong); see
    :func:`check_relations` and :func:`repair_relations`.
    """

    schema_version: Literal["1.0"] = SCHEMA_VERSION
    scene_type: SceneType
    objects: list[SceneObject] = Field(default_factory=list, max_length=16)
    spatial_relations: list[Relation] = Field(default_factory=list)
    depth: Depth = Field(default_factory=Depth)
    geometry: list[GeometryNote] = Field(default_factory=list)
    source: str = Field(min_length=1, description="backend that produced it")
    timing_ms: float | None = Field(default=None, ge=0.0, allow_inf_nan=False)

    @model_validator(mode="after")
    def _check_references(self) -> Description:
        ids = [obj.id for obj in self.objects]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"object ids must be unique; repeated: {duplicates}")
        known = set(ids)
        for rel in self.spatial_relations:
            for end in (rel.subject, rel.object):
                if end not in known:
                    raise ValueError(
                        f"relation {rel.subject} {rel.predicate} {rel.object} names unknown "
                        f"object {end!r}; known ids: {sorted(known)}"
                    )
            if rel.subject == rel.object:
                raise ValueError(f"relation relates {rel.subject!r} to itself")
        unknown_depth = [i for i in [*self.depth.order, *self.depth.distance_m] if i not in known]
        if unknown_depth:
            raise ValueError(f"depth names unknown objects {sorted(set(unknown_depth))}")
        if self.depth.order and sorted(self.depth.order) != sorted(ids):
            raise ValueError("depth.order must name every object exactly once (near -> far)")
        unknown_geometry = [g.object_id for g in self.geometry if g.object_id not in known]
        if unknown_geometry:
            raise ValueError(f"geometry notes name unknown objects {unknown_geometry}")
        return self

    def object_by_id(self, object_id: str) -> SceneObject:
        """Return the object with this id (KeyError if absent)."""
        for obj in self.objects:
            if obj.id == object_id:
                return obj
        raise KeyError(object_id)


def description_json_schema() -> dict:
    """Return the JSON Schema (draft 2020-12) of :class:`Description`, with its version."""
    schema = Description.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Brain3D Description"
    schema["x-schema-version"] = SCHEMA_VERSION
    return schema


#: Where the exported JSON Schema lives in the repository (``docs/schema/``).
JSON_SCHEMA_FILE = "docs/schema/description.schema.json"


def json_schema_text() -> str:
    """The exported JSON Schema file's exact text (sorted keys, 2-space indent, final newline)."""
    return json.dumps(description_json_schema(), indent=2, sort_keys=True) + "\n"


def write_json_schema(path: str | os.PathLike[str]) -> Path:
    """Write :func:`description_json_schema` to ``path`` (regenerate with ``python -m brain3d.schema``)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json_schema_text(), encoding="utf-8")
    return target


def _on(a: SceneObject, b: SceneObject) -> bool:
    pa, pb = a.position, b.position
    bottom_a = pa.y - a.size / 2
    top_b = pb.y + b.size / 2
    horizontal = math.hypot(pa.x - pb.x, pa.z - pb.z)
    return abs(bottom_a - top_b) <= ON_TOLERANCE_M and horizontal <= b.size / 2


def _distance(a: SceneObject, b: SceneObject) -> float:
    return math.dist(a.position.as_tuple(), b.position.as_tuple())


def relation_holds(predicate: str, a: SceneObject, b: SceneObject) -> bool:
    """Whether ``a predicate b`` holds for the objects' positions and sizes.

    See the module docstring for the thresholds.
    """
    pa, pb = a.position, b.position
    tests = {
        "left_of": lambda: pa.x < pb.x - LATERAL_THRESHOLD_M,
        "right_of": lambda: pa.x > pb.x + LATERAL_THRESHOLD_M,
        "above": lambda: pa.y > pb.y + VERTICAL_THRESHOLD_M,
        "below": lambda: pa.y < pb.y - VERTICAL_THRESHOLD_M,
        "in_front_of": lambda: pa.z > pb.z + DEPTH_THRESHOLD_M,
        "behind": lambda: pa.z < pb.z - DEPTH_THRESHOLD_M,
        "on": lambda: _on(a, b),
        "near": lambda: _distance(a, b) - (a.size + b.size) / 2 < NEAR_GAP_M,
        "inside": lambda: _distance(a, b) + a.size / 2 <= b.size / 2,
    }
    if predicate not in tests:
        raise ValueError(f"unknown predicate {predicate!r}; allowed: {PREDICATES}")
    return bool(tests[predicate]())


def relations_from_positions(objects: list[SceneObject]) -> list[Relation]:
    """Derive the spatial relations implied by the objects' positions and sizes.

    For each unordered pair (earlier object ``a``, later object ``b``, in list order)
    at most one relation per axis is emitted, with ``a`` as subject:
    ``left_of``/``right_of``; ``in_front_of``/``behind``; vertically ``on`` (with the
    upper object as subject) else ``above``/``below``; then ``near`` and ``inside``
    (smaller object as subject). Thresholds are in the module docstring.

    Parameters
    ----------
    objects : list of SceneObject
        The objects (positions in metres, scene frame).

    Returns
    -------
    list of Relation
        Every returned relation satisfies :func:`relation_holds`.
    """
    relations: list[Relation] = []

    def add(predicate: str, s: SceneObject, o: SceneObject) -> None:
        relations.append(Relation(subject=s.id, predicate=predicate, object=o.id))

    for a, b in itertools.combinations(objects, 2):
        for pair in (("left_of", "right_of"), ("in_front_of", "behind")):
            for predicate in pair:
                if relation_holds(predicate, a, b):
                    add(predicate, a, b)
        if relation_holds("on", a, b):
            add("on", a, b)
        elif relation_holds("on", b, a):
            add("on", b, a)
        elif relation_holds("above", a, b):
            add("above", a, b)
        elif relation_holds("below", a, b):
            add("below", a, b)
        if relation_holds("near", a, b):
            add("near", a, b)
        if relation_holds("inside", a, b):
            add("inside", a, b)
        elif relation_holds("inside", b, a):
            add("inside", b, a)
    return relations


def check_relations(desc: Description) -> list[str]:
    """List the relations of ``desc`` that disagree with its object positions.

    Returns
    -------
    list of str
        One human-readable problem per inconsistent relation; empty when consistent.
    """
    problems = []
    for rel in desc.spatial_relations:
        a, b = desc.object_by_id(rel.subject), desc.object_by_id(rel.object)
        if not relation_holds(rel.predicate, a, b):
            problems.append(
                f"{rel.subject} {rel.predicate} {rel.object} disagrees with positions "
                f"{a.position.as_tuple()} (size {a.size}) and {b.position.as_tuple()} "
                f"(size {b.size})"
            )
    return problems


def repair_relations(desc: Description) -> Description:
    """Return a copy of ``desc`` whose relations are recomputed from the positions."""
    problems = check_relations(desc)
    if problems:
        logger.debug("repairing %d inconsistent relations from %s", len(problems), desc.source)
    return desc.model_copy(update={"spatial_relations": relations_from_positions(desc.objects)})


if __name__ == "__main__":  # python -m brain3d.schema [PATH]: regenerate the exported JSON Schema
    written = write_json_schema(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent / JSON_SCHEMA_FILE)
    sys.stdout.write(f"wrote {written}\n")
