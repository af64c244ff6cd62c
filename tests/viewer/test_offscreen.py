"""Offscreen rendering: a known cloud gives the expected picture; frames and movie on disk."""

from __future__ import annotations

import math
import time

import numpy as np
from PIL import Image

from brain3d.schema import CAMERA_POSITION
from tests.viewer.conftest import FOCUS, color_mask, make_cloud, make_decoded, make_described
from viewer.scene import HOME_VIEW_ANGLE

BLUE, YELLOW = (0, 0, 255), (255, 255, 0)


def _wait(condition, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "the renderer never got there"
        time.sleep(0.02)


def test_known_cloud_renders_where_the_reference_camera_puts_it(viewer_config, tmp_path):
    from viewer.offscreen import OffscreenRenderer

    renderer = OffscreenRenderer(viewer_config, tmp_path / "frames")
    edge = 0.4
    cloud, decoded = make_cloud(3, BLUE, edge=edge), make_decoded(3, YELLOW)
    renderer.on_described(make_described(3))
    renderer.on_decoded(decoded)
    renderer.on_cloud(cloud)
    _wait(lambda: "display_cloud" in cloud.trace.stamps)
    renderer.close()

    frames = sorted((tmp_path / "frames").glob("*.png"))
    assert frames, "no frame written"
    image = np.asarray(Image.open(frames[-1]).convert("RGB"))
    height, width = image.shape[:2]
    assert (width, height) == viewer_config.window_size
    panel_w = round(width * 3 / 5)  # the cloud panel: left 3/5, full height
    blue = color_mask(image[:, :panel_w], BLUE)
    rows, cols = np.nonzero(blue)
    # A cube centred on the camera's focus lands in the panel's centre...
    assert abs(cols.mean() - panel_w / 2) < 0.03 * panel_w
    assert abs(rows.mean() - height / 2) < 0.03 * height
    # ... with the size the perspective camera gives its near face (plus point radius).
    distance = CAMERA_POSITION[2] - FOCUS[2] - edge / 2
    pixels_per_m = height / (2 * distance * math.tan(math.radians(HOME_VIEW_ANGLE / 2)))
    expected = edge * pixels_per_m
    extent = rows.max() - rows.min()
    assert 0.9 * expected < extent < 1.1 * expected + viewer_config.point_size + 2
    assert blue.mean() > 0.5 * expected**2 / (panel_w * height)  # filled, not a few dots
    # The decoded image fills the top-right panel's middle; no stray colours elsewhere.
    top_right = image[: height // 2, panel_w:]
    assert color_mask(top_right, YELLOW).mean() > 0.3
    assert color_mask(image[:, :panel_w], YELLOW).sum() == 0
    assert color_mask(image[:, panel_w:], BLUE).sum() == 0
    # Display stamped after the cloud was ready; movie made from the frames.
    assert cloud.trace.stamps["display_cloud"] >= cloud.trace.stamps["cloud"]
    assert decoded.trace.stamps["display_image"] >= decoded.trace.stamps["inference"]
    assert renderer.movie_path == tmp_path / "frames" / "session.gif"
    with Image.open(renderer.movie_path) as gif:
        assert gif.n_frames == len(frames)


def test_offscreen_keeps_up_with_a_stream_and_counts_what_it_skipped(viewer_config, tmp_path):
    from viewer.offscreen import OffscreenRenderer

    config = viewer_config.model_copy(update={"offscreen_fps": 5.0, "movie": "none"})
    renderer = OffscreenRenderer(config, tmp_path)
    clouds = []
    for seq in range(20):  # 20 clouds in ~1 s: faster than 5 frames/s, so most are skipped
        clouds.append(make_cloud(seq, BLUE, n=512, seed=seq))
        renderer.on_cloud(clouds[-1])
        renderer.on_decoded(make_decoded(seq, YELLOW))
        time.sleep(0.05)
    _wait(lambda: "display_cloud" in clouds[-1].trace.stamps)
    renderer.close()
    renderer.close()  # idempotent
    figures = renderer.figures
    assert figures.clouds_shown + figures.clouds_skipped == 20
    assert figures.clouds_skipped > 0
    assert figures.frames <= 20 and figures.frames == len(list(tmp_path.glob("*.png")))
    assert renderer.movie_path is None
    shown = [c for c in clouds if "display_cloud" in c.trace.stamps]
    assert len(shown) == figures.clouds_shown


def test_offscreen_renderer_works_without_an_x_display(viewer_config, tmp_path, monkeypatch):
    """No DISPLAY: VTK falls back to EGL/OSMesa (Mesa), as on a headless server."""
    import subprocess
    import sys

    code = (
        "import os, sys, numpy as np\n"
        "from pathlib import Path\n"
        "from brain3d.config import ViewerConfig\n"
        "from viewer.offscreen import open_offscreen_plotter, render_frame\n"
        "plotter, scene = open_offscreen_plotter(ViewerConfig(window_size=(400, 300)))\n"
        "frame = render_frame(plotter)\n"
        "print(type(plotter.render_window).__name__, frame.shape, float(frame.mean()))\n"
    )
    env = {k: v for k, v in __import__("os").environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    name, *_ = result.stdout.split()
    assert name in ("vtkEGLRenderWindow", "vtkOSOpenGLRenderWindow"), result.stdout
    assert "(300, 400, 3)" in result.stdout


def test_a_malformed_image_is_skipped_and_drawing_goes_on(viewer_config, tmp_path, caplog):
    from brain3d.results import Decoded, Trace
    from viewer.offscreen import OffscreenRenderer

    renderer = OffscreenRenderer(viewer_config.model_copy(update={"movie": "none"}), tmp_path)
    bad = Decoded(0, np.zeros(512, np.float32), np.zeros((64, 64), np.float32), Trace(0.0))
    renderer.on_decoded(bad)
    cloud = make_cloud(1, BLUE)
    renderer.on_cloud(cloud)
    _wait(lambda: "display_cloud" in cloud.trace.stamps)
    renderer.close()
    assert "decoded image must be (H, W, 3) uint8" in caplog.text
    assert renderer.figures.frames >= 1
