"""The live window under Xvfb: opens, updates, shows cloud and image, stops on close."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from tests.viewer.conftest import color_mask, make_cloud, make_decoded, make_described

RED, GREEN, BLUE = (255, 0, 0), (0, 255, 0), (0, 0, 255)

pytestmark = pytest.mark.usefixtures("xvfb")


def _window(config, on_close=lambda: None):
    from viewer.live import LiveWindow

    return LiveWindow(config, on_close)


def _run_until(window, condition, timeout_s: float = 20.0) -> None:
    """Run the window until ``condition()``; its failures end the loop and are raised here."""
    start = time.monotonic()
    failures: list[BaseException] = []

    def until() -> bool:
        try:
            if time.monotonic() - start > timeout_s:
                raise AssertionError("the window never reached the expected state")
            return condition()
        except BaseException as exc:  # an exception in a Qt slot would not stop the loop
            failures.append(exc)
            return True

    window.run(until=until)
    if failures:
        raise failures[0]


def test_window_shows_the_cloud_and_the_image(viewer_config, tmp_path):
    window = _window(viewer_config)
    cloud, decoded = make_cloud(1, RED), make_decoded(1, GREEN)
    window.on_decoded(decoded)
    window.on_described(make_described(1))
    window.on_cloud(cloud)
    shots: list[np.ndarray] = []

    def shown() -> bool:
        if "display_cloud" in cloud.trace.stamps:  # a frame showing the cloud was rendered
            shots.append(window.screenshot(tmp_path / "shot.png"))
            return True
        return False

    _run_until(window, shown)
    window.close()
    image = shots[0]
    height, width = image.shape[:2]
    assert (tmp_path / "shot.png").stat().st_size > 1000
    split = int(width * 0.6)  # cloud panel: left 3/5; image: top right
    red_left = color_mask(image[:, :split], RED).sum()
    red_right = color_mask(image[:, split:], RED).sum()
    green_top_right = color_mask(image[: height // 2, split:], GREEN).mean()
    assert red_left > 2000, "the red cloud is not in the cloud panel"
    assert red_right == 0
    assert green_top_right > 0.3, "the green decoded image is not in the top-right panel"
    assert color_mask(image[:, :split], GREEN).sum() == 0
    # The display stage is stamped on what was shown, after it was ready.
    assert cloud.trace.stamps["display_cloud"] >= cloud.trace.stamps["cloud"]
    assert decoded.trace.stamps["display_image"] >= decoded.trace.stamps["inference"]
    assert window.figures.display_latency_ms and window.figures.display_latency_ms[0] >= 0


def test_window_updates_with_new_clouds_and_keeps_the_camera(viewer_config):
    window = _window(viewer_config)
    last = 6
    stop = threading.Event()

    def feed() -> None:  # an engine thread: clouds and images arrive while the window draws
        for seq in range(last + 1):
            colour = RED if seq < last else BLUE
            window.on_decoded(make_decoded(seq, colour))
            window.on_cloud(make_cloud(seq, colour, seed=seq))
            if stop.wait(0.08):
                return

    feeder = threading.Thread(target=feed)
    shots: list[np.ndarray] = []
    camera_before: list[tuple] = []

    def latest_shown() -> bool:
        if window.frames >= 1 and not camera_before:
            camera = window.scene.cloud_renderer.GetActiveCamera()
            camera.Azimuth(20.0)  # the user orbits a little
            camera_before.append(camera.GetPosition())
        if window.scene.cloud_seq == last:
            shots.append(window.screenshot())
            return True
        return False

    feeder.start()
    try:
        _run_until(window, latest_shown)
    finally:
        stop.set()
        feeder.join()
    camera_after = window.scene.cloud_renderer.GetActiveCamera().GetPosition()
    window.close()
    figures = window.figures
    assert figures.clouds_shown >= 2 and figures.frames >= 2
    assert figures.clouds_shown + figures.clouds_skipped == last + 1
    image = shots[0]
    split = int(image.shape[1] * 0.6)
    assert color_mask(image[:, :split], BLUE).sum() > 2000, "the newest (blue) cloud is not shown"
    assert color_mask(image[:, :split], RED).sum() == 0, "an old (red) cloud is still shown"
    np.testing.assert_allclose(camera_after, camera_before[0], atol=1e-6)


def test_closing_the_window_calls_on_close_and_ends_run(viewer_config):
    calls: list[float] = []
    window = _window(viewer_config, on_close=lambda: calls.append(time.monotonic()))
    window.on_cloud(make_cloud(0, RED))

    def user_closes() -> bool:
        if window.frames >= 1:
            window._window.close()  # what the title bar's close button does
        return False

    _run_until(window, user_closes)
    assert calls and len(calls) == 1
    assert window.user_closed


def test_until_and_close_from_another_thread_end_run_without_on_close(viewer_config):
    calls: list[int] = []
    window = _window(viewer_config, on_close=lambda: calls.append(1))
    timer = threading.Timer(0.5, window.close)  # e.g. the engine finished
    timer.start()
    start = time.monotonic()
    window.run(until=lambda: time.monotonic() - start > 15)
    timer.join()
    assert time.monotonic() - start < 10
    assert calls == [] and not window.user_closed


def test_keys_pause_toggle_panels_and_close(viewer_config):
    from qtpy import QtCore
    from qtpy.QtTest import QTest

    calls: list[int] = []
    window = _window(viewer_config, on_close=lambda: calls.append(1))
    window.on_cloud(make_cloud(0, RED))
    steps: list[str] = []

    def press_keys() -> bool:
        if window.scene.cloud_seq is None:  # the first cloud is not drawn yet
            return False
        if not steps:
            QTest.keyClick(window.plotter, QtCore.Qt.Key.Key_Space)
            assert window.scene.paused
            window.on_cloud(make_cloud(1, BLUE))  # arrives while paused: not drawn
            steps.append("paused")
        elif steps == ["paused"]:
            assert window.scene.cloud_seq == 0
            QTest.keyClick(window.plotter, QtCore.Qt.Key.Key_Space)
            assert not window.scene.paused
            QTest.keyClick(window.plotter, QtCore.Qt.Key.Key_I)
            assert not window.scene.panels_visible
            steps.append("resumed")
        elif window.scene.cloud_seq == 1:
            image = window.screenshot()
            # Panels hidden: the cloud viewport fills the window, so the cloud (at the
            # camera's focus) moves from the left panel's centre to the window's centre.
            cols = np.nonzero(color_mask(image, BLUE))[1]
            assert cols.size > 1000
            assert abs(cols.mean() - image.shape[1] / 2) < 0.03 * image.shape[1]
            QTest.keyClick(window.plotter, QtCore.Qt.Key.Key_Q)
        return False

    _run_until(window, press_keys)
    assert calls == [1]
