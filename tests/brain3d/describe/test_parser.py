"""Free-text parser: partial results plus problems, never an exception."""

from __future__ import annotations

import pytest

from brain3d.describe.parser import MAX_TEXT_CHARS, parse_free_text
from brain3d.schema import Description

DESIGN_TEXT = """**Scene Type:** Indoor
**Main Objects:**
- obj0: a red cube at (-0.5, 0.2, 0.0), size 0.4
- obj1: blue ball at x=0.5, y=0.3, z=-0.4 size 0.5
**Spatial Relationships:** obj0 left_of obj1; the blue ball is behind the red cube
**Depth Information:** near: obj0; far: obj1
**Geometry:** a box and a round ball
"""


def test_design_format_is_read_completely() -> None:
    desc, problems = parse_free_text(DESIGN_TEXT, "llm")
    assert problems == []
    assert desc.scene_type == "indoor" and desc.source == "llm"
    assert [(o.id, o.shape, o.color.name) for o in desc.objects] == [("obj0", "cube", "red"), ("obj1", "sphere", "blue")]
    assert desc.objects[1].position.as_tuple() == (0.5, 0.3, -0.4)
    triples = {(r.subject, r.predicate, r.object) for r in desc.spatial_relations}
    assert triples == {("obj0", "left_of", "obj1"), ("obj1", "behind", "obj0")}
    assert desc.depth.order == ["obj0", "obj1"]


def test_missing_positions_and_unknown_words_become_problems() -> None:
    text = "Scene type: outdoor\nMain objects: a green cone; a shiny teapot; a cylinder at (9, 0.3, 0)\n" \
           "Spatial relationships: the cone hovers around the dragon"
    desc, problems = parse_free_text(text)
    assert [o.shape for o in desc.objects] == ["cone", "cylinder"]
    assert desc.objects[1].position.x == 1.5  # clamped into the scene bounds
    joined = " | ".join(problems)
    for fragment in ("no position given", "no known shape", "clamped", "white assumed", "dropped"):
        assert fragment in joined


@pytest.mark.parametrize("text", ["", "nothing here", "{\"json\": 1}", "Scene Type:", "Main Objects: ;;;",
                                  "x" * (MAX_TEXT_CHARS + 10), "Main Objects: " + "red cube; " * 40,
                                  "Scene Type: object\nMain Objects: obj0 red cube\nobj0 blue cube",
                                  "\x00\ufffd Scene Type: indoor (((((((((("])
def test_anything_parses_to_a_valid_description(text: str) -> None:
    desc, problems = parse_free_text(text)
    Description.model_validate_json(desc.model_dump_json())
    assert isinstance(problems, list)


def test_non_text_input_does_not_raise() -> None:
    desc, problems = parse_free_text(None)  # type: ignore[arg-type]
    assert desc.objects == [] and problems
