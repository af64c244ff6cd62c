"""Loaders: convert published EEG-image data sets into the one trial store format.

Each loader reads a data set's published layout, maps its channels onto the model's
(:mod:`brain3d.data.montage_mapping`), cuts epochs at stimulus onset, resamples to the
target rate, converts to µV and writes a :class:`~brain3d.data.store.TrialStore`.
Each returns ``(store_path, LoadReport)``.
"""

from brain3d.data.loaders.eeg3d import load_eeg3d
from brain3d.data.loaders.eegcvpr40 import generic_channel_names, load_eegcvpr40
from brain3d.data.loaders.generic_mne import load_mne_recording
from brain3d.data.loaders.mne_epochs import EpochsBatch, write_epochs
from brain3d.data.loaders.report import DataSetError, LoadReport
from brain3d.data.loaders.things_eeg2 import TEST_ID_OFFSET, load_things_eeg2
from brain3d.data.loaders.window import EpochCutter, LoadOptions

__all__ = [
    "DataSetError", "EpochCutter", "EpochsBatch", "LoadOptions", "LoadReport", "TEST_ID_OFFSET",
    "generic_channel_names", "load_eeg3d", "load_eegcvpr40", "load_mne_recording", "load_things_eeg2",
    "write_epochs",
]
