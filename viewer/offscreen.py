"""Offscreen rendering for headless runs: PNG frames and a GIF or MP4 of the session.

:class:`OffscreenRenderer` is a :class:`realtime.sinks.Sink`. Its ``on_*`` methods only
store the newest item; a thread of its own owns an offscreen PyVista plotter with the
same scene as the live window (:class:`viewer.scene.SceneView`), draws whatever is new at
most ``viewer.offscreen_fps`` times a second, writes each frame to
``frames/<n:06d>.png`` and stamps ``"display_image"`` / ``"display_cloud"`` on the traces it drew. ``close()``
stops the thread and makes the movie from the frames on disk.

Without ``DISPLAY`` VTK's wheels render through EGL or OSMesa (Mesa); nothing here needs
an X server or Qt.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from brain3d.clock import lsl_clock
from brain3d.config import ViewerConfig
from brain3d.errors import BackendError
from brain3d.results import Cloud, Decoded, Described, Trace
from viewer.display import has_display
from viewer.scene import SceneView, ViewerFigures, mark_shown, plotter_layout
from viewer.slots import SlotSink

logger = logging.getLogger(__name__)

#: Most frames that go into the movie (longer sessions are subsampled evenly).
MAX_MOVIE_FRAMES = 600
#: Movie frame width in pixels (frames are scaled down to it, keeping the aspect).
MOVIE_WIDTH = 640


def choose_headless_backend() -> str | None:
    """Without a display, point VTK at EGL (or OSMesa) directly.

    VTK would find them itself after trying X and logging a "bad X server connection"
    warning; naming the window class skips that. Sets ``VTK_DEFAULT_OPENGL_WINDOW``
    unless it is set already or a display exists; returns the class chosen (or None).
    """
    import ctypes.util

    if has_display() or os.environ.get("VTK_DEFAULT_OPENGL_WINDOW"):
        return None
    choice = "vtkEGLRenderWindow" if ctypes.util.find_library("EGL") else "vtkOSOpenGLRenderWindow"
    os.environ["VTK_DEFAULT_OPENGL_WINDOW"] = choice
    logger.debug("no display: VTK renders offscreen with %s", choice)
    return choice


def open_offscreen_plotter(config: ViewerConfig) -> tuple[object, SceneView]:
    """An offscreen plotter with the viewer's scene on it (call from the drawing thread)."""
    choose_headless_backend()
    import pyvista as pv

    plotter = pv.Plotter(off_screen=True, **plotter_layout(config))
    return plotter, SceneView(plotter, config)


def render_frame(plotter: object) -> np.ndarray:
    """Render and read back the frame: (H, W, 3) uint8 RGB."""
    plotter.render()  # type: ignore[attr-defined]
    return np.asarray(plotter.screenshot(return_img=True))  # type: ignore[attr-defined]


def write_movie(
    frames: Sequence[Path], path: Path, *, durations_ms: Sequence[float] | None = None,
    fps: float = 5.0,
) -> Path | None:
    """Make a GIF (Pillow) or MP4 (imageio-ffmpeg) from PNG frames.

    Parameters
    ----------
    frames : sequence of Path
        PNG files in display order; more than :data:`MAX_MOVIE_FRAMES` are subsampled.
    path : Path
        ``.gif`` or ``.mp4``.
    durations_ms : sequence of float, optional
        How long each frame was on screen (GIF only); default ``1000 / fps``.
    fps : float
        Frame rate of an MP4, and the default GIF frame time.

    Returns
    -------
    Path or None
        ``path``, or None when there were no frames.
    """
    from PIL import Image

    if not frames:
        return None
    step = max(1, int(np.ceil(len(frames) / MAX_MOVIE_FRAMES)))
    chosen = list(range(0, len(frames), step))
    if durations_ms is None:
        durations = [1000.0 / fps * step] * len(chosen)
    else:
        durations = [float(sum(durations_ms[i : i + step])) for i in chosen]

    def load(i: int) -> Image.Image:
        with Image.open(frames[i]) as image:
            image = image.convert("RGB")
            height = round(image.height * MOVIE_WIDTH / image.width)
            return image.resize((MOVIE_WIDTH, height - height % 2), Image.Resampling.BILINEAR)

    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".mp4":
        try:
            import imageio_ffmpeg
        except ImportError as exc:
            raise BackendError(
                "MP4 needs imageio-ffmpeg: `.venv/bin/pip install imageio-ffmpeg`, or set viewer.movie=gif"
            ) from exc
        first = load(chosen[0])
        writer = imageio_ffmpeg.write_frames(str(path), first.size, fps=fps / step, macro_block_size=2)
        writer.send(None)
        writer.send(np.asarray(first).tobytes())
        for i in chosen[1:]:
            writer.send(np.asarray(load(i)).tobytes())
        writer.close()
        return path
    images = (load(i) for i in chosen[1:])
    first = load(chosen[0])
    first.save(
        path, save_all=True, append_images=images, loop=0, optimize=False,
        duration=[max(20, round(d)) for d in durations],
    )
    return path


