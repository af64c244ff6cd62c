"""Brain3D Live: EEG -> 2D image -> structured description -> 3D, in real time.

This floor (``brain3d``) holds the models, the configuration objects, the backend
registries, the error types, the describer, 3D backends, simulator, data sets and
training. It imports none of the packages above it (``acquisition``, ``export_onnx``,
``realtime``, ``viewer``, ``brain3d_app``); see ``docs/architecture.md``.
"""

from __future__ import annotations

__version__ = "0.1.0"
