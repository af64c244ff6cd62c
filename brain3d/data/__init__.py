"""Data sets: the on-disk trial store and loaders for published EEG-image data sets."""

from brain3d.data.store import StoreError, StoreInfo, Trial, TrialStore, TrialStoreWriter

__all__ = ["StoreError", "StoreInfo", "Trial", "TrialStore", "TrialStoreWriter"]
