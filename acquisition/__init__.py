"""Acquisition: EEG in, model windows out. Floor 4: imports ``brain3d`` only.

Sources (:class:`~acquisition.base.Source`: chunks of samples with LSL-clock
timestamps, plus :class:`~acquisition.base.SourceEvent` s for anything unusual):

* :class:`~acquisition.lsl_inlet.LSLInletSource`: a numeric LSL stream;
* :class:`~acquisition.brainflow_source.BrainFlowSource`: a BrainFlow board;
* :class:`~acquisition.sim_source.SimulatorSource`: the SIMULATED visual-EEG, in process;
* replay: :class:`~acquisition.replay.Player` publishes a recording (XDF, FIF, EDF, ...)
  as LSL outlets, read back with an LSL inlet.

Then, per stream: :class:`~acquisition.recorder.Recorder` writes the raw samples as
received to XDF; :class:`~acquisition.preprocessing.StreamPreprocessor` maps channels,
converts to µV, resamples to the model rate and filters (causal, stateful);
:class:`~acquisition.windowing.Windower` cuts :class:`~brain3d.results.Window` s from a
:class:`~acquisition.ringbuffer.RingBuffer` and flags bad ones.

:class:`~acquisition.pipeline.AcquisitionThread` runs all of that in one thread per
source and hands windows and events to callbacks; :func:`~acquisition.pipeline.source_from_config`
builds the source ``config.source.kind`` names.

The names below are imported lazily (on first attribute access), so importing a
submodule such as ``acquisition.base`` stays cheap and ``LSLAPICFG`` can be set before
liblsl loads.
"""

from __future__ import annotations

import importlib
from typing import Any

#: Public name -> submodule defining it.
_EXPORTS: dict[str, str] = {
    "Chunk": "acquisition.base",
    "EventKind": "acquisition.base",
    "Source": "acquisition.base",
    "SourceEvent": "acquisition.base",
    "StreamDescription": "acquisition.base",
    "LSLInletSource": "acquisition.lsl_inlet",
    "MarkerInletSource": "acquisition.lsl_inlet",
    "BrainFlowSource": "acquisition.brainflow_source",
    "SimulatorSource": "acquisition.sim_source",
    "Player": "acquisition.replay",
    "ReplaySource": "acquisition.replay",
    "Recorder": "acquisition.recorder",
    "StreamPreprocessor": "acquisition.preprocessing",
    "Windower": "acquisition.windowing",
    "RingBuffer": "acquisition.ringbuffer",
    "AcquisitionThread": "acquisition.pipeline",
    "AcquisitionError": "acquisition.pipeline",
    "PipelineEvent": "acquisition.pipeline",
    "PipelineEventKind": "acquisition.pipeline",
    "source_from_config": "acquisition.pipeline",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'acquisition' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
