"""The viewer's scene, drawn on any PyVista plotter (a Qt window or an offscreen one).

Layout (one render window, three viewports)::

    +-------------------------------+---------------+
    | HUD (stream, rate, latencies) | decoded image |
    |                               |   (#seq)      |
    |        point cloud            +---------------+
    |   (scene frame, floor grid)   | description   |
    |                               | (scene type,  |
    |  cloud #seq, backend, points  |  objects,     |
    +-------------------------------+  relations)   +

:class:`SceneView` owns the actors and updates them in place (the cloud's mapper stays
bound to one ``PolyData``), so an update never resets the camera: the user's orbit is
kept, and ``r`` returns to the reference viewpoint of :mod:`brain3d.schema`.
:func:`plotter_layout` gives the keyword arguments that build a plotter with this
layout, shared by :class:`viewer.LiveWindow` and :class:`viewer.OffscreenRenderer` so
both draw the same scene.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import MutableSequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from brain3d.config import ViewerConfig
from brain3d.pointcloud import PointCloud
from brain3d.results import DISPLAY_CLOUD, DISPLAY_IMAGE, Cloud, Decoded, Described, Trace
from brain3d.schema import CAMERA_POSITION, SCENE_BOUNDS, Description
from realtime.sinks import EngineStatus

if TYPE_CHECKING:
    import pyvista as pv

    from viewer.slots import SinkSlots

logger = logging.getLogger(__name__)

#: Dark background of every viewport (RGB 0..1).
BACKGROUND = (0.08, 0.09, 0.11)
#: Colour of text (RGB 0..1).
TEXT_COLOR = (0.86, 0.88, 0.9)
#: Name of the RGB point array the cloud mapper is bound to.
RGB_ARRAY = "rgb"
#: Where the cloud viewport's camera starts (and returns to on reset): the schema's
#: reference viewer, looking down -z at the scene, a little wider than its 30 degrees.
HOME_POSITION = CAMERA_POSITION
HOME_FOCUS = (0.0, CAMERA_POSITION[1], 0.0)
HOME_VIEW_ANGLE = 40.0
#: Most description lines shown (objects beyond are summarised).
MAX_DESCRIPTION_LINES = 18


def plotter_layout(config: ViewerConfig) -> dict[str, Any]:
    """Keyword arguments for a PyVista plotter with the viewer's layout.

    The cloud takes the left column (both rows), the decoded image the top right and the
    description the bottom right. Anti-aliasing is off: multisampling on Mesa's software
    rasteriser costs about two thirds of the frame rate.

    Parameters
    ----------
    config : ViewerConfig
        ``window_size`` is used.

    Returns
    -------
    dict
        ``shape``, ``groups``, ``col_weights``, ``row_weights``, ``window_size``,
        ``border`` (:class:`SceneView` turns multisampling off on the render window).
    """
    return {
        "shape": (2, 2),
        "groups": [(np.s_[:], 0)],
        "col_weights": [3, 2],
        "row_weights": [1, 1],
        "window_size": tuple(config.window_size),
        "border": False,
    }


def cloud_to_polydata(cloud: PointCloud) -> pv.PolyData:
    """One vertex per point with colours in the ``"rgb"`` point array (active scalars).

    Uses :func:`brain3d.generate3d.to_polydata` (the one conversion), and builds the
    same thing here only when that package is not importable.

    Parameters
    ----------
    cloud : PointCloud
        (N, 3) float32 metres and (N, 3) uint8 colours.

    Returns
    -------
    pyvista.PolyData
        N points, N vertex cells, point array ``"rgb"`` (N, 3) uint8 (active scalars).
    """
    try:
        from brain3d.generate3d import to_polydata
    except ImportError:
        import pyvista as pv

        poly = pv.PolyData(np.ascontiguousarray(cloud.points, dtype=np.float32))
        # pyvista stores uint8 RGB as is; its annotation only names float arrays
        poly.point_data.set_array(np.ascontiguousarray(cloud.colors, dtype=np.uint8), RGB_ARRAY)  # type: ignore[arg-type]
    else:
        poly = to_polydata(cloud)
    poly.point_data.active_scalars_name = RGB_ARRAY
    return poly


def floor_grid(step: float = 0.5) -> pv.PolyData:
    """Lines of the floor (``y = 0``) over the scene bounds, every ``step`` metres."""
    import pyvista as pv

    (x0, x1), (z0, z1) = SCENE_BOUNDS["x"], SCENE_BOUNDS["z"]
    lines = []
    for x in np.arange(x0, x1 + 1e-9, step):
        lines.append(((x, 0.0, z0), (x, 0.0, z1)))
    for z in np.arange(z0, z1 + 1e-9, step):
        lines.append(((x0, 0.0, z), (x1, 0.0, z)))
    points = np.array([p for line in lines for p in line], dtype=np.float32)
    cells = np.array([[2, 2 * i, 2 * i + 1] for i in range(len(lines))]).ravel()
    return pv.PolyData(points, lines=cells)


# ------------------------------------------------------------------------- text
def format_description(description: Description | None, seq: int | None = None) -> str:
    """Readable text of a description: scene type, objects, relations.

    Parameters
    ----------
    description : Description or None
        None gives a waiting message.
    seq : int, optional
        Window sequence number it was made from.

    Returns
    -------
    str
        At most :data:`MAX_DESCRIPTION_LINES` lines.
    """
    if description is None:
        return "description: waiting..."
    head = f"description #{seq}" if seq is not None else "description"
    timing = f", {description.timing_ms:.0f} ms" if description.timing_ms is not None else ""
    lines = [f"{head}  ({description.source}{timing})", f"scene: {description.scene_type}"]
    lines.append(f"objects ({len(description.objects)}):")
    budget = MAX_DESCRIPTION_LINES - len(lines) - 2
    shown = description.objects[: max(budget - min(len(description.spatial_relations), 4), 1)]
    for obj in shown:
        p = obj.position
        lines.append(
            f"  {obj.id}: {obj.color.name} {obj.shape} ({obj.category}) "
            f"{obj.size:.2f} m at ({p.x:+.2f}, {p.y:+.2f}, {p.z:+.2f})"
        )
    if len(shown) < len(description.objects):
        lines.append(f"  ... {len(description.objects) - len(shown)} more")
    relations = description.spatial_relations
    lines.append(f"relations ({len(relations)}):" if relations else "relations: none")
    room = MAX_DESCRIPTION_LINES - len(lines)
    for rel in relations[: max(room - 1, 0) if len(relations) > room else room]:
        lines.append(f"  {rel.subject} {rel.predicate.replace('_', ' ')} {rel.object}")
    if len(relations) > room:
        lines.append(f"  ... {len(relations) - max(room - 1, 0)} more")
    return "\n".join(lines)


def _ms(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.0f}"


def format_status(status: EngineStatus | None) -> str:
    """Heads-up text: source, stream state, rate, windows, weights, per-stage p50/p99 and skipped.

    Parameters
    ----------
    status : EngineStatus or None
        None gives a waiting message.
    """
    if status is None:
        return "engine: waiting for status..."
    label = status.source
    if status.simulated and "SIMULATED" not in label.upper():
        label += " (SIMULATED EEG)"
    lines = [
        label,
        f"stream {status.stream}  {status.sfreq:g} Hz  {status.elapsed_s:.1f} s  "
        f"{status.windows} windows" + (f"  [{status.provider}]" if status.provider else ""),
        *([f"weights: {status.weights}"] if status.weights else []),
        "stage          p50    p99 ms  skipped errors",
    ]
    for stage, fig in status.stages.items():
        lines.append(
            f"{stage:<13}{_ms(fig.p50_ms):>5} {_ms(fig.p99_ms):>6}    {fig.skipped:>6} {fig.errors:>5}"
        )
    return "\n".join(lines)


# ----------------------------------------------------------------------- scene
@dataclass
class ViewerFigures:
    """What the viewer itself has drawn.

    Attributes
    ----------
    frames : int
        Frames rendered.
    fps : float
        Frames per second over the last second or so.
    clouds_shown, images_shown : int
        Clouds and decoded images drawn.
    clouds_skipped, images_skipped : int
        Items replaced by a newer one before they could be drawn (latest-wins).
    display_latency_ms : list of float
        Recent "cloud ready -> frame shown" times (LSL clock), milliseconds.
    """

    frames: int = 0
    fps: float = 0.0
    clouds_shown: int = 0
    images_shown: int = 0
    clouds_skipped: int = 0
    images_skipped: int = 0
    display_latency_ms: list[float] = field(default_factory=list)


def _text_actor(renderer: Any, text: str, x: float, y: float, *, top: bool, size: int) -> Any:
    from vtkmodules.vtkRenderingCore import vtkTextActor

    actor = vtkTextActor()
    actor.SetInput(text)
    actor.GetPositionCoordinate().SetCoordinateSystemToNormalizedViewport()
    actor.SetPosition(x, y)
    prop = actor.GetTextProperty()
    prop.SetFontFamilyToCourier()
    prop.SetFontSize(size)
    prop.SetColor(*TEXT_COLOR)
    if top:
        prop.SetVerticalJustificationToTop()
    renderer.AddViewProp(actor)
    return actor


class SceneView:
    """The cloud, image, description and HUD on a plotter built with :func:`plotter_layout`.

    Call every method from the thread that owns the plotter (the Qt thread, or the
    offscreen renderer's thread).

    Parameters
    ----------
    plotter : pyvista.BasePlotter
        Built with ``**plotter_layout(config)``.
    config : ViewerConfig
        ``point_size``, ``spheres`` and ``morph_s`` are used.
    """

    def __init__(self, plotter: pv.BasePlotter, config: ViewerConfig) -> None:
        import pyvista as pv

        self.plotter = plotter
        self.config = config
        self.point_size = float(config.point_size)
        self.paused = False
        self.panels_visible = True
        self.hud_visible = True
        self._cloud_actor: Any = None
        self._poly = pv.PolyData()
        self._morph_from: np.ndarray | None = None
        self._morph_to: np.ndarray | None = None
        self._morph_start = 0.0
        self._status: EngineStatus | None = None
        self._viewer_line = ""
        self.cloud_seq: int | None = None
        self.image_seq: int | None = None
        self.simulated = False
        self._description_seq: int | None = None

        render_window = plotter.render_window
        if render_window is not None:
            render_window.SetMultiSamples(0)
        plotter.set_background(BACKGROUND, all_renderers=True)  # type: ignore[arg-type]  # pyvista's decorator hides the signature
        # Cloud viewport.
        plotter.subplot(0, 0)
        self.cloud_renderer = plotter.renderer
        plotter.add_mesh(floor_grid(), color=(0.3, 0.32, 0.36), line_width=1, pickable=False)
        self._hud = _text_actor(self.cloud_renderer, format_status(None), 0.01, 0.99, top=True, size=13)
        self._cloud_label = _text_actor(
            self.cloud_renderer, "point cloud: waiting...", 0.01, 0.01, top=False, size=13
        )
        self.reset_camera()
        # Image viewport: a flat grid whose cells are the pixels.
        plotter.subplot(0, 1)
        self.image_renderer = plotter.renderer
        self._image_grid = pv.ImageData()
        self._set_image_array(np.full((64, 64, 3), 40, np.uint8))
        plotter.add_mesh(self._image_grid, scalars=RGB_ARRAY, rgb=True, show_scalar_bar=False, lighting=False)
        self._image_label = _text_actor(self.image_renderer, "decoded image: waiting...", 0.02, 0.98, top=True, size=13)
        self._fit_image_camera()
        # Description viewport.
        plotter.subplot(1, 1)
        self.text_renderer = plotter.renderer
        self._description = _text_actor(self.text_renderer, format_description(None), 0.02, 0.97, top=True, size=12)
        plotter.subplot(0, 0)
        self._viewports = {
            "cloud": self.cloud_renderer.GetViewport(),
            "image": self.image_renderer.GetViewport(),
            "text": self.text_renderer.GetViewport(),
        }

    # ------------------------------------------------------------------ items
    def show_cloud(self, item: Cloud, now: float | None = None) -> None:
        """Draw ``item``'s cloud, morphing from the current one when point counts match."""
        now = time.monotonic() if now is None else now
        cloud = item.cloud
        points = np.ascontiguousarray(cloud.points, dtype=np.float32)
        if self._cloud_actor is None:
            self._poly.shallow_copy(cloud_to_polydata(cloud))
            self.plotter.subplot(0, 0)
            self._cloud_actor = self.plotter.add_mesh(
                self._poly, scalars=RGB_ARRAY, rgb=True, point_size=self.point_size,
                render_points_as_spheres=self.config.spheres, show_scalar_bar=False,
                reset_camera=False, pickable=False, name="cloud",
            )
            self._morph_from = None
        elif self.config.morph_s > 0 and self._poly.n_points == len(points):
            self._morph_from = np.array(self._poly.points, dtype=np.float32)
            self._morph_to = points
            self._morph_start = now
            self._poly.point_data[RGB_ARRAY] = np.ascontiguousarray(cloud.colors, dtype=np.uint8)
        else:
            self._poly.shallow_copy(cloud_to_polydata(cloud))
            self._morph_from = None
        self.cloud_renderer.ResetCameraClippingRange()
        self.cloud_seq = item.seq
        self._cloud_label.SetInput(
            f"cloud #{item.seq}  {cloud.source}  {cloud.n_points} points"
            + (f"  {cloud.timing_ms:.0f} ms" if cloud.timing_ms is not None else "")
        )
        if self._description_seq is None:
            self.show_description(item.description, item.seq)

    def show_decoded(self, item: Decoded) -> None:
        """Draw the decoded image (H, W, 3) uint8."""
        self._set_image_array(item.image)
        self.image_seq = item.seq
        self.simulated = self.simulated or item.simulated
        tag = "  SIMULATED EEG" if item.simulated else ""
        self._image_label.SetInput(f"decoded #{item.seq}{tag}")

    def show_description(self, description: Description, seq: int | None) -> None:
        """Write the description text (scene type, objects, relations)."""
        self._description.SetInput(format_description(description, seq))

    def show_described(self, item: Described) -> None:
        """Show a describer result (preferred over a cloud's own description)."""
        self._description_seq = item.seq
        self.show_description(item.description, item.seq)

    def show_status(self, status: EngineStatus) -> None:
        """Update the heads-up display."""
        self._status = status
        self._refresh_hud()

    def set_viewer_line(self, text: str) -> None:
        """The HUD's last line: the viewer's own figures (fps, paused)."""
        if text != self._viewer_line:
            self._viewer_line = text
            self._refresh_hud()

    def pull(self, slots: SinkSlots, now: float | None = None) -> list[tuple[Trace, str]]:
        """Take the newest items from ``slots`` and draw them (nothing while paused).

        Returns
        -------
        list of (Trace, str)
            The trace of each item drawn with the stamp it earns once the frame is on
            screen (:func:`mark_shown`): ``"display_image"`` for a decoded image,
            ``"display_cloud"`` for a cloud (a window's image and cloud share one trace).
        """
        status = slots.status.take()
        if status is not None:
            self.show_status(status)
        if self.paused:
            return []
        shown: list[tuple[Trace, str]] = []
        described = slots.described.take()
        if described is not None:
            self.show_described(described)
        decoded = slots.decoded.take()
        if decoded is not None:
            self.show_decoded(decoded)
            shown.append((decoded.trace, DISPLAY_IMAGE))
        cloud = slots.cloud.take()
        if cloud is not None:
            self.show_cloud(cloud, now)
            shown.append((cloud.trace, DISPLAY_CLOUD))
        return shown

    def advance(self, now: float | None = None) -> bool:
        """Step the morph between clouds; True when the points moved."""
        if self._morph_from is None or self._morph_to is None:
            return False
        now = time.monotonic() if now is None else now
        alpha = min(max((now - self._morph_start) / self.config.morph_s, 0.0), 1.0)
        alpha = alpha * alpha * (3.0 - 2.0 * alpha)  # smoothstep
        self._poly.points = self._morph_from + alpha * (self._morph_to - self._morph_from)
        if alpha >= 1.0:
            self._morph_from = self._morph_to = None
        return True

    @property
    def morphing(self) -> bool:
        """True while a morph is in progress."""
        return self._morph_from is not None

    # ----------------------------------------------------------------- controls
    def toggle_pause(self) -> bool:
        """Pause or resume display (items keep arriving and are counted as skipped)."""
        self.paused = not self.paused
        return self.paused

    def toggle_panels(self) -> bool:
        """Show or hide the image and description panels (the cloud fills the window)."""
        self.panels_visible = not self.panels_visible
        if self.panels_visible:
            self.cloud_renderer.SetViewport(*self._viewports["cloud"])
        else:
            self.cloud_renderer.SetViewport(0.0, 0.0, 1.0, 1.0)
        for renderer in (self.image_renderer, self.text_renderer):
            renderer.SetDraw(self.panels_visible)
        return self.panels_visible

    def toggle_hud(self) -> bool:
        """Show or hide the heads-up display."""
        self.hud_visible = not self.hud_visible
        self._hud.SetVisibility(self.hud_visible)
        return self.hud_visible

    def change_point_size(self, delta: float) -> float:
        """Make points bigger or smaller (pixels, at least 1)."""
        self.point_size = max(1.0, self.point_size + delta)
        if self._cloud_actor is not None:
            self._cloud_actor.GetProperty().SetPointSize(self.point_size)
        return self.point_size

    def reset_camera(self) -> None:
        """Return the cloud view to the schema's reference viewer."""
        camera = self.cloud_renderer.GetActiveCamera()
        camera.SetPosition(*HOME_POSITION)
        camera.SetFocalPoint(*HOME_FOCUS)
        camera.SetViewUp(0.0, 1.0, 0.0)
        camera.SetViewAngle(HOME_VIEW_ANGLE)
        self.cloud_renderer.camera_set = True  # PyVista would otherwise reset it on first render
        self.cloud_renderer.ResetCameraClippingRange()

    # ----------------------------------------------------------------- private
    def _refresh_hud(self) -> None:
        text = format_status(self._status)
        if self._viewer_line:
            text += "\n" + self._viewer_line
        self._hud.SetInput(text)

    def _set_image_array(self, image: np.ndarray) -> None:
        image = np.asarray(image)
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            logger.warning("decoded image must be (H, W, 3) uint8, got %s %s; not drawn", image.shape, image.dtype)
            return
        height, width = image.shape[:2]
        rgb = np.ascontiguousarray(image[::-1].reshape(-1, 3))  # row 0 is the image top
        grid = self._image_grid
        if tuple(grid.dimensions) != (width + 1, height + 1, 1):
            grid.dimensions = (width + 1, height + 1, 1)
            grid.cell_data.set_array(rgb, RGB_ARRAY)
            grid.cell_data.active_scalars_name = RGB_ARRAY
            if hasattr(self, "image_renderer"):
                self._fit_image_camera()
        else:
            grid.cell_data.set_array(rgb, RGB_ARRAY)
            grid.cell_data.active_scalars_name = RGB_ARRAY
        grid.Modified()

    def _fit_image_camera(self) -> None:
        width, height = (d - 1 for d in self._image_grid.dimensions[:2])
        camera = self.image_renderer.GetActiveCamera()
        camera.ParallelProjectionOn()
        # Centre a little above the image so that its title fits over it.
        centre = (width / 2, height / 2 + height * 0.07)
        camera.SetFocalPoint(*centre, 0.0)
        camera.SetPosition(*centre, 10.0 * max(width, height))
        camera.SetViewUp(0.0, 1.0, 0.0)
        camera.SetParallelScale(height * 0.6)
        self.image_renderer.camera_set = True
        self.image_renderer.ResetCameraClippingRange()


def mark_shown(shown: list[tuple[Trace, str]], stamp: float, cloud_to_display_ms: MutableSequence[float]) -> None:
    """Stamp the items a rendered frame shows (LSL time ``stamp``), as :meth:`SceneView.pull` named them.

    Appends each shown cloud's cloud -> display latency (ms) to ``cloud_to_display_ms``.
    """
    for trace, stage in shown:
        trace.mark(stage, stamp)
        if stage == DISPLAY_CLOUD and "cloud" in trace.stamps:
            cloud_to_display_ms.append((stamp - trace.stamps["cloud"]) * 1e3)
