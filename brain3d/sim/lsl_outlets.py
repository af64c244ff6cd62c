"""The two LSL outlets of the SIMULATED EEG stream: their headers and their pushes.

:class:`SimulationOutlets` owns the ``<prefix>-EEG`` and ``<prefix>-Markers`` outlets of
a :class:`~brain3d.sim.lsl_stream.SimulationStreamer` (the stream layout is documented in
:mod:`brain3d.sim.lsl_stream`): it writes the stream headers (:func:`eeg_stream_info`,
:func:`marker_stream_info`), waits for consumers and pushes EEG chunks and stimulus
markers with the stamps it is given. It keeps no statistics and does no pacing.

pylsl is imported lazily (inside functions), so a caller can set ``LSLAPICFG`` before
liblsl reads its configuration.
"""

from __future__ import annotations

import importlib
import json
import logging
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np

from brain3d import __version__
from brain3d.channels import STANDARD_64
from brain3d.config import SimulateSourceConfig
from brain3d.lsl import channel_rows, open_outlet, stream_info
from brain3d.sim.eeg import SIMULATED_NOTE, StimulusEvent

logger = logging.getLogger(__name__)

#: The ``desc/simulated`` field of both stream headers.
SIMULATED_FIELD = "SIMULATED EEG, not a recording"
#: ``desc/acquisition/manufacturer`` of both stream headers.
MANUFACTURER = "Brain3D Live simulator"


def import_pylsl() -> Any:
    """Import pylsl on first use (after the caller had a chance to set ``LSLAPICFG``).

    Returns
    -------
    module
        The ``pylsl`` module (untyped; imported by name so type checkers need no stubs).
    """
    return importlib.import_module("pylsl")


def marker_json(event: StimulusEvent) -> str:
    """The marker string of one stimulus onset (JSON; see :mod:`brain3d.sim.lsl_stream`)."""
    return json.dumps(
        {
            "event": "stimulus",
            "sample": int(event.sample),
            "scene_seed": int(event.scene_seed),
            "description": event.description.model_dump(mode="json"),
            "simulated": True,
        },
        separators=(",", ":"),
    )


@dataclass(frozen=True)
class OutletHeader:
    """What the two stream headers say: names, ids and the simulation parameters.

    Attributes
    ----------
    config : SimulateSourceConfig
        Rate (Hz), SNR (dB), subject, seed and mains frequency (Hz) of the simulation.
    eeg_name, marker_name : str
        Stream names.
    source_id, marker_source_id : str
        ``source_id`` of the EEG and of the marker stream.
    onset_interval_s : float
        Mean time between stimulus onsets, seconds of stream time.
    speed : float
        Stream seconds per wall second.
    chunk_samples : int
        Samples per push.
    """

    config: SimulateSourceConfig
    eeg_name: str
    marker_name: str
    source_id: str
    marker_source_id: str
    onset_interval_s: float
    speed: float
    chunk_samples: int


def _append_common_desc(desc: Any, header: OutletHeader) -> None:
    """Add the simulated-data notice, acquisition and simulation fields to ``desc``."""
    desc.append_child_value("simulated", SIMULATED_FIELD)
    desc.append_child_value("note", SIMULATED_NOTE)
    acquisition = desc.append_child("acquisition")
    acquisition.append_child_value("manufacturer", MANUFACTURER)
    acquisition.append_child_value("model", "brain3d.sim.eeg.EEGStreamSimulator")
    acquisition.append_child_value("software_version", __version__)
    simulation = desc.append_child("simulation")
    for key, value in (
        ("subject", header.config.subject),
        ("seed", header.config.seed),
        ("snr_db", header.config.snr_db),
        ("line_freq_hz", header.config.line_freq),
        ("onset_interval_s", header.onset_interval_s),
        ("speed", header.speed),
        ("chunk_samples", header.chunk_samples),
        ("clock", "LSL local_clock; sample i at t0 + i / (sfreq * speed)"),
    ):
        simulation.append_child_value(key, str(value))


