"""The live window: a Qt main window around a PyVista interactor (pyvistaqt).

:class:`LiveWindow` is a :class:`realtime.sinks.Sink`: the engine's threads call its
``on_*`` methods, which only store the newest item (:mod:`viewer.slots`), so drawing
never blocks acquisition or inference. A Qt timer in the main thread takes what is new
at most ``viewer.max_fps`` times a second, draws it (:class:`viewer.scene.SceneView`),
and stamps ``"display_cloud"`` / ``"display_image"`` on the traces of the cloud and image it drew when VTK has
rendered the frame that shows them.

Keys (in the window)
--------------------
``space`` pause / resume display, ``s`` save a screenshot (PNG), ``r`` reset the camera
to the reference viewpoint, ``i`` hide / show the image and description panels, ``h``
hide / show the heads-up display, ``+`` / ``-`` point size, ``q`` or closing the window
stops the run (``on_close``). The mouse orbits (left), pans (middle) and zooms (wheel);
the orbit is kept across updates.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from brain3d.clock import lsl_clock
from brain3d.config import ViewerConfig
from brain3d.errors import BackendError
from brain3d.results import Trace
from viewer.scene import SceneView, ViewerFigures, mark_shown, plotter_layout
from viewer.slots import SlotSink

logger = logging.getLogger(__name__)

#: One line of help, shown in the window title bar's tooltip and logged at start.
KEY_HELP = "space pause | s screenshot | r reset camera | i panels | h HUD | +/- point size | q close"


def _qt() -> tuple[Any, Any, Any]:
    try:
        from pyvistaqt import QtInteractor
        from qtpy import QtCore, QtWidgets
    except Exception as exc:  # ImportError, or qtpy finding no binding
        raise BackendError(
            f"the live window needs pyvistaqt and a Qt binding (PySide6): {exc}. Run `bash scripts/setup.sh`, "
            "or use --headless"
        ) from exc
    return QtWidgets, QtCore, QtInteractor


def _running_qapp() -> Any:
    """The running QApplication, or None (without importing Qt when none can exist)."""
    if "qtpy" not in sys.modules and "PySide6" not in sys.modules and "PyQt5" not in sys.modules:
        return None
    QtWidgets, _, _ = _qt()
    return QtWidgets.QApplication.instance()


class LiveWindow(SlotSink):
    """The live PyVista window, a :class:`realtime.sinks.Sink`.

    Build it and call :meth:`run` in the main thread; ``on_*`` may be called from any
    thread, :meth:`close` too.

    Parameters
    ----------
    config : ViewerConfig
        ``max_fps``, ``window_size``, ``point_size``, ``spheres``, ``morph_s``.
    on_close : callable
        Called once when the user closes the window (or presses ``q``): stop the run.
    title : str
        Window title.
    screenshot_dir : Path, optional
        Where ``s`` saves screenshots (default: the current folder).
    """

    def __init__(
        self, config: ViewerConfig, on_close: Callable[[], None], *, title: str = "Brain3D Live",
        screenshot_dir: Path | None = None,
    ) -> None:
        super().__init__()
        from viewer.display import check_qt_display

        if _running_qapp() is None:  # Qt would abort the process on a bad display: check first
            check_qt_display()
        QtWidgets, QtCore, QtInteractor = _qt()
        self.config = config
        self.on_close = on_close
        self.screenshot_dir = Path(screenshot_dir) if screenshot_dir is not None else Path.cwd()
        self._gui_thread = threading.get_ident()
        self._app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([sys.argv[0] or "brain3d"])
        self._close_requested = threading.Event()
        self._user_closed = False
        self._closed = False
        self._until: Callable[[], bool] = lambda: False
        self._frame_times: deque[float] = deque(maxlen=120)
        self._latency_ms: deque[float] = deque(maxlen=1000)
        self.frames = 0
        self._hud_time = 0.0
        self._viewer_line = ""
        self._note = ""

        owner = self

        class _MainWindow(QtWidgets.QMainWindow):  # type: ignore[name-defined]  # qtpy is imported at run time
            def closeEvent(self, event: Any) -> None:  # noqa: N802 - Qt's name
                owner._on_window_closed()
                super().closeEvent(event)

        self._window = _MainWindow()
        self._window.setWindowTitle(title)
        self._window.setToolTip(KEY_HELP)
        layout = plotter_layout(config)
        width, height = layout.pop("window_size")
        self._window.resize(width, height)
        self.plotter = QtInteractor(self._window, auto_update=False, multi_samples=0, **layout)
        self._window.setCentralWidget(self.plotter)
        self.scene = SceneView(self.plotter, config)
        self._pending: list[tuple[Trace, str]] = []  # traces of items drawn, stamped when the frame is rendered
        self.plotter.render_window.AddObserver("EndEvent", self._on_rendered)
        self._bind_keys()
        self._timer = QtCore.QTimer()
        self._timer.setInterval(max(1, int(1000 / config.max_fps)))
        self._timer.timeout.connect(self._tick)

    # ------------------------------------------------------------------ public
    def run(self, until: Callable[[], bool] | None = None) -> None:
        """Show the window and run the Qt loop in this (the main) thread.

        Returns when the window is closed (``on_close`` has then been called), when
        ``until()`` is true (checked in the GUI thread before every frame; the window is
        then closed without calling ``on_close``), or after :meth:`close`.

        Parameters
        ----------
        until : callable, optional
            E.g. ``lambda: engine.finished``.
        """
        if threading.get_ident() != self._gui_thread:
            raise BackendError("LiveWindow.run must be called in the thread that built the window (the main thread)")
        if self._closed:
            return
        self._until = until or (lambda: False)
        logger.info("live window: %s", KEY_HELP)
        self._window.show()
        self._timer.start()
        self._app.exec() if hasattr(self._app, "exec") else self._app.exec_()
        self._timer.stop()
        self._closed = True

    def close(self) -> None:
        """End :meth:`run` soon (any thread; idempotent). Does not call ``on_close``."""
        self._close_requested.set()
        if threading.get_ident() == self._gui_thread and not self._window.isVisible():
            self._shutdown()

    def screenshot(self, path: Path | None = None) -> np.ndarray:
        """The current frame (H, W, 3) uint8 RGB, also saved as PNG when ``path`` is given.

        Call from the GUI thread (e.g. inside ``until``).
        """
        image = np.asarray(self.plotter.screenshot(return_img=True))
        if path is not None:
            from PIL import Image

            Path(path).parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(image).save(path)
            logger.info("screenshot saved to %s", path)
        return image

    @property
    def figures(self) -> ViewerFigures:
        """Frames drawn, frame rate, clouds and images drawn and skipped, display latencies."""
        times = list(self._frame_times)
        fps = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 and times[-1] > times[0] else 0.0
        return ViewerFigures(
            frames=self.frames, fps=fps,
            **self.slots.counts(),
            display_latency_ms=list(self._latency_ms),
        )

    @property
    def user_closed(self) -> bool:
        """True when the user closed the window."""
        return self._user_closed

    # ------------------------------------------------------------------ keys
    def _bind_keys(self) -> None:
        plotter = self.plotter
        # VTK's own one-letter keys ('r' fit-all, 'e'/'q' exit, 'w'/'s' representation,
        # '3' stereo, ...) come as CharEvents; drop them so that only ours act.
        plotter.iren.interactor.RemoveObservers("CharEvent")
        for key in ("q", "plus", "minus"):
            plotter.clear_events_for_key(key)
        plotter.add_key_event("q", lambda: self._window.close())
        plotter.add_key_event("space", self._toggle_pause)
        plotter.add_key_event("s", self._save_screenshot)

        def redraw_after(action: Callable[[], object]) -> Callable[[], None]:
            def run() -> None:
                action()
                self._render()  # show the change even while paused or idle

            return run

        plotter.add_key_event("r", redraw_after(self.scene.reset_camera))
        plotter.add_key_event("i", redraw_after(self.scene.toggle_panels))
        plotter.add_key_event("h", redraw_after(self.scene.toggle_hud))
        plotter.add_key_event("plus", redraw_after(lambda: self.scene.change_point_size(+1)))
        plotter.add_key_event("minus", redraw_after(lambda: self.scene.change_point_size(-1)))

    def _toggle_pause(self) -> None:
        paused = self.scene.toggle_pause()
        logger.info("display %s", "paused" if paused else "resumed")
        self._render()

    def _save_screenshot(self) -> None:
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S.%f")[:-3]
        self.screenshot(self.screenshot_dir / f"brain3d-screenshot-{stamp}.png")

    # ------------------------------------------------------------------ loop
    def _tick(self) -> None:
        if self._close_requested.is_set() or self._until():
            self._shutdown()
            return
        now = time.monotonic()
        try:
            shown = self.scene.pull(self.slots, now)
            moved = self.scene.advance(now)
        except Exception:  # noqa: BLE001 - a bad item must not stop the window
            logger.exception("live window could not draw an item")
            return
        self._pending.extend(shown)
        if shown or moved or self._hud_due(now):
            self._render()

    def _hud_due(self, now: float) -> bool:
        """Refresh the viewer's own HUD line about once a second, even when idle."""
        if now - self._hud_time < 1.0:
            return False
        self._hud_time = now
        figures = self.figures
        self._viewer_line = (
            f"viewer {figures.fps:4.1f} fps  clouds {figures.clouds_shown} (skipped {figures.clouds_skipped})"
            + ("  [PAUSED: space]" if self.scene.paused else "")
        )
        self._update_viewer_line()
        return True

    def set_note(self, text: str) -> None:
        """A line of text under the heads-up display (e.g. the frame of a browsed session)."""
        self._note = text
        self._update_viewer_line()

    def _update_viewer_line(self) -> None:
        self.scene.set_viewer_line("\n".join(t for t in (self._viewer_line, self._note) if t))

    def _render(self) -> None:
        """Ask Qt for a repaint: the widget's paintGL renders once and shows the frame.

        ``plotter.render()`` would render now *and* schedule that repaint, which renders
        again (pyvistaqt's QOpenGLWidget always renders in paintGL): twice the work.
        """
        self.plotter.update()

    def _on_rendered(self, *_: object) -> None:
        """VTK finished a frame (render window EndEvent): stamp what it shows."""
        stamp = lsl_clock()
        self.frames += 1
        self._frame_times.append(time.monotonic())
        mark_shown(self._pending, stamp, self._latency_ms)
        self._pending.clear()

    def _on_window_closed(self) -> None:
        """Qt close event: the user closed the window unless we are shutting down."""
        if not self._closed and not self._close_requested.is_set() and not self._user_closed:
            self._user_closed = True
            logger.info("window closed by the user: stopping the run")
            try:
                self.on_close()
            except Exception:  # noqa: BLE001 - closing must always work
                logger.exception("on_close failed")
        self._timer.stop()
        self._closed = True
        self._app.quit()

    def _shutdown(self) -> None:
        self._close_requested.set()
        self._timer.stop()
        if self._window.isVisible():
            self._window.close()
        try:
            self.plotter.close()
        except Exception:  # noqa: BLE001
            logger.debug("plotter close failed", exc_info=True)
        self._closed = True
        self._app.quit()
