"""Read ``.npy`` files that hold pickled dicts of arrays, refusing any other object.

Some releases (THINGS-EEG2) ship a Python dict saved with ``np.save(allow_pickle=True)``.
Plain ``np.load(allow_pickle=True)`` would run arbitrary code from a malicious file.
:func:`load_pickled_npy` instead unpickles with a restricted unpickler that can only
build numpy arrays, dtypes and scalars plus pickle's built-in containers (dict, list,
tuple, str, bytes, numbers, None); any other class in the file raises
:class:`~brain3d.data.loaders.report.DataSetError`.
"""

from __future__ import annotations

import logging
import os
import pickle
import warnings
from typing import Any

import numpy as np

from brain3d.data.loaders.report import DataSetError

logger = logging.getLogger(__name__)

_ALLOWED: frozenset[tuple[str, str]] = frozenset(
    (module, name)
    for prefix in ("numpy.core", "numpy._core")
    for module, name in (
        (f"{prefix}.multiarray", "_reconstruct"),
        (f"{prefix}.multiarray", "scalar"),
        (f"{prefix}.numeric", "_frombuffer"),
    )
) | {("numpy", "ndarray"), ("numpy", "dtype")}


class _ArrayOnlyUnpickler(pickle.Unpickler):
    """Unpickler that resolves only the numpy reconstruction helpers in ``_ALLOWED``."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _ALLOWED:
            raise DataSetError(
                f"refusing to unpickle {module}.{name}: the file holds objects other than "
                "dicts, lists, strings, numbers and numpy arrays; it is not a release file "
                "of the expected format (or has been tampered with)"
            )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            return super().find_class(module, name)


def load_pickled_npy(path: str | os.PathLike[str]) -> Any:
    """Load a ``.npy`` file, unpickling object arrays with the restricted unpickler.

    Parameters
    ----------
    path : path-like
        ``.npy`` file written by ``np.save`` (plain arrays are read without pickle).

    Returns
    -------
    object
        The plain array, or for a 0-d object array (a saved dict) the object itself.

    Raises
    ------
    DataSetError
        Not an ``.npy`` file, truncated, or holding a disallowed object.
    """
    with open(path, "rb") as handle:
        try:
            version = np.lib.format.read_magic(handle)
            read_header = {
                (1, 0): np.lib.format.read_array_header_1_0,
                (2, 0): np.lib.format.read_array_header_2_0,
            }.get(version)
            if read_header is None:
                raise ValueError(f"unsupported .npy format version {version}")
            shape, fortran, dtype = read_header(handle, max_header_size=1_000_000)
        except (ValueError, OSError) as exc:
            raise DataSetError(f"{path} is not a .npy file ({exc})") from exc
        if not dtype.hasobject:
            handle.close()
            return np.load(path, allow_pickle=False)
        try:
            array = _ArrayOnlyUnpickler(handle).load()
        except DataSetError:
            raise
        except Exception as exc:  # noqa: BLE001 - any unpickling failure means a bad file
            raise DataSetError(f"{path}: cannot read its pickled content ({type(exc).__name__}: {exc})") from exc
    if not isinstance(array, np.ndarray):
        raise DataSetError(f"{path}: pickled content is a {type(array).__name__}, expected a numpy array")
    if array.shape == () and array.dtype.hasobject:
        return array.item()
    return array.reshape(shape, order="F" if fortran else "C") if array.shape != shape else array
