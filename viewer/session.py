"""A saved session folder, frame by frame: browse it in the window or render it to frames.

The folder is the one :mod:`realtime.session` writes (``images/<seq>.png``,
``descriptions/<seq>.json``, ``clouds/<seq>.ply``, ``traces.jsonl``, ``summary.json``).
A *frame* is one window sequence number that has an image, a description or a cloud;
it shows what the live window showed then: the newest image, description and cloud at
or before that sequence number.

``brain3d view SESSION`` opens :func:`browse_session` (keys: ``Right``/``Left`` next /
previous frame, ``Next``/``Prior`` (Page Down / Up) ten frames, ``Home``/``End``, plus the
live window's keys); ``--headless`` runs :func:`render_session` to PNG frames and a movie.
"""

from __future__ import annotations

import bisect
import json
import logging
import math
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from brain3d.config import ViewerConfig
from brain3d.errors import InputError
from brain3d.latency import read_latency_figures
from brain3d.pointcloud import PointCloud
from brain3d.results import Cloud, Decoded, Described, Trace
from brain3d.schema import Description
from realtime.sinks import EngineStatus, StageFigures

logger = logging.getLogger(__name__)

#: Clouds kept in memory while browsing.
CLOUD_CACHE = 16


def _seqs(folder: Path, suffix: str) -> list[int]:
    if not folder.is_dir():
        return []
    seqs = []
    for path in folder.glob(f"*{suffix}"):
        try:
            seqs.append(int(path.stem))
        except ValueError:
            logger.debug("ignoring %s (not <seq>%s)", path, suffix)
    return sorted(seqs)


def _load_ply(path: Path) -> PointCloud:
    try:
        from brain3d.generate3d import load_ply
    except ImportError:  # the 3D package is optional for browsing
        import trimesh

        loaded: Any = trimesh.load(str(path), file_type="ply", process=False)  # a PointCloud for a .ply of points
        points = np.asarray(loaded.vertices, dtype=np.float32)
        colors = getattr(loaded, "colors", None)
        if colors is None or len(colors) != len(points):
            colors = np.full((len(points), 3), 255, np.uint8)
        return PointCloud(points, np.asarray(colors)[:, :3].astype(np.uint8), "ply")
    return load_ply(path, source="session")


@dataclass(frozen=True)
class Frame:
    """What one frame shows: sequence numbers of the newest image, description, cloud."""

    seq: int
    image_seq: int | None
    description_seq: int | None
    cloud_seq: int | None


