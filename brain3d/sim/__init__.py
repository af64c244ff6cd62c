"""Closed-loop visual-EEG simulator: procedural scenes and SIMULATED EEG.

Nothing here is recorded data. ``scenes`` makes deterministic 3D scenes with their
ground-truth :class:`~brain3d.schema.Description`, meshes, point clouds and rendered
images; ``eeg`` turns a scene into simulated 64-channel EEG (trials or a live stream).
"""

from __future__ import annotations
