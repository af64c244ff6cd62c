"""One exported graph per test session (exporting takes seconds)."""

from __future__ import annotations

import pytest

from export_onnx import export_fast_path
from tests.conftest import make_model


@pytest.fixture(scope="session")
def exported(tmp_path_factory):
    """(model, path, metadata) of an fp32 export of a 64-channel, 256-sample model."""
    model = make_model(seed=7)
    path = tmp_path_factory.mktemp("onnx") / "fastpath.onnx"
    metadata = export_fast_path(model, path, normalization="window_zscore", trained=False)
    return model, path, metadata