class SessionFrames:
    """Read a session folder frame by frame.

    Parameters
    ----------
    path : Path
        A session folder (``<output.dir>/<UTC time>-<source>/``).

    Raises
    ------
    InputError
        The folder does not exist or holds no images, descriptions or clouds.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        if not self.path.is_dir():
            raise InputError(f"session folder {self.path} does not exist; pass a folder from output.dir (e.g. sessions/...)")
        self.image_seqs = _seqs(self.path / "images", ".png")
        self.description_seqs = _seqs(self.path / "descriptions", ".json")
        self.cloud_seqs = _seqs(self.path / "clouds", ".ply")
        seqs = sorted(set(self.image_seqs) | set(self.description_seqs) | set(self.cloud_seqs))
        if not seqs:
            raise InputError(
                f"{self.path} holds no images/, descriptions/ or clouds/ files; is it a session folder "
                "written by `brain3d run`?"
            )
        self.frames = [
            Frame(s, _latest(self.image_seqs, s), _latest(self.description_seqs, s), _latest(self.cloud_seqs, s))
            for s in seqs
        ]
        self.traces = self._read_traces()
        self.summary = self._read_json(self.path / "summary.json")
        self._clouds: OrderedDict[int, PointCloud] = OrderedDict()

    def __len__(self) -> int:
        return len(self.frames)

    # ------------------------------------------------------------------ items
    def image(self, seq: int) -> np.ndarray:
        """Decoded image of window ``seq``: (H, W, 3) uint8."""
        from PIL import Image

        with Image.open(self.path / "images" / f"{seq:08d}.png") as image:
            return np.asarray(image.convert("RGB"))

    def description(self, seq: int) -> Description:
        """Description of window ``seq`` (a bare description, or the session writer's record)."""
        path = self.path / "descriptions" / f"{seq:08d}.json"
        data = json.loads(path.read_text())
        if isinstance(data, dict) and "description" in data and "scene_type" not in data:
            data = data["description"]
        try:
            return Description.model_validate(data)
        except ValueError as exc:
            raise InputError(f"{path} is not a valid description: {exc}") from exc

    def cloud(self, seq: int) -> PointCloud:
        """Point cloud of window ``seq`` (cached)."""
        if seq in self._clouds:
            self._clouds.move_to_end(seq)
            return self._clouds[seq]
        cloud = _load_ply(self.path / "clouds" / f"{seq:08d}.ply")
        self._clouds[seq] = cloud
        while len(self._clouds) > CLOUD_CACHE:
            self._clouds.popitem(last=False)
        return cloud

    def trace(self, seq: int) -> Trace:
        """The recorded trace of window ``seq`` (empty when traces.jsonl lacks it)."""
        record = self.traces.get(seq, {})
        return Trace(float(record.get("window_end", math.nan)), dict(record.get("stamps", {})))

    def items(self, index: int) -> tuple[Decoded | None, Described | None, Cloud | None]:
        """The results frame ``index`` shows, rebuilt as result objects."""
        frame = self.frames[index]
        decoded = described = cloud = None
        simulated = bool(self.summary.get("simulated", "SIMULATED" in str(self.summary.get("source", "")).upper()))
        if frame.image_seq is not None:
            s = frame.image_seq
            decoded = Decoded(s, np.zeros(0, np.float32), self.image(s), self.trace(s), simulated=simulated)
        description = None
        if frame.description_seq is not None:
            s = frame.description_seq
            description = self.description(s)
            described = Described(s, description, np.zeros((1, 1, 3), np.uint8), self.trace(s))
        if frame.cloud_seq is not None:
            s = frame.cloud_seq
            own = self.description(s) if s in self.description_seqs else description
            if own is not None:
                cloud = Cloud(s, self.cloud(s), own, self.trace(s))
            else:
                logger.debug("cloud %d has no description to go with it; shown without", s)
                cloud = Cloud(s, self.cloud(s), _empty_description(), self.trace(s))
        return decoded, described, cloud

    def status(self) -> EngineStatus:
        """The run's summary as a heads-up status (stage percentiles of the whole run)."""
        s = self.summary
        stages: dict[str, StageFigures] = {}
        for name, fig in (s.get("stages") or {}).items():
            if isinstance(fig, dict):
                latency = read_latency_figures(fig)  # also summaries written before the one key scheme
                stages[name] = StageFigures(
                    count=int(fig.get("count", 0)), p50_ms=_float(latency.get("p50_ms")),
                    p99_ms=_float(latency.get("p99_ms")), skipped=int(fig.get("skipped", 0)),
                    errors=int(fig.get("errors", 0)),
                )
        return EngineStatus(
            source=f"{s.get('source', self.path.name)}  [recorded session]",
            simulated=bool(s.get("simulated", False)), stream="recorded",
            sfreq=_float(s.get("sfreq", math.nan)), elapsed_s=_float(s.get("duration_s", math.nan)),
            windows=int(s.get("windows", len(self.image_seqs)) or 0), stages=stages,
            provider=str(s.get("provider", "")), weights=_recorded_weights(s),
        )

    def frame_line(self, index: int) -> str:
        """One line about frame ``index``: position, sequence numbers, recorded latencies."""
        frame = self.frames[index]
        record = self.traces.get(frame.seq, {})
        latency = "  ".join(f"{k} {v:.0f}" for k, v in (record.get("latency_ms") or {}).items())
        return f"frame {index + 1}/{len(self)}  window #{frame.seq}" + (f"  latency ms: {latency}" if latency else "")

    # ---------------------------------------------------------------- private
    def _read_traces(self) -> dict[int, dict[str, Any]]:
        traces: dict[int, dict[str, Any]] = {}
        path = self.path / "traces.jsonl"
        if path.is_file():
            for number, line in enumerate(path.read_text().splitlines(), 1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                    traces[int(record["seq"])] = record
                except (ValueError, KeyError, TypeError):
                    logger.warning("%s line %d is not a trace record; skipped", path, number)
        return traces

    @staticmethod
    def _read_json(path: Path) -> dict[str, Any]:
        if not path.is_file():
            return {}
        try:
            data = json.loads(path.read_text())
        except ValueError:
            logger.warning("%s is not valid JSON; ignored", path)
            return {}
        return data if isinstance(data, dict) else {}


def _latest(seqs: list[int], seq: int) -> int | None:
    i = bisect.bisect_right(seqs, seq)
    return seqs[i - 1] if i else None


def _float(value: object) -> float:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return math.nan


def _empty_description() -> Description:
    return Description(scene_type="object", objects=[], source="none (no description saved)")


# ---------------------------------------------------------------------- browse
class SessionBrowser:
    """The live window showing a saved session, one frame at a time.

    Keys: ``Right``/``Left`` next / previous frame, ``Next``/``Prior`` (Page Down / Up)
    ten frames, ``Home``/``End`` first / last, plus the live window's keys.

    Parameters
    ----------
    path : Path
        Session folder.
    config : ViewerConfig
        Window options.
    start : int
        First frame shown (0-based; negative counts from the end).

    Attributes
    ----------
    window : viewer.LiveWindow
        Call ``window.run()`` to browse.
    index : int
        The frame shown.
    """

    def __init__(self, path: Path, config: ViewerConfig, *, start: int = 0) -> None:
        from viewer.live import LiveWindow

        self.session = SessionFrames(path)
        self.index = 0
        self.window = LiveWindow(config, on_close=lambda: None, title=f"Brain3D Live - {self.session.path.name}",
                                 screenshot_dir=self.session.path)
        for key, step in (("Right", 1), ("Left", -1), ("Next", 10), ("Prior", -10)):
            self.window.plotter.add_key_event(key, lambda step=step: self.show(self.index + step))
        self.window.plotter.add_key_event("Home", lambda: self.show(0))
        self.window.plotter.add_key_event("End", lambda: self.show(len(self.session) - 1))
        self.window.on_status(self.session.status())
        self.show(start % len(self.session))

    def show(self, index: int) -> None:
        """Show frame ``index`` (clamped to the session)."""
        self.index = min(max(index, 0), len(self.session) - 1)
        decoded, described, cloud = self.session.items(self.index)
        if described is not None:
            self.window.on_described(described)
        if decoded is not None:
            self.window.on_decoded(decoded)
        if cloud is not None:
            self.window.on_cloud(cloud)
        self.window.set_note(self.session.frame_line(self.index) + "  (Left/Right, PgUp/PgDn, Home/End)")


def browse_session(path: Path, config: ViewerConfig, *, start: int = 0) -> None:
    """Open the live window on a saved session and step through it with the keys (blocks)."""
    SessionBrowser(path, config, start=start).window.run()


def render_session(
    path: Path, config: ViewerConfig, output: Path | None = None, *, step: int = 1,
) -> tuple[list[Path], Path | None]:
    """Render every ``step``-th frame of a saved session offscreen to PNG and a movie.

    Parameters
    ----------
    path : Path
        Session folder.
    config : ViewerConfig
        Drawing options and ``movie`` (gif, mp4 or none); ``offscreen_fps`` is the
        movie's frame rate.
    output : Path, optional
        Folder for ``<seq:08d>.png`` and ``session.<gif|mp4>`` (default
        ``<session>/frames/view``).
    step : int
        Render every ``step``-th frame.

    Returns
    -------
    frames : list of Path
        PNG files written.
    movie : Path or None
        The movie (None with ``movie: none``).
    """
    from PIL import Image

    from viewer.offscreen import open_offscreen_plotter, render_frame, write_movie

    if step < 1:
        raise InputError(f"step {step}: must be >= 1")
    session = SessionFrames(path)
    output = Path(output) if output is not None else session.path / "frames" / "view"
    output.mkdir(parents=True, exist_ok=True)
    stale = [p for p in output.glob("*.png") if p.stem.isdigit() and len(p.stem) == 8]
    if stale:
        logger.info("replacing %d frames of an earlier render in %s", len(stale), output)
        for old in stale:
            old.unlink()
    still = config.model_copy(update={"morph_s": 0.0})
    plotter, scene = open_offscreen_plotter(still)
    written: list[Path] = []
    try:
        scene.show_status(session.status())
        for index in range(0, len(session), step):
            decoded, described, cloud = session.items(index)
            if described is not None:
                scene.show_described(described)
            if decoded is not None:
                scene.show_decoded(decoded)
            if cloud is not None:
                scene.show_cloud(cloud)
            scene.set_viewer_line(session.frame_line(index))
            frame = render_frame(plotter)
            target = output / f"{session.frames[index].seq:08d}.png"
            Image.fromarray(frame).save(target, compress_level=1)
            written.append(target)
    finally:
        plotter.close()  # type: ignore[attr-defined]
    movie = None
    if config.movie != "none":
        movie = write_movie(written, output / f"session.{config.movie}", fps=config.offscreen_fps)
    logger.info("rendered %d frames of %s to %s", len(written), session.path, output)
    return written, movie


def _recorded_weights(summary: dict[str, Any]) -> str:
    """The weights label of a recorded session (summaries written before it existed: from the flag)."""
    if summary.get("weights"):
        return str(summary["weights"])
    if summary.get("trained_weights") is False:
        return "UNTRAINED weights: decoded images are meaningless"
    return ""
