"""Viewer test set-up: a virtual X server (Xvfb) for the Qt window, and synthetic results.

The engine is not needed: tests feed the sinks synthetic ``Decoded`` / ``Cloud`` items.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import numpy as np
import pytest

from brain3d.clock import lsl_clock
from brain3d.config import ViewerConfig
from brain3d.pointcloud import PointCloud
from brain3d.results import Cloud, Decoded, Described, Trace
from brain3d.schema import Color, Description, Position, SceneObject

pytest.importorskip("pyvista", reason="the viewer needs pyvista (bash scripts/setup.sh installs it)")

#: Focus of the viewer's home camera: a cloud centred here lands in the panel's centre.
FOCUS = (0.0, 0.6, 0.0)


@pytest.fixture(scope="session")
def xvfb() -> Iterator[str]:
    """A private Xvfb display for the whole session (DISPLAY points at it)."""
    from viewer.display import VirtualDisplay

    if not VirtualDisplay.available():
        pytest.skip("Xvfb is not installed (bash scripts/setup.sh installs it: apt-get install xvfb)")
    display = VirtualDisplay()
    display.start()
    os.environ.setdefault("QT_QPA_PLATFORM", "xcb")
    yield display.display or ""
    display.stop_after_exit()  # Qt may still hold the connection until the process ends


@pytest.fixture
def viewer_config() -> ViewerConfig:
    """A small, fast window: no morph, 60 fps cap."""
    return ViewerConfig(window_size=(800, 480), morph_s=0.0, max_fps=60.0, offscreen_fps=20.0)


def cube_cloud(rgb: tuple[int, int, int], edge: float = 0.4, n: int = 4096, seed: int = 0,
               centre: tuple[float, float, float] = FOCUS) -> PointCloud:
    """Points filling a cube of ``edge`` metres at ``centre``, all of one colour."""
    rng = np.random.default_rng(seed)
    points = (rng.uniform(-edge / 2, edge / 2, (n, 3)) + np.asarray(centre)).astype(np.float32)
    colors = np.tile(np.asarray(rgb, np.uint8), (n, 1))
    return PointCloud(points, colors, "test")


def description(color: str = "blue") -> Description:
    """One cube at the focus."""
    obj = SceneObject(
        id="obj0", category="box", shape="cube", color=Color.from_name(color),
        position=Position(x=FOCUS[0], y=FOCUS[1], z=FOCUS[2]), size=0.4,
    )
    return Description(scene_type="object", objects=[obj], source="test")


def make_cloud(seq: int, rgb: tuple[int, int, int], **kwargs: object) -> Cloud:
    """A ``Cloud`` result whose trace has ``cloud`` marked now."""
    trace = Trace(lsl_clock() - 0.5)
    trace.mark("cloud", lsl_clock())
    return Cloud(seq, cube_cloud(rgb, **kwargs), description(), trace)  # type: ignore[arg-type]


def make_decoded(seq: int, rgb: tuple[int, int, int], size: int = 64) -> Decoded:
    """A ``Decoded`` result with a flat image of one colour."""
    image = np.empty((size, size, 3), np.uint8)
    image[:] = rgb
    trace = Trace(lsl_clock() - 0.1)
    trace.mark("inference", lsl_clock())
    return Decoded(seq, np.zeros(512, np.float32), image, trace, simulated=True)


def make_described(seq: int) -> Described:
    """A ``Described`` result for the cube."""
    trace = Trace(lsl_clock() - 0.3)
    trace.mark("description", lsl_clock())
    return Described(seq, description(), np.zeros((64, 64, 3), np.uint8), trace)


def color_mask(image: np.ndarray, rgb: tuple[int, int, int], tol: int = 60) -> np.ndarray:
    """Pixels whose hue is close to ``rgb`` (shading darkens: compare normalised colour)."""
    img = image[..., :3].astype(np.float32)
    target = np.asarray(rgb, np.float32)
    bright = img.max(axis=-1, keepdims=True)
    norm = img / np.maximum(bright, 1) * 255
    return (np.abs(norm - target).max(axis=-1) < tol) & (bright[..., 0] > 60)
