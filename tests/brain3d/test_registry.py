"""The backend registries: built-ins resolve, names are validated, broken backends say why."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from brain3d.config import load_config
from brain3d.errors import BackendError, ConfigError
from brain3d.registry import BUILT_IN, DESCRIBERS, GENERATORS, PRECISIONS, SOURCES, Registry


@pytest.mark.parametrize("registry", [SOURCES, DESCRIBERS, GENERATORS, PRECISIONS], ids=lambda r: r.family)
def test_every_built_in_backend_loads_its_factory(registry: Registry) -> None:
    built_in = [b for b in registry if b.origin == BUILT_IN]
    assert len(built_in) >= 3
    for backend in built_in:
        assert callable(backend.load()), backend


def test_the_registries_hold_what_the_config_documents() -> None:
    assert SOURCES.names()[:4] == ("simulate", "lsl", "brainflow", "replay")
    assert DESCRIBERS.names()[:3] == ("grounded", "transformers", "openai")
    assert GENERATORS.names()[:3] == ("diffusion", "layout", "shap_e")
    assert PRECISIONS.names() == ("fp32", "fp16", "int8", "int8_static")


def test_a_name_is_registered_once() -> None:
    registry = Registry("thing", "thing.kind")
    registry.register("a", "math:sqrt", "square root")
    with pytest.raises(ValueError, match="'a' is already registered"):
        registry.register("a", "math:cos", "cosine")
    with pytest.raises(ValueError, match="must be 'module:attribute'"):
        registry.register("b", "math.cos", "cosine")
    assert registry.create("a", 9.0) == 3.0


def test_an_unknown_name_lists_the_choices_and_the_entry_point_group() -> None:
    with pytest.raises(ConfigError, match="describer.backend 'gpt9' is unknown; choose one of grounded, "
                                          "transformers, openai.*'brain3d.describers'"):
        DESCRIBERS.get("gpt9")


def test_the_config_rejects_an_unregistered_backend_with_the_choices(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="generator3d.backend = 'nerf'.*choose one of diffusion, layout, shap_e"):
        load_config(overrides=["generator3d.backend=nerf"])
    with pytest.raises(ConfigError, match="onnx.precision 'int4' is unknown; choose one of auto, fp32"):
        load_config(overrides=["onnx.precision=int4"])
    assert load_config(overrides=["generator3d.backend=layout"]).generator3d.backend == "layout"


def test_a_backend_whose_module_fails_to_import_names_the_cause(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    (tmp_path / "broken_backend_mod.py").write_text("raise ImportError('libfoo.so.3: cannot open shared object')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    registry = Registry("thing", "thing.kind")
    registry.register("broken", "broken_backend_mod:build", "a backend with a missing library")
    registry.register("missing", "math:no_such_function", "a typo in the factory")
    with pytest.raises(BackendError, match="importing broken_backend_mod failed .ImportError: libfoo.so.3"):
        registry.create("broken")
    with pytest.raises(BackendError, match="'math:no_such_function' is not a callable"):
        registry.create("missing")
    sys.modules.pop("broken_backend_mod", None)


def test_a_factory_that_builds_the_wrong_type_is_a_backend_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from brain3d.describe import build_describer
    from brain3d.generate3d import build_generator
    from brain3d.registry import Backend

    monkeypatch.setitem(DESCRIBERS._backends, "bogus", Backend("bogus", "builtins:str", "not a describer"))
    monkeypatch.setitem(GENERATORS._backends, "bogus", Backend("bogus", "builtins:repr", "not a generator"))
    config = load_config(overrides=["describer.backend=bogus", "generator3d.backend=bogus"])
    with pytest.raises(BackendError, match="built a str, not a brain3d.describe.base.Describer"):
        build_describer(config)
    with pytest.raises(BackendError, match="built a str, not a brain3d.generate3d.base.Generator3D"):
        build_generator(config)
