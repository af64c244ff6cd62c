"""The one prompt of the language-model describers (design format + schema frame)."""

from __future__ import annotations

from brain3d.schema import CAMERA_POSITION, COLOR_NAMES, PREDICATES, SCENE_BOUNDS, SHAPES

#: Instruction sent with the image (the design's stage-2 prompt, made precise).
DESCRIBE_PROMPT = (
    "Describe the scene in the image as a structured, 3D-aware description. Give: Scene Type "
    "(indoor, outdoor or object); Main Objects, each with an id (obj0, obj1, ...), a primitive shape "
    f"({', '.join(SHAPES)}), a colour ({', '.join(COLOR_NAMES)}), a 3D centre position and size in metres; "
    f"Spatial Relationships as subject-predicate-object triples ({', '.join(PREDICATES)}); Depth Information "
    "(near to far); Geometry. Scene frame: right-handed, metres, x to the viewer's right, y up (floor y = 0), "
    f"z toward the viewer; the viewer stands at {CAMERA_POSITION} looking down -z; bounds "
    + ", ".join(f"{a} in [{lo}, {hi}]" for a, (lo, hi) in SCENE_BOUNDS.items())
    + "."
)

#: Asked of backends that must answer as JSON in the schema.
JSON_INSTRUCTION = "Answer with one JSON object that follows the given JSON schema, nothing else."
