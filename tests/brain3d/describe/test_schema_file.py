"""The exported JSON Schema file equals the schema in code."""

from __future__ import annotations

import json
from pathlib import Path

from brain3d.schema import (
    JSON_SCHEMA_FILE,
    description_json_schema,
    json_schema_text,
    write_json_schema,
)

ROOT = Path(__file__).resolve().parents[3]


def test_exported_schema_file_matches_the_code() -> None:
    text = (ROOT / JSON_SCHEMA_FILE).read_text(encoding="utf-8")
    assert json.loads(text) == description_json_schema(), "regenerate with: python -m brain3d.schema"
    assert text == json_schema_text()


def test_write_json_schema_round_trips(tmp_path: Path) -> None:
    path = write_json_schema(tmp_path / "s.json")
    assert json.loads(path.read_text())["x-schema-version"] == "1.0"
