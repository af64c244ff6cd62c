"""A saved session folder: read frame by frame, browsed in the window, rendered headless."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
from PIL import Image

from brain3d.errors import InputError
from tests.viewer.conftest import color_mask, cube_cloud, description

RED, GREEN, BLUE = (255, 0, 0), (0, 255, 0), (0, 0, 255)


def write_session(folder, image_seqs=(0, 1, 2, 3, 4, 5), cloud_seqs={1: RED, 4: BLUE}):  # noqa: B006
    """A session folder as ``brain3d run`` writes it (realtime.session layout)."""
    from brain3d.generate3d import save_ply

    for sub in ("images", "descriptions", "clouds"):
        (folder / sub).mkdir(parents=True)
    for seq in image_seqs:
        Image.fromarray(np.full((64, 64, 3), GREEN, np.uint8)).save(folder / "images" / f"{seq:08d}.png")
    traces = []
    for seq, colour in cloud_seqs.items():
        save_ply(cube_cloud(colour, n=2048, seed=seq), folder / "clouds" / f"{seq:08d}.ply")
        record = {"seq": seq, "window_end": 10.0 + seq, "description": description().model_dump(mode="json"),
                  "problems": []}
        (folder / "descriptions" / f"{seq:08d}.json").write_text(json.dumps(record))
        traces.append({"seq": seq, "window_end": 10.0 + seq, "latency_ms": {"inference": 12.0, "cloud": 310.0},
                       "stamps": {"inference": 10.012 + seq, "cloud": 10.31 + seq}})
    (folder / "traces.jsonl").write_text("\n".join(json.dumps(t) for t in traces) + "\nnot json\n")
    summary = {"source": "simulator (SIMULATED EEG)", "simulated": True, "duration_s": 1.5, "windows": 6,
               "provider": "CPUExecutionProvider",
               "stages": {"inference": {"count": 6, "p50_ms": 12.0, "p99_ms": 15.0, "skipped": 0, "errors": 0}}}
    (folder / "summary.json").write_text(json.dumps(summary))
    return folder


def test_frames_show_the_newest_results_up_to_each_window(tmp_path):
    from viewer.session import SessionFrames

    session = SessionFrames(write_session(tmp_path / "s"))
    assert len(session) == 6
    assert [f.cloud_seq for f in session.frames] == [None, 1, 1, 1, 4, 4]
    decoded, described, cloud = session.items(3)
    assert decoded.seq == 3 and decoded.image.shape == (64, 64, 3) and decoded.simulated
    assert described.seq == 1 and cloud.seq == 1
    assert cloud.cloud.n_points == 2048 and tuple(cloud.cloud.colors[0]) == RED
    assert cloud.trace.latency("cloud") == pytest.approx(0.31)
    assert session.items(0)[2] is None
    assert "frame 5/6" in session.frame_line(4) and "cloud 310" in session.frame_line(4)
    status = session.status()
    assert status.stages["inference"].p50_ms == 12.0 and status.windows == 6


def test_a_folder_without_results_is_refused_with_a_clear_error(tmp_path):
    from viewer.session import SessionFrames

    with pytest.raises(InputError, match="does not exist"):
        SessionFrames(tmp_path / "missing")
    with pytest.raises(InputError, match="no images/, descriptions/ or clouds/"):
        SessionFrames(tmp_path)


def test_headless_view_renders_every_frame_and_a_gif(tmp_path, viewer_config):
    from viewer.session import render_session

    folder = write_session(tmp_path / "s")
    frames, movie = render_session(folder, viewer_config)
    assert [p.name for p in frames] == [f"{s:08d}.png" for s in range(6)]
    assert all(p.parent == folder / "frames" / "view" for p in frames)
    split = round(viewer_config.window_size[0] * 3 / 5)
    first, second, last = (np.asarray(Image.open(frames[i]).convert("RGB")) for i in (0, 1, 5))
    assert color_mask(first[:, :split], RED).sum() == 0  # no cloud yet at window 0
    assert color_mask(second[:, :split], RED).sum() > 1000
    assert color_mask(last[:, :split], BLUE).sum() > 1000 and color_mask(last[:, :split], RED).sum() == 0
    assert color_mask(last[:, split:], GREEN).mean() > 0.1
    with Image.open(movie) as gif:
        assert gif.n_frames == 6


@pytest.mark.usefixtures("xvfb")
def test_browsing_steps_through_frames_with_the_keys(tmp_path, viewer_config):
    from qtpy import QtCore
    from qtpy.QtTest import QTest

    from viewer.session import SessionBrowser

    browser = SessionBrowser(write_session(tmp_path / "s"), viewer_config)
    window = browser.window
    seen: list[int | None] = []
    start = time.monotonic()

    def press() -> bool:
        assert time.monotonic() - start < 20
        if window.frames == 0:
            return False
        seen.append(window.scene.cloud_seq)
        if browser.index == 0:
            QTest.keyClick(window.plotter, QtCore.Qt.Key.Key_End)
        elif browser.index == 5 and window.scene.cloud_seq == 4:
            QTest.keyClick(window.plotter, QtCore.Qt.Key.Key_Left)
            QTest.keyClick(window.plotter, QtCore.Qt.Key.Key_Left)
        elif browser.index == 3 and window.scene.cloud_seq == 1:
            return True
        return False

    window.run(until=press)
    window.close()
    assert browser.index == 3
    assert 4 in seen and seen[-1] == 1
