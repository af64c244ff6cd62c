"""PyVista live window and offscreen rendering. Floor 2: knows result types only.

- :class:`LiveWindow` (:mod:`viewer.live`): the live Qt window, a
  :class:`realtime.sinks.Sink`; ``run(until)`` runs the Qt loop in the main thread.
- :class:`OffscreenRenderer` (:mod:`viewer.offscreen`): the same scene rendered
  offscreen in its own thread to ``frames/*.png`` and a GIF/MP4, for headless runs.
- :func:`browse_session` / :func:`render_session` (:mod:`viewer.session`): a saved
  session folder frame by frame, in the window or to frames (``brain3d view``).
- :func:`want_headless`, :func:`has_display`, :class:`VirtualDisplay` (Xvfb)
  (:mod:`viewer.display`).

Names are imported lazily: ``import viewer`` does not load VTK or Qt.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from viewer.display import VirtualDisplay, has_display, want_headless
    from viewer.live import LiveWindow
    from viewer.offscreen import OffscreenRenderer
    from viewer.scene import SceneView, ViewerFigures
    from viewer.session import SessionBrowser, SessionFrames, browse_session, render_session

_EXPORTS = {
    "LiveWindow": "viewer.live",
    "OffscreenRenderer": "viewer.offscreen",
    "SceneView": "viewer.scene",
    "ViewerFigures": "viewer.scene",
    "SessionBrowser": "viewer.session",
    "SessionFrames": "viewer.session",
    "browse_session": "viewer.session",
    "render_session": "viewer.session",
    "VirtualDisplay": "viewer.display",
    "has_display": "viewer.display",
    "want_headless": "viewer.display",
}

__all__ = [
    "LiveWindow",
    "OffscreenRenderer",
    "SceneView",
    "SessionBrowser",
    "SessionFrames",
    "ViewerFigures",
    "VirtualDisplay",
    "browse_session",
    "has_display",
    "render_session",
    "want_headless",
]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'viewer' has no attribute {name!r}")
