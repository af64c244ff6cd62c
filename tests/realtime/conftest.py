"""Fixtures of the engine tests: one fast-path session shared by all of them."""

from __future__ import annotations

from pathlib import Path

import pytest

from brain3d.config import Config, load_config
from tests.conftest import shipped_weights


def make_config(tmp_path: Path, *overrides: str) -> Config:
    """The repository configuration on CPU, session folders under ``tmp_path``."""
    return load_config(overrides=["onnx.providers=[cpu]", f"output.dir={tmp_path}", *overrides])


@pytest.fixture(scope="session")
def fast_path():
    """An open onnxruntime fast path (shipped weights, exported once)."""
    from export_onnx import open_fast_path

    config = load_config(overrides=["onnx.providers=[cpu]", "onnx.warmup_runs=2"])
    shipped_weights(config.model.weights)  # never a silent untrained stand-in
    return open_fast_path(config)