def eeg_stream_info(header: OutletHeader) -> Any:
    """The ``pylsl.StreamInfo`` of the EEG stream.

    Parameters
    ----------
    header : OutletHeader
        Names, ids and simulation parameters.

    Returns
    -------
    pylsl.StreamInfo
        64 float32 channels in :data:`~brain3d.channels.STANDARD_64` order (µV) at the
        nominal rate ``config.sfreq``, with channel, cap and simulation descriptions.
    """
    pylsl = import_pylsl()
    info = stream_info(header.eeg_name, "EEG", n_channels=len(STANDARD_64), sfreq=float(header.config.sfreq),
                       channel_format=pylsl.cf_float32, source_id=header.source_id,
                       channels=channel_rows(STANDARD_64))
    desc = info.desc()
    _append_common_desc(desc, header)
    cap = desc.append_child("cap")
    cap.append_child_value("name", "BioSemi-64 layout")
    cap.append_child_value("labelscheme", "10-10")
    cap.append_child_value("montage", "MNE standard_1005")
    return info


def marker_stream_info(header: OutletHeader) -> Any:
    """The ``pylsl.StreamInfo`` of the stimulus marker stream.

    Parameters
    ----------
    header : OutletHeader
        Names, ids and simulation parameters.

    Returns
    -------
    pylsl.StreamInfo
        One JSON string channel at an irregular rate; ``desc/eeg_source_id`` names the
        EEG stream.
    """
    pylsl = import_pylsl()
    info = stream_info(header.marker_name, "Markers", n_channels=1, sfreq=pylsl.IRREGULAR_RATE,
                       channel_format=pylsl.cf_string, source_id=header.marker_source_id,
                       channels=[{"label": "stimulus", "type": "Markers", "format": "json"}])
    desc = info.desc()
    _append_common_desc(desc, header)
    desc.append_child_value("eeg_source_id", header.source_id)
    return info


class SimulationOutlets:
    """The open EEG and marker outlets of one simulation stream.

    Parameters
    ----------
    header : OutletHeader
        Names, ids and simulation parameters written into both stream headers.

    Notes
    -----
    Creating the object creates both outlets (the streams become discoverable); they
    are destroyed when the last reference to the object goes.
    """

    def __init__(self, header: OutletHeader) -> None:
        self.header = header
        self.eeg: Any = open_outlet(eeg_stream_info(header))
        self.markers: Any = open_outlet(marker_stream_info(header))

    def wait_for_consumers(self, timeout_s: float, stop: threading.Event) -> None:
        """Wait up to ``timeout_s`` (wall seconds, both outlets together) for an inlet on each.

        Parameters
        ----------
        timeout_s : float
            Longest wait, seconds; after it (or once ``stop`` is set) a warning is
            logged for each outlet without a consumer and streaming goes on.
        stop : threading.Event
            Ends the wait early when set.
        """
        pylsl = import_pylsl()
        deadline = pylsl.local_clock() + timeout_s
        for outlet, name in (
            (self.eeg, self.header.eeg_name),
            (self.markers, self.header.marker_name),
        ):
            while not outlet.have_consumers():
                left = deadline - pylsl.local_clock()
                if left <= 0 or stop.is_set():
                    logger.warning(
                        "no consumer on %r after %.1f s; streaming anyway", name, timeout_s
                    )
                    break
                outlet.wait_for_consumers(min(left, 0.1))

    def push_eeg(self, samples: np.ndarray, stamps: float | list[float]) -> None:
        """Push one EEG chunk.

        Parameters
        ----------
        samples : numpy.ndarray
            ``[n, 64]`` float32, µV, C-contiguous.
        stamps : float or list of float
            The LSL time of the chunk's last sample (liblsl back-dates the others by
            ``1 / nominal_srate``), or one LSL time per sample.
        """
        self.eeg.push_chunk(samples, stamps)

    def push_marker(self, event: StimulusEvent, stamp: float) -> None:
        """Push the marker of one stimulus onset, stamped ``stamp`` (LSL seconds)."""
        self.markers.push_sample([marker_json(event)], stamp)
        logger.debug("stimulus marker: sample %d, scene seed %d", event.sample, event.scene_seed)