class OffscreenRenderer(SlotSink):
    """A :class:`realtime.sinks.Sink` that renders the live scene offscreen to frames.

    Parameters
    ----------
    config : ViewerConfig
        ``offscreen_fps``, ``movie``, ``window_size`` and the drawing options are used.
    frames_dir : Path
        Where ``<n:06d>.png`` frames go (created); the movie is ``frames_dir/session.gif``
        (or ``.mp4``).

    Attributes
    ----------
    movie_path : Path or None
        The movie written by ``close()`` (None before, or when there were no frames).
    """

    def __init__(self, config: ViewerConfig, frames_dir: Path) -> None:
        super().__init__()
        self.config = config
        self.frames_dir = Path(frames_dir)
        self.frames_dir.mkdir(parents=True, exist_ok=True)
        self.movie_path: Path | None = None
        self._frames: list[Path] = []
        self._frame_times: list[float] = []
        self._latency_ms: deque[float] = deque(maxlen=1000)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._closed = False
        self._thread = threading.Thread(target=self._loop, name="offscreen-renderer", daemon=True)
        self._thread.start()
        self._ready.wait(timeout=30)
        if self._error is not None:
            raise BackendError(f"offscreen rendering could not start: {self._error}") from self._error

    # Sink: wake the drawing thread on what changes the picture.
    def on_decoded(self, item: Decoded) -> None:  # noqa: D102
        super().on_decoded(item)
        self._wake.set()

    def on_described(self, item: Described) -> None:  # noqa: D102
        super().on_described(item)
        self._wake.set()

    def on_cloud(self, item: Cloud) -> None:  # noqa: D102
        super().on_cloud(item)
        self._wake.set()

    @property
    def figures(self) -> ViewerFigures:
        """Frames written, clouds and images drawn and skipped, display latencies."""
        times = self._frame_times
        recent = [t for t in times[-200:] if t > (times[-1] - 2.0)] if times else []
        fps = (len(recent) - 1) / (recent[-1] - recent[0]) if len(recent) > 1 and recent[-1] > recent[0] else 0.0
        return ViewerFigures(
            frames=len(self._frames), fps=fps,
            **self.slots.counts(),
            display_latency_ms=list(self._latency_ms),
        )

    def close(self) -> None:
        """Draw what is pending, stop the thread and write the movie (idempotent)."""
        if self._closed:
            return
        self._closed = True
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=30)
        if self._thread.is_alive():
            logger.error("offscreen renderer did not stop within 30 s; movie not written")
            return
        if self.config.movie != "none" and self._frames:
            durations = np.diff(self._frame_times + [self._frame_times[-1] + 1.0 / self.config.offscreen_fps]) * 1e3
            path = self.frames_dir / f"session.{self.config.movie}"
            try:
                self.movie_path = write_movie(
                    self._frames, path, durations_ms=list(durations), fps=self.config.offscreen_fps
                )
                logger.info("wrote %d frames and %s", len(self._frames), self.movie_path)
            except BackendError as exc:
                logger.error("%s", exc)

    # ---------------------------------------------------------------- thread
    def _loop(self) -> None:
        try:
            plotter, scene = open_offscreen_plotter(self.config)
        except Exception as exc:  # noqa: BLE001 - reported to the constructor
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        period = 1.0 / self.config.offscreen_fps
        last = -np.inf
        try:
            while True:
                stopping = self._stop.is_set()
                wait = period - (time.monotonic() - last)
                if wait > 0 and not stopping:
                    self._stop.wait(wait)  # at most offscreen_fps frames a second
                    continue
                self._wake.clear()
                now = time.monotonic()
                shown = scene.pull(self.slots, now)
                moved = scene.advance(now)
                if shown or moved:
                    try:
                        self._write(plotter, scene, shown)
                    except Exception:  # noqa: BLE001 - never let drawing stop the run
                        logger.exception("offscreen frame failed")
                    last = now
                elif not stopping:
                    self._wake.wait(timeout=period)
                if stopping and not scene.morphing:
                    break
        finally:
            plotter.close()  # type: ignore[attr-defined]

    def _write(self, plotter: object, scene: SceneView, shown: list[tuple[Trace, str]]) -> None:
        from PIL import Image

        figures = self.figures
        scene.set_viewer_line(
            f"offscreen  frame {figures.frames + 1}  clouds {figures.clouds_shown}"
            f" (skipped {figures.clouds_skipped})"
        )
        frame = render_frame(plotter)
        stamp = lsl_clock()
        mark_shown(shown, stamp, self._latency_ms)
        path = self.frames_dir / f"{len(self._frames):06d}.png"
        Image.fromarray(frame).save(path, compress_level=1)
        self._frames.append(path)
        self._frame_times.append(time.monotonic())
