"""Channel sets the product knows by name.

The model's default input is 64 EEG channels in the layout of the BioSemi 64-channel
cap, labelled with 10-10 names exactly as MNE's ``standard_1005`` montage spells them
(so positions come from MNE, not from a table of ours).
"""

from __future__ import annotations

#: 64 channels, BioSemi-64 order, 10-10 names (MNE ``standard_1005`` spelling).
STANDARD_64: tuple[str, ...] = (
    "Fp1", "AF7", "AF3", "F1", "F3", "F5", "F7", "FT7",
    "FC5", "FC3", "FC1", "C1", "C3", "C5", "T7", "TP7",
    "CP5", "CP3", "CP1", "P1", "P3", "P5", "P7", "P9",
    "PO7", "PO3", "O1", "Iz", "Oz", "POz", "Pz", "CPz",
    "Fpz", "Fp2", "AF8", "AF4", "AFz", "Fz", "F2", "F4",
    "F6", "F8", "FT8", "FC6", "FC4", "FC2", "FCz", "Cz",
    "C2", "C4", "C6", "T8", "TP8", "CP6", "CP4", "CP2",
    "P2", "P4", "P6", "P8", "P10", "PO8", "PO4", "O2",
)  # fmt: skip
