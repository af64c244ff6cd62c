"""Who may import whom (``docs/architecture.md``): every import of every module is checked.

Floors, top to bottom: ``brain3d_app`` (CLI, command handlers, benchmarks) > ``viewer`` >
``realtime`` > ``acquisition`` | ``export_onnx`` > ``brain3d``. A package imports its own
floor's package or lower floors only; ``acquisition`` and ``export_onnx`` do not know each
other; nothing imports ``brain3d_app``. Imports inside functions count too (the rule is
about what a package needs, not when it loads it).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

#: Package -> floor (1 = top).
FLOORS = {"brain3d_app": 1, "viewer": 2, "realtime": 3, "acquisition": 4, "export_onnx": 4, "brain3d": 5}


def imported_packages(path: Path) -> set[tuple[str, int]]:
    """Our top-level packages that ``path`` imports, with the line of each import."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[tuple[str, int]] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        for name in names:
            top = name.split(".")[0]
            if top in FLOORS:
                found.add((top, node.lineno))
    return found


def forbidden(importer: str, imported: str) -> bool:
    """True when a module of ``importer`` may not import ``imported``."""
    if importer == imported:
        return False
    if imported == "brain3d_app":
        return True
    return FLOORS[imported] <= FLOORS[importer]


def violations(package: str) -> list[str]:
    found = []
    for path in sorted((REPO / package).rglob("*.py")):
        for imported, line in sorted(imported_packages(path)):
            if forbidden(package, imported):
                found.append(f"{path.relative_to(REPO)}:{line} imports {imported}")
    return found


@pytest.mark.parametrize("package", sorted(FLOORS))
def test_a_package_imports_only_lower_floors(package: str) -> None:
    assert (REPO / package / "__init__.py").is_file()
    assert violations(package) == []


def test_the_rule_catches_an_upward_import(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from realtime.engine import Engine\n    import brain3d_app.cli\n")
    assert imported_packages(module) == {("realtime", 2), ("brain3d_app", 3)}
    assert forbidden("acquisition", "realtime") and forbidden("brain3d", "brain3d_app")
    assert forbidden("acquisition", "export_onnx") and forbidden("export_onnx", "acquisition")
    assert not forbidden("realtime", "acquisition") and not forbidden("brain3d_app", "viewer")


#: Size limits that keep modules small and single-purpose (lines from ``def``/``class`` to the end).
MAX_CLASS_LINES = 400
MAX_FUNCTION_LINES = 120


def oversized(path: Path, root: Path = REPO) -> list[str]:
    """Classes of ``MAX_CLASS_LINES`` lines or more and functions over ``MAX_FUNCTION_LINES`` in ``path``."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno:
            lines = node.end_lineno - node.lineno + 1
            limit = MAX_CLASS_LINES - 1 if isinstance(node, ast.ClassDef) else MAX_FUNCTION_LINES
            if lines > limit:
                found.append(f"{path.relative_to(root)}:{node.lineno} {node.name} has {lines} lines")
    return found


@pytest.mark.parametrize("package", sorted(FLOORS))
def test_classes_stay_under_400_lines_and_functions_at_most_120(package: str) -> None:
    assert [problem for path in sorted((REPO / package).rglob("*.py")) for problem in oversized(path)] == []


def test_the_size_rule_catches_a_long_function_and_a_long_class(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    body = ("def f():\n" + "    x = 1\n" * 120 + "\n\ndef g():\n" + "    x = 1\n" * 119
            + "\n\nclass C:\n" + "    y = 2\n" * 398 + "\n\nclass D:\n" + "    y = 2\n" * 399)
    module.write_text(body)
    assert oversized(module, tmp_path) == ["m.py:1 f has 121 lines", "m.py:647 D has 400 lines"]
